"""`scholarflow` command line: run, ingest, build, import, serve, explain.

Prefect is imported only by `run` and `serve`; the short commands call the steps directly.
Exit codes: 0 ok, 1 failed (nothing written), 2 usage, 3 finished but some requests failed
or a source stopped early (budget or allowance spent, scraper drift).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flows import __version__, settings, steps
from flows.http import Usage
from flows.overrides import Overrides, OverridesError, OverridesMissing, for_cli
from flows.sources import SOURCES

if TYPE_CHECKING:
    from flows.watchlist import Watchlist

EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 1, 2, 3


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--watchlist",
        type=Path,
        default=settings.DEFAULT_WATCHLIST,
        help="watchlist TOML (default: ./watchlist.toml)",
    )
    p.add_argument(
        "--overrides",
        type=Path,
        metavar="PATH",
        help=f"curated corrections (default: {settings.OVERRIDES_FILENAME} beside the "
        "watchlist, if there is one)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    _config(p)
    p.add_argument(
        "--warehouse",
        help="DuckDB file (default: $SCHOLARFLOW_WAREHOUSE or "
        "warehouse/scholarflow.duckdb); reports go to reports/ beside it",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run is writing the warehouse, wait this long (default: refuse)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, tracebacks on errors"
    )


def _fetch_mode(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--demo", action="store_true", help="replay the bundled demo recording (offline)"
    )
    g.add_argument(
        "--replay", type=Path, metavar="DIR", help="replay a recording made with --record"
    )
    p.add_argument("--record", type=Path, metavar="DIR", help="store every live response in DIR")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="scholarflow", description=__doc__.splitlines()[0] if __doc__ else None
    )
    root.add_argument("--version", action="version", version=f"scholarflow {__version__}")
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="ingest every enabled source, then build (a Prefect flow)")
    _common(run)
    _fetch_mode(run)
    ingest = sub.add_parser("ingest", help="ingest one source, then build")
    _common(ingest)
    _fetch_mode(ingest)
    ingest.add_argument("--source", required=True, choices=sorted(SOURCES))
    build = sub.add_parser("build", help="rebuild tables, views and reports from the warehouse")
    _common(build)
    imp = sub.add_parser("import", help="load saved responses of a source, then build")
    _common(imp)
    imp.add_argument("source", choices=sorted(SOURCES))
    imp.add_argument("files", nargs="+", type=Path)
    serve = sub.add_parser(
        "serve", help="serve the run flow as a Prefect deployment on the watchlist's cron"
    )
    _common(serve)
    _fetch_mode(serve)
    serve.add_argument(
        "--work-pool",
        metavar="NAME",
        help="register the deployment with this Prefect work pool instead of serving it here",
    )
    explain = sub.add_parser(
        "explain", help="why a paper or an author looks as it does (read-only)"
    )
    what = explain.add_subparsers(dest="what", required=True)
    for name, arg, help_text in (
        ("paper", "id", "paper id, doi:/arxiv:/<source>:<id> ref, bare DOI or arXiv id"),
        ("author", "name", "author or researcher id, any name or alias, orcid:, <source>:<id>"),
    ):
        p = what.add_parser(name, help=f"explain one {name}: {help_text}")
        p.add_argument(arg, metavar=arg.upper() if name == "paper" else "NAME|ID", help=help_text)
        _config(p)
        p.add_argument("--warehouse", help="DuckDB file (default as for run)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    return root


def _setup_logging(verbose: bool) -> None:
    """Progress (one line per request and per source) on stderr; -v adds library detail."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("scholarflow").setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs request URLs at INFO; the shared client logs its own redacted line instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def _mode(args: argparse.Namespace) -> steps.Mode:
    if getattr(args, "demo", False):
        return "demo"
    if getattr(args, "replay", None):
        return "replay"
    return "live"


def print_summary(summary: steps.RunSummary) -> None:
    def p(line: str = "") -> None:
        print(line)

    p(f"run {summary.run_id}")
    if summary.sources:
        p(
            f"  {'source':<17}{'requests':>9}{'records':>9}{'new':>6}{'updated':>9}{'quarant.':>10}{'errors':>8}"
        )
        for s in summary.sources:
            p(
                f"  {s.source:<17}{s.requests:>9}{s.records:>9}{s.new:>6}{s.updated:>9}"
                f"{s.quarantined:>10}{len(s.errors):>8}"
            )
        for s in summary.sources:
            for e in s.errors:
                p(f"  error: {e}")
            if s.stopped and not any(s.stopped in e for e in s.errors):
                p(f"  stopped: [{s.source}] {s.stopped}")
            if s.skipped:
                p(f"  skipped: [{s.source}] {s.skipped} request(s) disallowed by robots.txt")
    tables = ", ".join(
        f"{k} {v}"
        for k, v in summary.tables.items()
        if k in ("papers", "authors", "authorships", "paper_topics")
    )
    p(f"  tables: {tables}; citation snapshots +{summary.snapshots}")
    ov = summary.overrides
    if ov.get("entries"):
        unmatched = ov["unmatched_lines"]
        p(
            f"  overrides: {ov['applied']} of {ov['entries']} applied ({ov['path']}, "
            f"sha256 {str(ov['sha256'])[:12]})"
            + (f"; matched nothing: line {', '.join(map(str, unmatched))}" if unmatched else "")
        )
    p(f"  warehouse: {summary.warehouse}")
    if summary.reports:
        p(
            f"  reports:   {summary.reports[0].parent}/ ({', '.join(r.name for r in summary.reports)})"
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.verbose)
    from flows.watchlist import WatchlistError, load_watchlist

    if args.command == "explain":
        return _explain(args)
    try:
        watchlist = load_watchlist(args.watchlist)
        overrides = load_overrides(args, watchlist)
    except OverridesMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (WatchlistError, OverridesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    ctx = steps.RunContext(
        command=args.command,
        mode="build",
        watchlist=watchlist,
        watchlist_sha256=steps.watchlist_digest(args.watchlist),
        warehouse_path=settings.warehouse_path(args.warehouse),
        wait_seconds=args.wait,
        overrides=overrides,
    )
    try:
        return _dispatch(args, ctx)
    except KeyboardInterrupt:  # before the commit (after it: AfterCommitError)
        print(
            "interrupted: nothing was committed, the warehouse data is unchanged", file=sys.stderr
        )
        return 130
    except steps.AfterCommitError as exc:  # says what was committed and what was not
        print(f"{'interrupted' if exc.interrupted else 'error'}: {exc}", file=sys.stderr)
        return 130 if exc.interrupted else EXIT_FAILED
    except Exception as exc:  # report what failed in one line; --verbose shows the trace
        if args.verbose:
            logging.getLogger("scholarflow").exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace, ctx: steps.RunContext) -> int:
    from flows.http import FetchError

    if args.command == "build":
        print_summary(steps.build_only(ctx))
        return 0
    if args.command == "import":
        ctx.mode = "import"
        report = steps.import_files(args.source, args.files)  # raises before loading anything
        summary = steps.load_and_build(ctx, [report], {args.source: Usage()})  # files: no requests
        print_summary(summary)
        return 0
    ctx.mode = _mode(args)
    if args.command == "serve":
        from flows.pipeline import serve

        serve(
            args.watchlist,
            ctx.warehouse_path,
            ctx.mode,
            args.replay,
            args.record,
            args.work_pool,
            args.overrides,
        )
        return 0
    try:
        if args.command == "ingest":
            summary = steps.ingest(ctx, [args.source], args.replay, args.record)
        else:
            from flows.pipeline import run_flow

            summary = run_flow(args.watchlist, ctx, args.replay, args.record)
    except FetchError as exc:
        print(f"error: {steps.network_hint(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print_summary(summary)
    return EXIT_PARTIAL if summary.error_count or summary.stopped_count else 0


def load_overrides(args: argparse.Namespace, watchlist: Watchlist) -> Overrides:

    return for_cli(args.overrides, args.watchlist, watchlist)


def _explain(args: argparse.Namespace) -> int:
    """explain paper|author: exit 0 explained, 1 nothing or several match (candidates listed)
    or the warehouse/config cannot be read, 2 usage (an --overrides file that does not exist)."""
    from flows import explain, warehouse
    from flows.watchlist import WatchlistError, load_watchlist

    watchlist = None
    overrides = Overrides()
    try:
        if args.watchlist.exists() or args.watchlist != settings.DEFAULT_WATCHLIST:
            watchlist = load_watchlist(args.watchlist)
            overrides = load_overrides(args, watchlist)
        elif args.overrides is not None:
            raise OverridesMissing(f"{args.overrides}: needs the watchlist to resolve researchers")
    except OverridesMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (WatchlistError, OverridesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with warehouse.reader(settings.warehouse_path(args.warehouse)) as con:
            if args.what == "paper":
                report = explain.explain_paper(con, args.id, overrides)
                text = explain.render_paper(report)
            else:
                report = explain.explain_author(con, args.name, watchlist, overrides)
                text = explain.render_author(report)
    except explain.Ambiguous as exc:
        if args.json:
            print(explain.to_json({"error": str(exc), "candidates": exc.candidates}))
        else:
            print(f"error: {explain.render_candidates(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except (explain.NotFound, warehouse.WarehouseEmpty) as exc:
        if args.json:
            print(explain.to_json({"error": str(exc), "candidates": []}))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # e.g. a file that is not a warehouse
        if args.verbose:
            logging.getLogger("scholarflow").exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(explain.to_json(report) if args.json else text, end="" if not args.json else "\n")
    return 0

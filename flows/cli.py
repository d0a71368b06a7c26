"""`scholarflow` command line: run, ingest, build, import, serve, explain.

Prefect is imported only by `run` and `serve`; the short commands call the steps directly.
Exit codes, one per kind of outcome (README "Commands"):
  0  ok
  1  the run failed: nothing was written (network down, nothing to build, an invalid import
     file, an unexpected error)
  2  usage or configuration: bad arguments, a missing or invalid watchlist or overrides file,
     an input file above --max-file-mb
  3  partial: finished and wrote, but some requests failed or a source stopped early (budget
     or allowance spent, scraper drift)
  4  busy: another run is writing the warehouse (see --wait)
  130 interrupted (Ctrl-C): the warehouse is unchanged
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flows import __version__, context, fetch, settings, steps, terminal
from flows.http import Usage, mask_secrets
from flows.overrides import Overrides, OverridesError, OverridesMissing, for_cli
from flows.sources import SOURCES
from flows.terminal import DEBUG, QUIET, VERBOSE, echo, printable, printable_json, safe

if TYPE_CHECKING:
    from flows.watchlist import Watchlist

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
# `import` refuses bigger files before reading them: a load needs several times a file's size
# in memory (SCHOLARFLOW_MAX_FILE_MB changes the default).
DEFAULT_MAX_FILE_MB = 256.0


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
    _verbosity(p)
    p.add_argument("--json", action="store_true", help="print the run summary as JSON on stdout")


def _verbosity(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: each request and tracebacks on errors; -vv: libraries' debug output too",
    )
    g.add_argument(
        "-q", "--quiet", action="store_true", help="errors only (for cron): no summary, no progress"
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
    ingest.add_argument(
        "--source",
        required=True,
        action="append",
        choices=sorted(SOURCES),
        help="a source to ingest; repeat for several",
    )
    build = sub.add_parser("build", help="rebuild tables, views and reports from the warehouse")
    _common(build)
    build.add_argument(
        "--full",
        action="store_true",
        help="resolve every record again (default: only what changed since the last build, "
        "when nothing else did)",
    )
    imp = sub.add_parser("import", help="load saved responses of a source, then build")
    _common(imp)
    imp.add_argument("source", choices=sorted(SOURCES))
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument(
        "--max-file-mb",
        type=float,
        default=None,
        metavar="MB",
        help="refuse files bigger than this before reading them (default: "
        f"$SCHOLARFLOW_MAX_FILE_MB or {DEFAULT_MAX_FILE_MB:g})",
    )
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
    status = sub.add_parser(
        "status", help="last runs, source freshness, budgets used, quarantine (read-only)"
    )
    _config(status)
    status.add_argument("--warehouse", help="DuckDB file (default as for run)")
    status.add_argument("--runs", type=int, default=10, help="how many recent runs to list")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
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
        _verbosity(p)
    return root


def _verbosity_of(args: argparse.Namespace) -> int:
    if getattr(args, "quiet", False):
        return QUIET
    return min(int(getattr(args, "verbose", 0) or 0), DEBUG)


def _setup_logging(args: argparse.Namespace) -> None:
    """stderr: one line per failure by default; -v each request and tracebacks; -vv library
    debug output; -q errors only. `run`/`ingest` on a terminal get a live progress display."""
    from flows import terminal

    live = args.command in ("run", "ingest") and not getattr(args, "json", False)
    terminal.setup_logging(_verbosity_of(args), progress=live)


def _mode(args: argparse.Namespace) -> context.Mode:
    if getattr(args, "demo", False):
        return "demo"
    if getattr(args, "replay", None):
        return "replay"
    return "live"


def print_summary(summary: context.RunSummary) -> None:
    def p(line: str = "") -> None:
        echo(line)  # names, errors and paths come from outside: masked and escaped

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
            if s.not_works:
                p(
                    f"  skipped: [{s.source}] {s.not_works} record(s) that are not works (quarantine)"
                )
        held = sum(s.quarantined for s in summary.sources)
        if held:
            p(
                f"  quarantined: {held} record(s) kept aside with the reason, in the warehouse's "
                f"quarantine table (first_run_id = '{summary.run_id}')"
            )
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


def summary_dict(summary: context.RunSummary, exit_code: int) -> dict[str, object]:
    """The run summary as plain JSON values (`--json`)."""
    return {
        "run_id": summary.run_id,
        "status": "partial" if exit_code == EXIT_PARTIAL else "succeeded",
        "exit_code": exit_code,
        "warehouse": str(summary.warehouse),
        "sources": [dict(s.__dict__) for s in summary.sources],
        "tables": summary.tables,
        "citation_snapshots": summary.snapshots,
        "overrides": summary.overrides,
        "reports": [str(r) for r in summary.reports],
    }


def _print_json(data: object) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    print(printable_json(mask_secrets(text)))


class _Failure(Exception):
    """A failure already classified: its exit code and the one line to print."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _fail(args: argparse.Namespace, code: int, message: str, exc: BaseException | None) -> int:
    """One line on stderr (the traceback too with -v); with --json also a JSON object on
    stdout, so a script reading stdout always gets one."""
    if exc is not None and _verbosity_of(args) >= VERBOSE:
        logging.getLogger("scholarflow").error("failed", exc_info=exc)
    print(f"error: {safe(message)}", file=sys.stderr)
    if getattr(args, "json", False):
        _print_json({"status": "failed", "exit_code": code, "error": message})
    return code


def _code_of(exc: BaseException) -> int:
    """The exit code of an exception that ended a command (its cause chain included: Prefect
    may wrap what a task raised)."""
    from flows import warehouse
    from flows.overrides import OverridesError
    from flows.watchlist import WatchlistError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, warehouse.WarehouseBusy):
            return EXIT_BUSY
        if isinstance(seen, WatchlistError | OverridesError | fetch.InputTooLarge):
            return EXIT_USAGE
        seen = seen.__cause__ or seen.__context__
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args)
    from flows.watchlist import WatchlistError, load_watchlist

    if args.command == "explain":
        return _explain(args)
    if args.command == "status":
        return _status(args)
    try:
        watchlist = load_watchlist(args.watchlist)
        overrides = load_overrides(args, watchlist)
    except (WatchlistError, OverridesError) as exc:
        return _fail(args, EXIT_USAGE, str(exc), None)
    ctx = context.RunContext(
        command=args.command,
        mode="build",
        watchlist=watchlist,
        watchlist_sha256=context.watchlist_digest(args.watchlist),
        warehouse_path=settings.warehouse_path(args.warehouse),
        wait_seconds=args.wait,
        overrides=overrides,
    )
    try:
        summary = _dispatch(args, ctx)
    except KeyboardInterrupt:  # before the commit (after it: AfterCommitError)
        print(
            "interrupted: nothing was committed, the warehouse data is unchanged", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except context.AfterCommitError as exc:  # says what was committed and what was not
        if exc.interrupted:
            print(f"interrupted: {safe(str(exc))}", file=sys.stderr)
            return EXIT_INTERRUPTED
        return _fail(args, EXIT_FAILED, str(exc), exc)
    except _Failure as exc:
        return _fail(args, exc.code, str(exc), exc.__cause__)
    except Exception as exc:  # report what failed in one line; -v shows the trace
        return _fail(args, _code_of(exc), str(exc), exc)
    if summary is None:  # serve
        return EXIT_OK
    code = EXIT_PARTIAL if summary.error_count or summary.stopped_count else EXIT_OK
    if args.json:
        _print_json(summary_dict(summary, code))
    elif not args.quiet:
        print_summary(summary)
    return code


def _max_file_bytes(args: argparse.Namespace) -> int:
    mb = args.max_file_mb
    if mb is None:
        raw = os.environ.get("SCHOLARFLOW_MAX_FILE_MB", "").strip()
        try:
            mb = float(raw) if raw else DEFAULT_MAX_FILE_MB
        except ValueError:
            raise _Failure(
                EXIT_USAGE, f"SCHOLARFLOW_MAX_FILE_MB={raw!r} is not a number of megabytes"
            ) from None
    if mb <= 0:
        raise _Failure(EXIT_USAGE, f"--max-file-mb must be above 0, got {mb:g}")
    return int(mb * 1024 * 1024)


def _dispatch(args: argparse.Namespace, ctx: context.RunContext) -> context.RunSummary | None:
    from flows.http import FetchError

    if args.command == "build":
        return steps.build_only(ctx, full=args.full)
    if args.command == "import":
        ctx.mode = "import"
        # raises before loading anything: a file too big (before reading it) or invalid
        report = fetch.import_files(
            args.source, args.files, _max_file_bytes(args), into=ctx.warehouse_path
        )
        # files: no requests; release: the pages go once landed (this frame holds them too)
        return steps.load_and_build(ctx, [report], {args.source: Usage()}, release=True)
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
        return None
    progress = _progress()
    try:
        if progress is not None:
            progress.start()
        if args.command == "ingest":
            sources = list(dict.fromkeys(args.source))  # --source a --source b: both, once each
            return steps.ingest(ctx, sources, args.replay, args.record)
        if _verbosity_of(args) < DEBUG:
            # The temporary Prefect server (a child process: our log handlers do not reach it)
            # prints its own shutdown tracebacks to our stderr; they are Prefect's, not the
            # run's: shown from -vv on. An explicit setting wins.
            os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
        from flows.pipeline import run_flow

        return run_flow(args.watchlist, ctx, args.replay, args.record)
    except FetchError as exc:
        raise _Failure(EXIT_FAILED, fetch.network_hint(exc)) from exc
    finally:
        if progress is not None:
            progress.stop()


def _progress() -> terminal.Progress | None:
    from flows import terminal

    for handler in logging.getLogger().handlers:
        shown = getattr(handler, "progress", None)
        if isinstance(shown, terminal.Progress):
            return shown
    return None


def load_overrides(args: argparse.Namespace, watchlist: Watchlist) -> Overrides:
    return for_cli(args.overrides, args.watchlist, watchlist)


def _status(args: argparse.Namespace) -> int:
    """status: exit 0, or 1 when there is no warehouse or it cannot be read."""
    from flows import status, warehouse
    from flows.watchlist import WatchlistError, load_watchlist

    watchlist = None
    try:
        if args.watchlist.exists():
            watchlist = load_watchlist(args.watchlist)
        with warehouse.reader(settings.warehouse_path(args.warehouse)) as con:
            report = status.status_report(con, watchlist, args.runs)
    except (WatchlistError, warehouse.WarehouseEmpty, warehouse.WarehouseBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(status.to_json(report) if args.json else status.render_status(report), end="")
    return 0


def _explain(args: argparse.Namespace) -> int:
    """explain paper|author: exit 0 explained, 1 nothing or several match (candidates listed)
    or the warehouse cannot be read, 2 usage (a bad watchlist or overrides file, an --overrides
    file that does not exist). Everything printed is escaped: names and titles come from
    upstream and may hold terminal escape sequences."""
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
    except (WatchlistError, OverridesError) as exc:
        print(f"error: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE
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
            print(
                printable_json(explain.to_json({"error": str(exc), "candidates": exc.candidates}))
            )
        else:
            print(f"error: {safe(explain.render_candidates(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except (explain.NotFound, warehouse.WarehouseEmpty) as exc:
        if args.json:
            print(printable_json(explain.to_json({"error": str(exc), "candidates": []})))
        print(f"error: {safe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # e.g. a file that is not a warehouse
        if _verbosity_of(args) >= VERBOSE:
            logging.getLogger("scholarflow").exception("failed")
        print(f"error: {safe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(printable_json(explain.to_json(report)))
    else:
        print(printable(text), end="")
    return EXIT_OK

"""Fetch: the HTTP client a run uses, what each source asks for, and files imported as
saved responses."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows import land, ledger_tables, settings
from flows.context import Mode, RunContext
from flows.http import (
    DEFAULT_LIMITS,
    UNKNOWN_HOST,
    FetchedResponse,
    FetchError,
    HostPolicy,
    HttpClient,
    SourceStopped,
)
from flows.recording import Recorder, ReplayTransport
from flows.sources import SOURCES
from flows.sources.base import (
    FULL_PLAN,
    Fetched,
    FetchPlan,
    FetchReport,
    ScrapeDrift,
    SourceError,
)
from flows.validate import checked_page
from flows.watchlist import Watchlist

log = logging.getLogger("scholarflow")


def host_limits(watchlist: Watchlist) -> dict[str, HostPolicy]:
    """The documented per-host defaults with the watchlist's [limits."<host>"] applied."""
    limits = dict(DEFAULT_LIMITS)
    for host, o in watchlist.limits.items():
        base = limits.get(host.lower(), UNKNOWN_HOST)
        window = base.window
        if o.window_requests is not None or o.window_seconds is not None:
            window = (
                o.window_requests or (window[0] if window else 1),
                o.window_seconds or (window[1] if window else 1.0),
            )
        limits[host.lower()] = replace(
            base,
            interval=base.interval if o.min_interval is None else o.min_interval,
            concurrency=base.concurrency if o.concurrency is None else o.concurrency,
            window=window,
        )
    return limits


def budgets_left(watchlist: Watchlist, warehouse_path: Path | None) -> dict[str, float]:
    """Configured daily budgets minus what earlier runs spent today (UTC), per source."""
    if not watchlist.budgets:
        return {}
    spent = (
        ledger_tables.used_today(warehouse_path, datetime.now(UTC).date()) if warehouse_path else {}
    )
    return {s: max(0.0, b - spent.get(s, 0.0)) for s, b in watchlist.budgets.items()}


def make_client(
    watchlist: Watchlist,
    mode: Mode,
    replay_dir: Path | None = None,
    record_dir: Path | None = None,
    warehouse_path: Path | None = None,
) -> HttpClient:
    """Live client (optionally recording), or a client that replays a recording offline."""
    costs = {s.slug: s.cost for s in SOURCES.values() if s.cost is not None}
    exhaustion = {s.slug: s.exhausted for s in SOURCES.values() if s.exhausted is not None}
    if mode in ("demo", "replay"):
        directory = settings.DEMO_RECORDING if mode == "demo" else replay_dir
        assert directory is not None
        # Replayed responses cost nothing upstream: no rate limit, no retry back-off, no budget.
        return HttpClient(
            watchlist.contact_email,
            transport=ReplayTransport(directory),
            intervals={},
            max_attempts=1,
            costs=costs,
            exhaustion=exhaustion,
            adapt_to_headers=False,
        )
    recorder = Recorder(record_dir) if record_dir else None
    return HttpClient(
        watchlist.contact_email,
        on_response=recorder,
        intervals=host_limits(watchlist),
        costs=costs,
        budgets=budgets_left(watchlist, warehouse_path),
        exhaustion=exhaustion,
        default_limit=UNKNOWN_HOST,
        resume=ledger_tables.resume_responses(warehouse_path) if warehouse_path else None,
    )


def plan_fetches(ctx: RunContext) -> None:
    """Live runs of incremental sources ask only for what changed: per watchlist entry, from the
    day its last complete fetch started (minus the overlap window), a full fetch when the last
    one is `full_refresh_days` old, and a citation refresh of known OpenAlex works whose counts
    are `citations_refresh_days` old. Demo, replay and import runs always fetch everything."""
    opts = ctx.watchlist.sources.incremental
    if ctx.mode != "live" or not opts.enabled:
        return
    state = ledger_tables.read_fetch_state(ctx.warehouse_path)
    today = ctx.started_at.date()
    for slug in ctx.watchlist.sources.enabled:
        if not SOURCES[slug].incremental:
            continue
        marks = state.get(slug, {})
        due = frozenset(
            entry
            for entry, (_mark, full_on) in marks.items()
            if full_on is None or (today - full_on).days >= opts.full_refresh_days
        )
        refresh: list[str] = []
        if slug == "openalex" and marks:
            refresh = ledger_tables.stale_citation_ids(
                ctx.warehouse_path,
                slug,
                ctx.started_at - timedelta(days=opts.citations_refresh_days),
                opts.max_citation_refresh,
            )
        ctx.plans[slug] = FetchPlan(
            watermarks={e: m for e, (m, _full) in marks.items()},
            full=due,
            overlap_days=opts.overlap_days,
            refresh=tuple(refresh),
            today=today,
        )


def fetch_state_rows(reports: list[FetchReport]) -> list[tuple[str, str, date, bool]]:
    """(source, entry, day, full) of every watchlist entry a source fetched completely."""
    return [
        (rep.source, entry, day, full)
        for rep in reports
        for entry, (day, full) in sorted(rep.completed.items())
    ]


def fetch_source(
    slug: str,
    watchlist: Watchlist,
    client: HttpClient,
    drift_dir: Path | None = None,
    plan: FetchPlan = FULL_PLAN,
) -> FetchReport:
    """Fetch one source for the whole watchlist. Network failure raises; a bad response is
    recorded as that request's error and the rest goes on; a spent allowance or scraper drift
    stops the source with what it has (drifted pages are saved under `drift_dir`)."""
    log.info(
        "[%s] fetching for %d researchers, %d topics",
        slug,
        len(watchlist.researchers),
        len(watchlist.topics),
        extra={"sf_event": "source_start", "sf_source": slug},  # the CLI's progress display
    )
    if plan.watermarks:
        log.info(
            "[%s] incremental: %d entries from their watermark, %d due a full fetch, "
            "%d known works' citations refreshed",
            slug,
            len(plan.watermarks) - len(plan.full),
            len(plan.full),
            len(plan.refresh),
        )
    report = SOURCES[slug].run(client, watchlist, plan)
    records = sum(f.page.count() for f in report.items)
    log.info(
        "[%s] %d responses, %d records, %d errors",
        slug,
        len(report.items),
        records,
        len(report.errors),
        extra={"sf_event": "source_done", "sf_source": slug, "sf_records": records},
    )
    if isinstance(report.stopped, SourceStopped):
        log.warning(
            "%s; keeping the %d responses fetched before", report.stopped, len(report.items)
        )
    for err in report.errors:
        if isinstance(err, ScrapeDrift) and drift_dir is not None:
            saved = save_drift_page(drift_dir, err)
            err.reason = f"{err.reason}; page saved to {saved}"
            err.args = (f"{err.args[0]}; page saved to {saved}",)
        log.error("%s", err)
    if report.skipped:  # each was logged when skipped
        log.warning(
            "[%s] %d request(s) skipped: robots.txt disallows them", slug, len(report.skipped)
        )
    return report


def save_drift_page(directory: Path, err: ScrapeDrift) -> Path:
    """Keep a page that no longer parsed, for inspection."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(err.body).hexdigest()[:12]
    path = directory / f"{err.source}-{digest}.html"
    path.write_bytes(err.body)
    return path


class InputTooLarge(ValueError):
    """An import file above the size limit: refused before it is read."""


def _refuse_big_files(slug: str, files: list[Path], max_bytes: int) -> None:
    for path in files:
        with contextlib.suppress(OSError):  # an unreadable file is named when it is read
            size = path.stat().st_size
            if size > max_bytes:
                raise InputTooLarge(
                    f"[{slug}] {path}: {size / 2**20:.1f} MB is above the {max_bytes / 2**20:.4g} MB"
                    " limit for one file; split it, or raise the limit with --max-file-mb"
                )


# A parser reads a file as an HTTP 200 answer; what it says about "HTTP 200 from X: HTML error
# page" is, of a file, that it is an HTML page, not an X payload.
_HTTP_200 = re.compile(r"^HTTP 200(?: (?:from|for) (?P<who>[^:]+))?(?::\s*(?P<what>.*))?$", re.S)


def file_reason(slug: str, reason: str) -> str:
    """A parser's reason, said of a file rather than of an HTTP response."""
    if reason.startswith("response is "):
        return "the file is " + reason.removeprefix("response is ")
    m = _HTTP_200.match(reason)
    if m is None:
        return reason
    who = m.group("who") or slug
    what = (m.group("what") or "").strip()
    if "HTML" in what:
        return f"the file is an HTML page, not data from {who}"
    if what in ("", "empty body"):
        return f"the file is empty or not data from {who}"
    return f"the file is not data from {who}: {what}"


def import_files(
    slug: str, files: list[Path], max_bytes: int | None = None, into: Path | None = None
) -> FetchReport:
    """Saved responses of a source, parsed exactly as fetched ones. Any invalid file raises
    (naming it) before anything is loaded; with `max_bytes`, so does any bigger file, before
    any file is read (parsing and loading need several times a file's size in memory).

    With `into` (the warehouse they will load into) each file is held as it will land, from
    the moment it is parsed: records checked and made one Arrow table per entity, the body
    packed (or let go when that warehouse archives it already), so memory holds a few files'
    parsed dicts at most, whatever the number of files."""
    report = FetchReport(slug)
    if max_bytes is not None:
        _refuse_big_files(slug, files, max_bytes)
    archived = land.archived_bodies(into, slug) if into is not None else None
    packing: dict[int, tuple[int, Future[bytes]]] = {}  # item index -> (size, gzip to come)
    # zlib lets go of the GIL: bodies are packed on a second thread while the next files parse
    with ThreadPoolExecutor(max_workers=1) as packer:
        try:
            for path in files:
                item = _import_file(slug, path)
                if archived is not None:
                    item, body = _compact(slug, item, archived)
                    if body is not None:
                        fut = packer.submit(land.pack_body, body)
                        packing[len(report.items)] = (len(body), fut)
                report.items.append(item)
                # The records held so far are no garbage: without this the collector walks all
                # of them again and again while the next files parse, and parsing time grows
                # with the files already held (142 ms a page after 50k works, 56 after 10k).
                gc.freeze()
        finally:
            gc.unfreeze()  # back under the collector's normal rules (one walk, not one a file)
        for n, (size, fut) in packing.items():
            report.items[n] = replace(report.items[n], packed=(size, fut.result()))
    return report


def _compact(
    slug: str, item: Fetched, archived: set[tuple[str, str]]
) -> tuple[Fetched, bytes | None]:
    """A parsed file as it will land (see `import_files`), and its body when it is to be packed
    (None: the warehouse archives it already)."""
    r = item.response
    page = checked_page(slug, item.page, r.url)
    landed = {}
    for entity, records in page.records.items():
        landed[entity], _ = land.records_table(slug, entity, records, checked=True)
    page = replace(page, records={}, landed=landed)
    if (r.url, r.sha256) in archived:
        return Fetched(replace(r, body=b""), page, (len(r.body), b"")), None
    return Fetched(replace(r, body=b""), page), r.body


def _import_file(slug: str, path: Path) -> Fetched:
    """One saved response, parsed; an invalid file raises naming it."""
    source = SOURCES[slug]
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SourceError(slug, str(path), f"cannot read file: {exc.strerror}") from None
    try:
        page = source.parse(body, str(path), 200)
    except SourceError as exc:
        raise SourceError(slug, str(path), file_reason(slug, exc.reason)) from None
    if page.count() == 0 and not page.quarantined and not page.skipped and body.strip():
        log.warning("[%s] %s holds no records", slug, path)
    response = FetchedResponse(
        source=slug,
        method="FILE",
        url=path.resolve().as_uri(),
        status=200,
        content_type="application/octet-stream",
        body=body,
        fetched_at=datetime.now(UTC),
    )
    return Fetched(response, page)


def network_hint(exc: FetchError) -> str:
    return f"{exc}\nNo network? Run offline on the bundled recording with --demo, or --replay DIR."

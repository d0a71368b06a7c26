"""The pipeline's steps as plain functions (no Prefect): fetch, import, load + build, export.

The Prefect flow in `flows.pipeline` wraps these as tasks; short commands (`import`, `build`,
`ingest`) call them directly and skip the orchestration server's start-up cost.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import re
import secrets
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from flows import __version__, outputs, publish, settings, warehouse
from flows.http import (
    DEFAULT_LIMITS,
    UNKNOWN_HOST,
    FetchedResponse,
    FetchError,
    HostPolicy,
    HttpClient,
    SourceStopped,
    Usage,
)
from flows.overrides import Overrides
from flows.recording import Recorder, ReplayTransport
from flows.reports import ReportOptions
from flows.sources import SOURCES
from flows.sources.base import (
    FULL_PLAN,
    Fetched,
    FetchPlan,
    FetchReport,
    Page,
    ScrapeDrift,
    SourceError,
)
from flows.validate import checked_page, validated
from flows.watchlist import Watchlist
from transforms import model

log = logging.getLogger("scholarflow")

Mode = Literal["live", "demo", "replay", "import", "build"]


@dataclass
class RunContext:
    command: str
    mode: Mode
    watchlist: Watchlist
    watchlist_sha256: str
    warehouse_path: Path
    run_id: str = field(default_factory=lambda: new_run_id())
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    wait_seconds: float = 0.0
    # overrides.toml, validated (no entries when the file is absent)
    overrides: Overrides = field(default_factory=Overrides)
    # Per source, what it already holds (live runs; see plan_fetches). Absent: fetch everything.
    plans: dict[str, FetchPlan] = field(default_factory=dict)
    # set once this run's `runs` row (succeeded, partial or failed) is committed
    recorded: bool = False
    # how the model was built: path (unchanged, incremental, full), the reason of a full build
    model_build: dict[str, Any] = field(default_factory=dict)


class AfterCommitError(RuntimeError):
    """The run was committed, but a later step (publishing the warehouse or the reports)
    failed or was interrupted: the message says what was committed and what was not."""

    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


@dataclass
class SourceSummary:
    source: str
    requests: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the source stopped early (budget, allowance, drift)
    skipped: int = 0  # requests not made: robots.txt disallows them
    not_works: int = 0  # records skipped as not works (Crossref journals, components...)
    resumed: int = 0  # responses reused from an interrupted earlier run


@dataclass
class RunSummary:
    run_id: str
    warehouse: Path
    sources: list[SourceSummary]
    reports: list[Path]
    tables: dict[str, int]
    snapshots: int
    overrides: dict[str, Any] = field(default_factory=dict)  # see override_stats

    @property
    def error_count(self) -> int:
        return sum(len(s.errors) for s in self.sources)

    @property
    def stopped_count(self) -> int:
        return sum(1 for s in self.sources if s.stopped)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def watchlist_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    spent = warehouse.used_today(warehouse_path, datetime.now(UTC).date()) if warehouse_path else {}
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
        resume=warehouse.resume_responses(warehouse_path) if warehouse_path else None,
    )


def plan_fetches(ctx: RunContext) -> None:
    """Live runs of incremental sources ask only for what changed: per watchlist entry, from the
    day its last complete fetch started (minus the overlap window), a full fetch when the last
    one is `full_refresh_days` old, and a citation refresh of known OpenAlex works whose counts
    are `citations_refresh_days` old. Demo, replay and import runs always fetch everything."""
    opts = ctx.watchlist.sources.incremental
    if ctx.mode != "live" or not opts.enabled:
        return
    state = warehouse.read_fetch_state(ctx.warehouse_path)
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
            refresh = warehouse.stale_citation_ids(
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
    archived = warehouse.archived_bodies(into, slug) if into is not None else None
    packing: dict[int, tuple[int, Future[bytes]]] = {}  # item index -> (size, gzip to come)
    # zlib lets go of the GIL: bodies are packed on a second thread while the next files parse
    with ThreadPoolExecutor(max_workers=1) as packer:
        try:
            for path in files:
                item = _import_file(slug, path)
                if archived is not None:
                    item, body = _compact(slug, item, archived)
                    if body is not None:
                        fut = packer.submit(warehouse.pack_body, body)
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
        landed[entity], _ = warehouse.records_table(slug, entity, records, checked=True)
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


def _records(page: Page, entity: str, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """`entity`'s records of a page, parsed or landed (of those, only `fields`)."""
    yield from page.records.get(entity, [])
    table = page.landed.get(entity)
    if table is not None:
        have = set(table.column_names)
        yield from table.select([f for f in fields if f in have]).to_pylist()


def _observations(reports: list[FetchReport]) -> pl.LazyFrame:
    """The citation counts this run saw, one row per record, for citation_snapshots."""
    rows: list[dict[str, Any]] = []
    for rep in reports:
        fields = SOURCES[rep.source].citations
        if fields is None:
            continue
        entity, id_field, count_field = fields
        for item in rep.items:
            if item.response.resumed:  # observed by the earlier run, not by this one
                continue
            for rec in _records(item.page, entity, (id_field, count_field)):
                rows.append(
                    {
                        "source": rep.source,
                        "source_work_id": rec[id_field],
                        "cited_by_count": rec[count_field],
                        "observed_at": item.response.fetched_at,
                    }
                )
    return model.observations_frame(rows)


def _metric_rows(reports: list[FetchReport], run_id: str) -> list[dict[str, Any]]:
    """This run's per-record metrics (the sources' SIGNALS), for metric_snapshots."""
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for rep in reports:
        for entity, (id_field, metrics) in SOURCES[rep.source].signals.items():
            for item in rep.items:
                if item.response.resumed:
                    continue
                for rec in _records(item.page, entity, (id_field, *metrics)):
                    for metric in metrics:
                        value = rec.get(metric)
                        if value is None or isinstance(value, bool):
                            continue
                        key = (rep.source, entity, str(rec[id_field]), metric)
                        rows[key] = {
                            "run_id": run_id,
                            "observed_at": item.response.fetched_at,
                            "source": rep.source,
                            "entity": entity,
                            "record_id": str(rec[id_field]),
                            "metric": metric,
                            "value": float(value),
                        }
    return list(rows.values())


def _stop_reason(rep: FetchReport) -> str | None:
    if isinstance(rep.stopped, SourceStopped):
        return rep.stopped.reason
    return str(rep.stopped) if rep.stopped is not None else None


def _usage_row(ctx: RunContext, source: str, u: Usage, reason: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "run_id": ctx.run_id,
        "source": source,
        "usage_date": now.date(),
        "mode": ctx.mode,  # only live rows count against the budget
        "requests": u.requests,
        "cost_units": u.cost_units,
        "daily_budget": ctx.watchlist.budgets.get(source),
        "stopped_reason": reason,
        "recorded_at": now,
    }


def _usage_rows(
    ctx: RunContext, reports: list[FetchReport], usage: Mapping[str, Usage]
) -> list[dict[str, Any]]:
    return [
        _usage_row(
            ctx,
            rep.source,
            usage.get(rep.source, Usage()),
            _stop_reason(rep) or usage.get(rep.source, Usage()).stopped,
        )
        for rep in reports
    ]


def _save_resume_state(con: Any, ctx: RunContext, reports: list[FetchReport]) -> None:
    """A source stopped by its budget or allowance resumes next run from what it got now;
    a source that finished (or drifted: not resumable) starts afresh."""
    for rep in reports:
        stopped = rep.stopped if isinstance(rep.stopped, SourceStopped) else None
        warehouse.save_source_state(
            con,
            rep.source,
            ctx.run_id,
            stopped.reason if stopped else None,
            [(f.response.url, f.response.sha256) for f in rep.items],
        )


def _researcher_rows(watchlist: Watchlist) -> list[dict[str, object]]:
    return [
        {
            "researcher_id": r.researcher_id,
            "display_name": r.name,
            "names": list(r.all_names),
            "openalex_ids": [r.openalex_id] if r.openalex_id else [],
            "s2_ids": [r.semantic_scholar_id] if r.semantic_scholar_id else [],
            "scholar_feed_ids": [r.scholar_feed_id] if r.scholar_feed_id else [],
            "dblp_pids": [r.dblp_pid] if r.dblp_pid else [],
            "orcid": r.orcid,
        }
        for r in watchlist.researchers
    ]


def _topic_rows(watchlist: Watchlist) -> list[dict[str, object]]:
    return [
        {
            "topic_id": t.topic_id,
            "topic_name": t.name,
            "keywords": list(t.keywords),
            "openalex_topic_ids": list(t.openalex_topic_ids),
        }
        for t in watchlist.topics
    ]


def _group_rows(watchlist: Watchlist) -> list[dict[str, object]]:
    """research_groups: one row per [[groups]] member (group indices in metrics.group_indices)."""
    return [
        {
            "group_id": g.group_id,
            "group_name": g.name,
            "author_id": watchlist.researcher_named(member).researcher_id,
        }
        for g in watchlist.groups
        for member in dict.fromkeys(g.members)
    ]


def _code_digest() -> str:
    """The model's code and engines: a different version rebuilds."""
    h = hashlib.sha256(f"{__version__} {pl.__version__} {warehouse.engine_version()}".encode())
    root = Path(model.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _inputs_digest(ctx: RunContext, frames: dict[str, pl.LazyFrame]) -> str:
    """The model's inputs that do not live in the warehouse (watchlist, overrides)."""
    h = hashlib.sha256()
    for name, lf in sorted(frames.items()):
        frame = lf.collect()
        h.update(f"{name} {frame.schema}\n".encode() + frame.write_ndjson().encode())
    return h.hexdigest()


def _build(
    con: Any, ctx: RunContext, observed: pl.LazyFrame, full: bool = False
) -> tuple[dict[str, int], int]:
    """Build the model, unless (`full` false) the warehouse's model was built from exactly
    these raw rows, id registry, watchlist, overrides and code: that build is a fixed point,
    so its tables stand (tests/test_warehouse.py compares them with a full build). Else the
    works are resolved again only where new or changed records reach, when nothing else
    changed since the last build (tests/test_incremental.py compares with full builds)."""
    inputs = {
        "researchers": model.researchers_frame(_researcher_rows(ctx.watchlist)),
        "topics": model.topics_frame(_topic_rows(ctx.watchlist)),
        "overrides": ctx.overrides.frame(),
        "research_groups": pl.LazyFrame(
            _group_rows(ctx.watchlist),
            schema={"group_id": pl.String, "group_name": pl.String, "author_id": pl.String},
        ),
    }
    code, given = _code_digest(), _inputs_digest(ctx, inputs)
    fixed = f"{code}\n{given}\n{warehouse.raw_digest(con)}"
    kept = None if full else warehouse.built_from(con, f"{fixed}\n{warehouse.registry_digest(con)}")
    if kept is not None:
        log.info("raw data, registry, watchlist and overrides unchanged: the model stands")
        ctx.model_build = {"path": "unchanged", "reason": None}
        counts = warehouse.table_heights(con, kept)
        xref = warehouse.read_table(con, "work_xref").lazy()
    else:
        why = _full_reason(con, full, code, given)
        counts, xref = _rebuild(con, ctx, inputs, why)
        digest = f"{fixed}\n{warehouse.registry_digest(con)}"
        warehouse.save_model_state(con, digest, list(counts), ctx.run_id)
    snaps = model.citation_snapshot_rows(observed, xref, ctx.run_id).collect()
    appended = warehouse.append_snapshots(con, snaps)
    warehouse.create_views(con, settings.sql_dir())
    undocumented = warehouse.apply_comments(con, settings.sql_dir())
    if undocumented:
        log.debug("%d warehouse objects have no description in flows/catalog.toml", undocumented)
    return counts, appended


def _full_reason(con: Any, full: bool, code: str, given: str) -> str | None:
    """Why this build must resolve every record (None: an incremental build may do)."""
    if full:
        return "full build asked for (--full)"
    before = warehouse.model_digest(con)
    if before is None:
        return "no previous build"
    lines = before.split("\n")
    if lines[0] != code:
        return "code or engine version changed since the last build"
    if lines[1] != given:
        return "watchlist or overrides changed since the last build"
    if lines[-1] != warehouse.registry_digest(con):
        return "the id registry changed since the last build"
    return None


def _rebuild(
    con: Any, ctx: RunContext, inputs: dict[str, pl.LazyFrame], full_reason: str | None
) -> tuple[dict[str, int], pl.LazyFrame]:
    """The model tables from the raw tables (`full_reason` None: incrementally where the
    previous build allows); (heights, work_xref)."""
    raw = warehouse.read_raw(con)
    lazy, how = model.build_model_from(
        raw,
        inputs["researchers"],
        inputs["topics"],
        previous=warehouse.read_previous_model(con)
        if full_reason is None
        else warehouse.read_registry(con),
        run_id=ctx.run_id,
        overrides=inputs["overrides"],
        incremental=full_reason is None,
    )
    if full_reason is not None:
        how["reason"] = full_reason
    ctx.model_build = how
    # debug, not info: the CLI's stderr carries warnings and errors; the run's stats keep it
    if how["path"] == "full":
        log.debug("model: full build (%s)", how["reason"])
    else:
        log.debug(
            "model: incremental, %d of %d records resolved again",
            how.get("affected_records", 0),
            how["records"],
        )
    del raw
    names = list(lazy)
    tables = dict(zip(names, pl.collect_all([lazy[n] for n in names]), strict=True))
    del lazy  # the plans hold the raw frames and every intermediate frame of the build
    tables["research_groups"] = inputs["research_groups"].collect().unique(maintain_order=True)
    heights = {n: t.height for n, t in tables.items()}
    xref = tables["work_xref"].lazy()
    # one table at a time, each let go once DuckDB holds it: the run's peak of memory is here
    for name in list(tables):
        warehouse.replace_tables(con, {name: tables.pop(name)})
    return heights, xref


def _landed(rep: FetchReport) -> FetchReport:
    """`rep` without what the warehouse now holds (response bodies, parsed records): the rest
    of the run needs only each response's identity (URL, sha256, time)."""
    items = [Fetched(replace(f.response, body=b""), Page()) for f in rep.items]
    return replace(rep, items=items)


def _land(con: Any, ctx: RunContext, rep: FetchReport, usage: Mapping[str, Usage]) -> SourceSummary:
    """Archive one source's responses, upsert its records, quarantine what it could not parse."""
    warehouse.archive_responses(con, ctx.run_id, rep.items)
    stats = warehouse.upsert_raw(con, ctx.run_id, rep.source, rep.items)
    bad = [q for f in rep.items for q in f.page.quarantined]
    not_works = [q for f in rep.items for q in f.page.skipped]
    warehouse.quarantine(con, ctx.run_id, [*bad, *not_works, *rep.errors])
    return SourceSummary(
        rep.source,
        requests=usage[rep.source].requests if rep.source in usage else len(rep.items),
        records=stats.records,
        new=stats.new,
        updated=stats.updated,
        unchanged=stats.unchanged,
        quarantined=len(bad) + stats.quarantined,
        errors=[str(e) for e in rep.errors],
        stopped=_stop_reason(rep),
        skipped=len(rep.skipped),
        not_works=len(not_works),
        resumed=usage[rep.source].resumed if rep.source in usage else 0,
    )


def load_and_build(
    ctx: RunContext,
    reports: list[FetchReport],
    usage: Mapping[str, Usage],
    release: bool = False,
) -> RunSummary:
    """One transaction: archive, upsert raw, quarantine, rebuild model, snapshot, record run
    (committed in two steps where a failure can undo the first: `Writer.commit_load`); then
    publish the warehouse and the run's report set.

    Each report's bodies and parsed records are let go once landed, before the model build (the
    run's largest use of memory); with `release` the caller's reports are emptied too (their
    items keep only the responses' identity), for callers that hold nothing else of them."""
    given = reports
    reports = validated(reports)  # every later path sees only records that fit their tables
    observed, metrics = _observations(reports), _metric_rows(reports, ctx.run_id)
    summaries: list[SourceSummary] = []
    with warehouse.Writer(ctx.warehouse_path, ctx.wait_seconds, ctx.run_id) as w:
        con = w.con
        with _failure_recorded(w, ctx, summaries, usage), warehouse.transaction(con):
            for n in range(len(reports)):
                summaries.append(_land(con, ctx, reports[n], usage))
                reports[n] = _landed(reports[n])
                if release:
                    given[n].items[:] = reports[n].items
            # DuckDB lets go of the landed rows before the model build (the run's peak of
            # memory); a failure from here on still leaves nothing of this run but its record
            w.commit_load()
            # Nothing loaded (every record quarantined, or none at all) is a run, not a failure:
            # the model, views and header-only reports are built from empty raw tables and the
            # quarantine rows stay.
            counts, snapshots = _build(con, ctx, observed)
            warehouse.append_metrics(con, metrics)
            warehouse.record_usage(con, _usage_rows(ctx, reports, usage))
            if ctx.mode == "live":
                _save_resume_state(con, ctx, reports)
                warehouse.save_fetch_state(con, ctx.run_id, fetch_state_rows(reports))
            applied = _record(con, ctx, summaries, counts, snapshots)
        w.finish()
        ctx.recorded = True
        paths = _publish(w, ctx)
    return RunSummary(ctx.run_id, ctx.warehouse_path, summaries, paths, counts, snapshots, applied)


def _publish(w: warehouse.Writer, ctx: RunContext) -> list[Path]:
    """After the commit: write the run's report set, publish the warehouse, then switch the
    reports to the new set. Readers see the previous warehouse and reports or the new ones;
    a failure here says what is committed and published and what is not."""
    root = settings.reports_dir(ctx.warehouse_path)
    step = "writing its reports"
    try:
        staged = publish.stage_reports(root, ctx.run_id)
        warehouse.write_report_files(w.con, staged, ReportOptions.from_watchlist(ctx.watchlist))
        # what people read beside the CSVs: digest.md, index.html, charts/, exports/
        # charts and exports whose inputs are unchanged are taken from the current set
        outputs.write_outputs(w.con, staged, ctx.run_id, publish.current_run_dir(root))
        publish.seal_reports(root, ctx.run_id, staged)
        step = "publishing the warehouse"
        w.publish()
        step = "switching to its reports"
        return publish.switch_reports(root, ctx.run_id, ctx.watchlist.reports.keep_runs)
    except BaseException as exc:
        if not w.published:  # the data is committed: publish it even if the reports failed
            with contextlib.suppress(Exception):
                w.publish()
        interrupted = isinstance(exc, KeyboardInterrupt)
        what = "was interrupted" if interrupted else f"failed: {exc}"
        if w.published:
            done = (
                f"run {ctx.run_id} is committed and the warehouse {ctx.warehouse_path} is published"
            )
        else:
            done = (
                f"run {ctx.run_id} is committed but not published: {ctx.warehouse_path} still "
                "shows the previous run until the next run publishes it"
            )
        raise AfterCommitError(
            f"{done}; {step} {what}, so {root}/ still holds the previous run's reports",
            interrupted=interrupted,
        ) from exc


@contextlib.contextmanager
def _failure_recorded(
    w: warehouse.Writer,
    ctx: RunContext,
    summaries: list[SourceSummary],
    usage: Mapping[str, Usage],
) -> Iterator[None]:
    """A run that fails before its (last) commit rolls its data back, then records its `runs` row
    (status failed, the error, what each source did) and the requests it spent, in a
    transaction of their own; leaving the writer publishes that trace."""
    try:
        yield
    except BaseException as exc:
        try:
            w.undo_half_run()  # its load was committed: back to the warehouse as published
        except Exception as inner:  # never hide the run's own failure
            log.error("could not undo the failed run %s: %s", ctx.run_id, inner)
            raise exc from None
        if _worth_recording(ctx, w.fresh, usage):
            w.keep = _record_failure(w.con, ctx, exc, summaries, usage)
        raise


def _worth_recording(ctx: RunContext, fresh: bool, usage: Mapping[str, Usage]) -> bool:
    """A failed run is recorded in an existing warehouse; it creates one only to book the
    requests a live run spent upstream (today's budget must stay true)."""
    spent = any(u.requests or u.cost_units for u in usage.values())
    return not fresh or (ctx.mode == "live" and spent)


def _record_failure(
    con: Any,
    ctx: RunContext,
    exc: BaseException,
    summaries: list[SourceSummary],
    usage: Mapping[str, Usage],
) -> bool:
    """Whether the failure was recorded."""
    if ctx.recorded or isinstance(exc, warehouse.WarehouseBusy):
        return False
    error = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
    done = {s.source for s in summaries}
    sources = [s.__dict__ for s in summaries] + [
        {"source": src, "requests": u.requests, "cost_units": u.cost_units}
        for src, u in usage.items()
        if src not in done
    ]
    spent = {s: u for s, u in usage.items() if u.requests or u.cost_units}
    try:
        with warehouse.transaction(con):
            if spent and ctx.mode == "live":  # spent upstream: today's budget stays true
                warehouse.record_usage(
                    con,
                    [
                        _usage_row(ctx, s, u, f"run failed: {type(exc).__name__}")
                        for s, u in spent.items()
                    ],
                )
            warehouse.record_run(
                con,
                {
                    "run_id": ctx.run_id,
                    "command": ctx.command,
                    "mode": ctx.mode,
                    "started_at": ctx.started_at,
                    "finished_at": datetime.now(UTC),
                    "status": "failed",
                    "sources": sorted({*done, *usage}),
                    "watchlist_sha256": ctx.watchlist_sha256,
                    # what each source did before the failure, all of it rolled back
                    "stats": {"sources": sources, "rolled_back": True},
                    "overrides_sha256": ctx.overrides.sha256,
                    "version": __version__,
                    "error": error[:2000],
                },
            )
        ctx.recorded = True
        return True
    except Exception as inner:  # never hide the run's own failure
        log.error("could not record the failed run %s: %s", ctx.run_id, inner)
        return False


def _record(
    con: Any, ctx: RunContext, summaries: list[SourceSummary], counts: dict[str, int], snaps: int
) -> dict[str, Any]:
    errors = sum(len(s.errors) for s in summaries)
    overrides = override_stats(con, ctx.overrides)
    warehouse.record_run(
        con,
        {
            "run_id": ctx.run_id,
            "command": ctx.command,
            "mode": ctx.mode,
            "started_at": ctx.started_at,
            "finished_at": datetime.now(UTC),
            "status": "succeeded"
            if errors == 0 and not any(s.stopped for s in summaries)
            else "partial",
            "sources": [s.source for s in summaries],
            "watchlist_sha256": ctx.watchlist_sha256,
            "stats": {
                "sources": [s.__dict__ for s in summaries],
                "tables": counts,
                "snapshots": snaps,
                "overrides": overrides,
                "model": ctx.model_build,
            },
            "overrides_sha256": ctx.overrides.sha256,
            "version": __version__,
        },
    )
    return overrides


def override_stats(con: Any, overrides: Overrides) -> dict[str, Any]:
    """What the run did with overrides.toml: entries per kind, and how many were applied (an
    entry the build flagged `override_unmatched` named nothing and was not applied)."""
    unmatched = warehouse.override_lines_flagged(con, "override_unmatched")
    lines = {r["line"] for r in overrides.rows}
    return {
        "path": str(overrides.path) if overrides.path else None,
        "sha256": overrides.sha256,
        "entries": len(overrides.rows),
        "by_kind": overrides.counts(),
        "applied": len(lines - unmatched),
        "unmatched_lines": sorted(lines & unmatched),
    }


def build_only(ctx: RunContext, full: bool = True) -> RunSummary:
    """Rebuild the model, views and reports from what the warehouse already holds (`full`
    false: only what changed since the last build, when that is safe)."""
    if not warehouse.Writer.exists(ctx.warehouse_path):
        raise warehouse.WarehouseEmpty(
            f"{ctx.warehouse_path} holds no source data yet: run `scholarflow run` or `ingest` first"
        )
    with warehouse.Writer(ctx.warehouse_path, ctx.wait_seconds, ctx.run_id) as w:
        con = w.con
        with _failure_recorded(w, ctx, [], {}), warehouse.transaction(con):
            if not warehouse.has_data(con):
                raise warehouse.WarehouseEmpty(
                    f"{ctx.warehouse_path} holds no source data yet: run `scholarflow run` or `ingest` first"
                )
            counts, snapshots = _build(con, ctx, model.observations_frame([]), full=full)
            applied = _record(con, ctx, [], counts, snapshots)
        ctx.recorded = True
        paths = _publish(w, ctx)
    return RunSummary(ctx.run_id, ctx.warehouse_path, [], paths, counts, snapshots, applied)


def network_hint(exc: FetchError) -> str:
    return f"{exc}\nNo network? Run offline on the bundled recording with --demo, or --replay DIR."


def ingest(
    ctx: RunContext,
    sources: list[str],
    replay_dir: Path | None = None,
    record_dir: Path | None = None,
) -> RunSummary:
    """Fetch the given sources one after another, then load and build (no orchestration)."""
    with warehouse.exclusive(ctx.warehouse_path, ctx.wait_seconds):
        client = make_client(ctx.watchlist, ctx.mode, replay_dir, record_dir, ctx.warehouse_path)
        with spend_recorded_on_failure(ctx, client):
            with client:
                drift = settings.drift_dir(ctx.warehouse_path, ctx.run_id)
                plan_fetches(ctx)
                reports = [
                    fetch_source(slug, ctx.watchlist, client, drift, ctx.plans.get(slug, FULL_PLAN))
                    for slug in sources
                ]
            return load_and_build(ctx, reports, dict(client.usage))


@contextlib.contextmanager
def spend_recorded_on_failure(ctx: RunContext, client: HttpClient) -> Iterator[None]:
    """A run that fails before its load (network gone, a crash while fetching) records its
    `runs` row (failed, the error, requests per source) and, for live runs, the requests it
    spent upstream in the usage ledger, in a transaction of its own. A failure inside the
    load is recorded there (with what each source loaded)."""
    try:
        yield
    except BaseException as exc:
        fresh = not warehouse.Writer.exists(ctx.warehouse_path)
        if (
            not ctx.recorded
            and not isinstance(exc, warehouse.WarehouseBusy)
            and _worth_recording(ctx, fresh, client.usage)
        ):
            try:
                with warehouse.Writer(ctx.warehouse_path, ctx.wait_seconds, ctx.run_id) as w:
                    w.keep = _record_failure(w.con, ctx, exc, [], dict(client.usage))
            except Exception as inner:  # never hide the run's own failure
                log.error("could not record the failed run %s: %s", ctx.run_id, inner)
        raise

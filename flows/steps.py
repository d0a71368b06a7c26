"""Land, build, publish: a run's fetched or imported responses into the warehouse, the model
built from them, and the report set published (plain functions, no Prefect).

The Prefect flow in `flows.pipeline` wraps these as tasks; short commands (`import`, `build`,
`ingest`) call them directly and skip the orchestration server's start-up cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from flows import (
    __version__,
    fetch,
    land,
    ledger,
    ledger_tables,
    model_tables,
    outputs,
    publish,
    settings,
    views,
    warehouse,
)
from flows.context import AfterCommitError, RunContext, RunSummary, SourceSummary
from flows.http import (
    Usage,
)
from flows.reports import ReportOptions
from flows.sources import SOURCES
from flows.sources.base import (
    FULL_PLAN,
    Fetched,
    FetchReport,
    Page,
)
from flows.validate import validated
from flows.watchlist import Watchlist
from transforms import model

log = logging.getLogger("scholarflow")


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
    fixed = f"{code}\n{given}\n{model_tables.raw_digest(con)}"
    kept = (
        None
        if full
        else model_tables.built_from(con, f"{fixed}\n{model_tables.registry_digest(con)}")
    )
    if kept is not None:
        log.info("raw data, registry, watchlist and overrides unchanged: the model stands")
        ctx.model_build = {"path": "unchanged", "reason": None}
        counts = model_tables.table_heights(con, kept)
        xref = model_tables.read_table(con, "work_xref").lazy()
    else:
        why = _full_reason(con, full, code, given)
        counts, xref = _rebuild(con, ctx, inputs, why)
        digest = f"{fixed}\n{model_tables.registry_digest(con)}"
        model_tables.save_model_state(con, digest, list(counts), ctx.run_id)
    snaps = model.citation_snapshot_rows(observed, xref, ctx.run_id).collect()
    appended = model_tables.append_snapshots(con, snaps)
    views.create_views(con, settings.sql_dir())
    undocumented = views.apply_comments(con, settings.sql_dir())
    if undocumented:
        log.debug("%d warehouse objects have no description in flows/catalog.toml", undocumented)
    return counts, appended


def _full_reason(con: Any, full: bool, code: str, given: str) -> str | None:
    """Why this build must resolve every record (None: an incremental build may do)."""
    if full:
        return "full build asked for (--full)"
    before = model_tables.model_digest(con)
    if before is None:
        return "no previous build"
    lines = before.split("\n")
    if lines[0] != code:
        return "code or engine version changed since the last build"
    if lines[1] != given:
        return "watchlist or overrides changed since the last build"
    if lines[-1] != model_tables.registry_digest(con):
        return "the id registry changed since the last build"
    return None


def _rebuild(
    con: Any, ctx: RunContext, inputs: dict[str, pl.LazyFrame], full_reason: str | None
) -> tuple[dict[str, int], pl.LazyFrame]:
    """The model tables from the raw tables (`full_reason` None: incrementally where the
    previous build allows); (heights, work_xref)."""
    raw = land.read_raw(con)
    lazy, how = model.build_model_from(
        raw,
        inputs["researchers"],
        inputs["topics"],
        previous=model_tables.read_previous_model(con)
        if full_reason is None
        else model_tables.read_registry(con),
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
        model_tables.replace_tables(con, {name: tables.pop(name)})
    return heights, xref


def _landed(rep: FetchReport) -> FetchReport:
    """`rep` without what the warehouse now holds (response bodies, parsed records): the rest
    of the run needs only each response's identity (URL, sha256, time)."""
    items = [Fetched(replace(f.response, body=b""), Page()) for f in rep.items]
    return replace(rep, items=items)


def _land(con: Any, ctx: RunContext, rep: FetchReport, usage: Mapping[str, Usage]) -> SourceSummary:
    """Archive one source's responses, upsert its records, quarantine what it could not parse."""
    land.archive_responses(con, ctx.run_id, rep.items)
    stats = land.upsert_raw(con, ctx.run_id, rep.source, rep.items)
    bad = [q for f in rep.items for q in f.page.quarantined]
    not_works = [q for f in rep.items for q in f.page.skipped]
    land.quarantine(con, ctx.run_id, [*bad, *not_works, *rep.errors])
    return SourceSummary(
        rep.source,
        requests=usage[rep.source].requests if rep.source in usage else len(rep.items),
        records=stats.records,
        new=stats.new,
        updated=stats.updated,
        unchanged=stats.unchanged,
        quarantined=len(bad) + stats.quarantined,
        errors=[str(e) for e in rep.errors],
        stopped=ledger.stop_reason(rep),
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
        with ledger.failure_recorded(w, ctx, summaries, usage), warehouse.transaction(con):
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
            ledger_tables.append_metrics(con, metrics)
            ledger_tables.record_usage(con, ledger.usage_rows(ctx, reports, usage))
            if ctx.mode == "live":
                ledger.save_resume_state(con, ctx, reports)
                ledger_tables.save_fetch_state(con, ctx.run_id, fetch.fetch_state_rows(reports))
            applied = ledger.record_finished(con, ctx, summaries, counts, snapshots)
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
        with views.shared_views_once(w.con):
            options = ReportOptions.from_watchlist(ctx.watchlist)
            views.write_report_files(w.con, staged, options)
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


def build_only(ctx: RunContext, full: bool = True) -> RunSummary:
    """Rebuild the model, views and reports from what the warehouse already holds (`full`
    false: only what changed since the last build, when that is safe)."""
    if not warehouse.Writer.exists(ctx.warehouse_path):
        raise warehouse.WarehouseEmpty(
            f"{ctx.warehouse_path} holds no source data yet: run `scholarflow run` or `ingest` first"
        )
    with warehouse.Writer(ctx.warehouse_path, ctx.wait_seconds, ctx.run_id) as w:
        con = w.con
        with ledger.failure_recorded(w, ctx, [], {}), warehouse.transaction(con):
            if not model_tables.has_data(con):
                raise warehouse.WarehouseEmpty(
                    f"{ctx.warehouse_path} holds no source data yet: run `scholarflow run` or `ingest` first"
                )
            counts, snapshots = _build(con, ctx, model.observations_frame([]), full=full)
            applied = ledger.record_finished(con, ctx, [], counts, snapshots)
        ctx.recorded = True
        paths = _publish(w, ctx)
    return RunSummary(ctx.run_id, ctx.warehouse_path, [], paths, counts, snapshots, applied)


def ingest(
    ctx: RunContext,
    sources: list[str],
    replay_dir: Path | None = None,
    record_dir: Path | None = None,
) -> RunSummary:
    """Fetch the given sources one after another, then load and build (no orchestration)."""
    with warehouse.exclusive(ctx.warehouse_path, ctx.wait_seconds):
        client = fetch.make_client(
            ctx.watchlist, ctx.mode, replay_dir, record_dir, ctx.warehouse_path
        )
        with ledger.spend_recorded_on_failure(ctx, client):
            with client:
                drift = settings.drift_dir(ctx.warehouse_path, ctx.run_id)
                fetch.plan_fetches(ctx)
                reports = [
                    fetch.fetch_source(
                        slug, ctx.watchlist, client, drift, ctx.plans.get(slug, FULL_PLAN)
                    )
                    for slug in sources
                ]
            return load_and_build(ctx, reports, dict(client.usage))

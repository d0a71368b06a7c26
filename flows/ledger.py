"""Ledger: what a run records about itself (runs row, usage, resume state), failures included."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from flows import __version__, ledger_tables, warehouse
from flows.context import RunContext, SourceSummary
from flows.http import (
    HttpClient,
    SourceStopped,
    Usage,
)
from flows.overrides import Overrides
from flows.sources.base import (
    FetchReport,
)

log = logging.getLogger("scholarflow")


def stop_reason(rep: FetchReport) -> str | None:
    if isinstance(rep.stopped, SourceStopped):
        return rep.stopped.reason
    return str(rep.stopped) if rep.stopped is not None else None


def usage_row(ctx: RunContext, source: str, u: Usage, reason: str | None) -> dict[str, Any]:
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


def usage_rows(
    ctx: RunContext, reports: list[FetchReport], usage: Mapping[str, Usage]
) -> list[dict[str, Any]]:
    return [
        usage_row(
            ctx,
            rep.source,
            usage.get(rep.source, Usage()),
            stop_reason(rep) or usage.get(rep.source, Usage()).stopped,
        )
        for rep in reports
    ]


def save_resume_state(con: Any, ctx: RunContext, reports: list[FetchReport]) -> None:
    """A source stopped by its budget or allowance resumes next run from what it got now;
    a source that finished (or drifted: not resumable) starts afresh."""
    for rep in reports:
        stopped = rep.stopped if isinstance(rep.stopped, SourceStopped) else None
        ledger_tables.save_source_state(
            con,
            rep.source,
            ctx.run_id,
            stopped.reason if stopped else None,
            [(f.response.url, f.response.sha256) for f in rep.items],
        )


@contextlib.contextmanager
def failure_recorded(
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
        if worth_recording(ctx, w.fresh, usage):
            w.keep = record_failure(w.con, ctx, exc, summaries, usage)
        raise


def worth_recording(ctx: RunContext, fresh: bool, usage: Mapping[str, Usage]) -> bool:
    """A failed run is recorded in an existing warehouse; it creates one only to book the
    requests a live run spent upstream (today's budget must stay true)."""
    spent = any(u.requests or u.cost_units for u in usage.values())
    return not fresh or (ctx.mode == "live" and spent)


def record_failure(
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
                ledger_tables.record_usage(
                    con,
                    [
                        usage_row(ctx, s, u, f"run failed: {type(exc).__name__}")
                        for s, u in spent.items()
                    ],
                )
            # what each source did before the failure, all of it rolled back
            stats = {"sources": sources, "rolled_back": True}
            ledger_tables.record_run(
                con,
                _run_row(ctx, "failed", sorted({*done, *usage}), stats) | {"error": error[:2000]},
            )
        ctx.recorded = True
        return True
    except Exception as inner:  # never hide the run's own failure
        log.error("could not record the failed run %s: %s", ctx.run_id, inner)
        return False


def _run_row(
    ctx: RunContext, status: str, sources: list[str], stats: dict[str, Any]
) -> dict[str, Any]:
    """The run's `runs` row as it ends (succeeded, partial or failed)."""
    return {
        "run_id": ctx.run_id,
        "command": ctx.command,
        "mode": ctx.mode,
        "started_at": ctx.started_at,
        "finished_at": datetime.now(UTC),
        "status": status,
        "sources": sources,
        "watchlist_sha256": ctx.watchlist_sha256,
        "stats": stats,
        "overrides_sha256": ctx.overrides.sha256,
        "version": __version__,
    }


def record_finished(
    con: Any, ctx: RunContext, summaries: list[SourceSummary], counts: dict[str, int], snaps: int
) -> dict[str, Any]:
    """The `runs` row of a run that got to its end (succeeded or partial); its override stats."""
    errors = sum(len(s.errors) for s in summaries)
    overrides = override_stats(con, ctx.overrides)
    status = "succeeded" if errors == 0 and not any(s.stopped for s in summaries) else "partial"
    stats = {
        "sources": [s.__dict__ for s in summaries],
        "tables": counts,
        "snapshots": snaps,
        "overrides": overrides,
        "model": ctx.model_build,
    }
    ledger_tables.record_run(con, _run_row(ctx, status, [s.source for s in summaries], stats))
    return overrides


def override_stats(con: Any, overrides: Overrides) -> dict[str, Any]:
    """What the run did with overrides.toml: entries per kind, and how many were applied (an
    entry the build flagged `override_unmatched` named nothing and was not applied)."""
    unmatched = ledger_tables.override_lines_flagged(con, "override_unmatched")
    lines = {r["line"] for r in overrides.rows}
    return {
        "path": str(overrides.path) if overrides.path else None,
        "sha256": overrides.sha256,
        "entries": len(overrides.rows),
        "by_kind": overrides.counts(),
        "applied": len(lines - unmatched),
        "unmatched_lines": sorted(lines & unmatched),
    }


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
            and worth_recording(ctx, fresh, client.usage)
        ):
            try:
                with warehouse.Writer(ctx.warehouse_path, ctx.wait_seconds, ctx.run_id) as w:
                    w.keep = record_failure(w.con, ctx, exc, [], dict(client.usage))
            except Exception as inner:  # never hide the run's own failure
                log.error("could not record the failed run %s: %s", ctx.run_id, inner)
        raise

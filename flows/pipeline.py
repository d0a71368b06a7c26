"""The Prefect flow: fetch every enabled source (one coarse task each, run concurrently: each
source is a different host with its own rate limit), then one task loads and builds.

A source that fails fails alone: its task's error becomes that source's error report and the
run ends partial (a `Completed` state named "Partial", exit 3); a run in which no source loaded
anything ends `Failed`. The summary and the per-source table are artifacts of the flow run."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import wait
from prefect.logging.handlers import APILogHandler
from prefect.runtime import flow_run
from prefect.states import Completed

from flows import context, fetch, ledger, lifeline, settings, steps
from flows.http import FetchError, HttpClient, Usage
from flows.overrides import for_cli
from flows.sources.base import FULL_PLAN, FetchReport, SourceError
from flows.warehouse import exclusive
from flows.watchlist import load_watchlist

FLOW_NAME = "scholarflow"
PARTIAL = "Partial"


class NothingLoaded(RuntimeError):
    """Every source failed: the run loaded nothing (the warehouse is unchanged)."""


def run_name() -> str:
    """Flow run names say what ran: scholarflow-<mode>-<UTC date and time>."""
    mode = flow_run.get_parameters().get("mode", "live")
    return f"scholarflow-{mode}-{datetime.now(UTC):%Y-%m-%dT%H%MZ}"


@task(name="fetch", task_run_name="fetch-{slug}", cache_policy=NO_CACHE, retries=0)
def fetch_task(slug: str, ctx: context.RunContext, client: HttpClient) -> FetchReport:
    drift = settings.drift_dir(ctx.warehouse_path, ctx.run_id)
    return fetch.fetch_source(slug, ctx.watchlist, client, drift, ctx.plans.get(slug, FULL_PLAN))


@task(name="load-and-build", task_run_name="load-and-build", cache_policy=NO_CACHE)
def load_build_task(
    ctx: context.RunContext, reports: list[FetchReport], usage: dict[str, Usage]
) -> context.RunSummary:
    return steps.load_and_build(ctx, reports, usage)


@flow(name=FLOW_NAME, flow_run_name=run_name, log_prints=True, validate_parameters=False)
def scholarflow_flow(
    watchlist: str = "watchlist.toml",
    warehouse: str | None = None,
    mode: str = "live",
    replay_dir: str | None = None,
    record_dir: str | None = None,
    run_id: str | None = None,
    wait_seconds: float = 0.0,
    overrides: str | None = None,
) -> Any:
    """Ingest every enabled source of the watchlist, then build the warehouse and reports."""
    with logs_to_prefect():
        return _run(
            watchlist, warehouse, mode, replay_dir, record_dir, run_id, wait_seconds, overrides
        )


def _run(
    watchlist: str,
    warehouse: str | None,
    mode: str,
    replay_dir: str | None,
    record_dir: str | None,
    run_id: str | None,
    wait_seconds: float,
    overrides: str | None,
) -> State[Any] | context.RunSummary:
    logger = get_run_logger()
    wl_path = Path(watchlist)
    ctx = context.RunContext(
        command="run",
        mode=mode,  # type: ignore[arg-type]
        watchlist=load_watchlist(wl_path),
        watchlist_sha256=context.watchlist_digest(wl_path),
        warehouse_path=settings.warehouse_path(warehouse),
    )
    # overrides.toml beside the watchlist unless named
    ctx.overrides = for_cli(Path(overrides) if overrides else None, wl_path, ctx.watchlist)
    if run_id:
        ctx.run_id = run_id
    ctx.wait_seconds = wait_seconds
    logger.info("run %s (flow run %s), mode %s", ctx.run_id, flow_run.get_id(), mode)
    # one run per warehouse, from reading today's spend to the last write
    with exclusive(ctx.warehouse_path, ctx.wait_seconds):
        fetch.plan_fetches(ctx)
        client = fetch.make_client(
            ctx.watchlist,
            ctx.mode,
            Path(replay_dir) if replay_dir else None,
            Path(record_dir) if record_dir else None,
            ctx.warehouse_path,
        )
        with ledger.spend_recorded_on_failure(ctx, client):
            with client:
                slugs = ctx.watchlist.sources.enabled
                futures = [fetch_task.submit(slug, ctx, client) for slug in slugs]
                # every task has ended (done or failed) before the shared client closes
                wait(futures)
                reports = [_report(slug, f.state) for slug, f in zip(slugs, futures, strict=True)]
            _fail_if_nothing_loaded(reports)
            summary: context.RunSummary = load_build_task(ctx, reports, dict(client.usage))
    publish_artifacts(summary)
    reason = partial_reason(summary)
    if reason:
        logger.warning("partial run: %s", reason)
        return Completed(name=PARTIAL, message=reason, data=summary)
    return summary


def _report(slug: str, state: State[Any]) -> FetchReport:
    """A fetch task's report, or, for a task that failed, an error report of that source."""
    if state.is_completed():
        report: FetchReport = state.result()
        return report
    exc = state.result(raise_on_failure=False)
    failed = FetchReport(slug)
    if isinstance(exc, FetchError):
        where = f"request: GET {exc.url}"
        reason = str(exc).removeprefix(f"[{slug}] ").removesuffix(f" ({where})")
        error: SourceError = SourceError(slug, where, reason)
        error.__cause__ = exc
    else:
        detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else state.message
        error = SourceError(slug, "fetch task", f"source failed: {detail}")
    failed.errors.append(error)
    get_run_logger().error("%s", error)
    return failed


def _fail_if_nothing_loaded(reports: list[FetchReport]) -> None:
    """No source got a single response: fail the run (nothing is written). When every failure
    is the network's, raise the first one so the CLI can suggest --demo."""
    if any(r.items for r in reports) or not any(r.errors for r in reports):
        return
    errors = [e for r in reports for e in r.errors]
    network = [e.__cause__ for e in errors if isinstance(e.__cause__, FetchError)]
    if len(network) == len(errors):
        raise network[0]
    raise NothingLoaded(f"no source loaded anything ({len(errors)} error(s)); first: {errors[0]}")


def partial_reason(summary: context.RunSummary) -> str | None:
    """Why a run that loaded data is partial (some requests failed, a source stopped early)."""
    parts = [f"{s.source}: {len(s.errors)} error(s)" for s in summary.sources if s.errors] + [
        f"{s.source}: stopped ({s.stopped})" for s in summary.sources if s.stopped
    ]
    return "; ".join(parts) or None


def source_rows(summary: context.RunSummary) -> list[dict[str, Any]]:
    return [
        {
            "source": s.source,
            "requests": s.requests,
            "records": s.records,
            "new": s.new,
            "updated": s.updated,
            "quarantined": s.quarantined,
            "errors": len(s.errors),
            "stopped": s.stopped or "",
        }
        for s in summary.sources
    ]


def _md(text: str) -> str:
    """One line of Markdown-inert text (upstream messages may hold any characters)."""
    flat = " ".join(text.split())
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-!|" else c for c in flat)


def publish_artifacts(summary: context.RunSummary) -> None:
    """The run summary (Markdown) and the per-source table, on the flow run's page."""
    create_table_artifact(
        source_rows(summary),
        key="scholarflow-sources",
        description=f"Per-source results of run {summary.run_id}",
    )
    reason = partial_reason(summary)
    lines = [
        f"# scholarflow run {_md(summary.run_id)}",
        "",
        f"**Status:** {'partial: ' + _md(reason) if reason else 'succeeded'}",
        "",
        "| table | rows |",
        "|---|---:|",
        *(f"| {_md(k)} | {v} |" for k, v in summary.tables.items()),
        "",
        f"Citation snapshots added: {summary.snapshots}",
        "",
        f"Warehouse: `{summary.warehouse}`",
        "",
        f"Reports: {', '.join(_md(r.name) for r in summary.reports) or 'none'}",
    ]
    errors = [e for s in summary.sources for e in s.errors]
    if errors:
        lines += ["", "## Errors", "", *(f"- {_md(e)}" for e in errors)]
    create_markdown_artifact(
        "\n".join(lines), key="scholarflow-summary", description="scholarflow run summary"
    )
    digest = next((r for r in summary.reports if r.name == "digest.md"), None)
    if digest is not None and digest.exists():
        # the run digest as written to reports/digest.md (escaped upstream text already)
        create_markdown_artifact(
            digest.read_text(encoding="utf-8"),
            key="scholarflow-digest",
            description=f"What changed in run {summary.run_id}",
        )


_api_log = threading.Lock()
_api_log_users = 0


@contextlib.contextmanager
def logs_to_prefect() -> Iterator[None]:
    """The project's `scholarflow` logger (per-request and per-source lines) also goes to the
    flow run's page while a run is in progress: Prefect's API handler links each record to the
    flow or task run of the thread that logged it. (PREFECT_LOGGING_EXTRA_LOGGERS=scholarflow
    would do it process-wide, and then warn for every line logged outside a run.) Counted, as
    `serve` may run several flow runs in one process."""
    global _api_log_users
    logger = logging.getLogger("scholarflow")
    with _api_log:
        if _api_log_users == 0 and not any(isinstance(h, APILogHandler) for h in logger.handlers):
            logger.addHandler(_API_HANDLER)
        _api_log_users += 1
    try:
        yield
    finally:
        with _api_log:
            _api_log_users -= 1
            if _api_log_users == 0:
                logger.removeHandler(_API_HANDLER)


_API_HANDLER = APILogHandler()


def run_flow(
    watchlist: Path, ctx: context.RunContext, replay: Path | None, record: Path | None
) -> context.RunSummary:
    with temporary_server():
        result: Any = scholarflow_flow(
            watchlist=str(watchlist),
            warehouse=str(ctx.warehouse_path),
            mode=ctx.mode,
            replay_dir=str(replay) if replay else None,
            record_dir=str(record) if record else None,
            run_id=ctx.run_id,
            wait_seconds=ctx.wait_seconds,
            overrides=str(ctx.overrides.path) if ctx.overrides.path else None,
        )
    return result  # type: ignore[no-any-return]


@contextlib.contextmanager
def temporary_server() -> Iterator[None]:
    """Without PREFECT_API_URL, start Prefect's temporary server here (the same instance
    Prefect's clients then use) and tie it to this process with a lifeline: when this process
    ends in any way, even kill -9, the server ends too instead of living on."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    current = get_current_settings()
    if current.api.url or not current.server.ephemeral.enabled:
        yield
        return
    server = SubprocessASGIServer()
    server.start()
    assert server.server_process is not None
    watcher = subprocess.Popen(
        # -I: stdlib only, and no script directory on sys.path (flows/http.py is not `http`)
        [sys.executable, "-I", lifeline.__file__, str(server.server_process.pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's signals go to the run, not to its lifeline
    )
    try:
        yield
    finally:
        server.stop()
        assert watcher.stdin is not None
        watcher.stdin.close()  # the server is gone already: the lifeline just exits
        watcher.wait(30)


def build_deployment(
    watchlist: Path,
    warehouse: Path,
    mode: str,
    replay: Path | None,
    record: Path | None,
    overrides: Path | None = None,
) -> Any:
    """A deployment of the flow on the watchlist's cron schedule. Its entry point is the
    module path, so a work pool's worker loads the flow from the installed package."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    wl = load_watchlist(watchlist)
    return scholarflow_flow.to_deployment(
        name="scheduled",
        schedules=[Cron(wl.schedule.cron, timezone=wl.schedule.timezone)],
        # Paths given to `serve` are made absolute at registration: the server keeps them for
        # runs that start in another working directory (a worker's temporary one).
        parameters={
            "watchlist": str(watchlist.resolve()),
            "warehouse": str(warehouse.resolve()),
            "mode": mode,
            "replay_dir": str(replay.resolve()) if replay else None,
            "record_dir": str(record.resolve()) if record else None,
            "overrides": str(overrides.resolve()) if overrides else None,
        },
        description="scholarflow: fetch the watchlist's sources and rebuild the warehouse",
        tags=["scholarflow"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve(
    watchlist: Path,
    warehouse: Path,
    mode: str,
    replay: Path | None,
    record: Path | None,
    work_pool: str | None = None,
    overrides: Path | None = None,
) -> None:
    """Without a work pool: a long-lived process that runs the flow on schedule. With one:
    register the deployment on the Prefect server; that pool's workers run it from the
    installed package (no source directory is stored)."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        # Prefect would otherwise start a temporary server that forgets the schedule on exit.
        raise RuntimeError(
            "scholarflow serve needs a long-lived Prefect server: start one with "
            "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    deployment = build_deployment(watchlist, warehouse, mode, replay, record, overrides)
    if work_pool is None:
        from prefect import serve as prefect_serve

        prefect_serve(deployment)
        return
    from prefect import deploy

    deploy(
        deployment,
        work_pool_name=work_pool,
        build=False,
        push=False,
        print_next_steps_message=False,
    )

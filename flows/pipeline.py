"""The Prefect flow: fetch every enabled source (one coarse task each, run concurrently: each
source is a different host with its own rate limit), then one task loads and builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import settings, steps
from flows.http import HttpClient, Usage
from flows.overrides import for_cli
from flows.sources.base import FULL_PLAN, FetchReport
from flows.warehouse import exclusive
from flows.watchlist import load_watchlist

FLOW_NAME = "scholarflow"


@task(name="fetch", task_run_name="fetch-{slug}", cache_policy=NO_CACHE, retries=0)
def fetch_task(slug: str, ctx: steps.RunContext, client: HttpClient) -> FetchReport:
    drift = settings.drift_dir(ctx.warehouse_path, ctx.run_id)
    return steps.fetch_source(slug, ctx.watchlist, client, drift, ctx.plans.get(slug, FULL_PLAN))


@task(name="load-and-build", task_run_name="load-and-build", cache_policy=NO_CACHE)
def load_build_task(
    ctx: steps.RunContext, reports: list[FetchReport], usage: dict[str, Usage]
) -> steps.RunSummary:
    return steps.load_and_build(ctx, reports, usage)


@flow(name=FLOW_NAME, log_prints=True, validate_parameters=False)
def scholarflow_flow(
    watchlist: str = "watchlist.toml",
    warehouse: str | None = None,
    mode: str = "live",
    replay_dir: str | None = None,
    record_dir: str | None = None,
    run_id: str | None = None,
    wait_seconds: float = 0.0,
    overrides: str | None = None,
) -> steps.RunSummary:
    """Ingest every enabled source of the watchlist, then build the warehouse and reports."""
    logger = get_run_logger()
    wl_path = Path(watchlist)
    ctx = steps.RunContext(
        command="run",
        mode=mode,  # type: ignore[arg-type]
        watchlist=load_watchlist(wl_path),
        watchlist_sha256=steps.watchlist_digest(wl_path),
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
        steps.plan_fetches(ctx)
        client = steps.make_client(
            ctx.watchlist,
            ctx.mode,
            Path(replay_dir) if replay_dir else None,
            Path(record_dir) if record_dir else None,
            ctx.warehouse_path,
        )
        with steps.spend_recorded_on_failure(ctx, client):
            with client:
                futures = [
                    fetch_task.submit(slug, ctx, client) for slug in ctx.watchlist.sources.enabled
                ]
                reports = [f.result() for f in futures]
            return load_build_task(ctx, reports, dict(client.usage))


def run_flow(
    watchlist: Path, ctx: steps.RunContext, replay: Path | None, record: Path | None
) -> steps.RunSummary:
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


def build_deployment(
    watchlist: Path,
    warehouse: Path,
    mode: str,
    replay: Path | None,
    record: Path | None,
    overrides: Path | None = None,
) -> Any:
    """A deployment of the flow on the watchlist's cron schedule."""
    from prefect.schedules import Cron

    wl = load_watchlist(watchlist)
    return scholarflow_flow.to_deployment(
        name="scheduled",
        schedules=[Cron(wl.schedule.cron, timezone=wl.schedule.timezone)],
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
    register the deployment on the Prefect server; that pool's workers run it."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        # Prefect would otherwise start a temporary server that forgets the schedule on exit.
        raise RuntimeError(
            "scholarflow serve needs a long-lived Prefect server: start one with "
            "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    if work_pool is None:
        from prefect import serve as prefect_serve

        prefect_serve(build_deployment(watchlist, warehouse, mode, replay, record, overrides))
        return
    from prefect.schedules import Cron

    from flows.settings import PROJECT_ROOT

    wl = load_watchlist(watchlist)
    deployment = build_deployment(watchlist, warehouse, mode, replay, record, overrides)
    remote: Any = scholarflow_flow.from_source(
        source=str(PROJECT_ROOT), entrypoint="flows/pipeline.py:scholarflow_flow"
    )
    remote.deploy(
        name=deployment.name,
        work_pool_name=work_pool,
        parameters=deployment.parameters,
        schedules=[Cron(wl.schedule.cron, timezone=wl.schedule.timezone)],
        tags=deployment.tags,
        description=deployment.description,
        build=False,
        push=False,
    )

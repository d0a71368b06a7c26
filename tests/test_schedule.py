"""Schedules fire: a real Prefect server's scheduler starts the served deployment on its cron.

Nothing here creates a flow run: the run must come from the server's scheduler (auto-scheduled,
created by no user or client), be executed by `scholarflow serve`, and fill the warehouse.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import ROOT
from prefect_server import api, prefect_server, server_log, terminal, wait_for


def _every_minute_watchlist(directory: Path) -> Path:
    """The example watchlist (what the demo recording covers) on a one-minute cron."""
    text = (ROOT / "watchlist.toml").read_text(encoding="utf-8")
    assert '"0 6 * * 1"' in text
    wl = directory / "watchlist.toml"
    wl.write_text(text.replace('"0 6 * * 1"', '"* * * * *"'), encoding="utf-8")
    shutil.copy(ROOT / "overrides.toml", directory / "overrides.toml")
    return wl


@pytest.mark.flow
def test_the_scheduler_starts_the_served_deployment_and_the_run_fills_the_warehouse(
    tmp_path: Path,
) -> None:
    work = tmp_path / "user"  # a directory outside the checkout, as a user's would be
    work.mkdir()
    wl = _every_minute_watchlist(work)
    warehouse = work / "wh" / "s.duckdb"
    home = tmp_path / "prefect"
    home.mkdir()
    with prefect_server(home) as env:
        started = time.monotonic()
        serve_log = (tmp_path / "serve.log").open("wb")
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows",
                "serve",
                "--demo",
                "--watchlist",
                str(wl),
                "--warehouse",
                str(warehouse),
            ],
            cwd=work,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=serve_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deployment = wait_for(
                lambda: api(env, "GET", "/deployments/name/scholarflow/scheduled"),
                120,
                "deployment registered",
            )
            assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["* * * * *"]

            def scheduled_runs() -> list[dict[str, Any]]:
                return list(
                    api(
                        env,
                        "POST",
                        "/flow_runs/filter",
                        json={"deployments": {"id": {"any_": [deployment["id"]]}}},
                    )
                )

            def a_finished_run() -> dict[str, Any] | None:
                return next((r for r in scheduled_runs() if terminal(r)), None)

            try:
                first = wait_for(scheduled_runs, 120, "a run created by the scheduler")
            except pytest.fail.Exception:
                raise AssertionError(
                    "the server's scheduler created no flow run:\n" + server_log(home)
                ) from None
            created_after = time.monotonic() - started
            print(f"scheduler created the first run {created_after:.0f} s after serve started")
            run = wait_for(a_finished_run, 240, "a scheduled run finished")
        finally:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(60)
            serve_log.close()
        log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
        assert run["state"]["type"] == "COMPLETED", (run["state"], log[-3000:])
        # made by the server's scheduler from the deployment's schedule, not by a client
        assert run["auto_scheduled"] is True
        assert run["created_by"]["type"] == "SCHEDULE", run["created_by"]
        assert run["deployment_id"] == deployment["id"]
        assert {r["auto_scheduled"] for r in scheduled_runs()} == {True}
        assert first
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] > 0  # type: ignore[index]
        (status,) = con.execute("select distinct status from runs").fetchone()  # type: ignore[misc]
        assert status == "succeeded"
    finally:
        con.close()

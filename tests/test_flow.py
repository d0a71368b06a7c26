"""A real Prefect flow run (temporary server) and the scheduled deployment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT


@pytest.mark.flow
def test_real_flow_run_on_the_demo_recording(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "SCHOLARFLOW_WAREHOUSE": str(tmp_path / "wh" / "s.duckdb"),
    }
    env.pop("PREFECT_API_URL", None)  # the flow must bring its own (temporary) server
    proc = subprocess.run(
        [sys.executable, "-m", "flows", "run", "--demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the temporary server's database shows the flow run and its coarse tasks
    db = sqlite3.connect(tmp_path / "prefect" / "prefect.db")
    flows = db.execute(
        "select f.name, r.state_type from flow_run r join flow f on f.id = r.flow_id"
    ).fetchall()
    tasks = dict(db.execute("select name, state_type from task_run").fetchall())
    db.close()
    assert flows == [("scholarflow", "COMPLETED")]
    assert tasks == {
        "fetch-arxiv": "COMPLETED",
        "fetch-openalex": "COMPLETED",
        "fetch-semantic_scholar": "COMPLETED",
        "load-and-build": "COMPLETED",
    }
    out = proc.stdout
    assert "warehouse: " + str(tmp_path / "wh" / "s.duckdb") in out
    con = duckdb.connect(str(tmp_path / "wh" / "s.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
        (run,) = con.execute("select command, mode, status from runs").fetchall()
        assert run == ("run", "demo", "succeeded")
    finally:
        con.close()
    assert (tmp_path / "wh" / "reports" / "citations_per_author.csv").is_file()


def test_deployment_carries_the_watchlist_schedule(tmp_path: Path) -> None:
    from flows.pipeline import build_deployment

    wl = tmp_path / "watchlist.toml"
    wl.write_text(
        (ROOT / "watchlist.toml").read_text(encoding="utf-8").replace('"0 6 * * 1"', '"30 4 * * *"')
    )
    deployment = build_deployment(wl, tmp_path / "w.duckdb", "demo", None, None)
    assert deployment.name == "scheduled"
    assert deployment.flow_name == "scholarflow"
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 4 * * *"
    assert schedule.schedule.timezone == "UTC"
    assert deployment.parameters["mode"] == "demo"
    assert deployment.parameters["watchlist"] == str(wl.resolve())

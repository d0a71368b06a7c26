"""A real Prefect flow run (temporary server) and the scheduled deployment."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
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
    from flows.watchlist import load_watchlist

    enabled = load_watchlist(ROOT / "watchlist.toml").sources.enabled
    assert tasks == {
        **{f"fetch-{slug}": "COMPLETED" for slug in enabled},
        "load-and-build": "COMPLETED",
    }
    assert len(enabled) >= 3
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


def test_serve_refuses_without_a_prefect_server(tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "flows", "serve", "--demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "needs a long-lived Prefect server" in proc.stderr
    assert "PREFECT_API_URL" in proc.stderr


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real, long-lived Prefect server on a free loopback port (what `serve` needs)."""
    home = tmp_path_factory.mktemp("prefect-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("prefect server did not start in 120 s")
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def _api(env: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    # The Prefect server answers 503 while its SQLite database is locked by a concurrent
    # writer (here: `serve` registering its deployment and scheduling runs); Prefect's own
    # client retries those, so this test client does too instead of failing on contention.
    for attempt in range(8):
        response = httpx.request(method, env["PREFECT_API_URL"] + path, timeout=10, **kw)
        if response.status_code not in {429, 502, 503} or attempt == 7:
            break
        time.sleep(float(response.headers.get("Retry-After", 0.5 * 2**attempt)))
    response.raise_for_status()
    return response.json()


@pytest.mark.flow
def test_served_deployment_is_scheduled_and_runs(
    prefect_server: dict[str, str], tmp_path: Path
) -> None:
    env = {**prefect_server, "SCHOLARFLOW_WAREHOUSE": str(tmp_path / "wh" / "s.duckdb")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows", "serve", "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deployment = _wait_for(
            lambda: _api(env, "GET", "/deployments/name/scholarflow/scheduled"), 90
        )
        (schedule,) = deployment["schedules"]
        assert schedule["schedule"]["cron"] == "0 6 * * 1"
        assert schedule["schedule"]["timezone"] == "UTC"
        assert deployment["parameters"]["mode"] == "demo"
        # a run of the deployment (as the schedule would start it) is executed by `serve`
        run = _api(env, "POST", f"/deployments/{deployment['id']}/create_flow_run", json={})
        final = _wait_for(lambda: _terminal(_api(env, "GET", f"/flow_runs/{run['id']}")), 180)
        assert final["state"]["type"] == "COMPLETED", final["state"]
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)
    con = duckdb.connect(str(tmp_path / "wh" / "s.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
    finally:
        con.close()


def test_work_pool_deployment_is_registered(prefect_server: dict[str, str], tmp_path: Path) -> None:
    env = dict(prefect_server)
    _api(env, "POST", "/work_pools/", json={"name": "scholarflow-test-pool", "type": "process"})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows",
            "serve",
            "--demo",
            "--work-pool",
            "scholarflow-test-pool",
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    deployment = _api(env, "GET", "/deployments/name/scholarflow/scheduled")
    assert deployment["work_pool_name"] == "scholarflow-test-pool"
    assert deployment["entrypoint"] == "flows/pipeline.py:scholarflow_flow"
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 6 * * 1"]


def _terminal(run: dict[str, Any]) -> dict[str, Any] | None:
    return (
        run
        if run["state"] and run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
        else None
    )


def _wait_for(probe: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = probe()
        except httpx.HTTPStatusError:
            result = None
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"condition not met within {seconds} s")


def test_temporary_server_gets_time_to_start_on_a_slow_machine() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_SERVER_EPHEMERAL")}
    code = (
        "import flows; from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
        " as s; print(s.value())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert out.stdout.strip() == b"120", out.stderr[-2000:]
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "45"  # a user's own value wins
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert out.stdout.strip() == b"45", out.stderr[-2000:]

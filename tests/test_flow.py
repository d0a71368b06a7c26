"""A real Prefect flow run (temporary server) and the scheduled deployment."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from conftest import ROOT
from prefect_server import api, prefect_server


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
    (run_name,) = db.execute("select name from flow_run").fetchone()
    tasks = dict(db.execute("select name, state_type from task_run").fetchall())
    db.close()
    assert flows == [("scholarflow", "COMPLETED")]
    assert run_name.startswith("scholarflow-demo-20"), run_name  # what ran, and when
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
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prefect_server(tmp_path_factory.mktemp("prefect-server")) as env:
        yield env


def test_work_pool_deployment_is_registered(server: dict[str, str], tmp_path: Path) -> None:
    env = dict(server)
    api(env, "POST", "/work_pools/", json={"name": "scholarflow-test-pool", "type": "process"})
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
    deployment = api(env, "GET", "/deployments/name/scholarflow/scheduled")
    assert deployment["work_pool_name"] == "scholarflow-test-pool"
    # loaded from the installed package: no source directory of this machine is stored
    assert deployment["entrypoint"] == "flows.pipeline.scholarflow_flow"
    assert deployment["path"] in (None, ".")
    assert not deployment["pull_steps"]
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 6 * * 1"]


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


def _work_pool(env: dict[str, str], name: str) -> None:
    """A process work pool of that name (the module's server may have it already)."""
    try:
        api(env, "GET", f"/work_pools/{name}")
    except httpx.HTTPStatusError:
        api(env, "POST", "/work_pools/", json={"name": name, "type": "process"})


def _prefect_yaml() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return loaded


def test_versioned_deployment_config_names_no_machine_path() -> None:
    config = _prefect_yaml()
    text = json.dumps(config)
    assert str(ROOT) not in text and "/home/" not in text and "/Users/" not in text
    (deployment,) = config["deployments"]  # type: ignore[misc]
    assert deployment["entrypoint"] == "flows.pipeline.scholarflow_flow"
    # the schedule in prefect.yaml is the watchlist's
    schedule = tomllib.loads((ROOT / "watchlist.toml").read_text(encoding="utf-8"))["schedule"]
    assert deployment["schedules"] == [{"cron": schedule["cron"], "timezone": schedule["timezone"]}]
    from prefect.flows import load_flow_from_entrypoint

    assert load_flow_from_entrypoint(deployment["entrypoint"]).name == "scholarflow"


def test_prefect_deploy_registers_the_versioned_deployment(
    server: dict[str, str], tmp_path: Path
) -> None:
    env = dict(server)
    _work_pool(env, "scholarflow-pool")
    proc = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    deployment = api(env, "GET", "/deployments/name/scholarflow/scheduled")
    assert deployment["work_pool_name"] == "scholarflow-pool"
    assert deployment["entrypoint"] == "flows.pipeline.scholarflow_flow"
    # resolved on the worker when a run starts, not here
    assert deployment["pull_steps"] == [
        {
            "prefect.deployments.steps.set_working_directory": {
                "directory": "{{ $SCHOLARFLOW_HOME }}"
            }
        }
    ]
    assert deployment["parameters"] == {"watchlist": "watchlist.toml", "mode": "live"}
    assert str(ROOT) not in json.dumps(deployment)


@pytest.mark.flow
def test_a_worker_runs_the_versioned_deployment_in_scholarflow_home(
    server: dict[str, str], tmp_path: Path
) -> None:
    """What prefect.yaml promises: a process worker loads the flow from the installed package
    and runs it in SCHOLARFLOW_HOME, with the watchlist and warehouse found there."""
    env = dict(server)
    _work_pool(env, "scholarflow-pool")
    deploy = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stderr[-2000:]
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "watchlist.toml", home / "watchlist.toml")
    deployment = api(env, "GET", "/deployments/name/scholarflow/scheduled")
    run = api(
        env,
        "POST",
        f"/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"mode": "demo"}},  # offline; the rest from prefect.yaml
    )
    worker_env = {k: v for k, v in env.items() if k != "SCHOLARFLOW_WAREHOUSE"}
    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "prefect",
            "worker",
            "start",
            "--pool",
            "scholarflow-pool",
            "--type",
            "process",
            "--run-once",
        ],
        cwd=tmp_path,
        env={**worker_env, "SCHOLARFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    final = api(env, "GET", f"/flow_runs/{run['id']}")
    assert final["state"]["type"] == "COMPLETED", (final["state"], worker.stderr[-3000:])
    con = duckdb.connect(str(home / "warehouse" / "scholarflow.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
    finally:
        con.close()

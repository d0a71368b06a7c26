"""Prefect's temporary server dies with the `scholarflow run` that started it, however the run
ends: a signal, even kill -9, must not leave a server running and holding the caller's output
(cron or CI capture would wait on it forever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads the process table from /proc"
)


def _children(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmd
    return found


def _healthy(port: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.flow
@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name
)
def test_a_killed_run_takes_its_temporary_server_with_it(
    sig: signal.Signals, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"},
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows",
            "run",
            "--demo",
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(tmp_path / "wh" / "s.duckdb"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # the server is up when it answers on the port it was started with
        deadline = time.monotonic() + 300
        server = None
        while time.monotonic() < deadline and run.poll() is None and server is None:
            for pid, cmd in _children(run.pid).items():
                if "uvicorn" in cmd and _healthy(cmd.split("--port ")[1].split()[0]):
                    server = pid
            time.sleep(0.2)
        assert server is not None, "the temporary server never started"
        time.sleep(1)  # the run goes on to its flow
        run.send_signal(sig)
        # the caller reading the run's output reaches end of file: nothing holds it any more
        run.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while _running(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _running(server), f"temporary server {server} outlived the run ({sig.name})"
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()

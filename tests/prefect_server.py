"""A real, long-lived local Prefect server for tests (what `scholarflow serve` needs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prefect_server(home: Path, **settings: str) -> Iterator[dict[str, str]]:
    """`prefect server start` on a free loopback port with its own PREFECT_HOME; yields the
    environment a client process needs to talk to it."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        **settings,
    }
    log = (home / "server.log").open("wb")
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
            "--no-ui",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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
            if server.poll() is not None:
                pytest.fail(f"prefect server exited {server.returncode}: {server_log(home)}")
        else:
            pytest.fail("prefect server did not start in 120 s")
        yield env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)
        log.close()


def server_log(home: Path) -> str:
    return (home / "server.log").read_text(encoding="utf-8", errors="replace")[-3000:]


def api(env: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    """One REST call to the server. It answers 503 while its SQLite database is locked by a
    concurrent writer (`serve` registering, the scheduler inserting runs); Prefect's own client
    retries those, so this one does too instead of failing on contention."""
    for attempt in range(8):
        response = httpx.request(method, env["PREFECT_API_URL"] + path, timeout=10, **kw)
        if response.status_code not in {429, 502, 503} or attempt == 7:
            break
        time.sleep(float(response.headers.get("Retry-After", 0.5 * 2**attempt)))
    response.raise_for_status()
    return response.json()


def terminal(run: dict[str, Any]) -> dict[str, Any] | None:
    state = run.get("state") or {}
    return run if state.get("type") in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def wait_for(probe: Callable[[], Any], seconds: float, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = probe()
        except (httpx.HTTPStatusError, httpx.TransportError):
            result = None
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"{what} not met within {seconds} s")

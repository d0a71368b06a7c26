"""What a run leaves in Prefect, read back from a real server: its name, its final state (one
an automation can match), the summary and per-source artifacts and the project's log lines.
Sources fail alone: one unreachable host makes the run partial, all unreachable fail it."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
from conftest import ROOT
from prefect_server import api, prefect_server

# `scholarflow run --demo` as a user runs it, except that the demo transport refuses
# connections to the given hosts (as a machine without a route to them would).
_RUN_WITH_UNREACHABLE_HOSTS = """
import sys, httpx
from flows import recording
hosts = set(sys.argv[1].split(",")) if sys.argv[1] else set()
serve = recording.ReplayTransport.handle_request
def handle_request(self, request):
    if "*" in hosts or request.url.host in hosts:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    return serve(self, request)
recording.ReplayTransport.handle_request = handle_request
from flows.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prefect_server(tmp_path_factory.mktemp("prefect-server")) as env:
        yield env


def _run(
    env: dict[str, str], tmp_path: Path, unreachable: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_WITH_UNREACHABLE_HOSTS,
            unreachable,
            "run",
            "--demo",
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(tmp_path / "wh" / "s.duckdb"),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    runs = api(
        env,
        "POST",
        "/flow_runs/filter",
        json={"sort": "EXPECTED_START_TIME_DESC", "limit": 1},
    )
    return proc, runs[0]


@pytest.mark.flow
def test_one_unreachable_source_makes_a_partial_run_prefect_can_see(
    server: dict[str, str], tmp_path: Path
) -> None:
    proc, run = _run(server, tmp_path, "api.crossref.org")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "error: [crossref] network error" in proc.stdout
    # the other sources loaded
    con = duckdb.connect(str(tmp_path / "wh" / "s.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
        assert con.execute("select status from runs").fetchall() == [("partial",)]
        (where,) = con.execute(
            "select record_key from quarantine where source = 'crossref'"
        ).fetchone()  # type: ignore[misc]
        assert where.startswith("request: GET https://api.crossref.org/")
    finally:
        con.close()
    # Prefect: a Completed state named Partial, with the reason, for automations to match
    assert run["name"].startswith("scholarflow-demo-20"), run["name"]
    assert run["state"]["type"] == "COMPLETED"
    assert run["state"]["name"] == "Partial"
    assert run["state"]["message"] == "crossref: 1 error(s)"
    tasks = api(
        server, "POST", "/task_runs/filter", json={"flow_runs": {"id": {"any_": [run["id"]]}}}
    )
    states = {t["name"]: t["state"]["type"] for t in tasks}
    assert states["fetch-crossref"] == "FAILED"
    assert states["load-and-build"] == "COMPLETED"
    assert sum(s == "COMPLETED" for s in states.values()) >= 4
    # artifacts: the per-source table and the summary
    artifacts = {
        a["key"]: a
        for a in api(
            server,
            "POST",
            "/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}},
        )
    }
    assert artifacts["scholarflow-sources"]["type"] == "table"
    table = artifacts["scholarflow-sources"]["data"]
    rows = {r["source"]: r for r in _rows(table)}
    assert rows["crossref"]["errors"] == 1 and rows["crossref"]["records"] == 0
    assert rows["openalex"]["records"] > 0 and rows["openalex"]["errors"] == 0
    summary = artifacts["scholarflow-summary"]
    assert summary["type"] == "markdown"
    assert "**Status:** partial: crossref: 1 error\\(s\\)" in summary["data"]
    assert "network error" in summary["data"]
    # the run digest, as in reports/digest.md: the failed source is named there too
    digest = artifacts["scholarflow-digest"]
    assert digest["type"] == "markdown" and "crossref" in digest["data"]
    # the project's own logger reaches the run page (per-request and per-source lines)
    logs = api(
        server,
        "POST",
        "/logs/filter",
        json={"logs": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 200},
    )
    ours = [e["message"] for e in logs if e["name"].split(".")[0] == "scholarflow"]
    assert any(m.startswith("[openalex] GET https://api.openalex.org/") for m in ours), ours[:5]
    assert any(m.startswith("[openalex] fetching for 3 researchers") for m in ours), ours[:5]


def _rows(data: Any) -> list[dict[str, Any]]:
    return json.loads(data) if isinstance(data, str) else list(data)


@pytest.mark.flow
def test_every_source_unreachable_fails_the_run_fast_with_the_demo_hint(
    server: dict[str, str], tmp_path: Path
) -> None:
    proc, run = _run(server, tmp_path, "*")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "network error" in proc.stderr
    assert "No network? Run offline on the bundled recording with --demo" in proc.stderr
    assert run["state"]["type"] == "FAILED"
    assert not (tmp_path / "wh" / "s.duckdb").exists()


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.flow
def test_the_documented_automation_notifies_on_a_partial_run(
    server: dict[str, str], tmp_path: Path
) -> None:
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
        block = subprocess.run(
            [sys.executable, "-c", _WEBHOOK_BLOCK, url],
            env=server,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        text = (ROOT / "automations" / "notify-failed-or-partial.yaml").read_text(encoding="utf-8")
        automation = tmp_path / "automation.yaml"
        automation.write_text(text.replace("BLOCK_DOCUMENT_ID", block), encoding="utf-8")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "prefect",
                "automation",
                "create",
                "--from-file",
                str(automation),
            ],
            env=server,
            capture_output=True,
            check=True,
        )
        proc, run = _run(server, tmp_path, "api.crossref.org")
        assert proc.returncode == 3
        deadline = time.monotonic() + 120
        while not _Hook.received and time.monotonic() < deadline:
            time.sleep(1)
        assert _Hook.received, "no notification within 120 s"
        message = json.loads(_Hook.received[0])["text"]
        assert message == f"{run['name']} ended Partial: crossref: 1 error(s)"
    finally:
        hook.shutdown()


_WEBHOOK_BLOCK = """
import sys
from prefect.blocks.notifications import CustomWebhookNotificationBlock
block = CustomWebhookNotificationBlock(
    name="test-hook", url=sys.argv[1], method="POST", json_data={"text": "{{body}}"}
)
print(block.save("scholarflow-test-hook", overwrite=True))
"""

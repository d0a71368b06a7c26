"""`scholarflow status`: last runs, source freshness, budgets used and quarantine, read-only."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from flows import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def wh(demo_warehouse: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_warehouse, path)
    now = datetime.now(UTC)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "insert into usage_ledger values ('r-live', 'openalex', ?, 'live', 12, 31.0, 10000, null, ?)",
            [now.date(), now],
        )
        con.execute(
            "insert into quarantine values ('semantic_scholar', 'papers', 'p1', "
            "'citationCount is not an integer', '{}', 'r-live', ?)",
            [now],
        )
        stats = {"sources": [{"source": "crossref", "errors": ["HTTP 503"], "stopped": None}]}
        con.execute(
            "insert into runs (run_id, command, mode, started_at, finished_at, status, sources, "
            "watchlist_sha256, stats, scholarflow_version) "
            "values ('r-live', 'run', 'live', ?, ?, 'partial', ['crossref'], 'sha', ?, '0')",
            [now, now, json.dumps(stats)],
        )
    return path


def test_status_text(wh: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["status", "--warehouse", str(wh), "--watchlist", str(ROOT / "watchlist.toml")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("last runs") < out.index("sources (freshness)") < out.index("quarantine")
    first_run = out.splitlines()[2]
    assert first_run.split()[:4] == ["r-live", "run", "live", "partial"]
    crossref = next(line for line in out.splitlines() if line.strip().startswith("crossref"))
    assert "errors" in crossref.split()  # its newest attempt failed
    assert "citationCount is not an integer" in out


def test_status_json(wh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wl = tmp_path / "watchlist.toml"
    text = (ROOT / "watchlist.toml").read_text(encoding="utf-8")
    wl.write_text(text + "\n[budgets]\nopenalex = 10000\n", encoding="utf-8")
    code = cli.main(["status", "--warehouse", str(wh), "--watchlist", str(wl), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    budgets = {b["source"]: b for b in report["budgets"]}
    assert budgets["openalex"]["cost_units"] == 31.0
    assert budgets["openalex"]["unit"] == "1/10,000 USD"  # from the source's spec
    assert budgets["openalex"]["pct_used"] == pytest.approx(0.3)
    sources = {s["source"]: s for s in report["sources"]}
    assert sources["openalex"]["records"] > 0 and sources["openalex"]["last_attempt"] == "ok"
    assert sources["crossref"]["last_attempt"] == "errors"
    assert report["quarantine"] == [
        {
            "source": "semantic_scholar",
            "entity": "papers",
            "records": 1,
            "last_at": report["quarantine"][0]["last_at"],
            "last_reason": "citationCount is not an integer",
        }
    ]


def test_status_without_a_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    assert "no warehouse" in capsys.readouterr().err

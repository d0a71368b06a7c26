"""An import commits its load before its model build (so DuckDB lets go of the landed rows),
yet a run that dies or fails between the two leaves the published warehouse as it was, and the
next run does not take the half-built private copy for the warehouse."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import ROOT, shared_fixture_dir

from flows import cli, land, publish, steps


def _import(wh: Path, files: list[Path]) -> int:
    return cli.main(
        [
            "import",
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(wh),
            "openalex",
            *map(str, files),
        ]
    )


def _state(wh: Path) -> dict[str, Any]:
    """What a reader of the published warehouse sees."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        runs = con.execute("select run_id, status from runs order by started_at").fetchall()
        raw = con.execute(
            "select work_id, _run_id from raw_openalex__works order by work_id"
        ).fetchall()
        archived = con.execute("select url from raw_responses order by url").fetchall()
        papers = con.execute("select count(*) from metrics.papers").fetchone()
    finally:
        con.close()
    return {"runs": runs, "raw": raw, "archived": archived, "papers": papers}


def _files() -> tuple[list[Path], list[Path]]:
    """A first file, and files of other works imported after it."""
    folder = shared_fixture_dir("openalex")
    first = [folder / "bvitamins__work_W2741809807.json"]
    later = sorted(folder.glob("paperqa__api.openalex.org_works_*.json"))
    assert first[0].is_file() and later
    return first, later


def _die_before_the_build(wh: str, files: list[str]) -> None:
    """Child process: import, and die hard (no cleanup, as kill -9) once the load is committed."""

    def die(*args: object, **kwargs: object) -> None:
        assert publish.Layout(Path(wh)).half_run.exists()  # the load was committed
        os._exit(9)

    steps._build = die  # type: ignore[assignment]
    _import(Path(wh), [Path(f) for f in files])


def _check_the_rerun(wh: Path, before: dict[str, Any], later: list[Path]) -> None:
    """The next import of the same files loads them afresh: every new raw row is of that run."""
    assert _import(wh, later) == 0
    after = _state(wh)
    assert after["runs"][: len(before["runs"])] == before["runs"]
    (rerun, status) = after["runs"][-1]
    assert status == "succeeded"
    new = set(after["raw"]) - set(before["raw"])
    assert new and {run for _, run in new} == {rerun}
    assert len(after["archived"]) == len(before["archived"]) + len(later)
    assert not publish.Layout(wh).half_run.exists()


def test_killed_between_load_and_build_leaves_the_warehouse_and_the_rerun_loads_afresh(
    tmp_path: Path,
) -> None:
    first, later = _files()
    wh = tmp_path / "warehouse" / "scholarflow.duckdb"
    assert _import(wh, first) == 0
    before = _state(wh)

    proc = multiprocessing.get_context("spawn").Process(
        target=_die_before_the_build, args=(str(wh), [str(f) for f in later])
    )
    proc.start()
    proc.join(300)
    assert proc.exitcode == 9
    lay = publish.Layout(wh)
    assert lay.half_run.exists()
    assert _state(wh) == before  # readers see the warehouse as it was
    # reads before a run take the published file, not the half-built private copy
    archived = {url for url, _sha in land.archived_bodies(wh, "openalex")}
    assert archived == {url for (url,) in before["archived"]}
    _check_the_rerun(wh, before, later)


def test_a_failure_after_the_load_commit_leaves_only_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, later = _files()
    wh = tmp_path / "warehouse" / "scholarflow.duckdb"
    assert _import(wh, first) == 0
    before = _state(wh)
    committed: list[bool] = []

    def boom(*args: object, **kwargs: object) -> None:
        committed.append(publish.Layout(wh).half_run.exists())
        raise RuntimeError("model build broke")

    monkeypatch.setattr(steps, "_build", boom)
    assert _import(wh, later) == cli.EXIT_FAILED
    assert committed == [True]  # the failure came after the load's commit
    assert "model build broke" in capsys.readouterr().err
    after = _state(wh)
    assert {k: after[k] for k in ("raw", "archived", "papers")} == {
        k: before[k] for k in ("raw", "archived", "papers")
    }
    assert after["runs"][:-1] == before["runs"] and after["runs"][-1][1] == "failed"
    con = duckdb.connect(str(wh), read_only=True)
    stats = con.execute("select stats from runs where status = 'failed'").fetchone()
    con.close()
    assert stats is not None and json.loads(stats[0])["rolled_back"] is True
    monkeypatch.undo()
    _check_the_rerun(wh, after, later)

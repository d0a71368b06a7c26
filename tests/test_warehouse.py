"""Loads are idempotent and atomic; one writer at a time; reports are safe CSV."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import demo_context, run_demo, shared_fixture_dir

from flows import fetch, steps, views, warehouse


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and content hash of every table and view."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rels = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('main', 'metrics') order by 1, 2"
        ).fetchall()
        out = {}
        for schema, name in rels:
            rows = con.execute(f"select * from {schema}.{name}").fetchall()
            digest = hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()
            out[f"{schema}.{name}"] = (len(rows), digest)
        return out
    finally:
        con.close()


def test_rerun_changes_only_per_run_tables(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    first = run_demo(path)
    before = fingerprint(path)
    second = run_demo(path)
    after = fingerprint(path)
    changed = {k for k in before if before[k] != after[k]}
    # append-only, one row set per run: snapshots, the run log, the usage ledger
    per_run = {
        "main.citation_snapshots",
        "main.runs",
        "main.usage_ledger",
        "main.metric_snapshots",
        "metrics.source_usage",  # sums the ledger
        "metrics.source_signals",  # latest of metric_snapshots
        "metrics.citations_per_author_as_of",  # one row set per run
        "metrics.citation_velocity",  # its newest snapshot is this run's
        "metrics.new_collaborators",  # pairs new in the latest run: none on a rerun
    }
    assert changed <= per_run and {"main.citation_snapshots", "main.runs"} <= changed
    assert after["main.runs"][0] == 2
    assert after["main.usage_ledger"][0] == 2 * before["main.usage_ledger"][0]
    assert after["main.citation_snapshots"][0] == 2 * before["main.citation_snapshots"][0]
    assert sum(s.new for s in first.sources) > 0
    assert sum(s.new + s.updated for s in second.sources) == 0
    assert sum(s.unchanged for s in second.sources) == sum(s.new for s in first.sources)


def test_changed_record_is_updated_not_duplicated(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    run_demo(path)
    ctx = demo_context(path)
    work_file, work_id = _one_work_file(tmp_path, cited_by_count=12345)
    report = fetch.import_files("openalex", [work_file])
    summary = steps.load_and_build(ctx, [report], {})
    assert (summary.sources[0].new, summary.sources[0].updated) == (0, 1)
    con = duckdb.connect(str(path), read_only=True)
    n, cites = con.execute(
        "select count(*), max(cited_by_count) from raw_openalex__works where work_id = ?", [work_id]
    ).fetchone()  # type: ignore[misc]
    con.close()
    assert (n, cites) == (1, 12345)


def _model_state(path: Path) -> tuple[str, list[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select run_id, tables from model_state").fetchone()
        assert row is not None
        return row[0], list(row[1])
    finally:
        con.close()


def test_unchanged_rerun_keeps_the_model_and_a_full_build_agrees(tmp_path: Path) -> None:
    """A rerun that loads nothing new keeps the model tables; a full rebuild (`steps.build_only`
    as `scholarflow build --full` runs it) gives the very same tables; a changed record
    rebuilds."""
    path = tmp_path / "kept" / "w.duckdb"
    run_demo(path)
    built_by, tables = _model_state(path)
    second = run_demo(path)
    assert sum(s.new + s.updated for s in second.sources) == 0
    assert _model_state(path)[0] == built_by  # not rebuilt
    kept = fingerprint(path)

    full = tmp_path / "full" / "w.duckdb"
    full.parent.mkdir()
    shutil.copy(path, full)
    steps.build_only(demo_context(full, "build"))
    assert _model_state(full)[0] != built_by  # rebuilt
    rebuilt = fingerprint(full)
    assert len(tables) > 10
    for name in tables:
        assert kept[f"main.{name}"] == rebuilt[f"main.{name}"], name

    work_file, work_id = _one_work_file(tmp_path, cited_by_count=54321)
    summary = steps.load_and_build(
        demo_context(path), [fetch.import_files("openalex", [work_file])], {}
    )
    assert summary.sources[0].updated == 1
    assert _model_state(path)[0] == summary.run_id
    con = duckdb.connect(str(path), read_only=True)
    row = con.execute(
        "select cited_by_count from paper_citations where source = 'openalex' and source_work_id = ?",
        [work_id],
    ).fetchone()
    con.close()
    assert row == (54321,)


def _one_work_file(tmp_path: Path, cited_by_count: int) -> tuple[Path, str]:
    """Take one demo OpenAlex work, change its count, save it as a single-entity response."""

    from flows.settings import DEMO_RECORDING

    for f in sorted((DEMO_RECORDING / "openalex").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        if (
            "results" in data
            and data["results"]
            and data["results"][0]["id"].split("/")[-1].startswith("W")
        ):
            work = data["results"][0]
            break
    work["cited_by_count"] = cited_by_count
    out = tmp_path / "work.json"
    out.write_text(json.dumps(work), encoding="utf-8")
    return out, work["id"].rsplit("/", 1)[-1]


def test_failure_inside_the_transaction_leaves_previous_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"
    run_demo(path)
    before = fingerprint(path)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated failure after the model tables were replaced")

    monkeypatch.setattr(views, "create_views", boom)
    with pytest.raises(RuntimeError, match="simulated"):
        run_demo(path)
    after = fingerprint(path)
    # the data is as before; the failed run left its trace in `runs` only
    assert {k: v for k, v in after.items() if k != "main.runs"} == {
        k: v for k, v in before.items() if k != "main.runs"
    }
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select status, error, stats from runs order by started_at").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["succeeded", "failed"]
    assert "RuntimeError: simulated failure" in rows[1][1]
    sources = {s["source"]: s for s in json.loads(rows[1][2])["sources"]}
    assert sources["arxiv"]["records"] > 0  # what each source did before the failure


def _die_mid_load(path: str) -> None:
    """Child process: start a run and die hard right after the model step and the snapshots
    (a rerun of the same data keeps the model tables; the snapshots are written every run)."""
    from flows import model_tables as wh

    real = wh.append_snapshots

    def append_then_die(con: Any, frame: Any) -> int:
        real(con, frame)
        os._exit(9)  # no rollback, no close: as if the machine lost power

    wh.append_snapshots = append_then_die  # type: ignore[assignment]
    run_demo(Path(path))


def test_killed_process_leaves_previous_warehouse_readable(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    run_demo(path)
    before = fingerprint(path)
    proc = multiprocessing.get_context("spawn").Process(target=_die_mid_load, args=(str(path),))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 9
    assert fingerprint(path) == before
    run_demo(path)  # and the next run works on it
    assert fingerprint(path)["main.runs"][0] == 2


def test_readers_can_query_between_runs(demo_warehouse: Path) -> None:
    with warehouse.reader(demo_warehouse) as con:
        assert warehouse.query(con, "select count(*) from metrics.papers")[0][0] >= 60


def test_raw_responses_are_archived_compressed_without_secrets(demo_warehouse: Path) -> None:
    import gzip

    con = duckdb.connect(str(demo_warehouse), read_only=True)
    rows = con.execute(
        "select url, sha256, body_gzip, _run_id, fetched_at from raw_responses"
    ).fetchall()
    con.close()
    assert len(rows) >= 20
    for url, sha, body, run_id, fetched_at in rows:
        assert hashlib.sha256(gzip.decompress(body)).hexdigest() == sha
        assert "api_key" not in url and run_id and fetched_at.tzinfo is not None


def test_lineage_columns_on_raw_tables(demo_warehouse: Path) -> None:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'raw\\_%\\_\\_%' escape '\\'"
        ).fetchall()
    ]
    assert {
        "raw_arxiv__entries",
        "raw_openalex__works",
        "raw_openalex__authors",
        "raw_semantic_scholar__papers",
        "raw_semantic_scholar__authors",
    } <= set(tables)
    for t in tables:
        nulls = con.execute(
            f"select count(*) from {t} where _run_id is null or _fetched_at is null or _response_sha256 is null"
        ).fetchone()
        assert nulls == (0,), t
        linked = con.execute(
            f"select count(*) from {t} r where not exists "
            f"(select 1 from raw_responses a where a.sha256 = r._response_sha256)"
        ).fetchone()
        assert linked == (0,), f"{t}: records must point at an archived response"
    con.close()


def test_reports_written_per_view_and_per_run(demo_warehouse: Path) -> None:
    out = demo_warehouse.parent / "reports"
    views = {p.stem for p in (Path(__file__).resolve().parents[1] / "sql").glob("*.sql")}
    assert {p.stem for p in out.glob("*.csv")} == views
    (run_dir,) = list((out / "runs").iterdir())
    assert {p.stem for p in run_dir.glob("*.csv")} == views
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    for view in views:
        header = next(csv.reader((out / f"{view}.csv").open(encoding="utf-8")))
        columns = [d[0] for d in con.execute(f"select * from metrics.{view} limit 0").description]
        assert header == columns
    con.close()


def test_build_without_data_says_so(tmp_path: Path) -> None:
    with pytest.raises(warehouse.WarehouseEmpty, match="no source data"):
        steps.build_only(demo_context(tmp_path / "empty.duckdb"))


def test_copy_of_warehouse_is_self_contained(demo_warehouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_warehouse, copy)
    assert fingerprint(copy) == fingerprint(demo_warehouse)


def _hold_run_lock(path: str, ready: Any, release: Any) -> None:
    with warehouse.exclusive(Path(path)):
        ready.set()
        release.wait(60)


def test_a_second_run_is_refused_before_it_fetches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run lock covers fetching too: a second run must not hit the sources at all."""
    path = tmp_path / "w.duckdb"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_run_lock, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        fetched: list[str] = []
        monkeypatch.setattr(fetch, "fetch_source", lambda slug, *a: fetched.append(slug))
        with pytest.raises(warehouse.WarehouseBusy, match=r"pid \d+"):
            run_demo(path)
        assert fetched == []
        # a plain writer (e.g. `scholarflow build`) is refused too, or waits with --wait
        with (
            pytest.raises(
                warehouse.WarehouseBusy, match="being written by another scholarflow run"
            ),
            warehouse.writer(path, wait_seconds=0.3),
        ):
            pass
    finally:
        release.set()
        holder.join(60)
    monkeypatch.undo()
    run_demo(path)  # free again


def test_run_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with warehouse.exclusive(path), warehouse.exclusive(path), warehouse.writer(path) as con:
        con.execute("select 1")


def test_record_that_does_not_fit_the_schema_is_quarantined(tmp_path: Path) -> None:
    """A value of the wrong type is neither nulled nor fatal: that record is quarantined."""

    work = json.loads(
        (shared_fixture_dir("openalex") / "bvitamins__work_W2741809807.json").read_text(
            encoding="utf-8"
        )
    )
    good = dict(work, id="https://openalex.org/W1", doi=None)
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"meta": {"count": 1}, "results": [good]}), encoding="utf-8")
    report = fetch.import_files("openalex", [page])
    # the parser refuses such values itself; this is the warehouse's own guard behind it
    (first,) = report.items[0].page.records["works"]
    report.items[0].page.add("works", dict(first, work_id="W2", publication_year="two thousand"))
    path = tmp_path / "w.duckdb"
    summary = steps.load_and_build(demo_context(path), [report], {})
    assert (summary.sources[0].new, summary.sources[0].quarantined) == (1, 1)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("select work_id from raw_openalex__works").fetchall() == [("W1",)]
        ((key, reason),) = con.execute("select record_key, reason from quarantine").fetchall()
    finally:
        con.close()
    assert key == "W2"
    assert reason.startswith("value does not fit raw_openalex__works")


def test_a_new_source_column_is_added_to_an_existing_raw_table(tmp_path: Path) -> None:
    """Upgrading scholarflow may add a field to a source's raw schema: the next load adds the
    column to the warehouse's table (null for older rows) instead of failing."""
    path = tmp_path / "w.duckdb"
    run_demo(path)
    with warehouse.writer(path) as con:
        con.execute("alter table raw_crossref__works drop column institution_name")
    second = run_demo(path)
    assert second.error_count == 0
    with warehouse.reader(path) as con:
        cols = {r[0] for r in con.execute("describe raw_crossref__works").fetchall()}
    assert "institution_name" in cols


def test_build_reads_raw_tables_loaded_before_a_field_was_added(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    """A warehouse whose OpenAlex rows predate the FWCI fields still builds: they read as null."""
    from conftest import demo_context

    from flows import steps

    path = tmp_path / "old.duckdb"
    shutil.copy(demo_warehouse, path)
    with duckdb.connect(str(path)) as con:
        for column in ("fwci", "citation_percentile", "is_top_1_percent", "is_top_10_percent"):
            con.execute(f"alter table raw_openalex__works drop column {column}")
    ctx = demo_context(path, "build")
    ctx.mode = "build"
    steps.build_only(ctx)
    with duckdb.connect(str(path), read_only=True) as con:
        rated = con.execute("select count(fwci) from papers").fetchone()[0]  # type: ignore[index]
        papers = con.execute("select count(*) from papers").fetchone()[0]  # type: ignore[index]
    assert rated == 0 and papers > 60


def test_wait_takes_the_lock_once_the_other_run_ends(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "w.duckdb"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_run_lock, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        threading.Timer(1.0, release.set).start()
        with warehouse.writer(path, wait_seconds=60) as con:  # --wait 60
            con.execute("create table t as select 1 as x")
        assert release.is_set()
    finally:
        release.set()
        holder.join(60)
    with warehouse.reader(path) as con:
        assert warehouse.query(con, "select x from t") == [(1,)]


def test_import_lets_landed_pages_go(tmp_path: Path) -> None:
    """`scholarflow import` hands its pages to the load with `release`: once landed, the caller's
    report keeps only each response's identity (no body, no records), and the warehouse holds
    exactly what a load that keeps them holds."""
    real = Path(__file__).parent / "fixtures" / "real" / "openalex"
    names = ("work_doi_10.1073_pnas", "author_A5317838346", "keyword_cardiac")
    files = [next(real.glob(f"*__{n}*.json")) for n in names]
    queries = (
        "select * exclude (_fetched_at) from raw_openalex__works order by work_id",
        "select * exclude (_fetched_at) from raw_openalex__authors order by author_id",
        "select source, entity, record_key, reason from quarantine order by all",
        "select source_work_id, cited_by_count from citation_snapshots order by all",
        "select url, sha256, size_bytes from raw_responses order by all",
    )
    tables = {}
    for release in (False, True):
        path = tmp_path / f"release-{release}" / "w.duckdb"
        ctx = demo_context(path)
        ctx.run_id = "run-1"
        report = fetch.import_files("openalex", files)
        summary = steps.load_and_build(ctx, [report], {}, release=release)
        assert sum(s.new for s in summary.sources) == 2
        held = [(len(f.response.body) > 0, f.page.count()) for f in report.items]
        if release:
            assert held == [(False, 0)] * 3
            assert all(len(f.response.sha256) == 64 for f in report.items)
        else:
            assert held == [(True, 1), (True, 1), (True, 0)]
        with warehouse.reader(path) as con:
            tables[release] = [con.execute(q).fetchall() for q in queries]
    assert tables[True] == tables[False]
    assert [len(rows) for rows in tables[True]] == [1, 1, 1, 1, 3]


def test_import_landed_file_by_file_equals_parsed_import(tmp_path: Path) -> None:
    """`scholarflow import` holds each file as it will land (Arrow records, packed body) from
    the moment it is parsed; the warehouse, the run summary and the reports are the same as an
    import that holds every parsed dict until the load, including a record that does not fit
    its table, a quarantined one, duplicates across files (the last copy wins) and a body the
    warehouse archives already (not packed again)."""
    real = Path(__file__).parent / "fixtures" / "real" / "openalex"
    work = json.loads(next(real.glob("*__work_doi_10.1073_pnas*.json")).read_text("utf-8"))
    changed = dict(work, cited_by_count=work["cited_by_count"] + 7)
    odd = dict(work, id="https://openalex.org/W1", cited_by_count=2**70)  # not an int64
    pages = [
        {"meta": {"count": 2}, "results": [work, {"display_name": "no id"}]},
        {"meta": {"count": 2}, "results": [changed, odd]},
    ]
    files = []
    for n, page in enumerate(pages):
        files.append(tmp_path / f"page-{n}.json")
        files[-1].write_text(json.dumps(page), encoding="utf-8")
    author = next(real.glob("*__author_A5317838346*.json"))
    queries = (
        "select * exclude (_fetched_at) from raw_openalex__works order by work_id",
        "select * exclude (_fetched_at) from raw_openalex__authors order by author_id",
        "select source, entity, record_key, reason, payload from quarantine order by all",
        "select source_work_id, cited_by_count from citation_snapshots order by all",
        "select url, sha256, size_bytes, body_gzip from raw_responses order by all",
        "select * from papers order by all",
    )
    seen = {}
    for into in (False, True):
        path = tmp_path / f"into-{into}" / "w.duckdb"
        summaries = []
        for run, batch in enumerate(([files[0]], [files[1], author, files[0]])):
            ctx = demo_context(path)
            ctx.run_id = f"run-{run}"
            report = fetch.import_files("openalex", batch, into=path if into else None)
            landed = [bool(f.page.landed) for f in report.items]
            assert landed == [into] * len(batch)
            summaries.append(steps.load_and_build(ctx, [report], {}, release=True).sources)
        csv_text = (path.parent / "reports" / "papers.csv").read_text("utf-8")
        with warehouse.reader(path) as con:
            tables = [con.execute(q).fetchall() for q in queries] + [csv_text]
        seen[into] = (summaries, tables)
    assert seen[True][0] == seen[False][0]
    for a, b in zip(seen[True][1], seen[False][1], strict=True):
        assert a == b, (a, b)
    (_, second), tables = seen[True]
    # the changed copy, then the first file again: its copy is the last, so unchanged
    assert (second[0].records, second[0].new, second[0].updated, second[0].unchanged) == (
        3,
        1,
        0,
        1,
    )
    assert second[0].quarantined == 2  # the id-less record and the count above int64
    assert [w[0] for w in tables[0]] == [work["id"].rsplit("/", 1)[1]]
    assert len(tables[4]) == 3  # three files archived once each

"""Runs publish while users read: real reader processes hold the warehouse open (read-write and
read-only, as the DuckDB CLI, DBeaver or a notebook do) while `scholarflow` runs; report sets
switch as a whole; what happens after the commit is said as it is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import demo_context

from flows import cli, context, publish, steps, views
from flows.watchlist import ReportsOptions

ROOT = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent(
    """
    import duckdb, pathlib, sys, time
    path, mode, ready, stop, out = sys.argv[1:6]
    con = duckdb.connect(path, read_only=(mode == "ro"))
    q = "select (select count(*) from runs), (select count(*) from metrics.papers)"
    before = con.execute(q).fetchone()
    if mode == "rw-writes":  # a user's own table, left in the .wal while the run publishes
        con.execute("create table main.my_notes as select 'keep me' as note")
    pathlib.Path(ready).write_text("ready")
    while not pathlib.Path(stop).exists():
        time.sleep(0.05)
    after = con.execute(q).fetchone()
    con.close()
    pathlib.Path(out).write_text(repr([list(before), list(after)]))
    """
)

LOOPER = textwrap.dedent(
    """
    import duckdb, json, pathlib, sys, time
    path, ready, stop, out = sys.argv[1:5]
    seen, errors = [], []
    q = ("select (select count(*) from runs), (select count(*) from metrics.papers), "
         "(select count(*) from duckdb_views() where schema_name = 'metrics')")
    while not pathlib.Path(stop).exists() or not seen:
        try:
            con = duckdb.connect(path, read_only=True)
            seen.append(list(con.execute(q).fetchone()))
            con.close()
        except Exception as exc:
            errors.append(repr(exc))
        if len(seen) + len(errors) == 1:
            pathlib.Path(ready).write_text("ready")
        time.sleep(0.02)
    pathlib.Path(out).write_text(json.dumps({"seen": seen, "errors": errors}))
    """
)


def _scholarflow(*args: str, warehouse_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flows",
            *args,
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(warehouse_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _start(tmp: Path, name: str, script: str, *args: str) -> tuple[subprocess.Popen[str], Path]:
    ready = tmp / f"{name}.ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{name} never became ready"
        time.sleep(0.05)
    return proc, ready


def _counts(path: Path) -> tuple[int, int]:
    """What a new connection in a new process sees (DuckDB caches open databases per process)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(*c.execute('select (select count(*) from runs), "
            "(select count(*) from metrics.papers)').fetchone())",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    runs, papers = out.stdout.split()
    return int(runs), int(papers)


@pytest.fixture
def built(demo_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the demo warehouse (published file, writer copy, reports)."""
    dest = tmp_path / "wh"
    shutil.copytree(demo_warehouse.parent, dest, symlinks=True)
    path = dest / demo_warehouse.name
    # the copies are new files: record them as this warehouse's last publish
    lay = publish.Layout(path)
    publish.State(publish.identity(path), None, publish.identity(lay.private)).write(lay)
    return path


def test_a_read_write_client_holding_the_warehouse_does_not_break_a_run(
    built: Path, tmp_path: Path
) -> None:
    runs, papers = _counts(built)
    stop, out = tmp_path / "stop", tmp_path / "rw.out"
    holder, _ = _start(
        tmp_path, "rw", HOLDER, str(built), "rw", str(tmp_path / "rw.ready"), str(stop), str(out)
    )
    try:
        done = _scholarflow("build", warehouse_path=built)
        assert done.returncode == 0, done.stderr
        assert _counts(built) == (runs + 1, papers)  # a new connection sees the new run
        assert holder.poll() is None  # the client is still there, on its snapshot
    finally:
        stop.touch()
        holder.wait(60)
    assert holder.returncode == 0, holder.stderr.read() if holder.stderr else ""
    before, after = json.loads(out.read_text())
    assert before == after == [runs, papers]  # its snapshot never changed under it
    assert not Path(str(built) + ".wal").exists()


def test_read_only_clients_and_a_querying_loop_see_old_or_new_never_partial(
    built: Path, tmp_path: Path
) -> None:
    runs, papers = _counts(built)
    stop = tmp_path / "stop"
    holder, _ = _start(
        tmp_path,
        "ro",
        HOLDER,
        str(built),
        "ro",
        str(tmp_path / "ro.ready"),
        str(stop),
        str(tmp_path / "ro.out"),
    )
    looper, _ = _start(
        tmp_path,
        "loop",
        LOOPER,
        str(built),
        str(tmp_path / "loop.ready"),
        str(stop),
        str(tmp_path / "loop.out"),
    )
    try:
        first = _scholarflow("ingest", "--demo", "--source", "arxiv", warehouse_path=built)
        second = _scholarflow("build", warehouse_path=built)
    finally:
        stop.touch()
        holder.wait(60)
        looper.wait(60)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert json.loads((tmp_path / "ro.out").read_text()) == [[runs, papers], [runs, papers]]
    loop = json.loads((tmp_path / "loop.out").read_text())
    assert loop["errors"] == []
    views = len(list((ROOT / "sql").glob("*.sql")))
    # every snapshot is a whole published state: one of the three runs' counts, all views
    assert {tuple(s) for s in loop["seen"]} <= {
        (runs, papers, views),
        (runs + 1, papers, views),
        (runs + 2, papers, views),
    }
    assert _counts(built) == (runs + 2, papers)


def test_a_users_own_table_is_kept_aside_with_a_warning_never_lost(
    built: Path, tmp_path: Path
) -> None:
    """A client that wrote into the published file while a run published: the run still
    publishes; the replaced file keeps the user's table (its .wal follows it), the run says
    where, and the new warehouse never replays the user's .wal."""
    stop, out = tmp_path / "stop", tmp_path / "rw.out"
    holder, _ = _start(
        tmp_path,
        "rw",
        HOLDER,
        str(built),
        "rw-writes",
        str(tmp_path / "rw.ready"),
        str(stop),
        str(out),
    )
    try:
        done = _scholarflow("build", warehouse_path=built)
        assert done.returncode == 0, done.stderr
        assert "objects scholarflow did not create" in done.stderr or ".wal" in done.stderr
        (kept,) = built.parent.glob("scholarflow.replaced-*.duckdb")
        assert str(kept) in done.stderr
        con = duckdb.connect(str(built), read_only=True)
        try:  # the new warehouse: no user table, no foreign .wal replayed onto it
            assert not con.execute(
                "select count(*) from duckdb_tables() where table_name = 'my_notes'"
            ).fetchone()[0]
        finally:
            con.close()
    finally:
        stop.touch()
        holder.wait(60)
    con = duckdb.connect(str(kept), read_only=True)
    try:
        assert con.execute("select note from my_notes").fetchall() == [("keep me",)]
    finally:
        con.close()


def test_a_table_written_between_runs_is_named_and_kept(built: Path) -> None:
    con = duckdb.connect(str(built))
    con.execute("create table main.my_scores as select 1 as score")
    con.close()
    done = _scholarflow("build", warehouse_path=built)
    assert done.returncode == 0, done.stderr
    assert "objects scholarflow did not create: main.my_scores" in done.stderr
    (kept,) = built.parent.glob("scholarflow.replaced-*.duckdb")
    con = duckdb.connect(str(kept), read_only=True)
    assert con.execute("select score from my_scores").fetchall() == [(1,)]
    con.close()
    # nothing changed since: the next run keeps nothing aside and warns about nothing
    again = _scholarflow("build", warehouse_path=built)
    assert again.returncode == 0 and "replaced" not in again.stderr
    assert len(list(built.parent.glob("scholarflow.replaced-*.duckdb"))) == 1


def test_a_warehouse_of_an_earlier_version_is_taken_over(built: Path) -> None:
    """Before the writer copy existed the published file was the only one."""
    shutil.rmtree(publish.Layout(built).private_dir)
    runs, papers = _counts(built)
    summary = steps.build_only(demo_context(built))
    assert summary.tables["papers"] == papers
    assert _counts(built) == (runs + 1, papers)
    assert not list(built.parent.glob("scholarflow.replaced-*"))


# ---------------------------------------------------------------- report sets


def _resolved(reports: Path) -> set[Path]:
    return {p.resolve().parent for p in reports.glob("*.csv")}


def test_reports_switch_as_one_set_and_unchanged_files_are_hard_links(built: Path) -> None:
    reports = built.parent / "reports"
    first = steps.build_only(demo_context(built))
    second = steps.build_only(demo_context(built))
    assert _resolved(reports) == {(reports / "runs" / second.run_id).resolve()}
    assert os.readlink(reports / "current") == f"runs/{second.run_id}"
    shown = sorted(p.name for p in reports.iterdir() if p.is_file() and p.is_symlink())
    assert [p.name for p in second.reports] == shown
    assert {"digest.md", "index.html", "papers.csv"} <= set(shown)
    # folders of the set are links into current/ too
    for folder in ("charts", "exports"):
        assert os.readlink(reports / folder) == f"current/{folder}"
    one, two = reports / "runs" / first.run_id, reports / "runs" / second.run_id
    assert (two / "papers.csv").read_bytes() == (one / "papers.csv").read_bytes()
    assert (two / "papers.csv").stat().st_ino == (one / "papers.csv").stat().st_ino
    # unchanged charts are hard links as well, inside their folder
    svg = sorted((two / "charts").glob("*.svg"))[0]
    assert svg.stat().st_ino == (one / "charts" / svg.name).stat().st_ino
    assert not list((reports / "runs").glob(".*"))  # no partial set left behind


def test_only_the_newest_report_sets_are_kept(built: Path) -> None:
    reports = built.parent / "reports"
    ids = []
    for _ in range(3):
        ctx = demo_context(built)
        ctx.watchlist = ctx.watchlist.model_copy(update={"reports": ReportsOptions(keep_runs=2)})
        ids.append(steps.build_only(ctx).run_id)
    assert sorted(p.name for p in (reports / "runs").iterdir()) == sorted(ids[1:])


def test_a_partial_report_set_is_never_current_and_is_cleaned_up(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = built.parent / "reports"
    before = {p.name: p.read_bytes() for p in reports.glob("*.csv")}
    current = os.readlink(reports / "current")
    real = views.write_report_files

    def half(con: object, out: Path, *options: Any) -> list[Path]:
        written = real(con, out, *options)  # type: ignore[arg-type]
        written[0].unlink()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(views, "write_report_files", half)
    with pytest.raises(context.AfterCommitError):
        steps.build_only(demo_context(built))
    assert os.readlink(reports / "current") == current
    assert {p.name: p.read_bytes() for p in reports.glob("*.csv")} == before
    monkeypatch.undo()
    steps.build_only(demo_context(built))
    assert not list((reports / "runs").glob(".*"))


# ---------------------------------------------------------------- after the commit


def _cli(built: Path, *args: str) -> int:
    return cli.main(
        [args[0], "--watchlist", str(ROOT / "watchlist.toml"), "--warehouse", str(built), *args[1:]]
    )


@pytest.mark.parametrize(
    ("error", "code", "prefix"),
    [
        (OSError(28, "No space left on device"), 1, "error"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_a_failure_after_the_commit_says_what_was_committed(
    built: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    prefix: str,
) -> None:
    runs, papers = _counts(built)

    def fail(con: object, out: Path, *options: object) -> list[Path]:
        raise error

    monkeypatch.setattr(views, "write_report_files", fail)
    assert _cli(built, "build") == code
    err = capsys.readouterr().err
    assert err.startswith(f"{prefix}: run ")
    assert "is committed and the warehouse" in err and "is published" in err
    assert "still holds the previous run's reports" in err
    assert "unchanged" not in err
    assert _counts(built) == (runs + 1, papers)  # committed, published, recorded succeeded
    con = duckdb.connect(str(built), read_only=True)
    assert con.execute("select status from runs order by started_at desc limit 1").fetchall() == [
        ("succeeded",)
    ]
    con.close()


def test_a_failure_before_the_commit_changes_no_data_and_is_recorded(
    built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs, papers = _counts(built)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("view broke")

    monkeypatch.setattr(views, "create_views", boom)
    assert _cli(built, "build") == 1
    assert "view broke" in capsys.readouterr().err
    con = duckdb.connect(str(built), read_only=True)
    try:
        status, error = con.execute(
            "select status, error from runs order by started_at desc limit 1"
        ).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert (status, error) == ("failed", "RuntimeError: view broke")
    assert _counts(built) == (runs + 1, papers)


# ---------------------------------------------------------------- killed while publishing


def _die_at(path: str, where: str) -> None:
    """Child process: build, and die hard (no cleanup, as kill -9) at one publishing step."""
    from flows import publish as pub
    from flows import views as wh

    def dying(real: Any, before: bool = True) -> Any:
        def f(*args: Any, **kwargs: Any) -> Any:
            if before:
                os._exit(9)
            out = real(*args, **kwargs)
            os._exit(9)
            return out

        return f

    if where == "writing reports":
        real_write = wh.write_report_files

        def half(con: Any, out: Path, *options: Any) -> list[Path]:
            written = real_write(con, out, *options)
            written[-1].write_text("trunc")
            os._exit(9)

        wh.write_report_files = half  # type: ignore[assignment]
    elif where == "copying the warehouse":
        real_copy = pub.copy_durably

        def torn(src: Path, dst: Path) -> None:
            real_copy(src, dst)
            with open(dst, "r+b") as fh:
                fh.truncate(dst.stat().st_size // 2)
            os._exit(9)

        pub.copy_durably = torn  # type: ignore[assignment]
    elif where == "after the warehouse, before the reports":
        pub.switch_reports = dying(pub.switch_reports)  # type: ignore[assignment]
    elif where == "after the reports switched":
        pub.prune_runs = dying(pub.prune_runs)  # type: ignore[assignment]
    steps.build_only(demo_context(Path(path)))


@pytest.mark.parametrize(
    "where",
    [
        "writing reports",
        "copying the warehouse",
        "after the warehouse, before the reports",
        "after the reports switched",
    ],
)
def test_killed_while_publishing_leaves_one_runs_warehouse_and_reports(
    built: Path, where: str
) -> None:
    import multiprocessing

    reports = built.parent / "reports"
    runs, papers = _counts(built)
    proc = multiprocessing.get_context("spawn").Process(target=_die_at, args=(str(built), where))
    proc.start()
    proc.join(300)
    assert proc.exitcode == 9
    now, _ = _counts(built)  # opens; old state, or the new one once the file was renamed
    assert now == (runs + 1 if where.startswith("after") else runs)
    (current,) = _resolved(reports)  # every report from one run...
    con = duckdb.connect(str(built), read_only=True)
    ids = {r[0] for r in con.execute("select run_id from runs").fetchall()}
    con.close()
    assert current.name in ids  # ...that the published warehouse holds
    assert {p.stem for p in current.glob("*.csv")} == {p.stem for p in (ROOT / "sql").glob("*.sql")}
    assert not list(built.parent.glob(".*.incoming")) or where == "copying the warehouse"
    # the next run publishes everything: the killed run's commit too
    nxt = steps.build_only(demo_context(built))
    assert _counts(built) == (runs + 2, papers)
    assert _resolved(reports) == {(reports / "runs" / nxt.run_id).resolve()}
    assert not list((reports / "runs").glob(".*"))


def test_a_warehouse_that_cannot_be_published_is_said_and_published_next_run(
    built: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs, papers = _counts(built)
    current = os.readlink(built.parent / "reports" / "current")

    def full(src: Path, dst: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "copy_durably", full)
    assert _cli(built, "build") == 1
    err = capsys.readouterr().err
    assert "is committed but not published" in err and "publishing the warehouse failed" in err
    assert _counts(built) == (runs, papers)  # readers still see the previous run, whole
    assert os.readlink(built.parent / "reports" / "current") == current  # and its reports
    monkeypatch.undo()
    assert _cli(built, "build") == 0
    assert _counts(built) == (runs + 2, papers)

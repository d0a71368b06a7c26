"""CSV reports written by DuckDB's COPY: RFC 4180, safe cells, readable by people and machines.

Each test builds a metrics view by hand, writes the report set the way a run does
(`views.write_report_files`) and reads the file back with Python's csv module.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import SHARED_FIXTURES

from flows import cli, views
from flows.reports import ReportOptions
from flows.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("set TimeZone = 'America/New_York'")  # reports are UTC whatever the session's
    c.execute("create schema metrics")
    yield c
    c.close()


def report(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    ddl: str,
    rows: Sequence[Sequence[Any]],
    options: ReportOptions | None = None,
) -> Path:
    """Table `t` (ddl: its columns) holding `rows`, view metrics.r over it, written as r.csv."""
    con.execute(f"create table t ({ddl})")
    marks = ", ".join("?" for _ in ddl.split(","))
    con.executemany(f"insert into t values ({marks})", [list(r) for r in rows])
    con.execute("create view metrics.r as select * from t")
    written = views.write_report_files(con, out, options or ReportOptions())
    assert written == [out / "r.csv"]
    return written[0]


def read(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("value", ['=HYPERLINK("x")', "+1+2", "-cmd", "@SUM(A1)", "\tx", "\rx"])
def test_csv_neutralises_formula_like_text(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, value: str
) -> None:
    path = report(con, tmp_path, "title varchar, n integer", [[value, -3]])
    row = read(path)[1]
    assert row[0] == "'" + value
    assert row[1] == "-3"  # numbers stay numbers


def test_csv_is_rfc4180(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = report(con, tmp_path, "a varchar, b double", [['x, "y"', None], ["line\nbreak", 1.5]])
    raw = path.read_bytes()
    assert raw.startswith(b"a,b\r\n")
    assert b'"x, ""y""",\r\n' in raw
    assert raw.endswith(b'"line\nbreak",1.5\r\n')
    assert read(path) == [["a", "b"], ['x, "y"', ""], ["line\nbreak", "1.5"]]


# (cell written by the view, what a spreadsheet or csv reader must get back)
HOSTILE = [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1", "'+1"),
    ("-x", "'-x"),
    ("@x", "'@x"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("a\x00b", "ab"),  # NUL removed
    ("\x00=cmd", "'=cmd"),  # removed first, then neutralised: no hiding behind a NUL
    ("\x1b[31mred\x1b[0m text", "red text"),  # ANSI colour sequence removed whole
    ("\x1b]0;title\x07x", "]0;titlex"),  # other escapes: the control bytes go
    ("bell\x07 back\x08 del\x7f c1\x85\x9b", "bell back del c1"),
    ('say "hi", ok', 'say "hi", ok'),
    ("a,b", "a,b"),
    ("two\nlines\r\nhere", "two\nlines\r\nhere"),
    ("mid-dash = fine", "mid-dash = fine"),
    ("Christopher Ré 株式会社 Ωmega 🙂", "Christopher Ré 株式会社 Ωmega 🙂"),
    ("", ""),
    (None, ""),
]


def test_hostile_text_cells(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = report(
        con, tmp_path, "i integer, s varchar", [[i, v] for i, (v, _) in enumerate(HOSTILE)]
    )
    rows = read(path)
    assert rows[0] == ["i", "s"]
    assert [r[1] for r in rows[1:]] == [want for _, want in HOSTILE]
    raw = path.read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw and b"\x07" not in raw
    # NULL is an empty field; an empty string is written quoted (both read back as "")
    assert raw.endswith(b'\r\n16,""\r\n17,\r\n')


def test_numbers_dates_and_lists(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = report(
        con,
        tmp_path,
        "n bigint, x double, ok boolean, d date, seen_at timestamptz, naive timestamp, tags varchar[]",
        [
            [
                -3,
                -1.5,
                True,
                "2026-05-01",
                "2026-05-01 12:34:56.789+02",
                "2026-05-01 08:00:00.5",
                ["=a", "b"],
            ],
            [0, 0.1 + 0.2, False, None, None, None, []],
            [None, 2 / 3, None, None, None, None, None],
        ],
    )
    assert read(path) == [
        ["n", "x", "ok", "d", "seen_at", "naive", "tags"],
        [
            "-3",
            "-1.5",
            "true",
            "2026-05-01",
            "2026-05-01T10:34:56Z",
            "2026-05-01T08:00:00Z",
            "'=a; b",
        ],
        ["0", "0.3", "false", "", "", "", ""],
        ["", "0.666667", "", "", "", "", ""],
    ]


def test_files_respect_the_umask(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Group-readable where the umask allows it (a shared drive, a web server)."""
    old = os.umask(0o022)
    try:
        path = report(con, tmp_path / "out", "a integer", [[1]])
        assert path.stat().st_mode & 0o777 == 0o644
        os.umask(0o002)
        con.execute("create view metrics.again as select 1 as b")
        views.write_report_files(con, tmp_path / "out")
        assert (tmp_path / "out" / "again.csv").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_plain_files_keep_raw_ids(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = report(con, tmp_path, "arxiv_id varchar, title varchar", [["2306.06000", "2306.06000"]])
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert read(path)[1] == ["2306.06000", "2306.06000"]


def test_excel_flavour_has_bom_and_ids_excel_keeps(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = report(
        con,
        tmp_path,
        "arxiv_id varchar, record_id varchar, paper_id varchar, title varchar, name varchar",
        [
            ["2306.06000", "2306.06000v2", "arxiv:2306.06000", "2306.06000", "Christopher Ré"],
            ["hep-th/9901001", "W123", "doi:10.1/x", "-1", "=x"],
        ],
        ReportOptions(excel=True),
    )
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfarxiv_id,record_id,")
    assert read(path, "utf-8-sig") == [
        ["arxiv_id", "record_id", "paper_id", "title", "name"],
        [
            "arXiv:2306.06000",
            "arXiv:2306.06000v2",
            "arxiv:2306.06000",
            "2306.06000",
            "Christopher Ré",
        ],
        ["hep-th/9901001", "W123", "doi:10.1/x", "'-1", "'=x"],
    ]


def topic_view(con: duckdb.DuckDBPyConnection) -> None:
    """metrics.topic_trends with two months per topic; papers per topic = its number."""
    con.execute(
        """create view metrics.topic_trends as
           select kind as topic_kind, id as topic_id, id as topic_name, month, n as papers
           from (values ('watchlist', 'llm', 1), ('watchlist', 'db', 2),
                        ('openalex', 'T1', 5), ('openalex', 'T2', 9), ('openalex', 'T3', 7),
                        ('arxiv_category', 'cs.DB', 1), ('arxiv_category', 'cs.AI', 8)) v(kind, id, n),
                (values (date '2026-01-01'), (date '2026-02-01')) m(month)"""
    )
    con.execute(
        """create view metrics.topic_totals as
           select topic_kind, topic_id, sum(papers) as papers, row_number() over (
                      partition by topic_kind order by sum(papers) desc, topic_id) as rank_in_kind
           from metrics.topic_trends group by topic_kind, topic_id"""
    )


def topics_in(path: Path) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in read(path)[1:]}


def test_topic_trends_lists_watchlist_and_top_topics(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    topic_view(con)
    options = ReportOptions(top_topics=1, pinned_topics=(("openalex", "T1"),))
    path = views.write_report_files(con, tmp_path, options)[1]
    assert topics_in(path) == {
        ("watchlist", "llm"),
        ("watchlist", "db"),
        ("openalex", "T2"),  # the largest of its kind
        ("openalex", "T1"),  # named by the watchlist
        ("arxiv_category", "cs.AI"),
    }
    body = read(path)[1:]
    assert len(body) == 5 * 2  # every month of each listed topic
    assert body == sorted(body, key=lambda r: (r[0], r[1], r[3]))  # by kind, topic, month
    path = views.write_report_files(con, tmp_path / "all", ReportOptions(top_topics=10))[1]
    assert len(topics_in(path)) == 7
    # the view itself stays complete
    assert con.execute("select count(*) from metrics.topic_trends").fetchone() == (14,)


def test_watchlist_reports_section(tmp_path: Path) -> None:
    text = (ROOT / "watchlist.toml").read_text(encoding="utf-8")
    path = tmp_path / "w.toml"
    path.write_text(text + "\n[reports]\ntop_topics = 5\nexcel = true\n", encoding="utf-8")
    options = ReportOptions.from_watchlist(load_watchlist(path))
    assert (options.top_topics, options.excel) == (5, True)
    assert ("openalex", "T10990") in options.pinned_topics
    assert ("arxiv_category", "cs.DC") in options.pinned_topics
    defaults = ReportOptions.from_watchlist(load_watchlist(ROOT / "watchlist.toml"))
    assert (defaults.top_topics, defaults.excel) == (20, False)


def test_import_writes_reports_people_can_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scholarflow import` with `[reports] excel = true`: group-readable files (umask 022),
    a BOM, arXiv ids Excel keeps as text, UTC timestamps to the second; the per-run copy too."""
    fixtures = SHARED_FIXTURES / "openalex"
    if not fixtures.is_dir():
        pytest.skip(f"recorded upstream payloads missing: {fixtures}")
    wl = tmp_path / "watchlist.toml"
    text = (ROOT / "watchlist.toml").read_text(encoding="utf-8")
    wl.write_text(text + "\n[reports]\nexcel = true\n", encoding="utf-8")
    wh = tmp_path / "wh" / "scholarflow.duckdb"
    files = sorted(fixtures.glob("*works*.json"))
    old = os.umask(0o022)
    try:
        args = ["import", "--watchlist", str(wl), "--warehouse", str(wh), "--overrides"]
        code = cli.main([*args, str(ROOT / "overrides.toml"), "openalex", *map(str, files)])
    finally:
        os.umask(old)
    assert code == 0, capsys.readouterr().err
    out = wh.parent / "reports"
    (run_dir,) = (out / "runs").iterdir()
    written = sorted(out.glob("*.csv")) + sorted(run_dir.glob("*.csv"))
    assert len(written) == 2 * len(list((ROOT / "sql").glob("*.sql")))
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o644, path
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path
    papers = read(out / "papers.csv", "utf-8-sig")
    arxiv = [r[papers[0].index("arxiv_id")] for r in papers[1:]]
    assert "arXiv:2312.07559" in arxiv and not any(a[:1].isdigit() for a in arxiv)
    coverage = read(out / "source_coverage.csv", "utf-8-sig")
    stamp = coverage[1][coverage[0].index("last_changed_at")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp


def test_growing_views_are_cut_in_their_reports(tmp_path: Path) -> None:
    """citation_velocity lists researchers and topics, and per source and window the 100 works
    that gained most; the view itself keeps every work."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema metrics")
    con.execute(
        """create view metrics.citation_velocity as
           select case when i < 300 then 'work' else 'researcher' end as level,
                  'e' || lpad(cast(i as varchar), 3, '0') as entity_id, 'openalex' as source,
                  w as window_days, i as citations_gained
           from range(305) t(i), (values (30), (90)) v(w)"""
    )
    written = views.write_report_files(con, tmp_path / "reports")
    assert [p.name for p in written] == ["citation_velocity.csv"]
    with written[0].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    works = [r for r in rows if r["level"] == "work"]
    assert len(works) == 200 and len(rows) == 210
    # the 100 that gained most, per window
    assert min(int(r["citations_gained"]) for r in works) == 200
    total = con.execute("select count(*) from metrics.citation_velocity").fetchone()[0]  # type: ignore[index]
    assert total == 610


def test_shared_views_computed_once_write_the_same_report_set(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    """A run writes its report set with the views many reports read computed once; the files
    are those the plain views give, and the warehouse keeps its views afterwards."""
    from flows import outputs

    path = tmp_path / "w.duckdb"
    path.write_bytes(demo_warehouse.read_bytes())
    with duckdb.connect(str(path)) as con:
        con.execute("set TimeZone = 'UTC'")
        (run_id,) = con.execute("select max(run_id) from runs").fetchone() or ("",)
        view_sql = (
            "select view_name, sql from duckdb_views() where schema_name = 'metrics' order by 1"
        )
        before = con.execute(view_sql).fetchall()
        for name in ("plain", "shared"):
            out = tmp_path / name
            if name == "plain":
                views.write_report_files(con, out)
                outputs.write_outputs(con, out, run_id)
                continue
            with views.shared_views_once(con):
                sql = dict(con.execute(view_sql).fetchall())
                assert all("_shared_" in sql[v] for v in views.SHARED_VIEWS)
                views.write_report_files(con, out)
                outputs.write_outputs(con, out, run_id)
        assert con.execute(view_sql).fetchall() == before
        assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone() == (
            0,
        )
    plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*"))
    shared = sorted(p.relative_to(tmp_path / "shared") for p in (tmp_path / "shared").rglob("*"))
    assert plain == shared and len(plain) > 20
    for rel in plain:
        if (tmp_path / "plain" / rel).is_file():
            assert (tmp_path / "plain" / rel).read_bytes() == (
                tmp_path / "shared" / rel
            ).read_bytes()

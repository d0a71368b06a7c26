"""`scholarflow explain`: on a small warehouse crafted with exactly the contract's tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import ROOT

from flows import cli, explain, warehouse
from flows.overrides import load_overrides
from flows.settings import SQL_DIR
from flows.watchlist import load_watchlist

DDL = """
create table papers (paper_id varchar, title varchar, year integer, publication_date date,
    venue varchar, is_preprint_only boolean, doi varchar, arxiv_id varchar, openalex_id varchar,
    s2_paper_id varchar, sources varchar[], n_source_records integer, first_run_id varchar,
    is_retracted boolean, fwci double, citation_percentile double);
create table work_xref (paper_id varchar, source varchar, source_work_id varchar, rule varchar,
    score double, matched_source varchar, matched_source_work_id varchar, doi varchar,
    arxiv_id varchar, title varchar, year integer, venue varchar, cited_by_count bigint,
    _run_id varchar, _fetched_at timestamptz);
create table work_versions (paper_id varchar, version_id varchar, version_kind varchar,
    doi varchar, arxiv_id varchar, venue varchar, year integer, sources varchar[],
    n_records integer);
create table work_fields (paper_id varchar, field varchar, value varchar, source varchar,
    source_work_id varchar, rule varchar);
create table resolution_flags (entity varchar, kind varchar, entity_id varchar, source varchar,
    source_id varchar, detail varchar, line integer);
create table authorships (paper_id varchar, author_id varchar, position integer,
    author_name varchar, is_watched boolean, source varchar, source_author_id varchar,
    match_rule varchar, match_confidence double);
create table author_crosswalk (author_id varchar, source varchar, source_author_id varchar,
    source_name varchar, orcid varchar, rule varchar, confidence double, n_works integer);
create table authors (author_id varchar, display_name varchar, is_watched boolean,
    orcid varchar, n_papers integer, openalex_author_ids varchar[], s2_author_ids varchar[]);
create table author_profiles (author_id varchar, source varchar, source_author_id varchar,
    source_name varchar, works_count bigint, cited_by_count bigint, h_index bigint,
    i10_index bigint, observed_at timestamptz);
create table paper_citations (paper_id varchar, source varchar, cited_by_count bigint,
    source_work_id varchar, observed_at timestamptz);
create table paper_citations_by_year (paper_id varchar, source varchar, year integer,
    cited_by_count bigint);
create schema metrics;
"""

# retracted (OpenAlex is_retracted): listed, never ranked in an index
RETRACTED = {"t:fff"}
# paper: (title, year, doi, arxiv, openalex count, s2 count); credited to Danyang Zhuo
PAPERS: dict[str, tuple[str, int, str | None, str | None, int | None, int | None]] = {
    "doi:10.1145/1": ("Alpha Serving Systems", 2023, "10.1145/1", "2312.99999", 10, 7),
    "arxiv:2401.00002": ("Beta Memory Manager", 2024, None, "2401.00002", 6, 8),
    "t:aaa": ("Gamma Scheduling", 2022, None, None, 5, None),
    "t:bbb": ("Delta Caching", 2021, None, None, None, 4),
    "t:ccc": ("Epsilon Kernels", 2020, None, None, 3, None),
    "t:ddd": ("Zeta Compilers", 2025, None, None, None, None),
    "t:eee": ("Namesake Biology Memory Two", 2019, None, None, 50, None),
    "t:fff": ("Retracted Result", 2022, None, None, 40, None),
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" * len(rows[0]))
    con.executemany(f"insert into {table} values ({marks})", rows)


def build(path: Path, *, drop: tuple[str, ...] = ()) -> Path:
    con = duckdb.connect(str(path))
    con.execute(DDL)
    ts = "2026-05-01 00:00:00+00"
    _insert(
        con,
        "papers",
        [
            (
                pid,
                t,
                y,
                None,
                "SOSP" if d else None,
                d is None,
                d,
                a,
                None,
                None,
                [],
                1,
                "r1",
                pid in RETRACTED,
                None,
                None,
            )
            for pid, (t, y, d, a, _o, _s) in PAPERS.items()
        ],
    )
    _insert(
        con,
        "work_xref",
        [
            ("doi:10.1145/1", "openalex", "W1", "doi", 1.0, None, None, "10.1145/1", None,
             "Alpha Serving Systems", 2023, "SOSP", 10, "r1", ts),
            ("doi:10.1145/1", "crossref", "10.1145/1", "doi", 1.0, "openalex", "W1",
             "10.1145/1", None, "Alpha serving systems", 2023, "SOSP", 9, "r1", ts),
            ("doi:10.1145/1", "arxiv", "2312.99999", "title", 0.97, "openalex", "W1", None,
             "2312.99999", "Alpha Serving Systems", 2023, None, None, "r1", ts),
            ("doi:10.1145/1", "semantic_scholar", "s2a", "arxiv", 1.0, "arxiv", "2312.99999",
             None, "2312.99999", "Alpha Serving Systems", 2023, None, 7, "r1", ts),
            ("arxiv:2401.00002", "arxiv", "2401.00002", "single", 1.0, None, None, None,
             "2401.00002", "Beta Memory Manager", 2024, None, None, "r1", ts),
            ("t:eee", "openalex", "W7", "single", 1.0, None, None, None, None,
             "Namesake Biology Memory Two", 2019, None, 50, "r1", ts),
        ],
    )  # fmt: skip
    _insert(
        con,
        "work_versions",
        [
            ("doi:10.1145/1", "arxiv:2312.99999", "preprint", None, "2312.99999", "arXiv",
             2023, ["arxiv", "semantic_scholar"], 2),
            ("doi:10.1145/1", "doi:10.1145/1", "published", "10.1145/1", None, "SOSP", 2023,
             ["crossref", "openalex"], 2),
        ],
    )  # fmt: skip
    _insert(
        con,
        "work_fields",
        [
            ("doi:10.1145/1", "title", "Alpha Serving Systems", "openalex", "W1",
             "published version over preprint; openalex before crossref"),
            ("doi:10.1145/1", "venue", "SOSP", "crossref", "10.1145/1", "published venue"),
        ],
    )  # fmt: skip
    _insert(
        con,
        "resolution_flags",
        [
            ("work", "work_conflict", "doi:10.1145/1", "crossref", "10.1145/1",
             "year 2023 vs 2024", None),
            ("author", "initials_collision", "danyang-zhuo", "dblp", "z/DZhuo",
             "D. Zhuo on 2 papers with no other evidence", None),
            ("work", "override_unmatched", "openalex:W404", None, None, "names nothing", 9),
        ],
    )  # fmt: skip
    authorships = [
        (pid, "danyang-zhuo", 1, "D. Zhuo" if pid == "t:ccc" else "Danyang Zhuo", True,
         "openalex", "A1", "watchlist_id", 1.0)
        for pid in PAPERS if pid != "t:eee"
    ] + [
        ("t:eee", "d-zhuo", 2, "D. Zhuo", False, "openalex", "A9", None, None),
        ("doi:10.1145/1", "ion-stoica", 2, "Ion Stoica", False, "crossref", None, None, None),
        ("t:aaa", "li-chen", 2, "Li Chen", False, None, None, None, None),
        ("t:bbb", "li-chen-ucsd", 2, "Li Chen", False, None, None, None, None),
    ]  # fmt: skip
    _insert(con, "authorships", authorships)
    _insert(
        con,
        "author_crosswalk",
        [
            ("danyang-zhuo", "openalex", "A1", "Danyang Zhuo", None, "watchlist", 1.0, 6),
            ("danyang-zhuo", "dblp", "z/DanyangZhuo", "Danyang Zhuo", None, "watchlist", 1.0, 4),
            ("danyang-zhuo", "semantic_scholar", "77", "D. Zhuo", None, "coauthored_works",
             0.92, 3),
        ],
    )  # fmt: skip
    _insert(
        con,
        "authors",
        [
            ("danyang-zhuo", "Danyang Zhuo", True, None, 6, ["A1"], ["77"]),
            ("d-zhuo", "D. Zhuo", False, None, 1, ["A9"], []),
            ("ion-stoica", "Ion Stoica", False, None, 1, [], []),
            ("li-chen", "Li Chen", False, None, 1, [], []),
            ("li-chen-ucsd", "Li Chen", False, None, 1, [], []),
        ],
    )
    _insert(
        con,
        "author_profiles",
        [("danyang-zhuo", "openalex", "A1", "Danyang Zhuo", 40, 900, 12, 15, ts)],
    )
    cites = []
    for pid, (*_, oa, s2) in PAPERS.items():
        if oa is not None:
            cites.append((pid, "openalex", oa, "W", ts))
        if s2 is not None:
            cites.append((pid, "semantic_scholar", s2, "S", ts))
    _insert(con, "paper_citations", cites)
    _insert(con, "paper_citations_by_year", [("doi:10.1145/1", "openalex", 2024, 4)])
    for view in (
        "citation_source_precedence",
        "paper_best_citations",
        "citations_per_author",
        "h_index_by_year",
    ):
        body = (SQL_DIR / f"{view}.sql").read_text(encoding="utf-8").strip().rstrip(";")
        con.execute(f"create view metrics.{view} as\n{body}")
    for table in drop:
        con.execute(f"drop table {table}")
    con.close()
    return path


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return build(tmp_path / "w.duckdb")


OVERRIDES = """\
[[alias]]
researcher = "danyang-zhuo"
names = ["Zhuo Danyang"]
reason = "family name first"

[[not_author]]
researcher = "Danyang Zhuo"
works = ["openalex:W7", "openalex:W404"]
reason = "namesake (biologist)"

[[merge]]
works = ["arxiv:2312.99999", "doi:10.1145/1"]
reason = "preprint and paper"
"""


@pytest.fixture
def ov_path(tmp_path: Path) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(OVERRIDES, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "query",
    [
        "doi:10.1145/1",
        "10.1145/1",
        "https://doi.org/10.1145/1",
        "openalex:W1",
        "crossref:10.1145/1",
        "arxiv:2312.99999v2",
        "2312.99999",
        "doi:10.48550/arXiv.2312.99999",
        "alpha serving",
    ],
)
def test_paper_found_by_any_of_its_ids(wh: Path, query: str) -> None:
    with warehouse.reader(wh) as con:
        assert explain.resolve_paper(con, query) == "doi:10.1145/1"


def test_paper_ambiguous_and_unknown(wh: Path) -> None:
    with warehouse.reader(wh) as con:
        with pytest.raises(explain.Ambiguous) as info:
            explain.resolve_paper(con, "memory")
        assert {c["paper_id"] for c in info.value.candidates} == {"arxiv:2401.00002", "t:eee"}
        with pytest.raises(explain.NotFound):
            explain.resolve_paper(con, "doi:10.9999/none")


def test_explain_paper_report(wh: Path, ov_path: Path) -> None:
    ov = load_overrides(ov_path, load_watchlist(ROOT / "watchlist.toml"), explicit=True)
    with warehouse.reader(wh) as con:
        r = explain.explain_paper(con, "10.1145/1", ov)
    assert r["paper_id"] == "doi:10.1145/1"
    assert [(f["field"], f["source"]) for f in r["fields"]] == [
        ("title", "openalex"),
        ("venue", "crossref"),
    ]
    assert [v["version_kind"] for v in r["versions"]] == ["published", "preprint"]
    by_source = {x["source"]: x for x in r["records"]}
    assert by_source["arxiv"]["rule"] == "title" and by_source["arxiv"]["score"] == 0.97
    assert by_source["arxiv"]["matched_source_work_id"] == "W1"
    assert {c["source"]: c["cited_by_count"] for c in r["citations"]} == {
        "openalex": 10,
        "semantic_scholar": 7,
    }
    watched = [a for a in r["authors"] if a["is_watched"]]
    assert [(a["author_id"], a["match_rule"]) for a in watched] == [
        ("danyang-zhuo", "watchlist_id")
    ]
    assert [f["kind"] for f in r["flags"]] == ["work_conflict"]
    assert [(e["kind"], e["line"]) for e in r["overrides"]] == [("merge", 11)]
    assert r["not_built"] == []
    text = explain.render_paper(r)
    assert "crossref          10.1145/1   doi    1      openalex:W1" in text
    assert "title  Alpha Serving Systems  openalex  W1         published version" in text
    assert "arxiv             2312.99999  title  0.97   openalex:W1" in text
    assert "line 11: [[merge]] arXiv:2312.99999" not in text  # shown as written
    assert "line 11: [[merge]] arxiv:2312.99999, doi:10.1145/1 — preprint and paper" in text
    json.loads(explain.to_json(r))


def test_missing_tables_degrade_to_not_built_yet(tmp_path: Path) -> None:
    wh = build(
        tmp_path / "old.duckdb",
        drop=("work_fields", "work_versions", "resolution_flags", "author_crosswalk"),
    )
    with warehouse.reader(wh) as con:
        paper = explain.explain_paper(con, "doi:10.1145/1")
        author = explain.explain_author(con, "danyang-zhuo")
    assert paper["fields"] is None and paper["versions"] is None and paper["flags"] is None
    assert paper["records"]  # work_xref is still there
    text = explain.render_paper(paper)
    assert text.count("not built yet") == 4  # 3 sections + the summary line
    assert "not built yet in this warehouse: resolution_flags, work_fields, work_versions" in text
    assert author["crosswalk"] is None and author["metrics"]["best"]["h_index"] == 4
    assert "author_crosswalk" in explain.render_author(author)


def test_author_resolution(wh: Path, ov_path: Path) -> None:
    wl = load_watchlist(ROOT / "watchlist.toml")
    ov = load_overrides(ov_path, wl, explicit=True)
    with warehouse.reader(wh) as con:
        for q in (
            "danyang-zhuo",
            "Danyang Zhuo",
            "ZHUO, Dányang",
            "openalex:A1",
            "dblp:z/DanyangZhuo",
        ):
            assert explain.resolve_author(con, q, wl, ov)[0] == "danyang-zhuo", q
        # alias from overrides.toml only
        assert explain.resolve_author(con, "Zhuo Danyang", wl, ov)[0] == "danyang-zhuo"
        # "D. Zhuo" is a watchlist alias and an unwatched author: the watched one, others listed
        author_id, others = explain.resolve_author(con, "D. Zhuo", wl, ov)
        assert author_id == "danyang-zhuo" and [o["author_id"] for o in others] == ["d-zhuo"]
        with pytest.raises(explain.Ambiguous) as info:
            explain.resolve_author(con, "li chen", wl, ov)
        assert [c["author_id"] for c in info.value.candidates] == ["li-chen", "li-chen-ucsd"]
        with pytest.raises(explain.NotFound):
            explain.resolve_author(con, "Nobody Atall", wl, ov)


def test_h_index_explanation_matches_hand_computation_and_view(wh: Path, ov_path: Path) -> None:
    wl = load_watchlist(ROOT / "watchlist.toml")
    ov = load_overrides(ov_path, wl, explicit=True)
    with warehouse.reader(wh) as con:
        r = explain.explain_author(con, "Danyang Zhuo", wl, ov)
    m = r["metrics"]
    # best = openalex's count, else semantic scholar's (the precedence rule): 10, 6, 5, 4, 3, 0
    # -> h 4 (4 >= 4, 3 < 5); cumulative 10, 16, 21, 25, 28, 28 vs rank^2 1, 4, 9, 16, 25, 36
    # -> g 5; i10 1. The retracted paper (openalex 40) is listed apart, not ranked.
    best = m["best"]
    assert [p["cited_by_count"] for p in best["papers"]] == [10, 6, 5, 4, 3, 0]
    assert [p["paper_id"] for p in m["retracted"]] == ["t:fff"]
    assert [p["in_h_core"] for p in best["papers"]] == [True] * 4 + [False] * 2
    assert (best["h_index"], best["g_index"], best["i10_index"]) == (4, 5, 1)
    # openalex 10, 6, 5, 3 -> h 3, g 4; semantic scholar 8, 7, 4 -> h 3, g 3, i10 0
    assert (m["openalex"]["h_index"], m["openalex"]["g_index"], m["openalex"]["i10_index"]) == (
        3,
        4,
        1,
    )
    assert (m["semantic_scholar"]["h_index"], m["semantic_scholar"]["g_index"]) == (3, 3)
    assert all(m[s]["agrees_with_view"] for s in explain.CITATION_SOURCES)
    assert m["openalex"]["source_reported_h_index"] == 12
    assert [c["rule"] for c in r["crosswalk"]] == ["watchlist", "watchlist", "coauthored_works"]
    assert {n["name"]: n["papers"] for n in r["names"]} == {"Danyang Zhuo": 6, "D. Zhuo": 1}
    assert [f["kind"] for f in r["flags"]] == ["initials_collision"]
    excluded = {x["ref"]: x["papers"] for x in r["excluded_by_overrides"]}
    assert excluded == {
        "openalex:W7": [
            {"paper_id": "t:eee", "title": "Namesake Biology Memory Two", "still_credited": False}
        ],
        "openalex:W404": [],
    }
    text = explain.render_author(r)
    assert (
        "best: h 4, g 5, i10 1 over 6 works, 28 citations  = metrics.citations_per_author" in text
    )
    assert "    4     4      yes     t:bbb" in text
    assert "    5     3      no      t:ccc" in text
    assert "line 6: openalex:W7 -> t:eee (Namesake Biology Memory Two): excluded" in text
    assert "line 6: openalex:W404: names no paper in this warehouse" in text


def run_cli(wh: Path, *args: str) -> int:
    return cli.main(
        ["explain", *args, "--warehouse", str(wh), "--watchlist", str(ROOT / "watchlist.toml")]
    )


def test_cli_text_json_and_exit_codes(
    wh: Path, ov_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(wh, "paper", "2312.99999", "--overrides", str(ov_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("paper doi:10.1145/1\n  Alpha Serving Systems\n")
    assert run_cli(wh, "author", "Danyang Zhuo", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["author_id"] == "danyang-zhuo" and data["metrics"]["best"]["h_index"] == 4
    assert run_cli(wh, "paper", "doi:10.9999/none") == 1
    assert "no paper matches 'doi:10.9999/none'" in capsys.readouterr().err
    assert run_cli(wh, "author", "li chen") == 1
    err = capsys.readouterr().err
    assert "'li chen' names 2 authors" in err and "  li-chen-ucsd  Li Chen" in err
    assert run_cli(wh, "paper", "memory", "--json") == 1
    assert len(json.loads(capsys.readouterr().out)["candidates"]) == 2
    assert run_cli(wh, "paper", "x", "--overrides", str(ov_path.with_name("no.toml"))) == 2
    assert "no such overrides file" in capsys.readouterr().err
    assert run_cli(wh.with_name("absent.duckdb"), "paper", "x") == 1
    assert "no warehouse at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli.main(["explain"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        cli.main(["explain", "venue", "x"])
    assert usage.value.code == 2


def test_explain_is_read_only(wh: Path) -> None:
    before = wh.read_bytes()
    assert run_cli(wh, "author", "danyang-zhuo") == 0
    assert wh.read_bytes() == before


def test_demo_warehouse_explains(demo_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(demo_warehouse, "paper", "2309.06180") == 0
    assert "Efficient Memory Management" in capsys.readouterr().out
    assert run_cli(demo_warehouse, "author", "Zhuo, Danyang", "--json") == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert all(metrics[s].get("agrees_with_view", True) for s in explain.CITATION_SOURCES)


def test_unwatched_author_gets_no_index_only_a_partial_note(wh: Path, ov_path: Path) -> None:
    wl = load_watchlist(ROOT / "watchlist.toml")
    ov = load_overrides(ov_path, wl, explicit=True)
    with warehouse.reader(wh) as con:
        r = explain.explain_author(con, "d-zhuo", wl, ov)
    assert r["metrics"]["partial"] is True
    text = explain.render_author(r)
    assert "partial: not on the watchlist" in text
    assert "best: h " not in text and "openalex: h " not in text

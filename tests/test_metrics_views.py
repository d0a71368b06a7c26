"""The metrics-over-time views on tiny hand-made tables, checked against numbers worked out by
hand (the comments show the arithmetic)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from flows import views, warehouse
from flows.settings import SQL_DIR

NOW = datetime.now(UTC).replace(microsecond=0)
THIS_YEAR = NOW.year
DAY = timedelta(days=1)

DDL = """
create table papers (paper_id varchar, title varchar, year integer, publication_date date,
    venue varchar, is_preprint_only boolean, doi varchar, arxiv_id varchar, openalex_id varchar,
    s2_paper_id varchar, sources varchar[], n_source_records integer, first_run_id varchar,
    is_retracted boolean, fwci double, citation_percentile double);
create table authors (author_id varchar, display_name varchar, is_watched boolean,
    orcid varchar, n_papers integer, openalex_author_ids varchar[], s2_author_ids varchar[]);
create table authorships (paper_id varchar, author_id varchar, position integer,
    author_name varchar, is_watched boolean, source varchar, source_author_id varchar,
    match_rule varchar, match_confidence double);
create table paper_citations (paper_id varchar, source varchar, cited_by_count bigint,
    source_work_id varchar, observed_at timestamptz);
create table paper_citations_by_year (paper_id varchar, source varchar, year integer,
    cited_by_count bigint);
create table author_profiles (author_id varchar, source varchar, source_author_id varchar,
    source_name varchar, works_count bigint, cited_by_count bigint, h_index bigint,
    i10_index bigint, observed_at timestamptz);
create table work_xref (paper_id varchar, source varchar, source_work_id varchar, rule varchar,
    score double, author_overlap double, matched_source varchar, matched_source_work_id varchar,
    doi varchar, arxiv_id varchar, title varchar, year integer, venue varchar,
    is_preprint boolean, cited_by_count bigint, _run_id varchar, _fetched_at timestamptz);
create table paper_topics (paper_id varchar, topic_id varchar, topic_name varchar,
    topic_kind varchar, score double, matched_by varchar);
create table research_groups (group_id varchar, group_name varchar, author_id varchar);
"""

# paper: year, openalex count, s2 count, retracted
PAPERS = {
    "p1": (THIS_YEAR - 6, 30, 40, False),
    "p2": (THIS_YEAR - 2, 12, None, False),
    "p3": (THIS_YEAR - 1, None, 5, False),
    "p4": (THIS_YEAR, 0, None, False),
    "p5": (THIS_YEAR - 3, 100, 90, True),  # retracted: listed, never counted
}
# OpenAlex FWCI and citation percentile (p3, p4 unrated)
IMPACT = {"p1": (2.0, 0.95), "p2": (1.0, 0.5), "p5": (9.0, 0.999)}
# who wrote what: ada (watched) p1-p5, bob (watched) p2 p3, cy (not watched) p1 p2
WROTE = {"ada": ["p1", "p2", "p3", "p4", "p5"], "bob": ["p2", "p3"], "cy": ["p1", "p2"]}
# runs r1 (90 days ago), r2 (40 days ago), r3 (now); first loaded: p1-p3 in r1, p4 in r2, p5 r1
RUNS = {"r1": NOW - 90 * DAY, "r2": NOW - 40 * DAY, "r3": NOW}
FIRST = {"p1": "r1", "p2": "r1", "p3": "r1", "p4": "r2", "p5": "r1"}
# openalex snapshots of p1: 20 (r1), 26 (r2), 30 (r3); p2: 15 (r1), 10 (r2: a drop), 12 (r3)
SNAPS = [
    ("r1", "openalex", "W1", 20),
    ("r2", "openalex", "W1", 26),
    ("r3", "openalex", "W1", 30),
    ("r1", "openalex", "W2", 15),
    ("r2", "openalex", "W2", 10),
    ("r3", "openalex", "W2", 12),
    ("r3", "semantic_scholar", "S1", 40),
    ("r3", "semantic_scholar", "S3", 5),
    ("r3", "openalex", "W4", 0),
    ("r1", "openalex", "W5", 100),
    ("r3", "openalex", "W5", 100),
    ("r3", "semantic_scholar", "S5", 90),
]
XREF = {"W1": "p1", "W2": "p2", "S1": "p1", "S3": "p3", "W4": "p4", "W5": "p5", "S5": "p5"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("tiny") / "w.duckdb"
    c = duckdb.connect(str(path))
    c.execute("set TimeZone = 'UTC'")
    c.execute(warehouse.CORE_DDL)
    c.execute(DDL)
    for pid, (year, oa, s2, retracted) in PAPERS.items():
        c.execute(
            "insert into papers values (?, ?, ?, null, null, false, null, null, null, null, "
            "[], 1, ?, ?, ?, ?)",
            [pid, f"Paper {pid}", year, FIRST[pid], retracted, *IMPACT.get(pid, (None, None))],
        )
        for source, count in (("openalex", oa), ("semantic_scholar", s2)):
            if count is not None:
                c.execute(
                    "insert into paper_citations values (?, ?, ?, ?, ?)",
                    [pid, source, count, pid, NOW],
                )
    c.executemany(
        "insert into authors values (?, ?, ?, null, 0, [], [])",
        [("ada", "Ada", True), ("bob", "Bob", True), ("cy", "Cy", False)],
    )
    for author, papers in WROTE.items():
        for pid in papers:
            c.execute(
                "insert into authorships values (?, ?, 1, ?, ?, 'openalex', null, null, null)",
                [pid, author, author.title(), author != "cy"],
            )
    for run_id, at in RUNS.items():
        c.execute(
            "insert into runs (run_id, command, mode, started_at, finished_at, status, sources, "
            "scholarflow_version) values (?, 'run', 'live', ?, ?, 'succeeded', [], '0')",
            [run_id, at - DAY / 24, at],
        )
    c.executemany(
        "insert into citation_snapshots values (?, ?, ?, ?, ?, ?)",
        [(r, RUNS[r] - DAY / 48, XREF[w], s, w, n) for r, s, w, n in SNAPS],
    )
    c.executemany(
        "insert into work_xref (paper_id, source, source_work_id) values (?, ?, ?)",
        [(p, "openalex" if w.startswith("W") else "semantic_scholar", w) for w, p in XREF.items()],
    )
    # p1 received 4 citations this year and 6 last year (OpenAlex counts_by_year)
    c.executemany(
        "insert into paper_citations_by_year values ('p1', 'openalex', ?, ?)",
        [(THIS_YEAR, 4), (THIS_YEAR - 1, 6)],
    )
    c.execute(
        "insert into author_profiles values ('ada', 'semantic_scholar', '9', 'Ada', 9, 99, 7, 3, ?)",
        [NOW],
    )
    c.executemany(
        "insert into paper_topics values (?, 'llm', 'LLM', 'watchlist', 1, 'keyword')",
        [("p2",), ("p3",), ("p4",)],
    )
    c.executemany("insert into research_groups values ('lab', 'Lab', ?)", [("ada",), ("bob",)])
    views.create_views(c, SQL_DIR)
    yield c
    c.close()


def test_best_is_the_first_source_of_the_precedence(con: duckdb.DuckDBPyConnection) -> None:
    best = {r["paper_id"]: r for r in _rows(con, "select * from metrics.paper_best_citations")}
    # p1: openalex 30 wins over s2 40; p3: only s2 (5); p5 retracted
    assert {p: (r["best_citations"], r["best_source"]) for p, r in best.items()} == {
        "p1": (30, "openalex"),
        "p2": (12, "openalex"),
        "p3": (5, "semantic_scholar"),
        "p4": (0, "openalex"),
        "p5": (100, "openalex"),
    }
    assert [p for p, r in best.items() if not r["counts_in_indices"]] == ["p5"]


def test_citations_per_author_indices(con: duckdb.DuckDBPyConnection) -> None:
    ada = {
        r["source"]: r
        for r in _rows(con, "select * from metrics.citations_per_author where author_id = 'ada'")
    }
    best = ada["best"]
    # counted works p1..p4 (p5 retracted): 30, 12, 5, 0 -> h 3 (5 >= 3), g: 30, 42, 47, 47
    # vs 1, 4, 9, 16 -> g 4; i10 2; citations 47
    assert (best["works"], best["citations"], best["h_index"], best["g_index"]) == (4, 47, 3, 4)
    assert best["i10_index"] == 2 and best["retracted_works"] == 1
    # last 5 years: p2 12, p3 5, p4 0 -> h5 2, i10 over 5 years 1
    assert (best["h5_index"], best["i10_index_5y"]) == (2, 1)
    # first work 6 years ago: career 7 years (first year counts) -> m = 3 / 7, 47 / 7 a year
    assert best["first_year"] == THIS_YEAR - 6
    assert best["m_quotient"] == pytest.approx(round(3 / 7, 3))
    assert best["citations_per_year"] == pytest.approx(round(47 / 7, 2))
    # semantic scholar counts p1 40 and p3 5 -> h 2
    assert (ada["semantic_scholar"]["works"], ada["semantic_scholar"]["h_index"]) == (2, 2)
    assert ada["semantic_scholar"]["source_reported_h_index"] == 7


def test_h_index_by_year_backcasts_from_best(con: duckdb.DuckDBPyConnection) -> None:
    ada = {
        r["year"]: r
        for r in _rows(con, "select * from metrics.h_index_by_year where author_id = 'ada'")
    }
    # this year = today's best: 47 over 4 works, h 3
    assert (ada[THIS_YEAR]["citations_to_date"], ada[THIS_YEAR]["h_index"]) == (47, 3)
    # last year: p1 had 30 - 4 = 26, p2 12, p3 5 (p4 not yet published) -> 43
    assert (ada[THIS_YEAR - 1]["works_to_date"], ada[THIS_YEAR - 1]["citations_to_date"]) == (3, 43)
    # two years ago: p1 30 - 4 - 6 = 20, p2 12 -> 32, h 2
    assert (ada[THIS_YEAR - 2]["citations_to_date"], ada[THIS_YEAR - 2]["h_index"]) == (32, 2)
    assert min(ada) == THIS_YEAR - 6


def test_velocity_flags_a_drop_and_never_goes_negative(con: duckdb.DuckDBPyConnection) -> None:
    v = {
        (r["level"], r["entity_id"], r["source"], r["window_days"]): r
        for r in _rows(con, "select * from metrics.citation_velocity")
    }
    # p1 openalex: 30 now; 30 days back -> r2 (40 days ago, 26): +4; 90 -> r1 (20): +10
    w30 = v[("work", "p1", "openalex", 30)]
    assert (w30["citations_base"], w30["citations_gained"], w30["window_complete"]) == (26, 4, True)
    assert v[("work", "p1", "openalex", 90)]["citations_gained"] == 10
    # 365 days: no snapshot that old: from the oldest (20), window not complete
    w365 = v[("work", "p1", "openalex", 365)]
    assert (w365["citations_base"], w365["window_complete"]) == (20, False)
    # p2 went 15 -> 10 -> 12: a drop inside the 90-day window counts 0 and is flagged
    p2 = v[("work", "p2", "openalex", 90)]
    assert (p2["citations_gained"], p2["works_with_drop"]) == (0, 1)
    # within 30 days (from r2's 10 to 12): +2, no drop after the base
    assert v[("work", "p2", "openalex", 30)]["citations_gained"] == 2
    # ada over 90 days, openalex: p1 +10, p2 0 (drop), p4 0; p5 retracted is left out
    ada = v[("researcher", "ada", "openalex", 90)]
    assert (ada["works"], ada["citations_gained"], ada["works_with_drop"]) == (3, 10, 1)
    # the watched topic (p2, p3, p4) over 30 days, best: p2 +2 (openalex), p3 0, p4 0
    assert v[("topic", "llm", "best", 30)]["citations_gained"] == 2


def test_as_of_each_run(con: duckdb.DuckDBPyConnection) -> None:
    rows = {
        (r["as_of_run_id"], r["source"]): r
        for r in _rows(
            con, "select * from metrics.citations_per_author_as_of where author_id = 'ada'"
        )
    }
    # end of r1: p1 20, p2 15, p3 known but uncounted (0); p4 not loaded yet -> 35 over 3
    r1 = rows[("r1", "best")]
    assert (r1["works"], r1["citations"], r1["h_index"]) == (3, 35, 2)
    # end of r2: p1 26, p2 10, p3 0, p4 (loaded in r2, not counted yet) 0 -> 36 over 4
    assert (rows[("r2", "best")]["works"], rows[("r2", "best")]["citations"]) == (4, 36)
    # end of r3: the same as citations_per_author now
    assert rows[("r3", "best")]["citations"] == 47


def test_discrepancies_show_both_numbers(con: duckdb.DuckDBPyConnection) -> None:
    rows = _rows(con, "select * from metrics.source_discrepancies")
    got = {(r["level"], r["entity_id"], r["source_b"]): (r["value_a"], r["value_b"]) for r in rows}
    # p1: best (openalex) 30 vs s2 40: differ by 10 and 25 % -> listed; p5 100 vs 90: 10 %
    assert got[("work", "p1", "semantic_scholar")] == (30, 40)
    assert ("work", "p5", "semantic_scholar") not in got
    # ada: best h 3 vs the 7 Semantic Scholar reports for its profile
    assert got[("researcher", "ada", "semantic_scholar_reported")] == (3, 7)


def test_group_counts_each_work_once(con: duckdb.DuckDBPyConnection) -> None:
    (best,) = _rows(con, "select * from metrics.group_indices where source = 'best'")
    # ada and bob share p2, p3: works p1..p4 once each -> as ada's best figures
    assert (best["members"], best["works"], best["citations"], best["h_index"]) == (2, 4, 47, 3)


def test_coauthorships_and_new_collaborators(con: duckdb.DuckDBPyConnection) -> None:
    pairs = {
        (r["year"], r["author_id_a"], r["author_id_b"]): r
        for r in _rows(con, "select * from metrics.coauthorships")
    }
    # ada-bob on p2 and p3; ada-cy on p1 and p2; bob-cy on p2 (bob is watched)
    assert pairs[(THIS_YEAR - 2, "ada", "bob")]["works"] == 1
    assert pairs[(THIS_YEAR - 6, "ada", "cy")]["paper_ids"] == "p1"
    assert (THIS_YEAR - 2, "bob", "cy") in pairs
    assert all(r["first_run_id"] == "r1" for r in pairs.values())
    # nothing shared arrived in the latest run
    assert _rows(con, "select * from metrics.new_collaborators") == []


def test_topics_emerging_and_activity(con: duckdb.DuckDBPyConnection) -> None:
    (llm,) = _rows(con, "select * from metrics.emerging_topics where topic_id = 'llm'")
    # years: this-2, this-1, this -> quartiles this-2 / this-1 / this; last 2 years 2, before 1
    assert (llm["works"], llm["q1_year"], llm["median_year"], llm["q3_year"]) == (
        3,
        THIS_YEAR - 2,
        THIS_YEAR - 1,
        THIS_YEAR,
    )
    assert (llm["works_last_2y"], llm["works_prev_2y"], llm["growth"], llm["is_emerging"]) == (
        2,
        1,
        1.0,
        True,
    )
    years = {
        r["period_start"].year: r
        for r in _rows(
            con,
            "select * from metrics.watched_topic_activity where period_kind = 'year' "
            "order by period_start",
        )
    }
    assert [years[y]["works"] for y in sorted(years)] == [1, 1, 1]
    assert years[THIS_YEAR]["works_growth"] == 0.0


def test_field_impact_over_rated_works(con: duckdb.DuckDBPyConnection) -> None:
    ada = _rows(con, "select * from metrics.field_impact where author_id = 'ada'")[0]
    # rated and counted: p1 (2.0, 0.95), p2 (1.0, 0.5); p5 is retracted -> mean 1.5
    assert (ada["works"], ada["works_rated"], ada["mean_fwci"]) == (4, 2, 1.5)
    assert (ada["median_citation_percentile"], ada["works_top_10_percent"]) == (0.725, 1)
    assert ada["works_top_1_percent"] == 0

"""SQL views checked against independent Python computations on the demo warehouse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pytest


@pytest.fixture(scope="module")
def con(demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(demo_warehouse), read_only=True)
    yield c
    c.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


# the documented rule (metrics.citation_source_precedence), written out independently here
PRECEDENCE = ("openalex", "semantic_scholar", "crossref", "scholar_feed", "profiles")


def h_index(counts: list[int]) -> int:
    ranked = sorted(counts, reverse=True)
    return max([i for i, c in enumerate(ranked, 1) if c >= i], default=0)


def g_index(counts: list[int]) -> int:
    ranked, total, g = sorted(counts, reverse=True), 0, 0
    for i, c in enumerate(ranked, 1):
        total += c
        if total >= i * i:
            g = i
    return g


def test_every_view_has_meaningful_rows(con: duckdb.DuckDBPyConnection) -> None:
    views = [
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where schema_name = 'metrics'"
        ).fetchall()
    ]
    assert set(views) >= {
        "papers",
        "citations_per_author",
        "topic_trends",
        "h_index_by_year",
        "author_citations_by_year",
        "source_coverage",
    }
    for view in views:
        n = con.execute(f"select count(*) from metrics.{view}").fetchone()[0]  # type: ignore[index]
        assert n >= 3, view
    assert con.execute("select count(*) from metrics.papers").fetchone()[0] >= 60  # type: ignore[index]
    assert con.execute("select sum(citations) from metrics.citations_per_author").fetchone()[0] > 0  # type: ignore[index]


def test_citations_per_author_matches_python(con: duckdb.DuckDBPyConnection) -> None:
    papers_of = defaultdict(set)
    for r in rows(con, "select author_id, paper_id from authorships where is_watched"):
        papers_of[r["author_id"]].add(r["paper_id"])
    counts: dict[tuple[str, str], int] = {}
    for r in rows(con, "select paper_id, source, cited_by_count from paper_citations"):
        counts[(r["paper_id"], r["source"])] = r["cited_by_count"]
    view = {
        (r["author_id"], r["source"]): r
        for r in rows(con, "select * from metrics.citations_per_author")
    }
    assert len(view) == 3 * len(papers_of)
    for author, papers in papers_of.items():
        for source in ("openalex", "semantic_scholar", "best"):
            if source == "best":
                # the documented precedence: the first source in this order that counts it
                values = [
                    next((counts[(p, s)] for s in PRECEDENCE if (p, s) in counts), 0)
                    for p in papers
                ]
            else:
                values = [counts[(p, source)] for p in papers if (p, source) in counts]
            got = view[(author, source)]
            assert got["works"] == len(values), (author, source)
            assert got["citations"] == sum(values)
            assert got["h_index"] == h_index(values)
            assert got["g_index"] == g_index(values)
            assert got["i10_index"] == sum(1 for v in values if v >= 10)
            if values:
                assert got["citations_per_work"] == pytest.approx(
                    round(sum(values) / len(values), 2)
                )


def test_h_index_by_year_matches_python(con: duckdb.DuckDBPyConnection) -> None:
    years = {r["paper_id"]: r["year"] for r in rows(con, "select paper_id, year from papers")}
    by_year = defaultdict(list)
    for r in rows(con, "select paper_id, year, cited_by_count from paper_citations_by_year"):
        by_year[r["paper_id"]].append((r["year"], r["cited_by_count"]))
    counts: dict[tuple[str, str], int] = {}
    for r in rows(con, "select paper_id, source, cited_by_count from paper_citations"):
        counts[(r["paper_id"], r["source"])] = r["cited_by_count"]
    papers_of = defaultdict(set)
    for r in rows(con, "select author_id, paper_id from authorships where is_watched"):
        papers_of[r["author_id"]].add(r["paper_id"])
    view = rows(con, "select * from metrics.h_index_by_year")
    assert view
    for r in view:
        mine = [
            p for p in papers_of[r["author_id"]] if years[p] is not None and years[p] <= r["year"]
        ]
        # today's best count minus what OpenAlex says came after that year
        best = {p: next((counts[(p, s)] for s in PRECEDENCE if (p, s) in counts), 0) for p in mine}
        to_date = [max(best[p] - sum(c for y, c in by_year[p] if y > r["year"]), 0) for p in mine]
        assert r["works_to_date"] == len(mine)
        assert r["citations_to_date"] == sum(to_date)
        assert r["h_index"] == h_index(to_date), r
        assert r["g_index"] == g_index(to_date), r
    # never decreasing over time for one author
    for author in papers_of:
        hs = [
            r["h_index"] for r in sorted(view, key=lambda r: r["year"]) if r["author_id"] == author
        ]
        assert hs == sorted(hs)


def test_last_year_of_h_index_by_year_is_citations_per_author(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The two views rest on one definition: the current year's row is today's best figures."""
    last = {
        r["author_id"]: r
        for r in rows(
            con,
            "select * from metrics.h_index_by_year where year = extract(year from current_date)",
        )
    }
    best = rows(con, "select * from metrics.citations_per_author where source = 'best'")
    assert best and {r["author_id"] for r in best} == set(last)
    for r in best:
        mine = last[r["author_id"]]
        assert (mine["works_to_date"], mine["citations_to_date"]) == (r["works"], r["citations"])
        assert (mine["h_index"], mine["g_index"], mine["i10_index"]) == (
            r["h_index"],
            r["g_index"],
            r["i10_index"],
        )


def test_as_of_the_latest_run_is_citations_per_author(con: duckdb.DuckDBPyConnection) -> None:
    latest = con.execute("select run_id from runs order by finished_at desc limit 1").fetchone()[0]  # type: ignore[index]
    as_of = {
        (r["author_id"], r["source"]): r
        for r in rows(
            con, f"select * from metrics.citations_per_author_as_of where as_of_run_id = '{latest}'"
        )
    }
    now = rows(con, "select * from metrics.citations_per_author where works > 0")
    assert now
    for r in now:
        then = as_of[(r["author_id"], r["source"])]
        for col in ("works", "citations", "h_index", "g_index", "i10_index"):
            assert then[col] == r[col], (r["author_id"], r["source"], col)


def test_topic_trends_zero_filled_and_consistent(con: duckdb.DuckDBPyConnection) -> None:
    view = rows(
        con, "select * from metrics.topic_trends where topic_kind = 'watchlist' order by month"
    )
    assert view and {r["topic_id"] for r in view} == {"llm-serving"}
    months = [r["month"] for r in view]
    for a, b in pairwise(months):
        assert (b.year * 12 + b.month) - (a.year * 12 + a.month) == 1, "months must be contiguous"
    assert any(r["papers"] == 0 for r in view), "empty months appear as zero rows"
    linked = con.execute("""select count(distinct pt.paper_id) from paper_topics pt join papers p using (paper_id)
                            where pt.topic_kind = 'watchlist' and p.year is not null""").fetchone()[
        0
    ]  # type: ignore[index]
    assert sum(r["papers"] for r in view) == linked
    for prev, cur in pairwise(view):
        assert cur["papers_change"] == cur["papers"] - prev["papers"]
        assert cur["papers_to_date"] == prev["papers_to_date"] + cur["papers"]
    assert isinstance(view[0]["month"], date)


def test_topic_totals_add_up_the_trends(con: duckdb.DuckDBPyConnection) -> None:
    """One row per topic of topic_trends, its papers and citations summed, ranked in its kind."""
    totals = rows(con, "select * from metrics.topic_totals")
    trends = rows(con, "select * from metrics.topic_trends")
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in trends:
        expected[(r["topic_kind"], r["topic_id"])][0] += r["papers"]
        expected[(r["topic_kind"], r["topic_id"])][1] += r["citations"]
    assert {(r["topic_kind"], r["topic_id"]): [r["papers"], r["citations"]] for r in totals} == (
        expected
    )
    for kind in {r["topic_kind"] for r in totals}:
        ranked = sorted(
            (r for r in totals if r["topic_kind"] == kind), key=lambda r: r["rank_in_kind"]
        )
        assert [r["rank_in_kind"] for r in ranked] == list(range(1, len(ranked) + 1))
        assert [r["papers"] for r in ranked] == sorted((r["papers"] for r in ranked), reverse=True)


def test_papers_view_one_row_per_paper_with_best_citations(con: duckdb.DuckDBPyConnection) -> None:
    view = rows(con, "select * from metrics.papers")
    assert len(view) == len({r["paper_id"] for r in view})
    assert len(view) == con.execute("select count(*) from papers").fetchone()[0]  # type: ignore[index]
    counts: dict[tuple[str, str], int] = {}
    for c in rows(con, "select paper_id, source, cited_by_count from paper_citations"):
        counts[(c["paper_id"], c["source"])] = c["cited_by_count"]
    for r in view:
        first = next(
            ((s, counts[(r["paper_id"], s)]) for s in PRECEDENCE if (r["paper_id"], s) in counts),
            None,
        )
        assert r["citations_best"] == (first[1] if first else 0)
        assert r["citations_best_source"] == (first[0] if first else None)
        assert r["authors"] or r["n_authors"] == 0
    core = {"arxiv", "openalex", "semantic_scholar"}
    merged = [r for r in view if core <= set(r["sources"].split("; "))]
    assert len(merged) >= 10, "demo works overlap between all three sources"


def test_source_coverage_adds_up(con: duckdb.DuckDBPyConnection) -> None:
    view = rows(con, "select * from metrics.source_coverage")
    total = con.execute("select count(*) from work_xref").fetchone()[0]  # type: ignore[index]
    assert sum(r["records"] for r in view) == total
    from flows.watchlist import load_watchlist
    from transforms.sources import STAGING

    enabled = load_watchlist(Path(__file__).parents[1] / "watchlist.toml").sources.enabled
    # every enabled source whose records are works shows up
    assert {r["source"] for r in view} == {s for s in enabled if STAGING[s].works is not None}


# The report contract: CSV consumers (spreadsheets, scripts) rely on these headers and types.
# Changing one is a breaking change: update this list, the README's report table, and say so.
REPORT_COLUMNS = {
    "author_citations_by_year": "author_id display_name year works_published citations citations_to_date",
    "citations_per_author": "author_id display_name source works citations citations_per_work h_index g_index "
    "i10_index h5_index i10_index_5y first_year m_quotient citations_per_year retracted_works "
    "source_reported_h_index",
    "h_index_by_year": "author_id display_name year works_to_date citations_to_date h_index g_index i10_index",
    "papers": "paper_id title year publication_date venue doi arxiv_id openalex_id s2_paper_id authors "
    "watched_authors n_authors citations_openalex citations_semantic_scholar citations_best "
    "citations_best_source is_retracted sources",
    "source_coverage": "source records papers papers_only_in_source pct_of_all_papers records_with_doi "
    "records_with_arxiv_id citations_sum last_changed_at",
    "researcher_profiles": "author_id display_name source source_author_id source_name works_count "
    "cited_by_count h_index i10_index observed_at",
    "source_signals": "source entity record_id paper_id metric value previous_value change observed_at "
    "previous_observed_at runs_seen",
    "source_usage": "source usage_date mode runs requests cost_units daily_budget pct_of_budget "
    "stopped_runs last_stop_reason",
    "topic_trends": "topic_kind topic_id topic_name month papers citations papers_prev_month papers_change "
    "papers_change_pct citations_change papers_3m papers_to_date",
    "citation_source_precedence": "source precedence counted_as",
    "paper_best_citations": "paper_id best_citations best_source n_counting_sources is_retracted "
    "counts_in_indices",
    "citation_velocity": "level entity_id entity_name source window_days works citations_base citations_now "
    "citations_gained base_at now_at window_complete works_with_drop works_silent",
    "citations_per_author_as_of": "as_of_run_id as_of_at author_id display_name source works citations "
    "h_index g_index i10_index",
    "source_discrepancies": "level entity_id entity_name metric source_a value_a source_b value_b "
    "difference relative_difference",
    "emerging_topics": "topic_kind topic_id topic_name works first_year q1_year median_year q3_year "
    "works_last_2y works_prev_2y growth citations hf_upvotes works_on_hf is_emerging",
    "coauthorships": "year author_id_a display_name_a is_watched_a author_id_b display_name_b is_watched_b "
    "works paper_ids first_year_together first_run_id",
    "new_collaborators": "author_id_a display_name_a is_watched_a author_id_b display_name_b is_watched_b "
    "works first_year_together first_run_id paper_ids",
    "watched_topic_activity": "topic_id topic_name period_kind period_start works citations works_previous "
    "works_change works_growth",
    "group_indices": "group_id group_name members member_ids source works citations h_index g_index "
    "i10_index h5_index",
    "field_impact": "author_id display_name works works_rated mean_fwci median_fwci "
    "median_citation_percentile works_top_10_percent works_top_1_percent",
    "topic_totals": "topic_kind topic_id topic_name papers citations first_month last_month "
    "rank_in_kind",
}


def test_report_headers_are_stable(con: duckdb.DuckDBPyConnection) -> None:
    views = {
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where schema_name = 'metrics'"
        ).fetchall()
    }
    assert views == set(REPORT_COLUMNS)
    for view, expected in REPORT_COLUMNS.items():
        described = con.execute(f"describe metrics.{view}").fetchall()
        assert [c[0] for c in described] == expected.split(), view
        # counts are plain 64-bit integers, not DuckDB's 128-bit sums
        assert all(c[1] != "HUGEINT" for c in described), view


def test_source_usage_adds_up_the_ledger(con: duckdb.DuckDBPyConnection) -> None:
    view = rows(con, "select * from metrics.source_usage")
    ledger = rows(con, "select source, mode, requests, cost_units from main.usage_ledger")
    assert {(r["source"], r["mode"]) for r in view} == {(r["source"], r["mode"]) for r in ledger}
    for r in view:
        mine = [x for x in ledger if (x["source"], x["mode"]) == (r["source"], r["mode"])]
        assert r["requests"] == sum(x["requests"] for x in mine) > 0
        assert r["cost_units"] == pytest.approx(sum(x["cost_units"] for x in mine))
        assert r["pct_of_budget"] is None  # replayed runs spend no budget


def test_researcher_profiles_show_what_each_source_reports(con: duckdb.DuckDBPyConnection) -> None:
    view = rows(con, "select * from metrics.researcher_profiles")
    by = {(r["author_id"], r["source"]) for r in view}
    for author in ("danyang-zhuo", "zhaoyuan-su", "pengfei-zuo"):
        # OpenAlex, S2 and Scholar Feed profiles, and a DBLP or Scholar page read by a recipe
        assert {(author, s) for s in ("openalex", "semantic_scholar", "scholar_feed")} <= by
        assert (author, "profiles") in by
    assert {r["author_id"] for r in view} <= {
        r[0] for r in con.execute("select author_id from authors where is_watched").fetchall()
    }


def test_source_signals_latest_and_change(tmp_path: Path) -> None:
    from flows import warehouse
    from tests.conftest import run_demo

    path = tmp_path / "w.duckdb"
    run_demo(path)
    run_demo(path)
    with warehouse.writer(path) as c:
        # a later run saw 10 more upvotes on one paper
        c.execute(
            """insert into metric_snapshots
               select 'later', observed_at + interval 1 day, source, entity, record_id, metric,
                      value + 10
               from metric_snapshots
               where source = 'hf_papers' and metric = 'upvotes' and record_id = '2309.06180'
               order by observed_at desc limit 1"""
        )
        view = rows(c, "select * from metrics.source_signals")
    hit = [r for r in view if r["record_id"] == "2309.06180" and r["metric"] == "upvotes"]
    assert len(hit) == 1
    (r,) = hit
    assert r["change"] == 10 and r["value"] == r["previous_value"] + 10
    assert r["runs_seen"] == 3 and r["paper_id"] == "arxiv:2309.06180"
    stable = [x for x in view if x["metric"] == "upvotes" and x["record_id"] != "2309.06180"]
    assert stable and all(x["change"] == 0 and x["runs_seen"] == 2 for x in stable)

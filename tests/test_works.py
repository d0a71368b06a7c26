"""Works resolution (transforms/works.py): cascade, title guard rails, stable ids, provenance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from transforms import works as resolution
from transforms.overrides import overrides_frame
from transforms.staging import AUTHORSHIP_COLUMNS, WORK_COLUMNS, finish_works

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def rec(
    source: str,
    sid: str,
    title: str,
    year: int | None,
    authors: list[str] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    return {
        "source": source,
        "source_work_id": sid,
        "title": title,
        "year": year,
        "authors": authors or [],
        "_run_id": kw.pop("run", "r1"),
        "_fetched_at": NOW,
        **kw,
    }


def frames(records: list[dict[str, Any]]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    cols = [c for c in WORK_COLUMNS if c != "title_key"]
    works = pl.LazyFrame(
        [{c: r.get(c) for c in cols} for r in records],
        schema={c: WORK_COLUMNS[c] for c in cols},
    ).with_columns(ext_ids=pl.col("ext_ids").fill_null(pl.lit([], pl.List(pl.String))))
    ships = pl.LazyFrame(
        [
            {
                "source": r["source"],
                "source_work_id": r["source_work_id"],
                "position": i,
                "source_author_id": None,
                "raw_name": name,
                "orcid": None,
            }
            for r in records
            for i, name in enumerate(r["authors"])
        ],
        schema=AUTHORSHIP_COLUMNS,
    )
    return finish_works(works), ships


def resolve(records: list[dict[str, Any]], **kw: Any) -> dict[str, pl.DataFrame]:
    works, ships = frames(records)
    return {k: v.collect() for k, v in resolution.resolve_works(works, ships, **kw).items()}


def paper_of(xref: pl.DataFrame) -> dict[str, str]:
    return {
        f"{r['source']}:{r['source_work_id']}": r["paper_id"] for r in xref.iter_rows(named=True)
    }


KWON = ["Woosuk Kwon", "Zhuohan Li", "Siyuan Zhuang", "Ying Sheng"]


def test_identifier_cascade_and_rules() -> None:
    out = resolve(
        [
            rec(
                "arxiv",
                "2309.06180",
                "Efficient Memory Management for LLM Serving",
                2023,
                KWON,
                arxiv_id="2309.06180",
            ),
            # DataCite DOI normalised to the arXiv id by staging; here: the arXiv id itself
            rec(
                "openalex",
                "W2",
                "Efficient memory management for LLM serving",
                2023,
                KWON,
                arxiv_id="2309.06180",
                ext_ids=["openalex:W2"],
            ),
            rec(
                "crossref",
                "10.1145/3600006.3613165",
                "Efficient Memory Management for Large Language Model Serving with PagedAttention",
                2023,
                KWON,
                doi="10.1145/3600006.3613165",
                venue="SOSP '23",
            ),
            # S2 bridges the DOI and the DBLP key
            rec(
                "semantic_scholar",
                "S1",
                "Efficient Memory Management for LLM Serving",
                2023,
                ["W. Kwon"],
                doi="10.1145/3600006.3613165",
                ext_ids=["s2:S1", "corpus:261697361", "dblp:conf/sosp/KwonLZ0ZY0ZS23"],
            ),
            # DBLP has no DOI here: joined by its key through S2's externalIds
            rec(
                "dblp",
                "conf/sosp/KwonLZ0ZY0ZS23",
                "Totally Retitled In The Proceedings",
                2023,
                KWON,
                ext_ids=["dblp:conf/sosp/KwonLZ0ZY0ZS23"],
                venue="SOSP",
            ),
        ]
    )
    xref = out["work_xref"]
    assert xref["paper_id"].unique().to_list() == ["arxiv:2309.06180"]
    rules = {f"{r['source']}": r["rule"] for r in xref.iter_rows(named=True)}
    assert rules == {
        "arxiv": "arxiv",
        "openalex": "arxiv",
        "crossref": "doi",
        "semantic_scholar": "doi",
        "dblp": "dblp",
    }
    dblp = xref.filter(pl.col("source") == "dblp").row(0, named=True)
    assert (dblp["matched_source"], dblp["matched_source_work_id"]) == ("semantic_scholar", "S1")


def test_same_title_different_authors_or_years_stay_apart() -> None:
    title = "Efficient Memory Management"
    out = resolve(
        [
            rec("openalex", "W1", title, 2019, ["Ann Lee", "Bo Chen"]),
            rec("dblp", "k1", title, 2019, ["A. Lee", "B. Chen"]),  # same paper, initials
            rec("openalex", "W2", title, 2019, ["Carla Diaz", "Eve Fox"]),  # namesake title
            rec("openalex", "W3", title, 2012, ["Ann Lee", "Bo Chen"]),  # same team, years off
            rec("crossref", "d1", title + ".", 2020, ["Carla Diaz", "Eve Fox"], doi="10.1/a"),
        ]
    )
    p = paper_of(out["work_xref"])
    assert p["openalex:W1"] == p["dblp:k1"]
    assert len({p["openalex:W1"], p["openalex:W2"], p["openalex:W3"]}) == 3
    assert p["crossref:d1"] == p["openalex:W2"]  # one year later, same authors: published version


def test_preprint_and_published_versions_are_one_work() -> None:
    out = resolve(
        [
            rec(
                "arxiv",
                "2312.00001",
                "S$^3$: Scaling Serving with Speculative Scheduling",
                2023,
                ["Ann Lee", "Bo Chen", "Carla Diaz"],
                arxiv_id="2312.00001",
            ),
            rec(
                "crossref",
                "10.5555/s3",
                "S3: Scaling Serving With Speculative Scheduling",
                2024,
                ["Ann Lee", "Bo Chen", "Carla Diaz"],
                doi="10.5555/s3",
                venue="EuroSys '24",
                work_type="proceedings-article",
            ),
        ]
    )
    xref = out["work_xref"]
    assert xref["paper_id"].n_unique() == 1
    assert xref.filter(pl.col("source") == "crossref")["rule"].item() == "title"
    versions = resolution.build_work_versions(xref.lazy()).collect()
    assert versions.select("version_id", "version_kind").rows() == [
        ("arxiv:2312.00001", "preprint"),
        ("doi:10.5555/s3", "published"),
    ]


def test_title_links_never_join_contradicting_ids() -> None:
    # two different published works with near-identical titles and overlapping authors
    # (conference and journal versions), plus an arXiv record matching both by title
    authors = ["Ann Lee", "Bo Chen"]
    out = resolve(
        [
            rec(
                "crossref",
                "10.1/conf",
                "Fast Indexes for Sparse Retrieval",
                2021,
                authors,
                doi="10.1/conf",
            ),
            rec(
                "crossref",
                "10.1/jour",
                "Fast Indexes for Sparse Retrieval",
                2022,
                authors,
                doi="10.1/jour",
            ),
            rec(
                "arxiv",
                "2101.00001",
                "Fast Indexes for Sparse Retrieval",
                2021,
                authors,
                arxiv_id="2101.00001",
            ),
        ]
    )
    p = paper_of(out["work_xref"])
    assert p["crossref:10.1/conf"] != p["crossref:10.1/jour"]
    flags = out["work_flags"]
    assert flags.filter(pl.col("kind") == "work_conflict").height == 1


def test_short_and_authorless_titles_need_more_than_a_title() -> None:
    out = resolve(
        [
            rec("dblp", "e1", "Editorial", 2020),
            rec("crossref", "e2", "Editorial", 2020, doi="10.1/e2"),
            rec("openalex", "W9", "A Reasonably Long Title Without Any Authors", 2020),
            rec(
                "crossref", "x9", "A reasonably long title without any authors", 2020, doi="10.1/x9"
            ),
            rec("openalex", "W8", "A Reasonably Long Title Without Any Authors", 2021),
        ]
    )
    p = paper_of(out["work_xref"])
    assert p["dblp:e1"] != p["crossref:e2"]
    assert p["openalex:W9"] == p["crossref:x9"]
    assert p["openalex:W8"] != p["openalex:W9"]  # no authors: same year only


def test_canonical_ids_are_stable_across_runs() -> None:
    authors = ["Ann Lee", "Bo Chen"]
    first = [rec("dblp", "k1", "Learned Cardinality Estimation Revisited", 2022, authors)]
    run1 = resolve(first, run_id="r1")
    (pid,) = run1["work_xref"]["paper_id"].to_list()
    assert pid.startswith("t:")
    # the arXiv version shows up later: the paper keeps its id instead of becoming arxiv:…
    second = [
        *first,
        rec(
            "arxiv",
            "2201.00002",
            "Learned Cardinality Estimation Revisited",
            2022,
            authors,
            arxiv_id="2201.00002",
        ),
    ]
    run2 = resolve(second, registry=run1["work_ids"].lazy(), run_id="r2")
    assert run2["work_xref"]["paper_id"].unique().to_list() == [pid]
    reg = run2["work_ids"].sort("source")
    assert reg.select("source", "first_run_id").rows() == [("arxiv", "r2"), ("dblp", "r1")]
    # a rerun renumbers nothing
    run3 = resolve(second, registry=run2["work_ids"].lazy(), run_id="r3")
    assert run3["work_ids"].equals(run2["work_ids"])
    # split by an override: the record that held the id keeps it, the other gets a new one
    apart = overrides_frame(
        [{"kind": "keep_apart", "works": ["dblp:k1", "arxiv:2201.00002"], "reason": "x", "line": 4}]
    )
    run4 = resolve(second, registry=run3["work_ids"].lazy(), overrides=apart, run_id="r4")
    p = paper_of(run4["work_xref"])
    assert p["dblp:k1"] == pid or p["arxiv:2201.00002"] == pid
    assert p["dblp:k1"] != p["arxiv:2201.00002"]


def test_merging_two_known_papers_keeps_the_older_id() -> None:
    a = [rec("dblp", "k1", "Graph Partitioning at Scale", 2020, ["Ann Lee"])]
    b = [rec("openalex", "W5", "Partitioning Huge Graphs", 2020, ["Ann Lee"], doi="10.1/g")]
    run1 = resolve(a, run_id="r1")
    run2 = resolve(a + b, registry=run1["work_ids"].lazy(), run_id="r2")
    assert run2["work_xref"]["paper_id"].n_unique() == 2
    merge = overrides_frame(
        [{"kind": "merge", "works": ["dblp:k1", "doi:10.1/G"], "reason": "retitled", "line": 2}]
    )
    run3 = resolve(a + b, registry=run2["work_ids"].lazy(), overrides=merge, run_id="r3")
    xref = run3["work_xref"]
    assert xref["paper_id"].unique().to_list() == [run1["work_xref"]["paper_id"].item()]
    assert set(xref["rule"]) == {"override_merge"}


def test_override_that_names_nothing_is_flagged() -> None:
    merge = overrides_frame(
        [{"kind": "merge", "works": ["dblp:nope", "doi:10.1/none"], "reason": "x", "line": 7}]
    )
    out = resolve([rec("dblp", "k1", "Anything Long Enough Here", 2020)], overrides=merge)
    flags = out["work_flags"].filter(pl.col("kind") == "override_unmatched")
    assert sorted(flags["entity_id"]) == ["dblp:nope", "doi:10.1/none"]
    assert set(flags["line"]) == {7}


def test_truncated_author_list_still_overlaps() -> None:
    full = ["Ann Lee", "Bo Chen", "Carla Diaz", "Dan Evans", "Eve Fox", "Finn Gray"]
    out = resolve(
        [
            rec("openalex", "W1", "Serving Mixture of Experts Models Cheaply", 2024, full),
            rec(
                "nsf_par",
                "p1",
                "Serving Mixture-of-Experts Models Cheaply",
                2024,
                ["Lee, Ann", "Chen, Bo", "Diaz, Carla", "et al."],
            ),
        ]
    )
    assert out["work_xref"]["paper_id"].n_unique() == 1


def test_work_fields_name_the_winning_source() -> None:
    records = [
        rec(
            "arxiv",
            "2401.00003",
            "quantized kv caches for long contexts",
            2024,
            ["Ann Lee"],
            arxiv_id="2401.00003",
            abstract="our text",
        ),
        rec(
            "crossref",
            "10.1/kv",
            "Quantized KV Caches for Long Contexts",
            2025,
            ["Ann Lee"],
            doi="10.1/kv",
            venue="MLSys",
            work_type="proceedings-article",
        ),
        rec(
            "openalex",
            "W7",
            "Quantized KV caches for long contexts",
            2025,
            ["Ann Lee"],
            doi="10.1/kv",
            venue="Proceedings of MLSys",
        ),
    ]
    works, ships = frames(records)
    xref = resolution.resolve_works(works, ships)["work_xref"]
    fields = resolution.build_work_fields(xref, works).collect()
    won = {r["field"]: (r["source"], r["value"]) for r in fields.iter_rows(named=True)}
    assert won["title"] == ("crossref", "Quantized KV Caches for Long Contexts")
    assert won["venue"] == ("crossref", "MLSys")
    assert won["abstract"] == ("arxiv", "our text")
    assert won["year"] == ("arxiv", "2024")  # first appearance of any version
    assert won["doi"] == ("crossref", "10.1/kv")


@pytest.mark.parametrize("order", [1, -1])
def test_resolution_does_not_depend_on_input_order(order: int) -> None:
    records = [
        rec(
            "openalex",
            f"W{i}",
            f"Some Sufficiently Long Title Number {i % 7}",
            2024,
            [f"Author {i % 7}"],
            doi=f"10.1/{i % 3}" if i % 4 == 0 else None,
        )
        for i in range(40)
    ]
    base = resolve(records)["work_xref"].select("paper_id", "source", "source_work_id")
    again = resolve(records[::order])["work_xref"].select("paper_id", "source", "source_work_id")
    assert base.equals(again)


def test_sequels_are_not_versions() -> None:
    team = ["Ann Lee", "Bo Chen"]
    out = resolve(
        [
            rec("dblp", "p1", "Learning to Rank Query Plans, Part I", 2021, team),
            rec("dblp", "p2", "Learning to Rank Query Plans, Part II", 2021, team),
            rec("openalex", "W1", "Scaling Sparse Models to 10 Trillion Parameters", 2022, team),
            rec("openalex", "W2", "Scaling Sparse Models to 100 Trillion Parameters", 2022, team),
            rec(
                "crossref", "c1", "Learning to rank query plans (Part I)", 2022, team, doi="10.1/p1"
            ),
        ]
    )
    p = paper_of(out["work_xref"])
    assert p["dblp:p1"] != p["dblp:p2"]
    assert p["openalex:W1"] != p["openalex:W2"]
    assert p["crossref:c1"] == p["dblp:p1"]

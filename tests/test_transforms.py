"""Polars transforms: id/title/name normalisation, cross-source deduplication, authorships."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from transforms import model
from transforms import normalize as norm
from transforms import works as resolution
from transforms.sources import raw_schema

AT = datetime(2026, 11, 1, tzinfo=UTC)


def raw(slug: str, entity: str, rows: list[dict[str, Any]]) -> pl.LazyFrame:
    lineage = {"_run_id": "r1", "_fetched_at": AT, "_response_sha256": "x", "_record_hash": "h"}
    return pl.DataFrame(
        [{**r, **lineage} for r in rows], schema=raw_schema(slug, entity), strict=False
    ).lazy()


def arxiv_entry(arxiv_id: str, title: str, authors: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "arxiv_id": arxiv_id,
        "title": title,
        "authors": [{"name": a} for a in authors],
        "categories": kw.pop("categories", ["cs.DC"]),
        "published_at": kw.pop("published_at", AT),
        **kw,
    }


def oa_work(work_id: str, title: str, authors: list[tuple[str, str]], **kw: Any) -> dict[str, Any]:
    return {
        "work_id": work_id,
        "title": title,
        "publication_year": kw.pop("year", 2026),
        "authorships": [{"author_id": i, "display_name": n} for i, n in authors],
        **kw,
    }


def s2_paper(
    paper_id: str, title: str, authors: list[tuple[str, str]], **kw: Any
) -> dict[str, Any]:
    return {
        "paper_id": paper_id,
        "title": title,
        "year": kw.pop("year", 2026),
        "authors": [{"author_id": i, "name": n} for i, n in authors],
        **kw,
    }


def col(frame: pl.LazyFrame, expr: pl.Expr) -> list[Any]:
    return frame.select(expr.alias("v")).collect()["v"].to_list()


def test_doi_normalisation() -> None:
    values = pl.LazyFrame(
        {
            "d": [
                "https://doi.org/10.1145/ABC.1",
                "doi: 10.1/X",
                "HTTP://DX.DOI.ORG/10.2/y",
                "https://doi.org/10.48550/arXiv.2309.06180",
                "",
                None,
            ]
        }
    )
    assert col(values, norm.doi(pl.col("d"))) == [
        "10.1145/abc.1",
        "10.1/x",
        "10.2/y",
        None,
        None,
        None,
    ]
    assert col(values, norm.arxiv_id_from_doi(pl.col("d")))[3] == "2309.06180"


def test_arxiv_id_normalisation_keeps_old_style_ids() -> None:
    values = pl.LazyFrame(
        {
            "a": [
                "2309.06180v2",
                "arXiv:2309.06180",
                "astro-ph/0601001v1",
                "Hep-Th/9901001",
                "http://arxiv.org/abs/1111.2011v2",
                None,
            ]
        }
    )
    assert col(values, norm.arxiv_id(pl.col("a"))) == [
        "2309.06180",
        "2309.06180",
        "astro-ph/0601001",
        "hep-th/9901001",
        "1111.2011",
        None,
    ]


def test_titles_latex_and_whitespace() -> None:
    values = pl.LazyFrame(
        {
            "t": [
                "S$^{3}$: Increasing GPU Utilization",
                "Quantum  Criticality for\n  Extended Nodes",
                "\\'Etude of caf\\'e",
                "Plain title",
            ]
        }
    )
    cleaned = col(values, norm.title(pl.col("t")))
    assert cleaned[0] == "S^3: Increasing GPU Utilization"
    assert cleaned[1] == "Quantum Criticality for Extended Nodes"
    assert cleaned[2] == "Étude of café"
    assert cleaned[3] == "Plain title"
    keys = col(
        pl.LazyFrame(
            {"t": ["Étude: of CAFÉ!", "etude of cafe", "Étude of Café - the Multi-Tenant way"]}
        ),
        norm.title_key(pl.col("t")),
    )
    assert keys[0] == keys[1] == "etudeofcafe"
    assert (
        col(
            pl.LazyFrame({"t": [cleaned[0], "S3 - Increasing GPU utilization"]}),
            norm.title_key(pl.col("t")),
        )
        == ["s3increasinggpuutilization"] * 2
    )


@pytest.mark.parametrize(
    ("raw_name", "display", "key", "short"),
    [
        ("Zhuo, Danyang", "Danyang Zhuo", "danyang-zhuo", "d-zhuo"),
        ("Danyang Zhuo", "Danyang Zhuo", "danyang-zhuo", "d-zhuo"),
        ("D. Zhuo", "D. Zhuo", "d-zhuo", "d-zhuo"),
        ("Joseph E. Gonzalez", "Joseph E. Gonzalez", "joseph-gonzalez", "j-gonzalez"),
        ("Andrés M Bran", "Andrés M Bran", "andres-bran", "a-bran"),
        ("  Ion   Stoica ", "Ion Stoica", "ion-stoica", "i-stoica"),
    ],
)
def test_person_names(raw_name: str, display: str, key: str, short: str) -> None:
    assert norm.parse_name(raw_name) == (display, key, short)


def test_dedup_by_doi_then_arxiv_then_title_year() -> None:
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv_entry(
                    "2309.06180",
                    "Efficient Memory Management for LLM Serving",
                    ["Woosuk Kwon"],
                    published_at=datetime(2023, 9, 12, tzinfo=UTC),
                ),
                arxiv_entry("2401.00001", "A Preprint Only Known To arXiv", ["Ann Lee"]),
            ],
        ),
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                # published version: DOI only
                oa_work(
                    "W1",
                    "Efficient memory management for LLM serving",
                    [("A1", "Woosuk Kwon")],
                    doi="https://doi.org/10.1145/3600006.3613165",
                    year=2023,
                    venue="SOSP 2023",
                    cited_by_count=900,
                ),
                # preprint record: arXiv DataCite DOI -> arXiv id
                oa_work(
                    "W2",
                    "Efficient Memory Management for LLM Serving",
                    [("A1", "Woosuk Kwon")],
                    doi="https://doi.org/10.48550/arxiv.2309.06180",
                    year=2023,
                    cited_by_count=300,
                ),
                # matched to the S2 record by title + year only
                oa_work(
                    "W3",
                    "Title-Only Match Between Sources",
                    [("A2", "Ann Lee")],
                    year=2025,
                    cited_by_count=5,
                ),
                oa_work(
                    "W4",
                    "Title-Only Match Between Sources",
                    [("A2", "Ann Lee")],
                    year=2019,
                    cited_by_count=1,
                ),
            ],
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                # S2 knows both ids: bridges W1 (DOI) and the arXiv preprint
                s2_paper(
                    "S1",
                    "Efficient Memory Management for LLM Serving",
                    [("9", "W. Kwon")],
                    doi="10.1145/3600006.3613165",
                    arxiv_id="2309.06180",
                    year=2023,
                    citation_count=1000,
                ),
                s2_paper(
                    "S2",
                    "Title-only match between sources!",
                    [("8", "A. Lee")],
                    year=2025,
                    citation_count=7,
                ),
            ],
        ),
    }
    works = model.stage_works(raws).collect().lazy()
    xref = model.resolve_papers(works, model.stage_authorships(raws)).collect()
    paper_of = {
        (r["source"], r["source_work_id"]): r["paper_id"] for r in xref.iter_rows(named=True)
    }
    vllm = paper_of[("arxiv", "2309.06180")]
    assert vllm == "arxiv:2309.06180"
    assert (
        paper_of[("openalex", "W1")]
        == paper_of[("openalex", "W2")]
        == paper_of[("semantic_scholar", "S1")]
        == vllm
    )
    assert paper_of[("openalex", "W3")] == paper_of[("semantic_scholar", "S2")]
    assert paper_of[("openalex", "W3")].startswith("t:")
    assert paper_of[("openalex", "W4")] != paper_of[("openalex", "W3")]  # same title, other year
    assert xref["paper_id"].n_unique() == 4

    papers = {
        r["paper_id"]: r
        for r in model.build_model(raws, model.researchers_frame([]), model.topics_frame([]))[
            "papers"
        ]
        .collect()
        .iter_rows(named=True)
    }
    assert papers[vllm]["venue"] == "SOSP 2023"  # published venue beats the preprint server
    assert papers[vllm]["doi"] == "10.1145/3600006.3613165"
    assert papers[vllm]["sources"] == ["arxiv", "openalex", "semantic_scholar"]
    assert papers[vllm]["year"] == 2023

    cites = model.build_paper_citations(works, xref.lazy()).collect()
    oa = cites.filter((pl.col("paper_id") == vllm) & (pl.col("source") == "openalex"))
    assert oa["cited_by_count"].to_list() == [900]  # max of the split records, not their sum


def test_resolution_is_stable_under_input_order() -> None:
    rows = [
        oa_work(
            f"W{i}",
            f"Some Sufficiently Long Title {i % 5}",
            [],
            year=2024,
            doi=f"https://doi.org/10.1/{i % 3}",
        )
        for i in range(30)
    ]
    a = model.resolve_papers(
        model.stage_works({"raw_openalex__works": raw("openalex", "works", rows)})
    ).collect()
    b = model.resolve_papers(
        model.stage_works({"raw_openalex__works": raw("openalex", "works", rows[::-1])})
    ).collect()
    assert a.equals(b)
    # the three DOIs are three published works: equal titles never join different DOIs
    assert a["paper_id"].n_unique() == 3


def test_watched_authors_found_by_id_name_and_initials() -> None:
    researchers = model.researchers_frame(
        [
            {
                "researcher_id": "danyang-zhuo",
                "display_name": "Danyang Zhuo",
                "names": ["Danyang Zhuo", "Zhuo, Danyang"],
                "openalex_ids": ["A1"],
                "s2_ids": [],
                "orcid": None,
            },
        ]
    )
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv_entry(
                    "2601.00001", "Paper One With A Long Title", ["Zhuo, Danyang", "Ann Lee"]
                ),
            ],
        ),
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa_work(
                    "W1", "Paper Two With A Long Title", [("A9", "Ann Lee"), ("A1", "D. Zhuo")]
                ),
            ],
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                s2_paper("S1", "Paper Two With A Long Title", [("5", "A. Lee"), ("6", "D. Zhuo")]),
                s2_paper("S3", "Paper Three By Someone Else", [("7", "Dan Zhuo Jr")]),
            ],
        ),
    }
    works = model.stage_works(raws).collect().lazy()
    xref = model.resolve_papers(works)
    staged = model.stage_authorships(raws).collect().lazy()
    ids = model.watched_author_ids(raws, researchers)
    ships = model.build_authorships(staged, xref, researchers, ids).collect()
    watched = ships.filter(pl.col("is_watched"))
    assert sorted(watched["paper_id"].to_list()) == [
        "arxiv:2601.00001",
        resolution._title_hash("papertwowithalongtitle|2026"),
    ]
    assert set(watched["author_id"]) == {"danyang-zhuo"}
    # one author list per paper (OpenAlex chosen for paper two), no duplicates across sources
    two = ships.filter(pl.col("paper_id") != "arxiv:2601.00001").filter(
        pl.col("paper_id").str.starts_with("t:")
    )
    assert two.group_by("paper_id").len()["len"].max() == 2
    authors, _ = model.build_authors(ships.lazy(), researchers, ids)
    row = authors.collect().filter(pl.col("author_id") == "danyang-zhuo").row(0, named=True)
    assert row["is_watched"] and row["n_papers"] == 2 and row["display_name"] == "Danyang Zhuo"


def test_watchlist_topics_match_keywords_and_openalex_topics() -> None:
    topics = model.topics_frame(
        [
            {
                "topic_id": "llm-serving",
                "topic_name": "LLM serving",
                "keywords": ["LLM serving", "KV cache"],
                "openalex_topic_ids": ["T1"],
            }
        ]
    )
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv_entry(
                    "2601.00001",
                    "Fast Decoding Systems",
                    ["A B"],
                    summary="We study KV cache reuse.",
                ),
                arxiv_entry(
                    "2601.00002", "Unrelated Graph Theory Result", ["C D"], summary="Graphs."
                ),
            ],
        ),
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa_work(
                    "W1",
                    "Scheduling Requests on Accelerators",
                    [],
                    topics=[{"topic_id": "T1", "display_name": "X"}],
                ),
            ],
        ),
    }
    works = model.stage_works(raws).collect().lazy()
    xref = model.resolve_papers(works)
    links = (
        model.build_paper_topics(raws, works, xref, topics)
        .collect()
        .filter(pl.col("topic_kind") == "watchlist")
    )
    matched = dict(zip(links["paper_id"], links["matched_by"], strict=True))
    assert matched == {
        "arxiv:2601.00001": "keyword",
        resolution._title_hash("schedulingrequestsonaccelerators|2026"): "openalex_topic",
    }


def test_citations_by_year_and_snapshots() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa_work(
                    "W1",
                    "A Paper With Yearly Counts",
                    [],
                    doi="10.1/a",
                    cited_by_count=5,
                    counts_by_year=[
                        {"year": 2025, "cited_by_count": 3},
                        {"year": 2024, "cited_by_count": 2},
                    ],
                ),
            ],
        )
    }
    works = model.stage_works(raws).collect().lazy()
    xref = model.resolve_papers(works)
    by_year = model.build_citations_by_year(raws, xref).collect()
    assert by_year.select("year", "cited_by_count").rows() == [(2024, 2), (2025, 3)]
    observed = model.observations_frame(
        [
            {"source": "openalex", "source_work_id": "W1", "cited_by_count": 5, "observed_at": AT},
            {
                "source": "openalex",
                "source_work_id": "W404",
                "cited_by_count": 1,
                "observed_at": AT,
            },
        ]
    )
    snaps = model.citation_snapshot_rows(observed, xref, "run-1").collect()
    assert snaps.rows() == [
        ("run-1", AT, "doi:10.1/a", "openalex", "W1", 5),
        ("run-1", AT, None, "openalex", "W404", 1),
    ]
    assert snaps["observed_at"].dtype == pl.Datetime("us", "UTC")
    assert date(2026, 1, 1)  # keep the import honest for type checkers


def test_titles_match_across_one_year_but_not_two() -> None:
    """A December preprint and its proceedings version dated the next year are one paper; the
    same title three years apart is not, nor are two published records a year apart (a
    recurring title such as a yearly chairs' message)."""
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv_entry(
                    "2312.07000",
                    "Punica: Multi-Tenant LoRA Serving",
                    ["Lequn Chen"],
                    published_at=datetime(2023, 12, 28, tzinfo=UTC),
                )
            ],
        ),
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa_work(
                    "W10", "Punica: Multi-tenant LoRA serving", [("A1", "Lequn Chen")], year=2024
                ),
                oa_work(
                    "W11", "Punica: Multi-Tenant LoRA Serving", [("A1", "Lequn Chen")], year=2027
                ),
                *[
                    oa_work(
                        f"W2{i}", "Message from the Program Chairs", [("A3", "C Chair")], year=y
                    )
                    for i, y in enumerate((2023, 2024, 2025))
                ],
            ],
        ),
    }
    xref = model.resolve_papers(model.stage_works(raws)).collect()
    paper = dict(zip(xref["source_work_id"], xref["paper_id"], strict=True))
    assert paper["2312.07000"] == paper["W10"] == "arxiv:2312.07000"
    assert paper["W11"] != paper["W10"]
    assert len({paper["W20"], paper["W21"], paper["W22"]}) == 3

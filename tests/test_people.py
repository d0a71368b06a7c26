"""Co-authors are people: mentions clustered on source ids and ORCIDs, names as evidence only
on the same paper, conflicting ids never merged by name (transforms.persons via
transforms.authors.resolve_authors)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.test_authors import ORCID, OTHER_ORCID, ZHUO, arxiv, dblp, oa, raw, s2
from tests.test_authors import resolve as resolve_with

THIRD_ORCID = "0000-0003-1415-9265"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "source-fixtures" / "openalex"


# a watched researcher who is on none of these papers
NOBODY: dict[str, object] = {"researcher_id": "yi-xu", "display_name": "Yi Xu", "names": ["Yi Xu"]}


def resolve(
    raws: dict[str, pl.LazyFrame], people: list[dict[str, object]] | None = None
) -> dict[str, pl.DataFrame]:
    return resolve_with(raws, people or [NOBODY])


def person_of(res: dict[str, pl.DataFrame], source: str, work: str, position: int) -> str:
    """The author_id the author_xref gives one entry of one source record."""
    row = res["author_xref"].filter(
        (pl.col("source") == source)
        & (pl.col("source_work_id") == work)
        & (pl.col("position") == position)
    )
    assert row.height == 1, row
    return str(row["author_id"][0])


def coauthors(res: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return res["authors"].filter(~pl.col("is_watched"))


def test_two_wei_zhangs_with_their_own_ids_and_orcids_stay_two_people() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa("W1", "Protein Folding With Graphs", [("A1", "Wei Zhang", ORCID)]),
                oa("W2", "Protein Docking At Scale", [("A1", "Wei Zhang", ORCID)]),
                oa("W3", "Tax Policy In Rural Markets", [("A2", "Wei Zhang", OTHER_ORCID)]),
                oa("W4", "Farm Credit And Growth", [("A2", "Wei Zhang", OTHER_ORCID)]),
            ],
        )
    }
    res = resolve(raws)
    people = coauthors(res).filter(pl.col("display_name") == "Wei Zhang")
    assert people.select("author_id", "n_papers", "orcid").sort("author_id").rows() == [
        (f"orcid:{OTHER_ORCID}", 2, OTHER_ORCID),
        (f"orcid:{ORCID}", 2, ORCID),
    ]
    assert people["openalex_author_ids"].to_list() == [["A2"], ["A1"]]
    assert set(res["author_xref"]["rule"]) == {"orcid"}


def test_same_orcid_in_two_sources_is_one_person() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [oa("W1", "Protein Folding With Graphs", [("A1", "Wei Zhang", ORCID)])],
        ),
        "raw_dblp__publications": raw(
            "dblp",
            "publications",
            [
                {
                    **dblp("conf/x/Z25", "Sparse Kernels On GPUs", []),
                    "authors": [
                        {"position": 0, "pid": "12/345", "name": "Wei Zhang 0007", "orcid": ORCID}
                    ],
                }
            ],
        ),
    }
    res = resolve(raws)
    assert person_of(res, "openalex", "W1", 0) == person_of(res, "dblp", "conf/x/Z25", 0)
    (row,) = coauthors(res).rows(named=True)
    assert row["author_id"] == f"orcid:{ORCID}" and row["n_papers"] == 2
    assert row["openalex_author_ids"] == ["A1"] and row["dblp_pids"] == ["12/345"]


def test_s2_and_openalex_ids_meet_through_a_shared_orcid() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [oa("W1", "Protein Folding With Graphs", [("A1", "Wei Zhang", ORCID)])],
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [s2("p9", "Sparse Kernels On GPUs", [("77", "W. Zhang")])],
        ),
        # the S2 profile of author 77 carries the ORCID: that is what ties 77 to A1
        "raw_semantic_scholar__authors": raw(
            "semantic_scholar",
            "authors",
            [{"author_id": "77", "name": "Wei Zhang", "orcid": ORCID, "paper_count": 3}],
        ),
    }
    res = resolve(raws)
    assert person_of(res, "openalex", "W1", 0) == person_of(res, "semantic_scholar", "p9", 0)
    (row,) = coauthors(res).rows(named=True)
    assert row["s2_author_ids"] == ["77"] and row["openalex_author_ids"] == ["A1"]
    xref = res["author_xref"].filter(pl.col("source") == "semantic_scholar")
    assert xref["rule"].to_list() == ["source_id"]


def _same_paper(oa_people: list[Any], arxiv_names: list[str]) -> dict[str, pl.LazyFrame]:
    title = "Elastic Training For Large Models"
    return {
        "raw_openalex__works": raw(
            "openalex", "works", [oa("W1", title, oa_people, doi="10.48550/arxiv.2601.00001")]
        ),
        "raw_arxiv__entries": raw("arxiv", "entries", [arxiv("2601.00001", title, arxiv_names)]),
    }


def test_id_less_mention_joins_its_unique_same_name_id_person_on_the_paper() -> None:
    res = resolve(_same_paper([("A1", "Wei Zhang"), ("A2", "Ann Lee")], ["Ann Lee", "Wei Zhang"]))
    assert res["author_xref"]["paper_id"].n_unique() == 1
    assert person_of(res, "arxiv", "2601.00001", 1) == "openalex:A1"
    assert person_of(res, "arxiv", "2601.00001", 0) == "openalex:A2"
    rules = res["author_xref"].filter(pl.col("source") == "arxiv")["rule"].unique().to_list()
    assert rules == ["name_on_paper"]


def test_id_less_mention_with_two_same_name_id_people_on_the_paper_stays_its_own() -> None:
    res = resolve(_same_paper([("A1", "Wei Zhang"), ("A2", "Wei Zhang")], ["Wei Zhang"]))
    alone = person_of(res, "arxiv", "2601.00001", 0)
    assert alone.startswith("name:wei-zhang@")
    assert {person_of(res, "openalex", "W1", 0), person_of(res, "openalex", "W1", 1)} == {
        "openalex:A1",
        "openalex:A2",
    }
    assert res["author_xref"].filter(pl.col("source") == "arxiv")["rule"].to_list() == ["name_only"]


def test_id_less_namesakes_on_different_papers_are_not_merged() -> None:
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv("2601.00002", "Protein Folding With Graphs", ["Wei Zhang"]),
                arxiv("2601.00003", "Tax Policy In Rural Markets", ["Wei Zhang"]),
            ],
        )
    }
    res = resolve(raws)
    assert person_of(res, "arxiv", "2601.00002", 0) != person_of(res, "arxiv", "2601.00003", 0)


def test_conflicting_ids_are_never_merged_by_name() -> None:
    raws = {
        # OpenAlex says A1 and A2 are two people; S2 files both papers under one id 77
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa("W1", "Protein Folding With Graphs", [("A1", "Wei Zhang")], doi="10.1/a"),
                oa("W2", "Tax Policy In Rural Markets", [("A2", "Wei Zhang")], doi="10.1/b"),
                # same paper, same name, but the two ids carry different ORCIDs
                oa("W3", "Farm Credit And Growth", [("A3", "Wei Zhang", ORCID)], doi="10.1/c"),
            ],
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                s2("p1", "Protein Folding With Graphs", [("77", "Wei Zhang")], doi="10.1/a"),
                s2("p2", "Tax Policy In Rural Markets", [("77", "Wei Zhang")], doi="10.1/b"),
                s2("p3", "Farm Credit And Growth", [("88", "Wei Zhang")], doi="10.1/c"),
            ],
        ),
        "raw_semantic_scholar__authors": raw(
            "semantic_scholar",
            "authors",
            [{"author_id": "88", "name": "Wei Zhang", "orcid": THIRD_ORCID, "paper_count": 9}],
        ),
    }
    res = resolve(raws)
    assert res["author_xref"]["paper_id"].n_unique() == 3
    a1, a2 = person_of(res, "openalex", "W1", 0), person_of(res, "openalex", "W2", 0)
    assert a1 != a2
    assert person_of(res, "openalex", "W3", 0) == f"orcid:{ORCID}"
    assert person_of(res, "semantic_scholar", "p3", 0) == f"orcid:{THIRD_ORCID}"
    ids = coauthors(res)["openalex_author_ids"].to_list()
    assert all(len(i or []) <= 1 for i in ids), ids


def test_watched_researcher_keeps_the_watchlist_id_and_coauthors_get_person_ids() -> None:
    res = resolve(
        _same_paper([("A1", "Danyang Zhuo"), ("A9", "Ann Lee")], ["Danyang Zhuo", "Ann Lee"]),
        [ZHUO],
    )
    assert person_of(res, "openalex", "W1", 0) == "danyang-zhuo"
    assert person_of(res, "arxiv", "2601.00001", 0) == "danyang-zhuo"
    assert person_of(res, "arxiv", "2601.00001", 1) == "openalex:A9"
    watched = res["authors"].filter(pl.col("is_watched"))
    assert watched.select("author_id", "n_papers").rows() == [("danyang-zhuo", 1)]


def _openalex_records() -> list[dict[str, Any]]:
    from flows.sources import openalex

    works: list[dict[str, Any]] = []
    for path in sorted(SHARED.glob("*.json")):
        page = openalex.parse_response(path.read_bytes(), path.name)
        works += page.records.get("works", [])
    return works


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real OpenAlex payloads absent: {SHARED}")
def test_real_openalex_payloads_distinct_author_ids_stay_distinct_people() -> None:
    works = _openalex_records()
    assert len(works) >= 4
    # a namesake made from real records: the first author of one work renamed to the first
    # author of another; OpenAlex still gives them different A-ids, so two people remain
    renamed = copy.deepcopy(works)
    first, second = renamed[0]["authorships"][0], renamed[1]["authorships"][0]
    assert first["author_id"] != second["author_id"]
    second["display_name"] = first["display_name"]
    res = resolve({"raw_openalex__works": raw("openalex", "works", renamed)})
    oa_rows = res["author_xref"].filter(pl.col("source_author_id").is_not_null())
    per_id = oa_rows.group_by("source_author_id").agg(pl.col("author_id").n_unique())
    assert per_id["author_id"].max() == 1
    assert oa_rows["author_id"].n_unique() == oa_rows["source_author_id"].n_unique()
    namesakes = coauthors(res).filter(pl.col("display_name") == first["display_name"])
    assert namesakes.height == 2


def test_a_namesake_known_by_orcid_elsewhere_is_not_credited_by_name() -> None:
    # A90 shows an ORCID (not the researcher's) on one paper only; on the other paper OpenAlex
    # and arXiv give just the name. Before persons, that second paper was credited by name.
    heat, soil = "Urban Heat Islands and Commuter Exposure", "Soil Moisture From Radar Data"
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa("W9", heat, [("A90", "Danyang Zhuo", OTHER_ORCID)]),
                oa("W10", soil, [("A90", "Danyang Zhuo")], doi="10.48550/arxiv.2601.00010"),
            ],
        ),
        "raw_arxiv__entries": raw(
            "arxiv", "entries", [arxiv("2601.00010", soil, ["Danyang Zhuo"])]
        ),
    }
    res = resolve(raws, [ZHUO])
    assert res["authors"].filter(pl.col("is_watched"))["n_papers"].to_list() == [0]
    assert person_of(res, "arxiv", "2601.00010", 0) == f"orcid:{OTHER_ORCID}"
    vetoed = res["resolution_flags"].filter(pl.col("detail").str.contains("holds other ids"))
    assert sorted(vetoed["source"]) == ["arxiv", "openalex"]
    # Without the ORCID anywhere A90 is still not A1, the id OpenAlex knows the researcher by,
    # and nothing but the name ties them: a person of their own (this test once credited the
    # paper, taking any ORCID-less id for a possible split profile; a split profile now needs
    # corroboration, tests/test_authors.py::test_split_profile_sharing_coauthors_is_the_researcher)
    raws["raw_openalex__works"] = raw(
        "openalex", "works", [oa("W10", soil, [("A90", "Danyang Zhuo")])]
    )
    res = resolve(raws, [ZHUO])
    assert res["authors"].filter(pl.col("is_watched"))["n_papers"].to_list() == [0]
    assert person_of(res, "arxiv", "2601.00010", 0) == "openalex:A90"


def test_person_ids_do_not_depend_on_record_order() -> None:
    records = [
        oa("W1", "Protein Folding With Graphs", [("A1", "Wei Zhang"), ("A5", "Ann Lee")]),
        oa("W2", "Tax Policy In Rural Markets", [("A2", "Wei Zhang", ORCID)]),
    ]
    papers = [
        s2("p1", "Protein Folding With Graphs", [("77", "W. Zhang"), (None, "Ann Lee")]),
        s2("p2", "Tax Policy In Rural Markets", [("88", "Wei Zhang")]),
    ]

    def xref(order: int) -> list[tuple[Any, ...]]:
        res = resolve(
            {
                "raw_openalex__works": raw("openalex", "works", records[::order]),
                "raw_semantic_scholar__papers": raw("semantic_scholar", "papers", papers[::order]),
            }
        )
        return sorted(res["author_xref"].select("source_work_id", "position", "author_id").rows())

    forward = xref(1)
    assert forward == xref(-1)
    assert ("p1", 0, "openalex:A1") in forward and ("p2", 0, f"orcid:{ORCID}") in forward


ORCID_BRAN = "0000-0002-4432-3667"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real OpenAlex payloads absent: {SHARED}")
def test_real_openalex_split_profile_is_credited_and_a_namesake_is_not() -> None:
    # Real records: OpenAlex files "Andres M Bran" (with his ORCID) under A5055903035 on the
    # ChemCrow preprint and "Andres M. Bran" (no ORCID) under A5031480183 on its Nature Machine
    # Intelligence version: one person split in two. The two records are one paper, so the
    # same-work link (crosswalk rule coauthored_works) corroborates the split id; the name
    # alone would not. A third real record, renamed, plays a namesake: not credited.
    works = {w["work_id"]: w for w in _openalex_records()}
    split, own = works["W4396723768"], works["W4365597205"]
    assert split["authorships"][0]["author_id"] != own["authorships"][0]["author_id"]
    namesake = copy.deepcopy(works["W2277923667"])
    namesake["authorships"][0]["display_name"] = "Andres M. Bran"
    bran = {
        "researcher_id": "andres-bran",
        "display_name": "Andres M. Bran",
        "names": ["Andres M. Bran"],
        "openalex_ids": ["A5055903035"],
        "orcid": ORCID_BRAN,
    }
    res = resolve({"raw_openalex__works": raw("openalex", "works", [own, split, namesake])}, [bran])
    entries = res["author_xref"].filter(pl.col("author_id") == "andres-bran")
    assert sorted(entries["source_work_id"]) == ["W4365597205", "W4396723768"]
    xw = res["author_crosswalk"].filter(pl.col("source_author_id") == "A5031480183")
    assert xw["author_id"].to_list() == ["andres-bran"]
    ships = res["authorships"].filter(pl.col("author_id") == "andres-bran")
    assert set(ships["paper_id"]) == set(entries["paper_id"])
    assert (
        not ships["paper_id"]
        .is_in(res["author_xref"].filter(pl.col("source_work_id") == "W2277923667")["paper_id"])
        .any()
    )
    assert person_of(res, "openalex", "W2277923667", 0) == "openalex:" + str(
        namesake["authorships"][0]["author_id"]
    )

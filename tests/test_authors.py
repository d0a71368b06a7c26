"""Author resolution: name keys, the crosswalk and its confidence rules, guarded authorships,
truncated author lists and overrides."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from transforms import authors, model, schemas
from transforms import normalize as norm
from transforms.overrides import overrides_frame
from transforms.sources import raw_schema

AT = datetime(2026, 11, 1, tzinfo=UTC)
ORCID = "0000-0002-1825-0097"
OTHER_ORCID = "0000-0001-5109-3700"


def raw(slug: str, entity: str, rows: list[dict[str, Any]]) -> pl.LazyFrame:
    lineage = {"_run_id": "r1", "_fetched_at": AT, "_response_sha256": "x", "_record_hash": "h"}
    return pl.DataFrame(
        [{**r, **lineage} for r in rows], schema=raw_schema(slug, entity), strict=False
    ).lazy()


def oa(work_id: str, title: str, people: list[Any], **kw: Any) -> dict[str, Any]:
    """people: (author_id, name) or (author_id, name, orcid)."""
    return {
        "work_id": work_id,
        "title": title,
        "publication_year": kw.pop("year", 2025),
        "authorships": [
            {"author_id": p[0], "display_name": p[1], "orcid": p[2] if len(p) > 2 else None}
            for p in people
        ],
        **kw,
    }


def s2(
    paper_id: str, title: str, people: list[tuple[str | None, str]], **kw: Any
) -> dict[str, Any]:
    return {
        "paper_id": paper_id,
        "title": title,
        "year": kw.pop("year", 2025),
        "authors": [{"author_id": i, "name": n} for i, n in people],
        **kw,
    }


def arxiv(arxiv_id: str, title: str, names: list[str]) -> dict[str, Any]:
    return {
        "arxiv_id": arxiv_id,
        "title": title,
        "authors": [{"name": n} for n in names],
        "categories": ["cs.DC"],
        "published_at": AT,
    }


def dblp(key: str, title: str, people: list[tuple[str | None, str]], **kw: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "year": kw.pop("year", 2025),
        "type": "Conference and Workshop Papers",
        "authors": [{"position": i, "pid": p, "name": n} for i, (p, n) in enumerate(people)],
        **kw,
    }


ZHUO: dict[str, object] = {
    "researcher_id": "danyang-zhuo",
    "display_name": "Danyang Zhuo",
    "names": ["Danyang Zhuo"],
    "openalex_ids": ["A1"],
    "orcid": None,
}


def resolve(
    raws: dict[str, pl.LazyFrame],
    people: list[dict[str, object]] | None = None,
    overrides: pl.LazyFrame | None = None,
) -> dict[str, pl.DataFrame]:
    works = model.stage_works(raws).collect().lazy()
    staged = model.stage_authorships(raws).collect().lazy()
    xref = model.resolve_papers(works, staged)
    out = authors.resolve_authors(
        raws, staged, xref, model.researchers_frame(people or [ZHUO]), overrides, works
    )
    return {name: frame.collect() for name, frame in out.items()}


def credited(res: dict[str, pl.DataFrame], who: str = "danyang-zhuo") -> pl.DataFrame:
    return res["authorships"].filter(pl.col("author_id") == who)


def test_namesake_never_merges_into_the_researcher() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa(
                    "W1",
                    "Cell Biology Of The Zebrafish Heart",
                    [("A55", "Danyang Zhuo", OTHER_ORCID)],
                )
            ],
        )
    }
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    # a person of their own, known by their ORCID
    assert res["authorships"]["author_id"].to_list() == [f"orcid:{OTHER_ORCID}"]
    row = res["authors"].filter(pl.col("author_id") == "danyang-zhuo").row(0, named=True)
    assert row["n_papers"] == 0


def flags(res: dict[str, pl.DataFrame], kind: str) -> pl.DataFrame:
    return res["resolution_flags"].filter(pl.col("kind") == kind)


# --- name keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zhuo, Danyang", "Danyang Zhuo"),
        ("DANYANG ZHUO", "Danyang Zhuo"),
        ("Zhuo Danyang", "Danyang Zhuo"),  # family name first
        ("Danyang X. Zhuo", "Danyang Zhuo"),  # middle initial
        ("José Álvarez", "Jose Alvarez"),
        ("Peng-Fei Zuo", "Pengfei Zuo"),
        ("Zuo, Peng\u2011fei", "Pengfei Zuo"),
        ("Peng Fei Zuo", "Pengfei Zuo"),  # romanised given name written apart
        ("Zuo, Peng Fei", "Pengfei Zuo"),
        ("Pengfei Zuo", "Zuo, Peng Fei"),
        ("卓丹阳", "Danyang Zhuo"),  # pinyin by transliteration, family name first
        ("Гео́ргий Иванов", "Georgiy Ivanov"),
        ("Γιώργος Παπαδόπουλος", "Giorgos Papadopoylos"),
        ("Müller, Hans", "Hans Mueller"),  # German umlaut spelt out
        ("Hans Müller", "Hans Muller"),
        ("O'Neil, Mary", "Mary ONeil"),
        ("Danyang Zhuo et al.", "Danyang Zhuo"),
    ],
)
def test_full_name_variants_share_a_key(a: str, b: str) -> None:
    ka, kb = norm.match_keys(a), norm.match_keys(b)
    assert set(ka[0]) & set(kb[0]), (ka, kb)
    assert not ka[2] and not kb[2]


@pytest.mark.parametrize(
    "name", ["D. Zhuo", "Zhuo D", "Zhuo, D.", "D.Y. Zhuo", "Zhuo DY", "D Zhuo"]
)
def test_initials_only_forms_have_only_the_weak_key(name: str) -> None:
    full, initials, only = norm.match_keys(name)
    assert full == () and initials == ("d zhuo",) and only


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Dan Zhuo", "Danyang Zhuo"),
        ("Danyang Zhou", "Danyang Zhuo"),
        ("Hans Muller", "Hans Mueller"),
        ("Peng Fei Zuo", "Peng Zuo"),
        ("Peng Fei Zuo", "Fei Zuo"),
        ("Pengfei Zuo", "Pengfei Zhuo"),
    ],
)
def test_different_names_do_not_meet(a: str, b: str) -> None:
    assert not set(norm.match_keys(a)[0]) & set(norm.match_keys(b)[0])


def test_degenerate_names() -> None:
    assert norm.match_keys("Scholar") == ((), (), False)
    assert norm.is_truncation_marker("et al.") and norm.is_truncation_marker(" others ")
    assert not norm.is_truncation_marker("Al Smith")
    # a two-word family name is reachable from the initials form
    assert "j alvarezperez" in norm.match_keys("José Álvarez Pérez")[1]
    assert norm.match_keys("J. Álvarez Pérez")[1] == ("j alvarezperez",)


# --- initials guard -------------------------------------------------------------------------------


def test_initials_only_mention_needs_other_evidence() -> None:
    raws = {
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                # a biology paper by some other D. Zhuo: nothing else says it is Danyang's
                s2(
                    "S1",
                    "Protein Folding Dynamics in Yeast Cells",
                    [("91", "Mei Lin"), ("92", "D. Zhuo")],
                ),
                # the same initials on a paper whose OpenAlex record names Danyang Zhuo in full
                s2("S2", "Scheduling Serverless Functions at Scale", [("93", "D. Zhuo")]),
            ],
        ),
        # under his own OpenAlex id: filed under another one (this test once used A77) the full
        # name would not credit him either, as OpenAlex knows him as A1 (a namesake's id)
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [oa("W2", "Scheduling Serverless Functions at Scale", [("A1", "Danyang Zhuo")])],
        ),
    }
    res = resolve(raws)
    papers = credited(res)["paper_id"].to_list()
    assert len(papers) == 1 and papers[0].startswith("t:")
    only = flags(res, "initials_only")
    assert only.height == 1
    assert only.row(0, named=True) | {"detail": ""} == {
        "entity": "author",
        "kind": "initials_only",
        "entity_id": "danyang-zhuo",
        "source": "semantic_scholar",
        "source_id": "S1",
        "detail": "",
        "line": None,
    }


def test_initials_credited_when_the_chosen_list_has_them_and_another_source_the_full_name() -> None:
    raws = {
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                s2(
                    "S2",
                    "Scheduling Serverless Functions at Scale",
                    [("5", "A. Lee"), ("93", "D. Zhuo")],
                )
            ],
        ),
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [
                arxiv(
                    "2601.00002",
                    "Scheduling Serverless Functions at Scale",
                    ["Ann Lee", "Danyang Zhuo"],
                )
            ],
        ),
    }
    res = resolve(raws)
    row = credited(res).row(0, named=True)
    assert row["source"] == "arxiv" and row["match_rule"] == "name" and row["position"] == 1
    assert res["resolution_flags"].height == 0


def test_initials_collision_between_watched_researchers_is_flagged_not_credited() -> None:
    dong = {"researcher_id": "dong-zhuo", "display_name": "Dong Zhuo", "names": ["Dong Zhuo"]}
    raws = {
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [s2("S1", "Scheduling Serverless Functions at Scale", [("93", "D. Zhuo")])],
        ),
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [arxiv("2601.00003", "Scheduling Serverless Functions at Scale", ["D. Zhuo", "Bo Li"])],
        ),
    }
    res = resolve(raws, [ZHUO, dong])
    assert res["authorships"].filter(pl.col("is_watched")).height == 0
    collisions = flags(res, "initials_collision")
    assert sorted(set(collisions["entity_id"])) == ["danyang-zhuo", "dong-zhuo"]
    assert set(collisions["source"]) == {"semantic_scholar", "arxiv"}


def test_ambiguous_full_name_is_not_a_match() -> None:
    twin = {"researcher_id": "danyang-zhuo-2", "display_name": "Danyang Zhuo", "names": []}
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv", "entries", [arxiv("2601.00004", "A Paper With a Long Title", ["Danyang Zhuo"])]
        )
    }
    res = resolve(raws, [{**ZHUO, "openalex_ids": []}, twin])
    assert res["authorships"].filter(pl.col("is_watched")).height == 0


# --- ORCID ----------------------------------------------------------------------------------------


def test_orcid_credits_and_conflicting_orcid_blocks_the_name() -> None:
    me = {**ZHUO, "orcid": f"https://orcid.org/{ORCID}", "openalex_ids": []}
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                # a namesake: same name, another ORCID
                oa(
                    "W1",
                    "Cell Biology Of The Zebrafish Heart",
                    [("A55", "Danyang Zhuo", OTHER_ORCID)],
                ),
                # an odd spelling, but the researcher's ORCID
                oa("W2", "Disaggregated Memory For Serving", [("A66", "D. Z.", ORCID)]),
            ],
        ),
        "raw_openalex__authors": raw(
            "openalex",
            "authors",
            [
                {
                    "author_id": "A55",
                    "display_name": "Danyang Zhuo",
                    "orcid": OTHER_ORCID,
                    "works_count": 12,
                },
                {
                    "author_id": "A66",
                    "display_name": "Danyang Zhuo",
                    "orcid": ORCID,
                    "works_count": 40,
                },
            ],
        ),
    }
    res = resolve(raws, [me])
    rows = credited(res)
    assert rows["match_rule"].to_list() == ["orcid"] and rows["source_author_id"].to_list() == [
        "A66"
    ]
    xw = res["author_crosswalk"]
    assert xw.filter(pl.col("source") == "openalex").select(
        "source_author_id", "rule", "confidence"
    ).rows() == [("A66", "orcid", 0.99)]
    assert xw.filter(pl.col("source") == "orcid")["source_author_id"].to_list() == [ORCID]
    conflicts = flags(res, "orcid_conflict")
    assert set(conflicts["source"]) == {"openalex"}
    assert {"A55", "W1"} <= set(conflicts["source_id"])


# --- implausible profiles and huge author lists ---------------------------------------------------


def test_implausible_profiles_are_flagged_not_linked_by_name() -> None:
    old = [{"year": y, "works_count": 1, "cited_by_count": 0} for y in (1950, 2020)]
    raws = {
        "raw_openalex__authors": raw(
            "openalex",
            "authors",
            [
                {"author_id": "A900", "display_name": "Danyang Zhuo", "works_count": 5000},
                {
                    "author_id": "A901",
                    "display_name": "Zhuo, Danyang",
                    "works_count": 80,
                    "counts_by_year": old,
                },
                {"author_id": "A902", "display_name": "DANYANG ZHUO", "works_count": 80},
            ],
        ),
        "raw_semantic_scholar__authors": raw(
            "semantic_scholar",
            "authors",
            [
                {"author_id": "7", "name": "Danyang Zhuo", "paper_count": 90},
                {"author_id": "8", "name": "Danyang Zhuo", "paper_count": 10},
            ],
        ),
    }
    res = resolve(raws, [{**ZHUO, "openalex_ids": []}])
    linked = (
        res["author_crosswalk"].select("source", "source_author_id", "rule", "confidence").rows()
    )
    assert linked == [("openalex", "A902", "name", 0.7)]
    implausible = flags(res, "implausible_profile")
    assert sorted(implausible["source_id"]) == ["A900", "A901"]
    # two same-named profiles in one source: neither is linked by name
    assert sorted(flags(res, "name_ambiguous")["source_id"]) == ["7", "8"]


def test_huge_author_list_credits_only_by_id() -> None:
    crowd = [(f"X{i}", f"Person Number{i}") for i in range(150)]
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa(
                    "W1",
                    "Observation Of A New Particle At The Collider",
                    [*crowd, (None, "Danyang Zhuo")],
                ),
                oa(
                    "W2",
                    "Measurement Of Something Else Entirely Here",
                    [*crowd, ("A1", "Danyang Zhuo")],
                ),
            ],
        )
    }
    res = resolve(raws)
    rows = credited(res)
    assert rows.select("source_author_id", "match_rule").rows() == [("A1", "watchlist_id")]
    huge = flags(res, "huge_author_list")
    assert huge["source_id"].to_list() == ["W1"]


# --- truncated author lists -----------------------------------------------------------------------


def test_truncated_list_is_completed_from_the_fuller_source() -> None:
    full = ["Ann Lee", "Bo Chen", "Cy Wu", "Di Xu", "Eve Ma", "Danyang Zhuo"]
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa(
                    "W1",
                    "Elastic Training For Large Models",
                    [("X1", "Ann Lee"), ("X2", "Bo Chen"), (None, "Cy Wu et al.")],
                    doi="10.1/elastic",
                ),
                oa(
                    "W2",
                    "Fast Storage For Learned Indexes",
                    [("X1", "Ann Lee"), ("X3", "Fay Zu")],
                    doi="10.1/fast",
                ),
            ],
        ),
        "raw_arxiv__entries": raw(
            "arxiv", "entries", [arxiv("2601.00005", "Elastic Training For Large Models", full)]
        ),
        # DBLP has the complete list, OpenAlex only two of its five names
        "raw_dblp__publications": raw(
            "dblp",
            "publications",
            [
                dblp(
                    "conf/x/Lee25",
                    "Fast Storage For Learned Indexes",
                    [
                        (None, "Ann Lee"),
                        (None, "Fay Zu"),
                        (None, "Gus Ng"),
                        (None, "Hal Oh"),
                        (None, "Danyang Zhuo"),
                    ],
                    doi="10.1/fast",
                )
            ],
        ),
    }
    res = resolve(raws)
    ships = res["authorships"]
    elastic = ships.filter(pl.col("paper_id").str.contains("elastic|2601.00005"))
    assert elastic["source"].unique().to_list() == ["arxiv"] and elastic.height == 6
    fast = ships.filter(pl.col("paper_id") == "doi:10.1/fast")
    assert fast["source"].unique().to_list() == ["dblp"] and fast.height == 5
    assert credited(res).select("paper_id", "position", "match_rule").sort("paper_id").rows() == [
        ("arxiv:2601.00005", 5, "name"),
        ("doi:10.1/fast", 4, "name"),
    ]
    assert "et al" not in " ".join(ships["author_name"])


def test_marker_entries_are_not_authors() -> None:
    raws = {
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [arxiv("2601.00006", "A Paper With a Long Title", ["Ann Lee", "others"])],
        )
    }
    ships = resolve(raws)["authorships"]
    # no id anywhere: a person known by name on this paper only
    assert ships["author_id"].to_list() == ["name:ann-lee@arxiv:2601.00006"]


# --- overrides ------------------------------------------------------------------------------------


def test_not_author_override_removes_the_credit_every_run_and_flags_unmatched_refs() -> None:
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa("W1", "Serving Models On Phones", [("A1", "Danyang Zhuo")], doi="10.1/Phones"),
                oa("W2", "Serving Models On Servers", [("A1", "Danyang Zhuo")], doi="10.1/servers"),
            ],
        )
    }
    over = overrides_frame(
        [
            {
                "kind": "not_author",
                "researcher_id": "danyang-zhuo",
                "works": ["doi:10.1/PHONES", "doi:10.9/nothing"],
                "reason": "another Danyang Zhuo",
                "line": 7,
            }
        ]
    )
    res = resolve(raws, overrides=over)
    assert credited(res)["paper_id"].to_list() == ["doi:10.1/servers"]
    phones = res["authorships"].filter(pl.col("paper_id") == "doi:10.1/phones")
    assert phones.height == 1 and not phones["is_watched"][0]
    applied = flags(res, "override_not_author")
    assert applied.select("entity_id", "source_id", "line").rows() == [
        ("danyang-zhuo", "doi:10.1/phones", 7)
    ]
    unmatched = flags(res, "override_unmatched")
    assert unmatched.select("source_id", "line").rows() == [("doi:10.9/nothing", 7)]


def test_alias_override_adds_ids_and_names() -> None:
    raws = {
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [s2("S1", "Serving Models On Phones", [("777", "D. Y. Zhuo")])],
        ),
        "raw_arxiv__entries": raw(
            "arxiv",
            "entries",
            [arxiv("2601.00007", "Quantum Sensing With Cold Atoms", ["Dy Zhuo-Chen"])],
        ),
    }
    over = overrides_frame(
        [
            {
                "kind": "alias",
                "researcher_id": "danyang-zhuo",
                "names": ["Dy Zhuo-Chen"],
                "ids": ["semantic_scholar:777", f"orcid:{ORCID}"],
                "line": 3,
            }
        ]
    )
    res = resolve(raws, overrides=over)
    rows = credited(res).sort("paper_id")
    assert rows.select("source", "match_rule", "match_confidence").rows() == [
        ("arxiv", "override_alias", 1.0),
        ("semantic_scholar", "override_alias", 1.0),
    ]
    xw = res["author_crosswalk"].filter(pl.col("rule") == "override_alias")
    assert sorted(xw.select("source", "source_author_id").rows()) == [
        ("orcid", ORCID),
        ("semantic_scholar", "777"),
    ]


# --- crosswalk confidence -------------------------------------------------------------------------


def test_coauthored_works_confidence() -> None:
    papers = [f"Systems Paper Number {w} About Things" for w in "ABCDE"]
    raws = {
        "raw_openalex__works": raw(
            "openalex",
            "works",
            [
                oa(f"W{i}", t, [("A1", "Danyang Zhuo"), ("X9", "Ann Lee")])
                for i, t in enumerate(papers)
            ],
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar",
            "papers",
            [
                # full name on two shared works -> 0.95
                s2("S0", papers[0], [("6", "Danyang Zhuo"), ("5", "Ann Lee")]),
                s2("S1", papers[1], [("6", "Zhuo, Danyang"), ("5", "Ann Lee")]),
                # full name on one shared work -> 0.8
                s2("S2", papers[2], [("9", "Danyang Zhuo"), ("5", "Ann Lee")]),
                # initials on one shared work: not enough
                s2("S3", papers[3], [("8", "D. Zhuo"), ("5", "Ann Lee")]),
                # a coauthor's id never becomes the researcher's
                s2("S4", papers[4], [(None, "Danyang Zhuo"), ("5", "Ann Lee")]),
            ],
        ),
        "raw_dblp__publications": raw(
            "dblp",
            "publications",
            [
                # initials on two shared works -> 0.8
                dblp("conf/a/1", papers[0], [("z/D", "D. Zhuo"), ("l/A", "Ann Lee")]),
                dblp("conf/a/2", papers[1], [("z/D", "Zhuo D"), ("l/A", "Ann Lee")]),
            ],
        ),
    }
    res = resolve(raws)
    xw = res["author_crosswalk"].select(
        "source", "source_author_id", "rule", "confidence", "n_works"
    )
    assert sorted(xw.rows()) == [
        ("dblp", "z/D", "coauthored_works", 0.8, 2),
        ("openalex", "A1", "watchlist", 1.0, None),
        ("semantic_scholar", "6", "coauthored_works", 0.95, 2),
        ("semantic_scholar", "9", "coauthored_works", 0.8, 1),
    ]
    # every paper credited once, from the OpenAlex list
    rows = credited(res)
    assert rows.height == 5 and set(rows["match_rule"]) == {"watchlist_id"}


def test_watchlist_ids_profiles_and_name_rule_needs_one_researcher() -> None:
    wei = {"researcher_id": "wei-wang", "display_name": "Wei Wang", "names": ["Wei Wang"]}
    wei2 = {"researcher_id": "wei-wang-2", "display_name": "Wang Wei", "names": ["Wang, Wei"]}
    raws = {
        "raw_openalex__authors": raw(
            "openalex",
            "authors",
            [
                {"author_id": "A1", "display_name": "Danyang Zhuo", "works_count": 50},
                {"author_id": "A5", "display_name": "Wei Wang", "works_count": 50},
            ],
        ),
        "raw_profiles__metrics": raw(
            "profiles",
            "metrics",
            [
                {
                    "profile_id": "p1",
                    "researcher_id": "danyang-zhuo",
                    "recipe": "dblp",
                    "profile_url": "https://dblp.org/pid/z/DanyangZhuo",
                }
            ],
        ),
    }
    res = resolve(raws, [{**ZHUO, "dblp_pids": ["z/DanyangZhuo"]}, wei, wei2])
    xw = res["author_crosswalk"].select(
        "author_id", "source", "source_author_id", "rule", "source_name"
    )
    assert xw.rows() == [
        ("danyang-zhuo", "dblp", "z/DanyangZhuo", "watchlist", None),
        ("danyang-zhuo", "openalex", "A1", "watchlist", "Danyang Zhuo"),
        ("danyang-zhuo", "profiles", "https://dblp.org/pid/z/DanyangZhuo", "watchlist", None),
    ]
    authors_table = res["authors"].filter(pl.col("author_id") == "danyang-zhuo").row(0, named=True)
    assert authors_table["openalex_author_ids"] == ["A1"] and authors_table["is_watched"]


def test_build_model_exposes_the_author_tables() -> None:
    tables = model.build_model(
        {
            "raw_openalex__works": raw(
                "openalex",
                "works",
                [oa("W1", "Serving Models On Phones", [("A1", "Danyang Zhuo")])],
            )
        },
        model.researchers_frame([ZHUO]),
        model.topics_frame([]),
    )
    assert {
        "author_crosswalk",
        "authorships",
        "authors",
        "author_profiles",
        "resolution_flags",
    } <= set(tables)
    flags_schema = tables["resolution_flags"].collect_schema()
    assert dict(flags_schema) == schemas.FLAG_SCHEMA
    ships = tables["authorships"].collect()
    assert ships.columns[-2:] == ["match_rule", "match_confidence"]


def test_source_filing_a_same_named_orcid_holder_elsewhere_vetoes_the_name() -> None:
    # OpenAlex knows Danyang Zhuo as A1 (watchlist) and files this paper's "Danyang Zhuo"
    # under A90 with an ORCID: a namesake. S2 only has the name, and must not credit it either.
    title = "Urban Heat Islands and Commuter Exposure"
    raws = {
        "raw_openalex__works": raw(
            "openalex", "works", [oa("W9", title, [("A90", "Danyang Zhuo", OTHER_ORCID)])]
        ),
        "raw_semantic_scholar__papers": raw(
            "semantic_scholar", "papers", [s2("S9", title, [("77", "Danyang Zhuo")])]
        ),
    }
    res = resolve(raws)
    assert credited(res).height == 0
    assert flags(res, "source_id_conflict")["source"].to_list() == ["openalex"]
    assert flags(res, "namesake_on_paper")["source"].to_list() == ["semantic_scholar"]
    # The same paper without the ORCID: OpenAlex still files this "Danyang Zhuo" under A90, not
    # A1, and nothing but the name says A90 is a profile split off his. This test once credited
    # it (ORCID-less ids were let through as possible split profiles; on the resolution
    # benchmark that credited namesakes' papers to researchers who share their name). A split
    # profile now needs corroboration (see the split-profile tests below).
    raws["raw_openalex__works"] = raw(
        "openalex", "works", [oa("W9", title, [("A90", "Danyang Zhuo")])]
    )
    res = resolve(raws)
    assert credited(res).height == 0
    assert sorted(flags(res, "namesake_on_paper")["source"]) == ["openalex", "semantic_scholar"]


# --- split profiles: another id of the same source ------------------------------------------------

ANN_LEE, BO_CHEN = ("A5", "Ann Lee"), ("A6", "Bo Chen")


def _split_profile_works(*papers: tuple[str, str, list[Any]]) -> dict[str, pl.LazyFrame]:
    """Danyang Zhuo's own paper (his A1 and ORCID, with Ann Lee and Bo Chen) and `papers` (work
    id, title, people) in OpenAlex; the researcher is known by A1 and his ORCID."""
    own = oa("W1", "Serving Models On Phones", [("A1", "Danyang Zhuo", ORCID), ANN_LEE, BO_CHEN])
    return {
        "raw_openalex__works": raw(
            "openalex", "works", [own, *(oa(w, title, people) for w, title, people in papers)]
        )
    }


def test_split_profile_sharing_coauthors_is_the_researcher() -> None:
    # OpenAlex splits people: the same Danyang Zhuo, without his ORCID, under A90, writing
    # again with Ann Lee and Bo Chen (the same ids in both records); S2 lists the paper by name.
    title = "Batching Inference Requests On Edge Devices"
    raws = _split_profile_works(("W2", title, [("A90", "Danyang Zhuo"), ANN_LEE, BO_CHEN]))
    raws["raw_semantic_scholar__papers"] = raw(
        "semantic_scholar",
        "papers",
        [s2("S2", title, [("77", "Danyang Zhuo"), ("78", "Ann Lee"), ("79", "Bo Chen")])],
    )
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    xw = res["author_crosswalk"].filter(pl.col("rule") == "shared_coauthors")
    assert xw.select("source", "source_author_id", "confidence", "n_works").rows() == [
        ("openalex", "A90", 0.8, 1)
    ]
    rows = credited(res).sort("paper_id")
    assert rows.height == 2 and set(rows["match_rule"]) == {"watchlist_id", "crosswalk"}
    entries = res["author_xref"].filter(pl.col("author_id") == "danyang-zhuo")
    assert sorted(entries["source_author_id"]) == ["77", "A1", "A90"]
    assert res["resolution_flags"].filter(pl.col("kind") == "namesake_on_paper").height == 0


@pytest.mark.parametrize(
    ("coauthors", "why"),
    [
        ([("A8", "Cy Wu"), ("A9", "Di Xu")], "no co-author in common"),
        ([ANN_LEE, ("A9", "Di Xu")], "one co-author in common is a coincidence too often"),
        ([("A7", "Ann Lee"), BO_CHEN], "a namesake co-author: OpenAlex gives her another id"),
        ([("A5", "A. Lee"), BO_CHEN], "initials only"),
        ([(None, "Ann Lee"), BO_CHEN], None),
    ],
)
def test_same_named_id_of_a_source_that_knows_the_researcher_needs_corroboration(
    coauthors: list[tuple[str | None, str]], why: str | None
) -> None:
    title = "Wetland Carbon Fluxes Under Drought"
    raws = _split_profile_works(("W3", title, [("A91", "Danyang Zhuo"), *coauthors]))
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    papers = credited(res)["paper_id"].n_unique()
    if why is None:
        # Ann Lee without an id on the second paper: nothing says she is someone else
        assert papers == 2
        return
    assert papers == 1, why
    assert res["author_crosswalk"].filter(pl.col("source_author_id") == "A91").height == 0
    flagged = flags(res, "namesake_on_paper")
    assert flagged["detail"].str.contains("holds other ids").to_list() == [True]


def test_a_name_known_to_be_shared_needs_coauthors_in_common() -> None:
    # A91 is a namesake OpenAlex tells apart (another id): from then on the bare name "Danyang
    # Zhuo" on an id-less arXiv entry credits him only with two co-authors of his own papers, or
    # with half of the paper's other authors. One of four is not enough: a co-author can have
    # written with both namesakes.
    namesake = ("W3", "Wetland Carbon Fluxes Under Drought", [("A91", "Danyang Zhuo")])
    others = ["Cy Wu", "Di Xu", "Eva Roth"]
    preprints = [
        arxiv(
            "2601.00021", "Paging Attention Caches", ["Danyang Zhuo", "Ann Lee", "Bo Chen", *others]
        ),
        arxiv("2601.00022", "Coral Reef Acoustics At Night", ["Danyang Zhuo", "Cy Wu"]),
        arxiv("2601.00023", "Kelp Forest Sound Maps", ["Danyang Zhuo", "Ann Lee", *others]),
        arxiv("2601.00024", "Swapping Adapters On Phones", ["Danyang Zhuo", "Ann Lee"]),
    ]
    raws = _split_profile_works(namesake)
    raws["raw_arxiv__entries"] = raw("arxiv", "entries", preprints)
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    entries = res["author_xref"].filter(pl.col("author_id") == "danyang-zhuo")
    assert sorted(entries["source_work_id"]) == ["2601.00021", "2601.00024", "W1"]
    shared = flags(res, "name_shared")
    assert sorted(shared.select("entity_id", "source", "source_id").rows()) == [
        ("danyang-zhuo", "arxiv", "2601.00022"),
        ("danyang-zhuo", "arxiv", "2601.00023"),
    ]
    # without a namesake in the data the name is his alone: every preprint is credited
    raws = {**_split_profile_works(), "raw_arxiv__entries": raws["raw_arxiv__entries"]}
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    assert credited(res)["paper_id"].n_unique() == 5
    assert flags(res, "name_shared").height == 0


def test_a_coauthor_whose_name_is_several_peoples_is_no_evidence() -> None:
    # As above, the name "Danyang Zhuo" is shared (A91). OpenAlex also files an "Ann Lee" under
    # A92, not his co-author's A5: her name is two people's, so meeting an "Ann Lee" on an
    # id-less preprint says nothing, and "Bo Chen" alone is one co-author of four in common.
    namesake = ("W3", "Wetland Carbon Fluxes Under Drought", [("A91", "Danyang Zhuo")])
    other_ann = ("W4", "Soil Microbes In Alpine Meadows", [("A92", "Ann Lee")])
    names = ["Danyang Zhuo", "Ann Lee", "Bo Chen", "Cy Wu", "Di Xu"]
    preprint = arxiv("2601.00031", "Paging Attention Caches", names)
    raws = _split_profile_works(namesake, other_ann)
    raws["raw_arxiv__entries"] = raw("arxiv", "entries", [preprint])
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    entries = res["author_xref"].filter(pl.col("author_id") == "danyang-zhuo")
    assert sorted(entries["source_work_id"]) == ["W1"]
    assert flags(res, "name_shared")["source_id"].to_list() == ["2601.00031"]
    # without the other Ann Lee, both co-authors count and the preprint is his
    raws = _split_profile_works(namesake)
    raws["raw_arxiv__entries"] = raw("arxiv", "entries", [preprint])
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    entries = res["author_xref"].filter(pl.col("author_id") == "danyang-zhuo")
    assert sorted(entries["source_work_id"]) == ["2601.00031", "W1"]


def test_split_profile_coauthors_must_have_distinctive_names() -> None:
    # A90 shares Ann Lee and Bo Chen with the researcher's own paper, but another OpenAlex
    # "Ann Lee" (A93) makes hers a name of two people: one distinctive co-author is too few.
    title = "Batching Inference Requests On Edge Devices"
    split = ("W2", title, [("A90", "Danyang Zhuo"), ANN_LEE, BO_CHEN])
    raws = _split_profile_works(
        split, ("W4", "Soil Microbes In Alpine Meadows", [("A93", "Ann Lee")])
    )
    res = resolve(raws, [{**ZHUO, "orcid": ORCID}])
    assert res["author_crosswalk"].filter(pl.col("source_author_id") == "A90").height == 0
    assert credited(res)["paper_id"].n_unique() == 1
    # without the other Ann Lee, the same two co-authors link the split profile
    res = resolve(_split_profile_works(split), [{**ZHUO, "orcid": ORCID}])
    assert res["author_crosswalk"].filter(pl.col("source_author_id") == "A90").height == 1

"""Authors: watched researchers, their ids across sources, authorship lists and profiles.

Pure polars. Inputs are staged authorships (`transforms.model.stage_authorships`), the paper
cross-reference, the watchlist's researchers and the curated overrides.

Entity resolution of people, in three steps:
- Name keys (`transforms.normalize.match_keys`), computed once per distinct spelling: a full key
  that ignores word order, case, diacritics and script ("Zhuo, Danyang" = "DANYANG ZHUO" =
  "卓丹阳"), and a weak initials key ("d zhuo") that is all "D. Zhuo" / "Zhuo D" has.
- The crosswalk (`author_crosswalk`): which source author ids (and ORCID, profile URLs) are a
  watched researcher, by rule and confidence: watchlist ids, ORCID, co-authorship of the same
  works with an already linked id, shared co-authors (a split profile), unambiguous full
  name, overrides. Implausible profiles
  (blobs of thousands of works, or decades wider than a career) are flagged, never linked by name.
- Authorships (`build_authorships`): one author list per paper from the most complete source;
  a watched researcher is credited by crosswalked id, ORCID or full name (a name the data
  shows to be someone else's too: with two co-authors in common with their papers); an initials-only
  mention only when exactly one watched researcher has those initials and the paper is theirs by
  other evidence; names on huge author lists do not count; `not_author` overrides always win.
- People (`transforms.persons`): every author entry is clustered on its source ids and ORCID,
  names joining entries only on one paper; everyone not credited as a watched researcher is
  known by their person id, and `author_xref` says which person each entry is and why. An
  entry whose person holds ids of a source that knows a researcher's own id, none of them
  theirs, is not that researcher by name: a source's other id is another person unless
  something beyond the name (ORCID, the same work, shared co-authors, an override) puts that
  id in the crosswalk as a profile the source split off.
Everything doubtful lands in `resolution_flags` (entity "author") instead of being merged.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl

from transforms import normalize as norm
from transforms import persons
from transforms.overrides import match_refs, overrides_frame, work_refs
from transforms.schemas import flag_rows
from transforms.sources import raw_frame

# Whose author list becomes the paper's authorship list, among the untruncated ones: OpenAlex
# (ids, full names), then arXiv (full names as submitted), then Semantic Scholar (often initials
# only: "D. Zhuo"); every other source after these, then the longest list.
AUTHORSHIP_PRIORITY = {"openalex": 0, "arxiv": 1, "semantic_scholar": 2}

# A list this much shorter than another source's list of the same paper is truncated (DBLP and
# Crossref cut long lists; a stray editor or duplicate makes lists differ by one, not by a quarter).
SHORT_LIST_RATIO = 0.75
# Papers with more authors than this (consortia, "absorbed references") credit only by id/ORCID:
# with hundreds of names a namesake is likelier than not.
HUGE_AUTHOR_LIST = 100
# A single researcher's profile with more works than this is a merge of namesakes (the most
# prolific computer scientists have ~1000-1500 records in DBLP).
MAX_PROFILE_WORKS = 1500
# ... or whose works span more years than a career does.
MAX_PROFILE_SPAN_YEARS = 60

# Co-authors (by full name, no contradicting ids) an id under a researcher's name must share
# with the researcher's own papers to be a profile the source split off (rule shared_coauthors).
MIN_SHARED_COAUTHORS = 2
# ... and a bare name known to be someone else's too must share with the researcher's papers to
# credit its one paper: the same bar as above (one co-author of six, who wrote with both
# namesakes, credited a namesake's arXiv-only paper at 25k synthetic works), or half of the
# paper's other authors (one co-author of two: a small team the researcher works with).
MIN_COAUTHORS_OF_SHARED_NAME = MIN_SHARED_COAUTHORS

# Confidence of each crosswalk rule; match_confidence of each authorship rule.
CONFIDENCE = {
    "watchlist": 1.0,
    "override_alias": 1.0,
    "orcid": 0.99,
    "coauthored_full_2": 0.95,  # >= 2 shared works, full-name agreement
    "coauthored_1": 0.8,  # 1 shared work with full name, or >= 2 with initials only
    "name": 0.7,  # source profile with the same (unambiguous) full name
    # another id of a source that knows the researcher's own, under their full name, on a
    # paper sharing a co-author with the researcher's: a profile the source split off
    "shared_coauthors": 0.8,
}
MATCH_CONFIDENCE = {"name": 0.9, "initials": 0.75}
# own_profile: the owner's initials on their own profile page (the page vouches for the person)
MATCH_CONFIDENCE["own_profile"] = 0.85

CROSSWALK_SCHEMA: dict[str, Any] = {
    "author_id": pl.String,
    "source": pl.String,
    "source_author_id": pl.String,
    "source_name": pl.String,
    "orcid": pl.String,
    "rule": pl.String,
    "confidence": pl.Float64,
    "n_works": pl.Int32,
}

_ORCID = r"(\d{4}-\d{4}-\d{4}-\d{3}[\dXx])"


def _raw(raw: dict[str, pl.LazyFrame], slug: str, entity: str) -> pl.LazyFrame:
    return raw_frame(raw, slug, entity)


def _priority(col: str, order: dict[str, int]) -> pl.Expr:
    return pl.col(col).replace_strict(order, default=99, return_dtype=pl.Int32)


def _orcid(expr: pl.Expr) -> pl.Expr:
    """Bare upper-case ORCID from `https://orcid.org/…` or the bare form."""
    return expr.str.extract(_ORCID, 1).str.to_uppercase()


def _flags(lf: pl.LazyFrame, keep: tuple[str, ...] = (), **cols: pl.Expr) -> pl.LazyFrame:
    """Author flags (FLAG_SCHEMA), then the `keep` columns."""
    return flag_rows(lf, "author", keep, **cols)


# The in-memory engine: on these joins, windows and string `unique`s polars 2.1's default
# streaming engine took 2-3x as long at 50k works on 2 busy cores (one step, `_mentions`:
# 1.6-3.3 s vs 0.7 s); every output frame was the same, row for row.
_ENGINE: Final = "in-memory"


def _collect_all(frames: list[pl.LazyFrame]) -> list[pl.LazyFrame]:
    """Collect frames that share parts of their plans together (each shared part runs once)."""
    return [f.lazy() for f in pl.collect_all(frames, engine=_ENGINE)]


def _eager(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Materialise an intermediate used by many branches: keeps the query plans small (each
    branch would otherwise re-plan and re-run the whole chain, name parsing included)."""
    return lf.collect(engine=_ENGINE).lazy()


# Watchlist id columns of a researcher -> the source whose author ids they are.
_RESEARCHER_ID_COLUMNS = {
    "openalex_ids": "openalex",
    "s2_ids": "semantic_scholar",
    "scholar_feed_ids": "scholar_feed",
    "dblp_pids": "dblp",
}


def researchers_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    """Watched researchers: researcher_id, display_name, names, orcid and their source ids
    (openalex_ids, s2_ids, scholar_feed_ids, dblp_pids; missing columns are empty)."""
    schema: dict[str, Any] = {
        "researcher_id": pl.String,
        "display_name": pl.String,
        "names": pl.List(pl.String),
        "orcid": pl.String,
        **{c: pl.List(pl.String) for c in _RESEARCHER_ID_COLUMNS},
    }
    return pl.LazyFrame(
        [{**{c: [] for c in _RESEARCHER_ID_COLUMNS}, **r} for r in rows], schema=schema
    )


# --- names ----------------------------------------------------------------------------------------


def _name_keys(names: pl.LazyFrame, col: str) -> pl.LazyFrame:
    """Distinct names of `col` -> (col, full_keys, initials_keys, initials_only): the Python
    name parsing runs once per spelling."""
    return (
        names.select(col)
        .unique()
        .drop_nulls()
        .with_columns(k=norm.packed_name_keys(pl.col(col)))
        .with_columns(k=norm.unpack_name_keys(pl.col("k")))
        .select(
            col,
            full_keys=pl.col("k").struct.field("full_keys"),
            initials_keys=pl.col("k").struct.field("initials_keys"),
            initials_only=pl.col("k").struct.field("initials_only"),
        )
    )


def _overrides(overrides: pl.LazyFrame | None, kind: str) -> pl.LazyFrame:
    lf = overrides if overrides is not None else overrides_frame()
    return lf.filter(pl.col("kind") == kind)


def _researcher_names(researchers: pl.LazyFrame, overrides: pl.LazyFrame | None) -> pl.LazyFrame:
    """(researcher_id, name, via): watchlist names and aliases ("name"), override aliases."""
    listed = (
        researchers.select("researcher_id", name="names")
        .explode("name")
        .with_columns(via=pl.lit("name"))
    )
    aliases = (
        _overrides(overrides, "alias")
        .select("researcher_id", name="names")
        .explode("name")
        .with_columns(via=pl.lit("override_alias"))
    )
    extra = researchers.select("researcher_id", name="display_name", via=pl.lit("name"))
    return pl.concat([listed, extra, aliases]).drop_nulls().unique()


def _researcher_keys(
    researchers: pl.LazyFrame, overrides: pl.LazyFrame | None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(full, initials): full keys (key, researcher_id, via, n) and initials keys (ikey,
    researcher_id, n); n = how many watched researchers share the key."""
    names = _researcher_names(researchers, overrides)
    keyed = names.join(_name_keys(names, "name"), on="name")
    keyed = _eager(keyed)
    full = (
        keyed.select("researcher_id", "via", key="full_keys")
        .explode("key")
        .drop_nulls("key")
        .group_by("key", "researcher_id")
        .agg(via=pl.col("via").min())  # "name" before "override_alias"
        .with_columns(n=pl.col("researcher_id").n_unique().over("key").cast(pl.Int32))
    )
    initials = (
        keyed.select("researcher_id", ikey="initials_keys")
        .explode("ikey")
        .drop_nulls("ikey")
        .unique()
        .with_columns(n=pl.col("researcher_id").n_unique().over("ikey").cast(pl.Int32))
    )
    return full, initials


def _researcher_orcids(researchers: pl.LazyFrame, overrides: pl.LazyFrame | None) -> pl.LazyFrame:
    """(orcid, researcher_id, rule): the watchlist ORCID and override alias "orcid:…" ids."""
    alias = (
        _overrides(overrides, "alias")
        .select("researcher_id", i="ids")
        .explode("i")
        .filter(pl.col("i").str.starts_with("orcid:"))
        .select(
            orcid=_orcid(pl.col("i")), researcher_id="researcher_id", rule=pl.lit("override_alias")
        )
    )
    listed = researchers.select(
        orcid=_orcid(pl.col("orcid")), researcher_id="researcher_id", rule=pl.lit("watchlist")
    )
    return pl.concat([listed, alias]).drop_nulls().unique(["orcid", "researcher_id"], keep="first")


# --- source profiles ------------------------------------------------------------------------------


def _profiles(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Author profiles the sources returned: source, source_author_id, source_name, names (all
    spellings), orcid, works_count, span_years (first to last year of activity, when known)."""
    oa = _raw(raw, "openalex", "authors")
    years = pl.col("counts_by_year").list.eval(pl.element().struct.field("year"))
    frames = [
        oa.select(
            source=pl.lit("openalex"),
            source_author_id="author_id",
            source_name="display_name",
            names=pl.concat_list(
                pl.col("display_name"), pl.col("display_name_alternatives").fill_null([])
            ),
            orcid=_orcid(pl.col("orcid")),
            works_count="works_count",
            span_years=(years.list.max() - years.list.min() + 1).cast(pl.Int64),
        ),
        _raw(raw, "semantic_scholar", "authors").select(
            source=pl.lit("semantic_scholar"),
            source_author_id="author_id",
            source_name="name",
            names=pl.concat_list(pl.col("name"), pl.col("aliases").fill_null([])),
            orcid=_orcid(pl.col("orcid")),
            works_count="paper_count",
            span_years=pl.lit(None, pl.Int64),
        ),
        # full Scholar Feed profiles only: discover results include namesakes
        _raw(raw, "scholar_feed", "authors")
        .filter(pl.col("from_profile"))
        .select(
            source=pl.lit("scholar_feed"),
            source_author_id="author_id",
            source_name="name",
            names=pl.concat_list(pl.col("name")),
            orcid=pl.lit(None, pl.String),
            works_count="paper_count",
            span_years="years_active",
        ),
        _raw(raw, "dblp", "persons").select(
            source=pl.lit("dblp"),
            source_author_id="pid",
            source_name="name",
            names=pl.concat_list(pl.col("name"), pl.col("aliases").fill_null([])),
            orcid=_orcid(pl.col("orcid")),
            works_count="publication_count",
            span_years=pl.lit(None, pl.Int64),
        ),
    ]
    return (
        pl.concat(frames)
        .drop_nulls("source_author_id")
        # raw rows come in no fixed order: the same profile seen twice keeps one by content
        .sort(
            "source",
            "source_author_id",
            pl.col("works_count").fill_null(-1),
            "source_name",
            descending=[False, False, True, False],
        )
        .unique(["source", "source_author_id"], keep="first", maintain_order=True)
    )


def _implausible(works_count: pl.Expr, span_years: pl.Expr) -> pl.Expr:
    return (works_count.fill_null(0) > MAX_PROFILE_WORKS) | (
        span_years.fill_null(0) > MAX_PROFILE_SPAN_YEARS
    )


# --- mentions -------------------------------------------------------------------------------------


def _records(xref: pl.LazyFrame, works: pl.LazyFrame | None) -> pl.LazyFrame:
    """(paper_id, source, source_work_id, doi, arxiv_id, year) per source record."""
    base = xref.select("paper_id", "source", "source_work_id")
    have = xref.collect_schema().names()
    if works is not None:
        return base.join(
            works.select("source", "source_work_id", "doi", "arxiv_id", "year"),
            on=["source", "source_work_id"],
            how="left",
        )
    return base.with_columns(
        doi=pl.col("doi") if "doi" in have else pl.lit(None, pl.String),
        arxiv_id=pl.col("arxiv_id") if "arxiv_id" in have else pl.lit(None, pl.String),
        year=pl.col("year").cast(pl.Int32) if "year" in have else pl.lit(None, pl.Int32),
    ).select("paper_id", "source", "source_work_id", "doi", "arxiv_id", "year")


_KEY_COLUMNS = ("full_keys", "initials_keys", "initials_only")


def _mentions(staged: pl.LazyFrame, xref: pl.LazyFrame) -> pl.LazyFrame:
    """Staged authorships on papers, with name keys and per-list facts: n_listed (names on the
    record's list), marked (the list says it is cut: "et al.", "others"), huge (some record
    of the paper lists more than HUGE_AUTHOR_LIST names)."""
    have = staged.collect_schema().names()
    parsed = [c for c in ("display_name", "name_key") if c in have]
    # the matching keys of each spelling, when staging has them (`model.name_parts`)
    given = list(_KEY_COLUMNS) if set(_KEY_COLUMNS) <= set(have) else []
    rows = staged.select(
        "source", "source_work_id", "position", "source_author_id", "raw_name", "orcid", *parsed
    ).join(xref.select("paper_id", "source", "source_work_id"), on=["source", "source_work_id"])
    names = (
        staged.select("raw_name", *parsed, *given)
        .unique("raw_name")
        .with_columns(
            marker=pl.col("raw_name").str.contains(norm.TRUNCATION_MARKER),
            et_al=pl.col("raw_name").str.contains(norm.ET_AL_SUFFIX),
        )
    )
    # display name and key (stage_authorships has them) again for "C. Lee et al." as "C. Lee"
    reparse = pl.col("et_al") if len(parsed) == 2 else pl.lit(True)
    fixed = (
        names.filter(reparse)
        .select(
            "raw_name",
            p=norm.name_parts(
                pl.col("raw_name").map_elements(norm.strip_et_al, return_dtype=pl.String)
            ),
        )
        .select(
            "raw_name",
            d2=pl.col("p").struct.field("display"),
            k2=pl.col("p").struct.field("key"),
        )
    )
    names = (
        names.join(fixed, on="raw_name", how="left")
        .with_columns(
            display_name=pl.coalesce("d2", *(["display_name"] if parsed else [])),
            name_key=pl.coalesce("k2", *(["name_key"] if parsed else [])),
        )
        .drop("d2", "k2")
    )
    rows = rows.drop(parsed)
    if given:
        keyed = names.filter(~pl.col("marker") & pl.col("raw_name").is_not_null()).select(
            "raw_name", *given
        )
        names = names.drop(given)
    else:
        keyed = _name_keys(names.filter(~pl.col("marker")), "raw_name")
    record = ["source", "source_work_id"]
    return (
        rows.join(names, on="raw_name", how="left")
        .with_columns(
            marked=(pl.col("marker") | pl.col("et_al")).any().over(record),
            orcid=_orcid(pl.col("orcid")),
        )
        .filter(~pl.col("marker"))
        .join(keyed, on="raw_name", how="left")
        .with_columns(n_listed=pl.len().over(record).cast(pl.Int32))
        .with_columns(huge=pl.col("n_listed").max().over("paper_id") > HUGE_AUTHOR_LIST)
        .drop("marker", "et_al")
    )


# --- crosswalk ------------------------------------------------------------------------------------


def _watchlist_links(
    raw: dict[str, pl.LazyFrame], researchers: pl.LazyFrame, orcids: pl.LazyFrame
) -> pl.LazyFrame:
    """(researcher_id, source, source_author_id, rule="watchlist"): the watchlist's own ids,
    its ORCID and the profile pages (recipes), which name their researcher themselves."""
    explicit = pl.concat(
        [
            researchers.select("researcher_id", ids=column)
            .explode("ids")
            .with_columns(source=pl.lit(source))
            for column, source in _RESEARCHER_ID_COLUMNS.items()
        ]
    ).select("researcher_id", "source", source_author_id="ids")
    watch_orcid = orcids.filter(pl.col("rule") == "watchlist").select(
        "researcher_id", source=pl.lit("orcid"), source_author_id="orcid"
    )
    pages = _raw(raw, "profiles", "metrics").select(
        "researcher_id", source=pl.lit("profiles"), source_author_id="profile_url"
    )
    return pl.concat([explicit, watch_orcid, pages]).with_columns(rule=pl.lit("watchlist"))


def _alias_links(overrides: pl.LazyFrame | None) -> pl.LazyFrame:
    """Links of `alias` overrides' "<source>:<id>" ids (rule "override_alias")."""
    return (
        _overrides(overrides, "alias")
        .select("researcher_id", i="ids")
        .explode("i")
        .drop_nulls("i")
        .select(
            "researcher_id",
            source=pl.col("i").str.extract(r"^([^:]+):", 1),
            source_author_id=pl.col("i").str.replace(r"^[^:]+:", ""),
            rule=pl.lit("override_alias"),
        )
        .with_columns(
            source_author_id=pl.when(pl.col("source") == "orcid")
            .then(_orcid(pl.col("source_author_id")))
            .otherwise(pl.col("source_author_id"))
        )
    )


def _orcid_links(
    profiles: pl.LazyFrame, staged_ids: pl.LazyFrame | None, orcids: pl.LazyFrame
) -> pl.LazyFrame:
    """Source ids that come with a researcher's ORCID: source profiles and author entries."""
    with_orcid = pl.concat(
        [
            profiles.select("source", "source_author_id", "orcid"),
            *(
                [staged_ids.select("source", "source_author_id", "orcid")]
                if staged_ids is not None
                else []
            ),
        ]
    ).drop_nulls()
    return with_orcid.join(orcids.select("orcid", "researcher_id"), on="orcid").select(
        "researcher_id", "source", "source_author_id", rule=pl.lit("orcid")
    )


def _orcid_conflict(orcids: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.Expr]:
    """(researcher_id, r_orcids) and the expression: a profile ORCID that is none of them."""
    conflict = (
        pl.col("orcid").is_not_null()
        & pl.col("r_orcids").is_not_null()
        & ~pl.col("orcid").is_in(pl.col("r_orcids").fill_null([]))
    )
    return orcids.group_by("researcher_id").agg(r_orcids=pl.col("orcid")), conflict


def _profile_name_links(
    profiles: pl.LazyFrame, strong_ids: pl.LazyFrame, full: pl.LazyFrame, orcids: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(links, flags) of the name rule: a profile not linked otherwise whose name (any
    spelling) has the full key of exactly one researcher, unless its ORCID conflicts, it is
    implausible, or the source has several such profiles for the researcher."""
    named = (
        profiles.join(strong_ids, on=["source", "source_author_id"], how="anti")
        .select(
            "source",
            "source_author_id",
            "source_name",
            "orcid",
            "works_count",
            "span_years",
            name="names",
        )
        .explode("name")
        .drop_nulls("name")
    )
    r_orcids, conflict = _orcid_conflict(orcids)
    named = (
        named.join(_name_keys(named, "name"), on="name")
        .explode("full_keys")
        .join(full.filter(pl.col("n") == 1), left_on="full_keys", right_on="key")
        .unique(["source", "source_author_id", "researcher_id"])
        .join(r_orcids, on="researcher_id", how="left")
    )
    implausible = _implausible(pl.col("works_count"), pl.col("span_years"))
    # namesakes: one source returning several same-named profiles for one researcher
    fine = ~(conflict.fill_null(False) | implausible)
    namesakes = fine.cast(pl.Int32).sum().over("source", "researcher_id") > 1
    named = named.with_columns(
        why=pl.when(conflict)
        .then(pl.lit("orcid_conflict"))
        .when(implausible)
        .then(pl.lit("implausible_profile"))
        .when(namesakes)
        .then(pl.lit("name_ambiguous"))
    )
    links = named.filter(pl.col("why").is_null()).select(
        "researcher_id", "source", "source_author_id", rule=pl.lit("name")
    )
    flags = _flags(
        named.filter(pl.col("why").is_not_null()),
        kind=pl.col("why"),
        entity_id=pl.col("researcher_id"),
        source=pl.col("source"),
        source_id=pl.col("source_author_id"),
        detail=pl.format(
            "profile '{}' (orcid {}, {} works, {} years) not linked by name",
            pl.col("source_name"),
            pl.col("orcid").fill_null("-"),
            pl.col("works_count").cast(pl.String).fill_null("?"),
            pl.col("span_years").cast(pl.String).fill_null("?"),
        ),
    )
    return links, flags


def _watchlist_id_conflicts(
    strong: pl.LazyFrame, profiles: pl.LazyFrame, orcids: pl.LazyFrame
) -> pl.LazyFrame:
    """The watchlist's own ids are kept whatever they say, but a contradicting ORCID is
    flagged."""
    r_orcids, conflict = _orcid_conflict(orcids)
    clashing = (
        strong.filter(pl.col("rule") == "watchlist")
        .join(profiles, on=["source", "source_author_id"])
        .join(r_orcids, on="researcher_id")
        .filter(conflict)
    )
    return _flags(
        clashing,
        kind=pl.lit("orcid_conflict"),
        entity_id=pl.col("researcher_id"),
        source=pl.col("source"),
        source_id=pl.col("source_author_id"),
        detail=pl.format(
            "watchlist id's profile '{}' has ORCID {}", pl.col("source_name"), pl.col("orcid")
        ),
    )


def _seed_links(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    overrides: pl.LazyFrame | None,
    staged_ids: pl.LazyFrame | None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(links, flags) of the rules that need no co-authorship: watchlist, override_alias,
    orcid, name. Links: author_id, source, source_author_id, rule, confidence."""
    full, _ = _researcher_keys(researchers, overrides)
    orcids = _researcher_orcids(researchers, overrides)
    profiles = _profiles(raw)
    strong = pl.concat(
        [
            _watchlist_links(raw, researchers, orcids),
            _alias_links(overrides),
            _orcid_links(profiles, staged_ids, orcids),
        ]
    ).drop_nulls(["researcher_id", "source", "source_author_id"])
    strong_ids = strong.select("source", "source_author_id").unique()
    by_name, flags = _profile_name_links(profiles, strong_ids, full, orcids)
    flags = pl.concat([flags, _watchlist_id_conflicts(strong, profiles, orcids)])
    links = pl.concat([strong, by_name]).with_columns(
        confidence=pl.col("rule").replace_strict(CONFIDENCE, return_dtype=pl.Float64),
        n_works=pl.lit(None, pl.Int32),
    )
    return links, flags


def _coauthored(
    links: pl.LazyFrame,
    mentions: pl.LazyFrame,
    full: pl.LazyFrame,
    initials: pl.LazyFrame,
    orcids: pl.LazyFrame,
    profiles: pl.LazyFrame,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Source author ids seen on the same papers as an already linked id of a researcher, under
    a name compatible with that researcher's (full key, or initials key when initials only)."""
    linked = (
        mentions.join(
            links.select("researcher_id", "source", "source_author_id"),
            on=["source", "source_author_id"],
        )
        .select("paper_id", "researcher_id", l_source="source", l_work="source_work_id")
        .unique()
    )
    known = links.select("source", "source_author_id").unique()
    cand = (
        mentions.filter(pl.col("source_author_id").is_not_null() & ~pl.col("huge"))
        .join(known, on=["source", "source_author_id"], how="anti")
        .join(linked, on="paper_id")
        # the linked mention's own record lists the researcher already: another entry is a coauthor
        .filter(
            ~(
                (pl.col("l_source") == pl.col("source"))
                & (pl.col("l_work") == pl.col("source_work_id"))
            )
        )
        .drop("l_source", "l_work")
        .unique(["source", "source_work_id", "position", "researcher_id"])
    )
    fk = (
        cand.select("source", "source_work_id", "position", "researcher_id", key="full_keys")
        .explode("key")
        .join(full.select("key", "researcher_id"), on=["key", "researcher_id"])
        .select("source", "source_work_id", "position", "researcher_id", full_ok=pl.lit(True))
        .unique()
    )
    ik = (
        cand.filter(pl.col("initials_only"))
        .select("source", "source_work_id", "position", "researcher_id", ikey="initials_keys")
        .explode("ikey")
        .join(initials.select("ikey", "researcher_id"), on=["ikey", "researcher_id"])
        .select("source", "source_work_id", "position", "researcher_id", init_ok=pl.lit(True))
        .unique()
    )
    pos = ["source", "source_work_id", "position", "researcher_id"]
    ok = (
        cand.join(fk, on=pos, how="left")
        .join(ik, on=pos, how="left")
        .filter(pl.col("full_ok").fill_null(False) | pl.col("init_ok").fill_null(False))
        .pipe(_orcid_compatible, orcids)
        # two compatible entries on one record: cannot tell which one is the researcher
        .filter(pl.len().over("source", "source_work_id", "researcher_id") == 1)
    )
    support = ok.group_by("researcher_id", "source", "source_author_id").agg(
        n_works=pl.col("paper_id").n_unique().cast(pl.Int32),
        n_full=pl.col("paper_id").filter(pl.col("full_ok").fill_null(False)).n_unique(),
    )
    support = support.join(
        profiles.select("source", "source_author_id", "source_name", "works_count", "span_years"),
        on=["source", "source_author_id"],
        how="left",
    )
    confidence = (
        pl.when(pl.col("n_full") >= 2)
        .then(CONFIDENCE["coauthored_full_2"])
        .when((pl.col("n_full") >= 1) | (pl.col("n_works") >= 2))
        .then(CONFIDENCE["coauthored_1"])
    )
    implausible = pl.col("works_count").fill_null(0) > MAX_PROFILE_WORKS
    support = support.with_columns(confidence=confidence)
    out = support.filter(pl.col("confidence").is_not_null() & ~implausible).select(
        "researcher_id",
        "source",
        "source_author_id",
        rule=pl.lit("coauthored_works"),
        confidence="confidence",
        n_works="n_works",
    )
    flags = _flags(
        support.filter(implausible),
        kind=pl.lit("implausible_profile"),
        entity_id=pl.col("researcher_id"),
        source=pl.col("source"),
        source_id=pl.col("source_author_id"),
        detail=pl.format(
            "profile '{}' with {} works shares {} works with the researcher: not linked",
            pl.col("source_name"),
            pl.col("works_count"),
            pl.col("n_works"),
        ),
    )
    return out, flags


def _ambiguous_keys(mentions: pl.LazyFrame) -> pl.LazyFrame:
    """(key): full-name keys held by different people somewhere in the data: two author ids of
    one source, or two ORCIDs. A co-author of such a name ("Wei Wang") is met by chance on a
    namesake's papers too, so it is no evidence of who the author beside it is."""
    keyed = (
        mentions.select(key="full_keys", source="source", sid="source_author_id", orcid="orcid")
        .explode("key")
        .drop_nulls("key")
    )
    by_id = (
        keyed.drop_nulls("sid")
        .group_by("key", "source")
        .agg(n=pl.col("sid").n_unique())
        .filter(pl.col("n") >= 2)
        .select("key")
    )
    by_orcid = (
        keyed.drop_nulls("orcid")
        .group_by("key")
        .agg(n=pl.col("orcid").n_unique())
        .filter(pl.col("n") >= 2)
        .select("key")
    )
    return pl.concat([by_id, by_orcid]).unique()


def _orcid_compatible(lf: pl.LazyFrame, orcids: pl.LazyFrame) -> pl.LazyFrame:
    """Rows (researcher_id, orcid) whose ORCID is none, or one of the researcher's, or the
    researcher has none; with the researcher's ORCIDs as `r_orcids`."""
    return lf.join(
        orcids.group_by("researcher_id").agg(r_orcids=pl.col("orcid")),
        on="researcher_id",
        how="left",
    ).filter(
        pl.col("orcid").is_null()
        | pl.col("r_orcids").is_null()
        | pl.col("orcid").is_in(pl.col("r_orcids").fill_null([]))
    )


def _common_coauthors(
    cand: pl.LazyFrame,
    anchored: pl.LazyFrame,
    mentions: pl.LazyFrame,
    own: pl.LazyFrame,
    by: list[str],
) -> pl.LazyFrame:
    """(*by, paper_id, key): co-authors (full-name keys, the researcher's own names excepted)
    that a candidate paper (`cand`: paper_id, researcher_id, ...) shares with another paper of
    `anchored` (paper_id, researcher_id), unless the two entries carry different ids of one
    source (namesake co-authors). Initials say too little and huge lists too much: neither
    counts, nor does a name the data shows to be several people's (`_ambiguous_keys`)."""
    # only the papers of `cand` and `anchored` are looked up: the others' names are not needed
    papers = pl.concat([cand.select("paper_id"), anchored.select("paper_id")]).unique()
    names = (
        mentions.filter(~pl.col("huge") & ~pl.col("initials_only").fill_null(False))
        .join(papers, on="paper_id", how="semi")
        .select("paper_id", "full_keys", c_source="source", c_id="source_author_id")
        .explode("full_keys")
        .drop_nulls("full_keys")
        .rename({"full_keys": "key"})
        .unique()
        .join(_ambiguous_keys(mentions), on="key", how="anti")
    )
    own = own.select("key", "researcher_id")

    def coauthors(papers: pl.LazyFrame) -> pl.LazyFrame:
        return papers.join(names, on="paper_id").join(own, on=["key", "researcher_id"], how="anti")

    theirs = coauthors(anchored.select("paper_id", "researcher_id")).rename(
        {"paper_id": "a_paper", "c_source": "a_source", "c_id": "a_id"}
    )
    keys = list(dict.fromkeys([*by, "paper_id", "a_paper", "key"]))
    return (
        coauthors(cand.select(*dict.fromkeys([*by, "paper_id"])))
        .join(theirs, on=["researcher_id", "key"])
        .filter(pl.col("paper_id") != pl.col("a_paper"))
        .with_columns(
            clash=(pl.col("c_source") == pl.col("a_source"))
            & (pl.col("c_id") != pl.col("a_id")).fill_null(False)
        )
        .group_by(keys)
        .agg(clash=pl.col("clash").any())
        .filter(~pl.col("clash"))
        .select(*dict.fromkeys([*by, "paper_id", "key"]))
        .unique()
    )


def _shared_coauthor_links(
    links: pl.LazyFrame,
    mentions: pl.LazyFrame,
    full: pl.LazyFrame,
    orcids: pl.LazyFrame,
    profiles: pl.LazyFrame,
) -> pl.LazyFrame:
    """Rule `shared_coauthors`: a source author id under the researcher's full name, on papers
    none of the researcher's ids is on, sharing MIN_SHARED_COAUTHORS co-authors (by full name;
    not when the two entries carry different ids of one source) with papers where a source
    lists the researcher's own id (watchlist, ORCID, override). That is how a profile a source split off
    the researcher (OpenAlex and S2 split people) shows itself; a namesake works with others."""
    known = links.filter(pl.col("rule").is_in(_KNOWN_RULES))
    anchored = pl.concat(
        [
            mentions.join(
                known.select("researcher_id", "source", "source_author_id"),
                on=["source", "source_author_id"],
            ).select("paper_id", "researcher_id"),
            mentions.join(orcids, on="orcid").select("paper_id", "researcher_id"),
        ]
    ).unique()
    unique_names = full.filter(pl.col("n") == 1).select("key", "researcher_id")
    cand = (
        mentions.filter(pl.col("source_author_id").is_not_null() & ~pl.col("huge"))
        .join(
            links.select("source", "source_author_id").unique(),
            on=["source", "source_author_id"],
            how="anti",
        )
        .select("paper_id", "source", "source_author_id", "orcid", key="full_keys")
        .explode("key")
        .join(unique_names, on="key")
        .drop("key")
        .unique()
        # only where the name alone is vetoed: a source that knows the researcher's own id
        .join(known.select("researcher_id", "source").unique(), on=["researcher_id", "source"])
        .join(anchored, on=["paper_id", "researcher_id"], how="anti")
        .pipe(_orcid_compatible, orcids)
        .drop("orcid", "r_orcids")
    )
    pairs = _common_coauthors(
        cand, anchored, mentions, unique_names, ["researcher_id", "source", "source_author_id"]
    )
    # two co-authors in common at least: one is a common coincidence (a prolific co-author
    # writes with namesakes too; on the resolution benchmark one shared co-author linked
    # namesakes' ids more often than not)
    support = (
        pairs.group_by("researcher_id", "source", "source_author_id")
        .agg(
            n_works=pl.col("paper_id").n_unique().cast(pl.Int32),
            n_coauthors=pl.col("key").n_unique(),
        )
        .filter(pl.col("n_coauthors") >= MIN_SHARED_COAUTHORS)
        .join(
            profiles.select("source", "source_author_id", "works_count", "span_years"),
            on=["source", "source_author_id"],
            how="left",
        )
        .filter(~_implausible(pl.col("works_count"), pl.col("span_years")))
    )
    return support.select(
        "researcher_id",
        "source",
        "source_author_id",
        rule=pl.lit("shared_coauthors"),
        confidence=pl.lit(CONFIDENCE["shared_coauthors"]),
        n_works="n_works",
    )


def _crosswalk(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    staged: pl.LazyFrame | None = None,
    xref: pl.LazyFrame | None = None,
    overrides: pl.LazyFrame | None = None,
    mentions: pl.LazyFrame | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    if mentions is None and staged is not None and xref is not None:
        mentions = _eager(_mentions(staged, xref))
    staged_ids = (
        mentions.filter(pl.col("source_author_id").is_not_null()) if mentions is not None else None
    )
    links, flags = _seed_links(raw, researchers, overrides, staged_ids)
    links = _eager(links)
    profiles = _eager(_profiles(raw))
    if mentions is not None:
        full, initials = _researcher_keys(researchers, overrides)
        orcids = _researcher_orcids(researchers, overrides)
        co, co_flags = _coauthored(links, mentions, full, initials, orcids, profiles)
        shared = _shared_coauthor_links(links, mentions, full, orcids, profiles)
        links = pl.concat([links, co, shared])
        flags = pl.concat([flags, co_flags])
    # one source id is one person: the most confident link wins; a tie between two researchers
    # is a conflict, flagged and not linked
    best = (
        links.group_by("researcher_id", "source", "source_author_id")
        .agg(pl.all().sort_by("confidence", "rule", descending=[True, False]).first())
        .with_columns(top=pl.col("confidence").max().over("source", "source_author_id"))
        .filter(pl.col("confidence") == pl.col("top"))
        .with_columns(n=pl.len().over("source", "source_author_id"))
    )
    flags = pl.concat(
        [
            flags,
            _flags(
                best.filter(pl.col("n") > 1),
                kind=pl.lit("crosswalk_conflict"),
                entity_id=pl.col("researcher_id"),
                source=pl.col("source"),
                source_id=pl.col("source_author_id"),
                detail=pl.format(
                    "id claimed by several researchers at confidence {}", pl.col("confidence")
                ),
            ),
        ]
    )
    names = profiles.select("source", "source_author_id", "source_name", p_orcid="orcid")
    if staged_ids is not None:
        # the names and ORCIDs the entries give, of the linked ids only
        seen = (
            staged_ids.join(
                best.select("source", "source_author_id"),
                on=["source", "source_author_id"],
                how="semi",
            )
            .group_by("source", "source_author_id")
            .agg(
                m_name=pl.col("display_name").mode().sort().first(),
                m_orcid=pl.col("orcid").drop_nulls().mode().sort().first(),
            )
        )
    else:
        seen = pl.LazyFrame(
            schema={
                "source": pl.String,
                "source_author_id": pl.String,
                "m_name": pl.String,
                "m_orcid": pl.String,
            }
        )
    out = (
        best.filter(pl.col("n") == 1)
        .join(names, on=["source", "source_author_id"], how="left")
        .join(seen, on=["source", "source_author_id"], how="left")
        .select(
            author_id="researcher_id",
            source="source",
            source_author_id="source_author_id",
            source_name=pl.coalesce("source_name", "m_name"),
            orcid=pl.when(pl.col("source") == "orcid")
            .then(pl.col("source_author_id"))
            .otherwise(pl.coalesce("p_orcid", "m_orcid")),
            rule="rule",
            confidence="confidence",
            n_works="n_works",
        )
        .select([pl.col(c).cast(t) for c, t in CROSSWALK_SCHEMA.items()])
        .sort("author_id", "source", "source_author_id")
    )
    return out, flags


def author_crosswalk(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    staged: pl.LazyFrame | None = None,
    xref: pl.LazyFrame | None = None,
    overrides: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Which source author ids (and ORCID, profile URLs) are which watched researcher, with rule
    and confidence (CROSSWALK_SCHEMA). Without staged authorships and xref the co-authorship
    rule is skipped."""
    return _crosswalk(raw, researchers, staged, xref, overrides)[0]


def watched_author_ids(raw: dict[str, pl.LazyFrame], researchers: pl.LazyFrame) -> pl.LazyFrame:
    """The crosswalk from the watchlist, ORCID and profile names only (no co-authorship)."""
    return author_crosswalk(raw, researchers)


# --- authorships ----------------------------------------------------------------------------------


def _with_mid(mentions: pl.LazyFrame) -> pl.LazyFrame:
    """Mentions with `mid`, an entry id stable whatever order the lazy joins produce rows in."""
    return _eager(
        mentions.with_columns(
            mid=pl.concat_str(
                "source",
                "source_work_id",
                pl.col("position").cast(pl.String).fill_null("?"),
                separator="\x1f",
            )
        )
    )


def _candidates(
    mentions: pl.LazyFrame,
    crosswalk: pl.LazyFrame,
    full: pl.LazyFrame,
    initials: pl.LazyFrame,
    orcids: pl.LazyFrame,
) -> pl.LazyFrame:
    """Each mention with the watched researcher it may be, by 1. crosswalked source id
    (rid_id), 2. ORCID (rid_orcid), 3. full name unambiguous among watched researchers
    (rid_name), 4. initials only (rid_init: candidates, n_init: researchers sharing them)."""
    xw = crosswalk.select(
        "source",
        "source_author_id",
        rid_id="author_id",
        rule_id=pl.col("rule").replace(
            {
                "watchlist": "watchlist_id",
                "coauthored_works": "crosswalk",
                "shared_coauthors": "crosswalk",
                "name": "crosswalk",
            }
        ),
        conf_id="confidence",
    )
    by_orcid = (
        orcids.select("orcid", rid_orcid="researcher_id")
        .sort("orcid", "rid_orcid")
        .unique("orcid", keep="first", maintain_order=True)
    )
    name_hit = (
        mentions.select("mid", key="full_keys")
        .explode("key")
        .join(full.filter(pl.col("n") == 1), on="key")
        .group_by("mid")
        .agg(
            rid_name=pl.col("researcher_id").first(),
            via=pl.col("via").min(),
            k=pl.col("researcher_id").n_unique(),
        )
        .filter(pl.col("k") == 1)
        .drop("k")
    )
    init_hit = (
        mentions.filter(pl.col("initials_only"))
        .select("mid", ikey="initials_keys")
        .explode("ikey")
        .join(initials, on="ikey")
        .group_by("mid")
        .agg(rid_init=pl.col("researcher_id").unique().sort(), n_init=pl.col("n").max())
    )
    return (
        mentions.join(xw, on=["source", "source_author_id"], how="left")
        .join(by_orcid, on="orcid", how="left")
        .join(name_hit, on="mid", how="left")
        .join(init_hit, on="mid", how="left")
    )


# crosswalk rules by which the sources themselves know a researcher's id
_KNOWN_RULES = ("watchlist", "orcid", "override_alias")
# ... and ids found on the researcher's own papers: a source that has them knows the researcher
_KNOWN_OR_COAUTHORED = (*_KNOWN_RULES, "coauthored_works")


def _person_conflicts(
    m: pl.LazyFrame, crosswalk: pl.LazyFrame, person_ids: pl.LazyFrame
) -> pl.LazyFrame:
    """(mid, person_conflict): an entry named like a researcher whose person (its id cluster,
    or the person it joined by name on the paper) holds ids of a source that knows the
    researcher's own (watchlist, ORCID, override, coauthored_works), none of them the
    researcher's."""
    r_ids = crosswalk.select(rid_name="author_id", kind="source", value="source_author_id")
    known = (
        crosswalk.filter(pl.col("rule").is_in(_KNOWN_OR_COAUTHORED))
        .select(rid_name="author_id", kind="source")
        .unique()
    )
    held = (
        m.filter(
            pl.col("rid_name").is_not_null()
            & pl.col("rid_id").is_null()
            & pl.col("rid_orcid").is_null()
        )
        .select("mid", "rid_name", "person_id")
        .join(person_ids, on="person_id")
    )
    shares = held.join(r_ids, on=["rid_name", "kind", "value"]).select("mid").unique()
    # Another id of a source that knows the researcher's own id is another person, ORCID or
    # not. A split profile (OpenAlex and S2 do split people) is the researcher only with
    # evidence beyond the name, and then the crosswalk holds its id (ORCID, the same work,
    # shared co-authors, an override), which `shares` finds.
    other = held.join(known, on=["rid_name", "kind"]).select("mid").unique()
    return other.join(shares, on="mid", how="anti").with_columns(person_conflict=pl.lit(True))


def _vetoes(
    m: pl.LazyFrame, crosswalk: pl.LazyFrame, orcids: pl.LazyFrame, person_ids: pl.LazyFrame
) -> pl.LazyFrame:
    """name_conflict (the name must not credit: an ORCID or a person that is not the
    researcher's, here or on another record of the paper), id_conflict, orcid_clash,
    person_conflict."""
    r_orcids = orcids.group_by("researcher_id").agg(r_orcids=pl.col("orcid"))
    m = (
        m.join(r_orcids.rename({"researcher_id": "rid_name"}), on="rid_name", how="left")
        .with_columns(
            name_conflict=pl.col("orcid").is_not_null()
            & pl.col("r_orcids").is_not_null()
            & ~pl.col("orcid").is_in(pl.col("r_orcids").fill_null([]))
        )
        .drop("r_orcids")
    )
    # a source that knows the researcher's own id (watchlist, ORCID, override) and files this
    # same-named entry under another author id with an ORCID says it is someone else
    # (id_conflict, flagged source_id_conflict); without an ORCID, person_conflict says the
    # same unless the crosswalk holds that id. The veto holds for every record of the paper.
    known_in = (
        crosswalk.filter(pl.col("rule").is_in(_KNOWN_RULES))
        .select(rid_name="author_id", source="source")
        .unique()
        .with_columns(knows=pl.lit(True))
    )
    m = (
        m.join(known_in, on=["rid_name", "source"], how="left")
        .join(_person_conflicts(m, crosswalk, person_ids), on="mid", how="left")
        .with_columns(
            id_conflict=pl.col("knows").fill_null(False)
            & pl.col("source_author_id").is_not_null()
            & pl.col("orcid").is_not_null()
            & pl.col("rid_id").is_null()
            & pl.col("rid_orcid").is_null(),
            orcid_clash=pl.col("name_conflict"),
            person_conflict=pl.col("person_conflict").fill_null(False),
        )
    )
    vetoed = (
        m.filter(pl.col("id_conflict") | pl.col("name_conflict") | pl.col("person_conflict"))
        .select("paper_id", "rid_name", veto=pl.lit(True))
        .unique()
    )
    return (
        m.join(vetoed, on=["paper_id", "rid_name"], how="left")
        .with_columns(name_conflict=pl.col("name_conflict") | pl.col("veto").fill_null(False))
        .drop("knows", "veto")
    )


def _shared_names(m: pl.LazyFrame, full: pl.LazyFrame) -> pl.LazyFrame:
    """name_shared: a bare name (no id or ORCID of the researcher, no veto) of a researcher whose
    name the data shows to be someone else's too (an entry of that name vetoed as another
    person), on a paper sharing with the papers that credit the researcher by id or ORCID fewer
    than MIN_COAUTHORS_OF_SHARED_NAME co-authors and fewer than half of its other authors. Once a
    name is known to be shared, it alone does not tell the two apart."""
    shared = (
        m.filter(pl.col("rid_name").is_not_null() & pl.col("name_conflict"))
        .select(researcher_id="rid_name")
        .unique()
    )
    anchored = pl.concat(
        [
            m.filter(pl.col("rid_id").is_not_null()).select("paper_id", researcher_id="rid_id"),
            m.filter(pl.col("rid_orcid").is_not_null()).select(
                "paper_id", researcher_id="rid_orcid"
            ),
        ]
    ).unique()
    bare = (
        m.filter(
            pl.col("rid_name").is_not_null()
            & pl.col("rid_id").is_null()
            & pl.col("rid_orcid").is_null()
            & ~pl.col("name_conflict")
            & ~pl.col("huge")
        )
        .select("mid", "paper_id", "n_listed", researcher_id="rid_name")
        .join(shared, on="researcher_id")
        .join(anchored, on=["paper_id", "researcher_id"], how="anti")
    )
    common = (
        _common_coauthors(bare, anchored, m, full, ["researcher_id"])
        .group_by("researcher_id", "paper_id")
        .agg(n=pl.col("key").n_unique())
    )
    confirmed = bare.join(common, on=["paper_id", "researcher_id"]).filter(
        (pl.col("n") >= MIN_COAUTHORS_OF_SHARED_NAME) | (2 * pl.col("n") >= pl.col("n_listed") - 1)
    )
    unconfirmed = bare.join(confirmed, on="mid", how="anti").select("mid", name_shared=pl.lit(True))
    return m.join(unconfirmed, on="mid", how="left").with_columns(
        name_shared=pl.col("name_shared").fill_null(False)
    )


def _credit(m: pl.LazyFrame) -> pl.LazyFrame:
    """researcher_id, match_rule, match_confidence: id, then ORCID, then an unvetoed full name
    off huge lists."""
    by_name_ok = (
        pl.col("rid_name").is_not_null()
        & ~pl.col("name_conflict")
        & ~pl.col("name_shared")
        & ~pl.col("huge")
    )
    has_id, has_orcid = pl.col("rid_id").is_not_null(), pl.col("rid_orcid").is_not_null()
    name_conf = (
        pl.when(pl.col("via") == "override_alias")
        .then(pl.lit(CONFIDENCE["override_alias"]))
        .otherwise(pl.lit(MATCH_CONFIDENCE["name"]))
    )
    return m.with_columns(
        researcher_id=pl.coalesce(
            "rid_id", "rid_orcid", pl.when(by_name_ok).then(pl.col("rid_name"))
        ),
        match_rule=pl.when(has_id)
        .then(pl.col("rule_id"))
        .when(has_orcid)
        .then(pl.lit("orcid"))
        .when(by_name_ok)
        .then(pl.col("via")),
        match_confidence=pl.when(has_id)
        .then(pl.col("conf_id"))
        .when(has_orcid)
        .then(pl.lit(CONFIDENCE["orcid"]))
        .when(by_name_ok)
        .then(name_conf),
    )


def _credit_initials(m: pl.LazyFrame) -> pl.LazyFrame:
    """An initials-only mention of exactly one watched researcher is theirs when another record
    of the paper credits them by id, ORCID or full name."""
    strong = (
        m.filter(pl.col("researcher_id").is_not_null())
        .select("paper_id", "researcher_id", e_source="source", e_work="source_work_id")
        .unique()
    )
    single = m.filter(
        pl.col("researcher_id").is_null() & (pl.col("n_init") == 1) & ~pl.col("huge")
    ).with_columns(cand=pl.col("rid_init").list.first())
    evidenced = (
        single.join(strong, left_on=["paper_id", "cand"], right_on=["paper_id", "researcher_id"])
        .filter(
            (pl.col("e_source") != pl.col("source"))
            | (pl.col("e_work") != pl.col("source_work_id"))
        )
        .select("mid", ev=pl.lit(True))
        .unique()
    )
    return _eager(
        m.join(evidenced, on="mid", how="left")
        .with_columns(ev=pl.col("ev").fill_null(False))
        .with_columns(
            match_rule=pl.when(pl.col("ev")).then(pl.lit("initials")).otherwise("match_rule"),
            match_confidence=pl.when(pl.col("ev"))
            .then(pl.lit(MATCH_CONFIDENCE["initials"]))
            .otherwise("match_confidence"),
            researcher_id=pl.when(pl.col("ev"))
            .then(pl.col("rid_init").list.first())
            .otherwise("researcher_id"),
        )
    )


def _on_record() -> dict[str, pl.Expr]:
    return {"source": pl.col("source"), "source_id": pl.col("source_work_id")}


def _mention_flags(m: pl.LazyFrame) -> pl.LazyFrame:
    """Flags (with paper_id) of entries that were not credited: namesakes and id conflicts,
    names on huge lists, initials shared by several researchers or without other evidence."""
    uncredited = m.filter(pl.col("researcher_id").is_null())
    where = pl.format(
        "paper {}, entry {} '{}'", pl.col("paper_id"), pl.col("position"), pl.col("raw_name")
    )
    conflict_detail = (
        pl.when(pl.col("id_conflict") & ~pl.col("orcid_clash"))
        .then(
            pl.format(
                "{}: filed under author {} (ORCID {}), not the researcher's id",
                where,
                pl.col("source_author_id"),
                pl.col("orcid"),
            )
        )
        .when(pl.col("orcid").is_not_null())
        .then(pl.format("{}: ORCID {} is not the researcher's", where, pl.col("orcid")))
        .when(pl.col("person_conflict"))
        .then(
            pl.format(
                "{}: person {} holds other ids than the researcher's", where, pl.col("person_id")
            )
        )
        .otherwise(pl.format("{}: another record of this paper names someone else", where))
    )
    flags = pl.concat(
        [
            _flags(
                uncredited.filter(pl.col("rid_name").is_not_null() & pl.col("name_conflict")),
                keep=("paper_id",),
                kind=pl.when(pl.col("orcid_clash"))
                .then(pl.lit("orcid_conflict"))
                .when(pl.col("id_conflict"))
                .then(pl.lit("source_id_conflict"))
                .otherwise(pl.lit("namesake_on_paper")),
                entity_id=pl.col("rid_name"),
                detail=conflict_detail,
                **_on_record(),
            ),
            _flags(
                uncredited.filter(pl.col("rid_name").is_not_null() & pl.col("name_shared")),
                keep=("paper_id",),
                kind=pl.lit("name_shared"),
                entity_id=pl.col("rid_name"),
                detail=pl.format(
                    "{}: name only; another person has this name here, and the paper has too "
                    "few co-authors in common with the researcher's papers",
                    where,
                ),
                **_on_record(),
            ),
            _flags(
                uncredited.filter(
                    pl.col("huge") & (pl.col("rid_name").is_not_null() | (pl.col("n_init") == 1))
                ),
                keep=("paper_id",),
                kind=pl.lit("huge_author_list"),
                entity_id=pl.coalesce("rid_name", pl.col("rid_init").list.first()),
                detail=pl.format(
                    "{}: {} names on the list, credited by id or ORCID only",
                    where,
                    pl.col("n_listed"),
                ),
                **_on_record(),
            ),
            _flags(
                uncredited.filter(pl.col("n_init") > 1).explode("rid_init"),
                keep=("paper_id",),
                kind=pl.lit("initials_collision"),
                entity_id=pl.col("rid_init"),
                detail=pl.format(
                    "{}: initials shared by {} watched researchers", where, pl.col("n_init")
                ),
                **_on_record(),
            ),
            _flags(
                uncredited.filter((pl.col("n_init") == 1) & ~pl.col("huge")),
                keep=("paper_id",),
                kind=pl.lit("initials_only"),
                entity_id=pl.col("rid_init").list.first(),
                detail=pl.format("{}: initials only and no other evidence on the paper", where),
                **_on_record(),
            ),
        ]
    )
    # in memory: polars 2.1's streaming engine panics in these nested formats on some inputs
    # ("assertion failed: i < self.len()" in binview, seen at 12.5k+ synthetic works)
    return flags.collect(engine="in-memory").lazy()


def _not_author(
    m: pl.LazyFrame, overrides: pl.LazyFrame | None, records: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(mentions, flags): not_author overrides remove the credit on the named works, every run;
    `removed_rid` keeps whom, so the initials carry cannot bring the credit back."""
    refs = work_refs(_overrides(overrides, "not_author"))
    named = match_refs(refs, records)
    removed = named.select("paper_id", "researcher_id", "line").unique()
    unmatched = refs.join(named.select("line", "ref").unique(), on=["line", "ref"], how="anti")
    credited_before = (
        m.filter(pl.col("researcher_id").is_not_null())
        .select("paper_id", "researcher_id", had=pl.lit(True))
        .unique()
    )
    flags = pl.concat(
        [
            _flags(
                removed.join(credited_before, on=["paper_id", "researcher_id"], how="left"),
                kind=pl.lit("override_not_author"),
                entity_id=pl.col("researcher_id"),
                source=pl.lit("overrides"),
                source_id=pl.col("paper_id"),
                detail=pl.when(pl.col("had").fill_null(False))
                .then(pl.format("credit on {} removed", pl.col("paper_id")))
                .otherwise(pl.format("{} was not credited anyway", pl.col("paper_id"))),
                line=pl.col("line"),
            ),
            _flags(
                unmatched,
                kind=pl.lit("override_unmatched"),
                entity_id=pl.col("researcher_id"),
                source=pl.lit("overrides"),
                source_id=pl.col("ref"),
                detail=pl.format("not_author reference '{}' names no record", pl.col("ref")),
                line=pl.col("line"),
            ),
        ]
    )
    drop = removed.select("paper_id", "researcher_id", rm=pl.lit(True)).unique()
    m = _eager(
        m.join(drop, on=["paper_id", "researcher_id"], how="left")
        .with_columns(rm=pl.col("rm").fill_null(False))
        .with_columns(
            researcher_id=pl.when(pl.col("rm")).then(None).otherwise("researcher_id"),
            match_rule=pl.when(pl.col("rm")).then(None).otherwise("match_rule"),
            match_confidence=pl.when(pl.col("rm")).then(None).otherwise("match_confidence"),
            removed_rid=pl.when(pl.col("rm")).then(pl.col("researcher_id")),
        )
    )
    return m, flags


def _chosen_lists(m: pl.LazyFrame) -> pl.LazyFrame:
    """The mentions of each paper's authorship list: not truncated, then source priority, then
    the longest."""
    lists = (
        m.group_by("paper_id", "source", "source_work_id")
        .agg(n=pl.col("n_listed").first(), marked=pl.col("marked").first())
        .with_columns(
            truncated=pl.col("marked")
            | (pl.col("n") < SHORT_LIST_RATIO * pl.col("n").max().over("paper_id")),
            rank=_priority("source", AUTHORSHIP_PRIORITY),
        )
        .sort(
            "paper_id",
            "truncated",
            "rank",
            pl.col("n"),
            "source",
            "source_work_id",
            descending=[False, False, False, True, False, False],
        )
        .group_by("paper_id", maintain_order=True)
        .agg(pl.col("source").first(), pl.col("source_work_id").first())
    )
    return (
        m.join(lists, on=["paper_id", "source", "source_work_id"])
        .sort("paper_id", "position", "mid", nulls_last=True)  # the join keeps no order
        .unique(["paper_id", "position"], keep="first", maintain_order=True)
    )


def _hits(m: pl.LazyFrame) -> pl.LazyFrame:
    """(paper_id, researcher_id, match_rule, match_confidence): the best evidence per paper and
    researcher, over all sources."""
    return (
        m.filter(pl.col("researcher_id").is_not_null())
        .group_by("paper_id", "researcher_id")
        .agg(
            pl.col("match_rule")
            .sort_by("match_confidence", "match_rule", descending=[True, False])
            .first(),
            pl.col("match_confidence").max(),
        )
    )


def _carry_initials(
    chosen: pl.LazyFrame, hits: pl.LazyFrame, initials: pl.LazyFrame
) -> pl.LazyFrame:
    """An initials-only entry of the chosen list is the researcher found on the paper elsewhere
    (when exactly one such researcher has those initials)."""
    on_list = chosen.filter(pl.col("researcher_id").is_not_null()).select(
        "paper_id", "researcher_id"
    )
    open_hits = hits.join(on_list, on=["paper_id", "researcher_id"], how="anti").join(
        initials.select("ikey", "researcher_id"), on="researcher_id"
    )
    carry = (
        chosen.filter(
            pl.col("researcher_id").is_null()
            & pl.col("initials_only")
            & pl.col("removed_rid").is_null()
        )
        .select("mid", "paper_id", ikey="initials_keys")
        .explode("ikey")
        .join(open_hits, on=["paper_id", "ikey"])
        .group_by("mid")
        .agg(
            c_rid=pl.col("researcher_id").first(),
            c_rule=pl.col("match_rule").first(),
            c_conf=pl.col("match_confidence").first(),
            k=pl.col("researcher_id").n_unique(),
        )
        .filter(pl.col("k") == 1)
    )
    return chosen.join(carry, on="mid", how="left").with_columns(
        researcher_id=pl.coalesce("researcher_id", "c_rid"),
        match_rule=pl.coalesce("match_rule", "c_rule"),
        match_confidence=pl.coalesce("match_confidence", "c_conf"),
    )


def _authorship_rows(
    chosen: pl.LazyFrame, hits: pl.LazyFrame, researchers: pl.LazyFrame
) -> pl.LazyFrame:
    """Authorships: the chosen list (a watched researcher by their id, everyone else by their
    person id), plus a "matched" row for a researcher found on the paper in another source's
    list but not on the chosen one."""
    missing = hits.join(
        chosen.filter(pl.col("researcher_id").is_not_null()).select("paper_id", "researcher_id"),
        on=["paper_id", "researcher_id"],
        how="anti",
    ).join(researchers.select("researcher_id", "display_name"), on="researcher_id")
    listed = chosen.select(
        "paper_id",
        author_id=pl.coalesce("researcher_id", "person_id"),
        position=pl.col("position"),
        author_name=pl.col("display_name"),
        is_watched=pl.col("researcher_id").is_not_null(),
        source=pl.col("source"),
        source_author_id=pl.col("source_author_id"),
        match_rule=pl.col("match_rule"),
        match_confidence=pl.col("match_confidence"),
    )
    extra = missing.select(
        "paper_id",
        author_id="researcher_id",
        position=pl.lit(None, pl.Int32),
        author_name="display_name",
        is_watched=pl.lit(True),
        source=pl.lit("matched"),
        source_author_id=pl.lit(None, pl.String),
        match_rule="match_rule",
        match_confidence="match_confidence",
    ).unique(["paper_id", "author_id"])
    return (
        pl.concat([listed, extra])
        .with_columns(_extra=pl.col("source") == "matched")
        .sort("paper_id", "_extra", pl.col("position").fill_null(10_000), "author_id")
        .drop("_extra")
        .unique(["paper_id", "author_id"], keep="first", maintain_order=True)
        .sort("paper_id", pl.col("position").fill_null(10_000), "author_id")
    )


def _persons(
    m: pl.LazyFrame, raw: dict[str, pl.LazyFrame], crosswalk: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """((mid, person_id, person_rule) of every mention, (person_id, kind, value) of every
    person): `transforms.persons.cluster_mentions`."""
    cols = (
        "mid",
        "paper_id",
        "source",
        "source_work_id",
        "source_author_id",
        "orcid",
        "raw_name",
        "name_key",
        "full_keys",
        "initials_keys",
        "initials_only",
    )
    assigned, person_ids = persons.cluster_mentions(
        m.select(cols).collect(engine=_ENGINE),
        _profiles(raw).select("source", "source_author_id", "orcid").collect(engine=_ENGINE),
        crosswalk.select("author_id", "source", "source_author_id").collect(engine=_ENGINE),
    )
    return assigned.lazy(), person_ids.lazy()


def _credited_mentions(
    mentions: pl.LazyFrame,
    researchers: pl.LazyFrame,
    crosswalk: pl.LazyFrame,
    overrides: pl.LazyFrame | None,
    records: pl.LazyFrame,
    person_ids: pl.LazyFrame,
    owners: pl.LazyFrame | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(mentions with researcher_id / match_rule / match_confidence, mention flags with
    paper_id, override flags): every guard of the watched-researcher credit; `owners` (the
    records of researchers' own profile pages) adds the own_profile rule."""
    full, initials = _researcher_keys(researchers, overrides)
    orcids = _researcher_orcids(researchers, overrides)
    m = _candidates(mentions, crosswalk, full, initials, orcids)
    m = _eager(_vetoes(m, crosswalk, orcids, person_ids))
    m = _credit_initials(_credit(_shared_names(m, full)))
    if owners is not None:
        m = _eager(_own_profile(m, owners))
    flags = _mention_flags(m)
    m, override_flags = _not_author(m, overrides, records)
    return m, flags, override_flags


def _profile_owners(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """(source, source_work_id, owner): each profile-page record with the researcher whose own
    profile lists it."""
    return (
        _raw(raw, "profiles", "works")
        .filter(pl.col("researcher_id").is_not_null())
        .select(source=pl.lit("profiles"), source_work_id="work_id", owner="researcher_id")
    )


def _own_profile(m: pl.LazyFrame, owners: pl.LazyFrame) -> pl.LazyFrame:
    """Rule `own_profile`: on a record of a researcher's own profile page, the one uncredited
    initials-only entry compatible with the owner is the owner (Scholar prints "D Schreij" on
    Daniel Schreij's page). Not when the record already credits the owner, when two entries
    fit, or on a huge list."""
    record = ["source", "source_work_id"]
    credited = (
        m.filter(pl.col("researcher_id").is_not_null())
        .select(*record, owner="researcher_id")
        .unique()
    )
    hits = (
        m.join(owners, on=record)
        .filter(
            pl.col("researcher_id").is_null()
            & ~pl.col("huge")
            & pl.col("rid_init").list.contains(pl.col("owner")).fill_null(False)
        )
        .join(credited, on=[*record, "owner"], how="anti")
        .filter(pl.len().over(record) == 1)
        .select("mid", own="owner")
    )
    own = pl.col("own").is_not_null()
    return (
        m.join(hits, on="mid", how="left")
        .with_columns(
            match_rule=pl.when(own).then(pl.lit("own_profile")).otherwise("match_rule"),
            match_confidence=pl.when(own)
            .then(pl.lit(MATCH_CONFIDENCE["own_profile"]))
            .otherwise("match_confidence"),
            researcher_id=pl.coalesce("researcher_id", "own"),
        )
        .drop("own")
    )


def _mentions_with_persons(
    staged: pl.LazyFrame,
    xref: pl.LazyFrame,
    crosswalk: pl.LazyFrame,
    mentions: pl.LazyFrame | None,
    raw: dict[str, pl.LazyFrame],
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(every author entry with its mid and person, (person_id, kind, value) of every person)."""
    mentions = _with_mid(mentions if mentions is not None else _mentions(staged, xref))
    assigned, person_ids = _persons(mentions, raw, crosswalk)
    return _eager(mentions.join(assigned, on="mid", how="left")), person_ids


def _authorship_lists(
    m: pl.LazyFrame, researchers: pl.LazyFrame, overrides: pl.LazyFrame | None
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(chosen entries, authorships): each paper's chosen list, its initials-only entries
    carrying a researcher credited elsewhere on the paper, plus "matched" rows."""
    _, initials = _researcher_keys(researchers, overrides)
    hits = _hits(m)
    chosen = _carry_initials(_chosen_lists(m), hits, initials)
    return chosen, _authorship_rows(chosen, hits, researchers)


def _open_flags(
    mention_flags: pl.LazyFrame, override_flags: pl.LazyFrame, authorships: pl.LazyFrame
) -> pl.LazyFrame:
    """The flags still open: an entry flagged while the researcher is credited on the paper
    anyway is no longer a question."""
    credited = authorships.filter(pl.col("is_watched")).select("paper_id", entity_id="author_id")
    mention_flags = mention_flags.join(credited, on=["paper_id", "entity_id"], how="anti")
    return pl.concat([mention_flags.drop("paper_id"), override_flags])


def _assign(
    staged: pl.LazyFrame,
    xref: pl.LazyFrame,
    researchers: pl.LazyFrame,
    crosswalk: pl.LazyFrame,
    overrides: pl.LazyFrame | None,
    works: pl.LazyFrame | None,
    mentions: pl.LazyFrame | None = None,
    raw: dict[str, pl.LazyFrame] | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """(authorships, flags, author_xref): entries clustered into people, watched researchers
    credited under every guard, one list per paper, what stays open, who each entry is."""
    mentions, person_ids = _mentions_with_persons(staged, xref, crosswalk, mentions, raw or {})
    m, mention_flags, override_flags = _credited_mentions(
        mentions,
        researchers,
        crosswalk,
        overrides,
        _records(xref, works),
        person_ids,
        _profile_owners(raw) if raw is not None else None,
    )
    chosen, authorships = _authorship_lists(m, researchers, overrides)
    carried = chosen.select("mid", c_rid="researcher_id", c_rule="match_rule")
    return (
        authorships,
        _open_flags(mention_flags, override_flags, authorships),
        _author_xref(m, carried),
    )


XREF_SCHEMA: dict[str, Any] = {
    "author_id": pl.String,
    "paper_id": pl.String,
    "source": pl.String,
    "source_work_id": pl.String,
    "position": pl.Int32,
    "source_author_id": pl.String,
    "orcid": pl.String,
    "author_name": pl.String,
    "person_id": pl.String,
    "rule": pl.String,
}


def _author_xref(m: pl.LazyFrame, carried: pl.LazyFrame) -> pl.LazyFrame:
    """One row per author entry of every source record: the person it is (author_id: the
    watched researcher credited, else the person id) and why (rule: the credit's match_rule,
    else the person rule: orcid, source_id, name_on_paper, name_only)."""
    return (
        m.join(carried, on="mid", how="left")
        .with_columns(
            rid=pl.coalesce("researcher_id", "c_rid"),
            why=pl.coalesce("match_rule", "c_rule"),
        )
        .select(
            author_id=pl.coalesce("rid", "person_id"),
            paper_id="paper_id",
            source="source",
            source_work_id="source_work_id",
            position="position",
            source_author_id="source_author_id",
            orcid="orcid",
            author_name="display_name",
            person_id="person_id",
            rule=pl.coalesce("why", "person_rule"),
        )
        .select([pl.col(c).cast(t) for c, t in XREF_SCHEMA.items()])
        .sort("paper_id", "source", "source_work_id", "position", nulls_last=True)
    )


def build_authorships(
    staged: pl.LazyFrame,
    xref: pl.LazyFrame,
    researchers: pl.LazyFrame,
    author_ids: pl.LazyFrame,
    overrides: pl.LazyFrame | None = None,
    works: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One author list per paper, from the most complete source; watched researchers credited
    by crosswalked id (`author_ids` = the crosswalk), ORCID, full name or guarded initials, on
    the list or (found on another source's list of the paper) as an extra "matched" row;
    everyone else by person id (`transforms.persons`).
    `works` (staged works) gives not_author overrides their DOIs / arXiv ids."""
    return _assign(staged, xref, researchers, author_ids, overrides, works)[0]


def _ids_of(source: str) -> pl.Expr:
    return pl.col("source_author_id").filter(pl.col("source") == source).unique().sort()


def build_authors(
    authorships: pl.LazyFrame,
    researchers: pl.LazyFrame,
    author_ids: pl.LazyFrame,
    author_xref: pl.LazyFrame | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(authors, author_crosswalk): one row per person on an authorship list, and every watched
    researcher, with their ids. Watched researchers keep their watchlist name and id."""
    crosswalk = author_ids.select([pl.col(c).cast(t) for c, t in CROSSWALK_SCHEMA.items()]).sort(
        "author_id", "source", "source_author_id"
    )
    entries = (
        author_xref
        if author_xref is not None
        else authorships.with_columns(orcid=pl.lit(None, pl.String))
    )
    ids = pl.concat(
        [
            entries.filter(pl.col("source_author_id").is_not_null()).select(
                "author_id", "source", "source_author_id"
            ),
            crosswalk.select("author_id", "source", "source_author_id"),
        ]
    ).unique()
    counts = authorships.group_by("author_id").agg(
        display_name=pl.col("author_name").mode().sort().first(),
        n_papers=pl.col("paper_id").n_unique().cast(pl.Int32),
    )
    orcids = entries.group_by("author_id").agg(p_orcid=pl.col("orcid").drop_nulls().min())
    watched = researchers.select("researcher_id", watch_name="display_name", w_orcid="orcid")
    authors = (
        counts.join(
            watched, left_on="author_id", right_on="researcher_id", how="full", coalesce=True
        )
        .join(orcids, on="author_id", how="left")
        .select(
            "author_id",
            display_name=pl.coalesce("watch_name", "display_name"),
            is_watched=pl.col("watch_name").is_not_null(),
            orcid=pl.when(pl.col("watch_name").is_not_null())
            .then(pl.col("w_orcid"))
            .otherwise(pl.col("p_orcid")),
            n_papers=pl.col("n_papers").fill_null(0),
        )
    )
    by_author = ids.group_by("author_id").agg(
        openalex_author_ids=_ids_of("openalex"),
        s2_author_ids=_ids_of("semantic_scholar"),
        dblp_pids=_ids_of("dblp"),
        scholar_feed_ids=_ids_of("scholar_feed"),
    )
    authors = authors.join(by_author, on="author_id", how="left").sort("author_id")
    return authors, crosswalk


def resolve_authors(
    raw: dict[str, pl.LazyFrame],
    staged: pl.LazyFrame,
    xref: pl.LazyFrame,
    researchers: pl.LazyFrame,
    overrides: pl.LazyFrame | None = None,
    works: pl.LazyFrame | None = None,
) -> dict[str, pl.LazyFrame]:
    """The author side of the model: author_crosswalk, author_xref, authorships, authors,
    author_profiles and resolution_flags (entity "author"). The crosswalk is computed once
    (collected) and shared."""
    mentions = _eager(_mentions(staged, xref))
    crosswalk, xw_flags = _collect_all(
        list(_crosswalk(raw, researchers, staged, xref, overrides, mentions))
    )
    authorships, ship_flags, author_xref = _collect_all(
        list(_assign(staged, xref, researchers, crosswalk, overrides, works, mentions, raw))
    )
    authors, crosswalk = build_authors(authorships, researchers, crosswalk, author_xref)
    people = {
        "author_crosswalk": crosswalk,
        "author_xref": author_xref,
        "authorships": authorships,
        "authors": authors,
        "author_profiles": build_author_profiles(raw, crosswalk),
        "resolution_flags": pl.concat([xw_flags, ship_flags])
        .unique()
        .sort("kind", "entity_id", "source", "source_id", "detail", nulls_last=True),
    }
    return dict(zip(people, _collect_all(list(people.values())), strict=True))


def build_author_profiles(raw: dict[str, pl.LazyFrame], author_ids: pl.LazyFrame) -> pl.LazyFrame:
    """What each source reports about a watched researcher (its own h-index, counts)."""
    oa = _raw(raw, "openalex", "authors").select(
        source=pl.lit("openalex"),
        source_author_id="author_id",
        source_name="display_name",
        works_count="works_count",
        cited_by_count="cited_by_count",
        h_index="h_index",
        i10_index="i10_index",
        observed_at="_fetched_at",
    )
    s2 = _raw(raw, "semantic_scholar", "authors").select(
        source=pl.lit("semantic_scholar"),
        source_author_id="author_id",
        source_name="name",
        works_count="paper_count",
        cited_by_count="citation_count",
        h_index="h_index",
        i10_index=pl.lit(None, pl.Int64),
        observed_at="_fetched_at",
    )
    sf = _raw(raw, "scholar_feed", "authors").select(
        source=pl.lit("scholar_feed"),
        source_author_id="author_id",
        source_name="name",
        works_count="paper_count",
        cited_by_count="citations",
        h_index="h_index",
        i10_index=pl.lit(None, pl.Int64),
        observed_at="_fetched_at",
    )
    # profile pages (recipes) name their researcher themselves
    pages = (
        _raw(raw, "profiles", "metrics")
        .select(
            researcher_id="researcher_id",
            source=pl.lit("profiles"),
            source_author_id="profile_url",
            source_name="profile_name",
            works_count="works_count",
            cited_by_count="citations",
            h_index="h_index",
            i10_index="i10_index",
            observed_at="_fetched_at",
        )
        .filter(pl.col("researcher_id").is_not_null())
    )
    linked = author_ids.select("source", "source_author_id", researcher_id="author_id").unique(
        ["source", "source_author_id"]
    )
    by_id = pl.concat([oa, s2, sf]).join(linked, on=["source", "source_author_id"])
    return (
        pl.concat([by_id, pages], how="diagonal")
        .select(
            author_id="researcher_id",
            **{
                c: pl.col(c)
                for c in (
                    "source",
                    "source_author_id",
                    "source_name",
                    "works_count",
                    "cited_by_count",
                    "h_index",
                    "i10_index",
                    "observed_at",
                )
            },
        )
        .sort("author_id", "source", "source_author_id")
    )

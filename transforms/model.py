"""Raw source records -> the warehouse model (papers, authors, authorships, topics, citations).

Pure polars: every function takes and returns LazyFrames. Which records are one paper is decided
in `transforms.works` (identifier cascade, blocked title matching, stable ids); the authors'
side lives in `transforms.authors`.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from transforms import normalize as norm
from transforms.authors import (
    build_authors,
    build_authorships,
    researchers_frame,
    resolve_authors,
    watched_author_ids,
)
from transforms.overrides import overrides_frame
from transforms.schemas import UTC_TS
from transforms.sources import STAGING, raw_frame
from transforms.staging import AUTHORSHIP_COLUMNS
from transforms.works import (
    NotLocal,
    affected_nodes,
    build_work_fields,
    build_work_versions,
    changed_nodes,
    node_keys,
    resolve_works,
    resolve_works_incremental,
    version_status,
)

# papers.title of a work no source gives a title for (kept: a DOI or arXiv id identifies it)
UNTITLED = "[untitled]"


def _raw(raw: dict[str, pl.LazyFrame], slug: str, entity: str) -> pl.LazyFrame:
    return raw_frame(raw, slug, entity)


def stage_works(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """One row per source work record, in one shape, ids and titles normalised."""
    return pl.concat([s.works(raw) for s in STAGING.values() if s.works is not None])


def stage_authorships(
    raw: dict[str, pl.LazyFrame], known: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """One row per (source record, author position) with parsed names (`known`: `name_parts`
    of a build by the same code, whose spellings are not parsed again)."""
    return parse_author_names(authorship_rows(raw), known)


def authorship_rows(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Staged authorship rows (AUTHORSHIP_COLUMNS) of every source, names not parsed yet."""
    return pl.concat([s.authorships(raw) for s in STAGING.values() if s.authorships is not None])


NAME_PARTS_SCHEMA: dict[str, pl.DataType] = {
    "raw_name": pl.String(),
    "display_name": pl.String(),
    "name_key": pl.String(),
    "short_key": pl.String(),
    # the matching keys of `transforms.authors` (`normalize.match_keys`), kept with the parts
    # so a build by the same code does not run the Python name analysis again for them
    "full_keys": pl.List(pl.String()),
    "initials_keys": pl.List(pl.String()),
    "initials_only": pl.Boolean(),
}


def name_parts(rows: pl.LazyFrame, known: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """(raw_name, display_name, name_key, short_key, full_keys, initials_keys, initials_only):
    each distinct spelling of `rows` parsed once; spellings `known` (the previous build's
    `name_parts`, same code) holds are taken from it, so a warehouse parses a name once, not
    once per build. Sorted by raw_name."""
    spellings = rows.filter(pl.col("raw_name").str.strip_chars() != "").select("raw_name").unique()
    if known is None:
        known = pl.LazyFrame(schema=NAME_PARTS_SCHEMA)
    reused = known.select(list(NAME_PARTS_SCHEMA)).join(spellings, on="raw_name", how="semi")
    # Name parsing runs in Python: once per distinct spelling, not once per authorship.
    parsed = (
        spellings.join(known.select("raw_name"), on="raw_name", how="anti")
        .with_columns(
            n=norm.name_parts(pl.col("raw_name")), k=norm.packed_name_keys(pl.col("raw_name"))
        )
        .with_columns(k=norm.unpack_name_keys(pl.col("k")))
        .select(
            "raw_name",
            display_name=pl.col("n").struct.field("display"),
            name_key=pl.col("n").struct.field("key"),
            short_key=pl.col("n").struct.field("short"),
            full_keys=pl.col("k").struct.field("full_keys"),
            initials_keys=pl.col("k").struct.field("initials_keys"),
            initials_only=pl.col("k").struct.field("initials_only"),
        )
    )
    return pl.concat([reused, parsed]).sort("raw_name")


def parse_author_names(rows: pl.LazyFrame, known: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Staged authorship rows (AUTHORSHIP_COLUMNS) with display_name, name_key, short_key and
    the matching keys (full_keys, initials_keys, initials_only); rows without a name are left
    out (a blank author slot is no person). `known`: see `name_parts`."""
    rows = rows.filter(pl.col("raw_name").str.strip_chars() != "")
    return rows.join(name_parts(rows, known), on="raw_name", how="left", maintain_order="left")


def resolve_papers(works: pl.LazyFrame, authorships: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """(paper_id, source, source_work_id) of every staged work, with no previous registry."""
    if authorships is None:
        authorships = pl.LazyFrame(schema=AUTHORSHIP_COLUMNS)
    return resolve_works(works, authorships)["work_xref"].select(
        "paper_id", "source", "source_work_id"
    )


def build_papers(xref: pl.LazyFrame, fields: pl.LazyFrame, works: pl.LazyFrame) -> pl.LazyFrame:
    """One row per paper from the surviving fields (work_fields) and its records."""
    wide = (
        fields.select("paper_id", "field", "value")
        .collect()
        .pivot(on="field", index="paper_id", values="value")
        .lazy()
    )
    # the one preprint/published rule, on each record's own fields
    published = version_status() == "published"
    recs = xref.select("paper_id", "source", "source_work_id").join(
        works.select(
            "source",
            "source_work_id",
            "_run_id",
            "work_type",
            "venue",
            "doi",
            "arxiv_id",
            "is_retracted",
            "fwci",
            "citation_percentile",
        ),
        on=["source", "source_work_id"],
    )
    per_paper = recs.group_by("paper_id").agg(
        has_published=published.any(),
        on_arxiv=pl.col("arxiv_id").is_not_null().any(),
        openalex_id=pl.col("source_work_id").filter(pl.col("source") == "openalex").min(),
        s2_paper_id=pl.col("source_work_id").filter(pl.col("source") == "semantic_scholar").min(),
        sources=pl.col("source").unique().sort(),
        n_source_records=pl.len().cast(pl.Int32),
        first_run_id=pl.col("_run_id").min(),
        # any source saying so retracts the paper (indices leave it out)
        is_retracted=pl.col("is_retracted").fill_null(False).any(),
        # OpenAlex rates each of its records; several records of one paper give the highest
        fwci=pl.col("fwci").max(),
        citation_percentile=pl.col("citation_percentile").max(),
    )
    columns = ("title", "year", "publication_date", "venue", "doi", "arxiv_id")
    for c in columns:
        if c not in wide.collect_schema().names():
            wide = wide.with_columns(pl.lit(None, pl.String).alias(c))
    return (
        per_paper.join(wide, on="paper_id", how="left")
        .select(
            "paper_id",
            # a work kept by its DOI / arXiv id although no source gives a title
            title=pl.coalesce("title", pl.lit(UNTITLED)),
            year=pl.col("year").cast(pl.Int32),
            publication_date=pl.col("publication_date").str.to_date(),
            # on arXiv by any source's word (arXiv API or listings, HF Papers, an arXiv id)
            venue=pl.when(pl.col("has_published"))
            .then("venue")
            .when(pl.col("on_arxiv"))
            .then(pl.lit("arXiv"))
            .otherwise("venue"),
            is_preprint_only=~pl.col("has_published"),
            doi="doi",
            arxiv_id="arxiv_id",
            openalex_id="openalex_id",
            s2_paper_id="s2_paper_id",
            sources="sources",
            n_source_records="n_source_records",
            first_run_id="first_run_id",
            is_retracted="is_retracted",
            fwci="fwci",
            citation_percentile="citation_percentile",
        )
        .sort("paper_id")
    )


def topics_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    schema: dict[str, Any] = {
        "topic_id": pl.String,
        "topic_name": pl.String,
        "keywords": pl.List(pl.String),
        "openalex_topic_ids": pl.List(pl.String),
    }
    return pl.LazyFrame(rows, schema=schema)


def build_paper_citations(works: pl.LazyFrame, xref: pl.LazyFrame) -> pl.LazyFrame:
    """Current count per paper and source. Several records of one source in a paper (OpenAlex
    keeps preprint and published version apart) give the max, never a double-counted sum."""
    return (
        works.filter(pl.col("cited_by_count").is_not_null())
        .join(xref, on=["source", "source_work_id"])
        .group_by("paper_id", "source")
        .agg(
            cited_by_count=pl.col("cited_by_count").max(),
            source_work_id=pl.col("source_work_id")
            .sort_by("cited_by_count", "source_work_id", descending=[True, False])
            .first(),
            observed_at=pl.col("_fetched_at").max(),
        )
        .sort("paper_id", "source")
    )


def build_citations_by_year(raw: dict[str, pl.LazyFrame], xref: pl.LazyFrame) -> pl.LazyFrame:
    """Citations received per paper and calendar year (OpenAlex counts_by_year)."""
    return (
        _raw(raw, "openalex", "works")
        .select(source_work_id="work_id", c="counts_by_year")
        .explode("c")
        .filter(pl.col("c").is_not_null())
        .select(
            "source_work_id",
            year=pl.col("c").struct.field("year"),
            cited_by_count=pl.col("c").struct.field("cited_by_count"),
        )
        .join(xref.filter(pl.col("source") == "openalex"), on="source_work_id")
        .group_by("paper_id", "year")
        .agg(pl.col("cited_by_count").max())
        .with_columns(source=pl.lit("openalex"))
        .select("paper_id", "source", "year", "cited_by_count")
        .sort("paper_id", "year")
    )


def _keyword_pattern(keywords: list[str]) -> str:
    return r"(?i)\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b"


def build_paper_topics(
    raw: dict[str, pl.LazyFrame], works: pl.LazyFrame, xref: pl.LazyFrame, topics: pl.LazyFrame
) -> pl.LazyFrame:
    """Paper-topic links of four kinds: watchlist topics (keyword in title/abstract, or one of
    the topic's OpenAlex topics), OpenAlex topics, arXiv categories, S2 fields of study."""
    texts = works.join(xref, on=["source", "source_work_id"]).select(
        "paper_id", text=pl.concat_str("title", pl.lit(" "), pl.col("abstract").fill_null(""))
    )
    oa = (
        _raw(raw, "openalex", "works")
        .select(source_work_id="work_id", t="topics")
        .explode("t")
        .filter(pl.col("t").is_not_null())
        .join(xref.filter(pl.col("source") == "openalex"), on="source_work_id")
        .select(
            "paper_id",
            topic_id=pl.col("t").struct.field("topic_id"),
            topic_name=pl.col("t").struct.field("display_name"),
            score=pl.col("t").struct.field("score"),
        )
    )
    frames = [
        oa.group_by("paper_id", "topic_id")
        .agg(pl.col("topic_name").drop_nulls().min(), pl.col("score").max())
        .with_columns(topic_kind=pl.lit("openalex"), matched_by=pl.lit("source")),
        _raw(raw, "arxiv", "entries")
        .select(source_work_id=norm.arxiv_id(pl.col("arxiv_id")), topic_id="categories")
        .explode("topic_id")
        .drop_nulls()
        .join(xref.filter(pl.col("source") == "arxiv"), on="source_work_id")
        .select("paper_id", "topic_id", topic_name="topic_id", score=pl.lit(None, pl.Float64))
        .with_columns(topic_kind=pl.lit("arxiv_category"), matched_by=pl.lit("source")),
        _raw(raw, "semantic_scholar", "papers")
        .select(source_work_id="paper_id", topic_id="fields_of_study")
        .explode("topic_id")
        .drop_nulls()
        .join(xref.filter(pl.col("source") == "semantic_scholar"), on="source_work_id")
        .select("paper_id", "topic_id", topic_name="topic_id", score=pl.lit(None, pl.Float64))
        .with_columns(topic_kind=pl.lit("s2_field"), matched_by=pl.lit("source")),
    ]
    for topic in topics.collect().iter_rows(named=True):
        by_keyword = texts.filter(
            pl.col("text").str.contains(_keyword_pattern(topic["keywords"]))
        ).select("paper_id", matched_by=pl.lit("keyword"))
        by_topic = oa.filter(pl.col("topic_id").is_in(topic["openalex_topic_ids"] or [])).select(
            "paper_id", matched_by=pl.lit("openalex_topic")
        )
        frames.append(
            pl.concat([by_keyword, by_topic])
            .group_by("paper_id")
            .agg(pl.col("matched_by").unique().sort().str.join("+"))
            .select(
                "paper_id",
                topic_id=pl.lit(topic["topic_id"]),
                topic_name=pl.lit(topic["topic_name"]),
                score=pl.lit(None, pl.Float64),
                topic_kind=pl.lit("watchlist"),
                matched_by="matched_by",
            )
        )
    columns = ["paper_id", "topic_id", "topic_name", "topic_kind", "score", "matched_by"]
    return (
        pl.concat([f.select(columns) for f in frames], how="vertical_relaxed")
        .unique(["paper_id", "topic_kind", "topic_id"], keep="first", maintain_order=True)
        .sort("topic_kind", "topic_id", "paper_id")
    )


def citation_snapshot_rows(observed: pl.LazyFrame, xref: pl.LazyFrame, run_id: str) -> pl.LazyFrame:
    """This run's observed counts (source, source_work_id, cited_by_count, observed_at) keyed to
    papers; appended to citation_snapshots, never rewritten."""
    return (
        observed.join(xref, on=["source", "source_work_id"], how="left")
        .select(
            run_id=pl.lit(run_id),
            observed_at=pl.col("observed_at"),
            paper_id="paper_id",
            source="source",
            source_work_id="source_work_id",
            cited_by_count="cited_by_count",
        )
        .sort("source", "source_work_id", "observed_at", "cited_by_count", nulls_last=False)
        .unique(["source", "source_work_id"], keep="last", maintain_order=True)
        .sort("source", "source_work_id")
    )


def build_model(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    topics: pl.LazyFrame,
    overrides: pl.LazyFrame | None = None,
    previous: dict[str, pl.LazyFrame] | None = None,
    run_id: str = "",
) -> dict[str, pl.LazyFrame]:
    """All derived tables, by table name. `previous["work_ids"]` is the id registry the last
    run left; this run's registry comes back as "work_ids"."""
    return build_model_from(raw, researchers, topics, overrides, previous, run_id)[0]


def build_model_from(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    topics: pl.LazyFrame,
    overrides: pl.LazyFrame | None = None,
    previous: dict[str, pl.LazyFrame] | None = None,
    run_id: str = "",
    incremental: bool = False,
) -> tuple[dict[str, pl.LazyFrame], dict[str, Any]]:
    """`build_model`, and with `incremental` (the caller vouches that the watchlist, overrides
    and code are the previous build's) the works resolved again only where this run's new or
    changed records reach (`transforms.works.affected_nodes`), when the previous build left
    what that needs (`previous`: work_ids, work_xref, work_nodes, resolution_flags). Also
    returns how it was built: path ("full" or "incremental"), the reason of a full build,
    records, changed and affected counts."""
    overrides = overrides if overrides is not None else overrides_frame()
    previous = previous or {}
    works = stage_works(raw).collect().lazy()  # reused by several outputs: compute once
    rows = authorship_rows(raw)
    # a previous build's parsed names count only when it is by the same code (incremental)
    parts = name_parts(rows, previous.get("name_parts") if incremental else None).collect()
    staged_authors = parse_author_names(rows, parts.lazy()).collect().lazy()
    keys = node_keys(works, staged_authors, overrides)
    stats: dict[str, Any] = {"path": "full", "reason": None, "records": keys.height}
    resolved = None
    if not incremental:
        stats["reason"] = "full build asked for"
    elif any(t not in previous for t in _INCREMENTAL_NEEDS):
        stats["reason"] = "no previous incremental state"
    else:
        before = previous["work_nodes"].collect()
        changed, removed = changed_nodes(keys, before)
        stats["changed"] = changed.height
        if removed:
            stats["reason"] = f"{removed} record(s) of the previous build are gone"
        else:
            papers = previous["work_xref"].collect()
            affected = affected_nodes(
                changed,
                keys,
                before,
                papers.select(
                    "paper_id", node=pl.concat_str("source", pl.lit(":"), "source_work_id")
                ),
            )
            stats["affected_records"] = affected.height
            try:
                resolved = resolve_works_incremental(
                    works,
                    staged_authors,
                    affected=affected,
                    keys=keys,
                    previous_xref=papers,
                    previous_flags=previous["resolution_flags"].collect(),
                    overrides=overrides,
                    registry=previous["work_ids"],
                    run_id=run_id,
                )
                stats["path"] = "incremental"
                stats["affected_papers"] = resolved["affected_papers"].collect().height
            except NotLocal as exc:
                stats["reason"] = str(exc)
    if resolved is None:
        resolved = resolve_works(
            works,
            staged_authors,
            overrides=overrides,
            registry=previous.get("work_ids"),
            run_id=run_id,
        )
    work_xref = resolved["work_xref"].collect().lazy()
    xref = work_xref.select("paper_id", "source", "source_work_id")
    fields = build_work_fields(work_xref, works).collect().lazy()
    people = resolve_authors(raw, staged_authors, xref, researchers, overrides, works)
    # one row order whichever way the works were resolved
    work_flags = resolved["work_flags"].sort(pl.all(), nulls_last=True)
    flags = pl.concat([work_flags, people.pop("resolution_flags")], how="vertical_relaxed")
    tables = {
        "work_xref": work_xref,
        "work_ids": resolved["work_ids"],
        "work_nodes": keys.lazy(),
        "name_parts": parts.lazy(),
        "work_fields": fields,
        "work_versions": build_work_versions(work_xref),
        "resolution_flags": flags,
        "papers": build_papers(work_xref, fields, works),
        **people,  # author_crosswalk, authorships, authors, author_profiles
        "paper_topics": build_paper_topics(raw, works, xref, topics),
        "paper_citations": build_paper_citations(works, xref),
        "paper_citations_by_year": build_citations_by_year(raw, xref),
    }
    return tables, stats


# what an incremental build reads of the previous one
_INCREMENTAL_NEEDS = ("work_ids", "work_xref", "work_nodes", "resolution_flags")


def observations_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    """Citation counts observed in this run: source, source_work_id, cited_by_count, observed_at."""
    schema: dict[str, Any] = {
        "source": pl.String,
        "source_work_id": pl.String,
        "cited_by_count": pl.Int64,
        "observed_at": UTC_TS,
    }
    return pl.LazyFrame(rows, schema=schema)


__all__ = [
    "build_authors",
    "build_authorships",
    "build_model",
    "observations_frame",
    "researchers_frame",
    "topics_frame",
    "watched_author_ids",
]

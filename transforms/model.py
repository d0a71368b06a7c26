"""Raw source records -> the warehouse model (papers, authors, authorships, topics, citations).

Pure polars: every function takes and returns LazyFrames. The one iterative step, grouping source
records into papers (connected components over shared DOI / arXiv id / title+year), collects
between rounds because it needs to know when the labels stop changing.
"""

from __future__ import annotations

import hashlib
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
from transforms.schemas import UTC_TS
from transforms.sources import STAGING
from transforms.staging import raw_frame

# Which source a paper-level attribute is taken from first.
SOURCE_PRIORITY = {"openalex": 0, "semantic_scholar": 1, "arxiv": 2}
_PREPRINT_VENUE = r"(?i)\b(arxiv|biorxiv|medrxiv|ssrn|preprint|research square)\b"
# Titles shorter than this are too generic to merge records on title + year alone.
MIN_TITLE_KEY_CHARS = 12


def _raw(raw: dict[str, pl.LazyFrame], slug: str, entity: str) -> pl.LazyFrame:
    return raw_frame(raw, slug, entity)


def stage_works(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """One row per source work record, in one shape, ids and titles normalised."""
    return pl.concat([s.works(raw) for s in STAGING.values() if s.works is not None])


def stage_authorships(raw: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """One row per (source record, author position) with parsed names."""
    rows = pl.concat(
        [s.authorships(raw) for s in STAGING.values() if s.authorships is not None]
    ).filter(pl.col("raw_name").str.strip_chars() != "")
    # Name parsing runs in Python: do it once per distinct spelling, not once per authorship.
    names = (
        rows.select("raw_name")
        .unique()
        .with_columns(n=norm.name_parts(pl.col("raw_name")))
        .select(
            "raw_name",
            display_name=pl.col("n").struct.field("display"),
            name_key=pl.col("n").struct.field("key"),
            short_key=pl.col("n").struct.field("short"),
        )
    )
    return rows.join(names, on="raw_name", how="left", maintain_order="left")


def _components(edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of a bipartite node-key graph by min-label propagation."""
    labels = edges.select("node").unique().with_columns(label=pl.col("node"))
    for _ in range(10_000):
        by_key = edges.join(labels, on="node").group_by("key").agg(pl.col("label").min())
        lowest = (
            edges.join(by_key, on="key").group_by("node").agg(pl.col("label").min().alias("new"))
        )
        merged = labels.join(lowest, on="node").with_columns(new=pl.min_horizontal("label", "new"))
        if merged.filter(pl.col("new") != pl.col("label")).height == 0:
            return labels
        labels = merged.select("node", label="new")
    raise RuntimeError("paper resolution did not converge")


def _title_anchor(key: str) -> str:
    return "title:" + hashlib.sha1(key.encode()).hexdigest()[:16]


def resolve_papers(works: pl.LazyFrame) -> pl.LazyFrame:
    """Cross-reference: every source record -> paper_id.

    Records are the same paper when they share a DOI, an arXiv id, or a normalised title and
    year (a preprint's year may be one off). paper_id is readable and stable: `arxiv:<id>`, else `doi:<doi>`, else a title hash.
    """
    nodes = works.select(
        "source",
        "source_work_id",
        "doi",
        "arxiv_id",
        "title_key",
        "year",
        "work_type",
        node=pl.concat_str("source", pl.lit(":"), "source_work_id"),
    ).collect()
    title_ok = pl.col("title_key").str.len_chars() >= MIN_TITLE_KEY_CHARS
    preprint = pl.col("arxiv_id").is_not_null() | (pl.col("work_type") == "preprint")
    edges = pl.concat(
        [
            nodes.filter(pl.col("doi").is_not_null()).select("node", key="doi:" + pl.col("doi")),
            nodes.filter(pl.col("arxiv_id").is_not_null()).select(
                "node", key="arxiv:" + pl.col("arxiv_id")
            ),
            # title + year. A preprint (arXiv id, or typed preprint) also matches the years
            # either side of its own: a December preprint and its proceedings version of the next
            # year (DBLP, Crossref date the venue) are one paper. Two published records never
            # match across years, so a recurring title ("Message from the Chairs") stays apart.
            *[
                nodes.filter(title_ok if shift == 0 else title_ok & preprint).select(
                    "node",
                    key=pl.concat_str(
                        pl.lit("title:"),
                        "title_key",
                        pl.lit("|"),
                        (pl.col("year") + shift).cast(pl.String).fill_null("?"),
                    ),
                )
                for shift in (-1, 0, 1)
            ],
            nodes.select("node", key="self:" + pl.col("node")),  # every record is in some paper
        ]
    )
    labels = _components(edges)
    groups = nodes.join(labels, on="node").with_columns(
        title_anchor=pl.concat_str(
            "title_key", pl.lit("|"), pl.col("year").cast(pl.String).fill_null("?")
        )
    )
    anchors = (
        groups.group_by("label")
        .agg(
            a=pl.col("arxiv_id").drop_nulls().min(),
            d=pl.col("doi").drop_nulls().min(),
            t=pl.col("title_anchor").min(),
        )
        .with_columns(
            paper_id=pl.when(pl.col("a").is_not_null())
            .then("arxiv:" + pl.col("a"))
            .when(pl.col("d").is_not_null())
            .then("doi:" + pl.col("d"))
            .otherwise(pl.col("t").map_elements(_title_anchor, return_dtype=pl.String))
        )
    )
    return (
        groups.join(anchors.select("label", "paper_id"), on="label")
        .select("paper_id", "source", "source_work_id")
        .sort("paper_id", "source", "source_work_id")
        .lazy()
    )


def _priority(col: str, order: dict[str, int]) -> pl.Expr:
    return pl.col(col).replace_strict(order, default=99, return_dtype=pl.Int32)


def build_papers(works: pl.LazyFrame, xref: pl.LazyFrame) -> pl.LazyFrame:
    """One row per paper: best title, earliest date, published venue over preprint server."""
    ranked = (
        works.join(xref, on=["source", "source_work_id"])
        .with_columns(rank=_priority("source", SOURCE_PRIORITY))
        .sort("paper_id", "rank", "source_work_id")
    )
    published = pl.col("venue").is_not_null() & ~pl.col("venue").str.contains(_PREPRINT_VENUE)
    return (
        ranked.group_by("paper_id", maintain_order=True)
        .agg(
            title=pl.col("title").first(),
            year=pl.col("year").min(),
            publication_date=pl.col("publication_date").min(),
            venue=pl.coalesce(
                pl.col("venue").filter(published).first(),
                # on arXiv by any source's word (arXiv API or listings, HF Papers, an arXiv id)
                pl.when(pl.col("arxiv_id").is_not_null().any()).then(pl.lit("arXiv")),
                pl.col("venue").drop_nulls().first(),
            ),
            is_preprint_only=~published.any(),
            doi=pl.col("doi").drop_nulls().first(),
            arxiv_id=pl.col("arxiv_id").drop_nulls().min(),
            openalex_id=pl.col("source_work_id").filter(pl.col("source") == "openalex").min(),
            s2_paper_id=pl.col("source_work_id")
            .filter(pl.col("source") == "semantic_scholar")
            .min(),
            sources=pl.col("source").unique().sort(),
            n_source_records=pl.len().cast(pl.Int32),
            first_run_id=pl.col("_run_id").min(),
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
            .sort_by("cited_by_count", descending=True)
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
        .agg(pl.col("topic_name").first(), pl.col("score").max())
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
        .unique(["source", "source_work_id"], keep="last", maintain_order=True)
        .sort("source", "source_work_id")
    )


def build_model(
    raw: dict[str, pl.LazyFrame],
    researchers: pl.LazyFrame,
    topics: pl.LazyFrame,
    overrides: pl.LazyFrame | None = None,
) -> dict[str, pl.LazyFrame]:
    """All derived tables, by table name."""
    works = stage_works(raw).collect().lazy()  # reused by several outputs: compute once
    staged_authors = stage_authorships(raw).collect().lazy()
    xref = resolve_papers(works)
    people = resolve_authors(raw, staged_authors, xref, researchers, overrides, works)
    return {
        "paper_xref": xref.join(works, on=["source", "source_work_id"])
        .select(
            "paper_id",
            "source",
            "source_work_id",
            "doi",
            "arxiv_id",
            "title",
            "year",
            "venue",
            "cited_by_count",
            "_run_id",
            "_fetched_at",
        )
        .sort("paper_id", "source", "source_work_id"),
        "papers": build_papers(works, xref),
        **people,  # author_crosswalk, authorships, authors, author_profiles, resolution_flags
        "paper_topics": build_paper_topics(raw, works, xref, topics),
        "paper_citations": build_paper_citations(works, xref),
        "paper_citations_by_year": build_citations_by_year(raw, xref),
    }


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

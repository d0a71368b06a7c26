"""Scholar Feed author profiles and their papers -> staged works and authorships.

Profile metrics (h-index, citations, novelty, AI score, per-paper scores) stay in the raw tables
and metric_snapshots; papers become works. Author lists are kept as listed: a list the profile
cut short ("A, B, C et al.") stages only the listed names (`authors_truncated` marks it).
"""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import SCHOLAR_FEED as SPEC
from transforms.staging import (
    Raw,
    explode_authors,
    finish_authorships,
    finish_works,
    raw_or_empty,
)

SLUG = SPEC.slug
S = pl.String
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "authors": {
        "author_id": S(),
        "name": S(),
        "h_index": pl.Int64(),
        "citations": pl.Int64(),
        "paper_count": pl.Int64(),
        "primary_field": S(),
        "primary_category": S(),
        "research_topics": pl.List(S()),
        "years_active": pl.Int64(),
        "rank": pl.Int64(),
        "rank_score": pl.Float64(),
        "novelty": pl.Float64(),
        "ai_score": pl.Float64(),
        "semantic_scholar_id": S(),
        "paper_ids": pl.List(S()),
        "from_profile": pl.Boolean(),
    },
    "papers": {
        "paper_id": S(),
        "arxiv_id": S(),
        "title": S(),
        "authors": pl.List(S()),
        "authors_truncated": pl.Boolean(),
        "author_count": pl.Int64(),
        "category": S(),
        "arxiv_category": S(),
        "categories": pl.List(S()),
        "published_date": pl.Date(),
        "year": pl.Int32(),
        "rank_score": pl.Float64(),
        "impact_pct": pl.Float64(),
        "novelty": pl.Float64(),
        "citation_count": pl.Int64(),
        "institutions": pl.List(S()),
        "venue": S(),
        "has_code": pl.Boolean(),
        "github_url": S(),
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "papers", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("paper_id"),
            doi=pl.lit(None, pl.String),
            arxiv_id=norm.arxiv_id(pl.col("arxiv_id")),
            title=pl.col("title"),
            year=pl.coalesce(pl.col("year"), pl.col("published_date").dt.year()),
            publication_date=pl.col("published_date"),
            venue=pl.col("venue"),
            work_type=pl.lit(None, pl.String),
            cited_by_count=pl.col("citation_count"),
            abstract=pl.lit(None, pl.String),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(
            raw_or_empty(raw, SLUG, "papers", SCHEMAS), SLUG, "paper_id", "authors"
        ).select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.lit(None, pl.String),
            raw_name=pl.col("a"),
            orcid=pl.lit(None, pl.String),
        )
    )

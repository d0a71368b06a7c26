"""Hugging Face papers -> staged works and authorships.

Every Hugging Face paper is an arXiv preprint: its id is the arXiv id, its work type "preprint".
"Hugging Face Papers" is a listing, not a venue, so the venue stays empty. The community signals
(upvotes, comments, GitHub stars ...) stay in the raw table and in metric_snapshots.
"""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.schemas import UTC_TS
from transforms.specs import HF_PAPERS as SPEC
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
    "papers": {
        "arxiv_id": S(),
        "title": S(),
        "summary": S(),
        "published_at": UTC_TS,
        "submitted_on_daily_at": UTC_TS,
        "submitted_by": S(),
        "submitted_by_name": S(),
        "authors": pl.List(
            pl.Struct({"name": S(), "hf_user": S(), "status": S(), "hidden": pl.Boolean()})
        ),
        "upvotes": pl.Int64(),
        "num_comments": pl.Int64(),
        "discussion_id": S(),
        "ai_keywords": pl.List(S()),
        "has_ai_summary": pl.Boolean(),
        "ai_summary_model": S(),
        "organization": S(),
        "organization_name": S(),
        "github_repo": S(),
        "github_stars": pl.Int64(),
        "project_page": S(),
        "is_author_participating": pl.Boolean(),
        "withdrawn_at": UTC_TS,
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "papers", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("arxiv_id"),
            doi=pl.lit(None, pl.String),
            arxiv_id=norm.arxiv_id(pl.col("arxiv_id")),
            title=pl.col("title"),
            year=pl.col("published_at").dt.year(),
            publication_date=pl.col("published_at").dt.date(),
            venue=pl.lit(None, pl.String),
            work_type=pl.lit("preprint"),
            cited_by_count=pl.lit(None, pl.Int64),
            abstract=pl.col("summary"),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(
            raw_or_empty(raw, SLUG, "papers", SCHEMAS), SLUG, "arxiv_id", "authors"
        ).select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.col("a").struct.field("hf_user"),
            raw_name=pl.col("a").struct.field("name"),
            orcid=pl.lit(None, pl.String),
        )
    )

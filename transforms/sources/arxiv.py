"""arXiv API entries -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.schemas import UTC_TS
from transforms.specs import ARXIV as SPEC
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
    "entries": {
        "arxiv_id": S(),
        "version": pl.Int32(),
        "title": S(),
        "summary": S(),
        "authors": pl.List(pl.Struct({"name": S(), "affiliation": S()})),
        "primary_category": S(),
        "categories": pl.List(S()),
        "doi": S(),
        "journal_ref": S(),
        "comment": S(),
        "published_at": UTC_TS,
        "updated_at": UTC_TS,
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "entries", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=norm.arxiv_id(pl.col("arxiv_id")),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=norm.arxiv_id(pl.col("arxiv_id")),
            title=pl.col("title"),
            year=pl.col("published_at").dt.year(),
            publication_date=pl.col("published_at").dt.date(),
            # the journal reference the authors added (arxiv:journal_ref) names the published
            # version: it is this record's venue, and makes it a published record
            # (transforms.works.version_status)
            venue=pl.coalesce(
                pl.col("journal_ref")
                .str.replace_all(r"\s+", " ")
                .str.strip_chars()
                .replace("", None),
                pl.lit("arXiv"),
            ),
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
            raw_or_empty(raw, SLUG, "entries", SCHEMAS), SLUG, "arxiv_id", "authors"
        ).select(
            "source",
            source_work_id=norm.arxiv_id(pl.col("source_work_id")),
            position=pl.col("idx"),
            source_author_id=pl.lit(None, pl.String),
            raw_name=pl.col("a").struct.field("name"),
            orcid=pl.lit(None, pl.String),
        )
    )

"""OpenAlex works, authors and topics -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.schemas import UTC_TS
from transforms.specs import OPENALEX as SPEC
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
    "works": {
        "work_id": S(),
        "doi": S(),
        "arxiv_id": S(),
        "title": S(),
        "publication_year": pl.Int32(),
        "publication_date": pl.Date(),
        "type": S(),
        "venue": S(),
        "cited_by_count": pl.Int64(),
        "counts_by_year": pl.List(pl.Struct({"year": pl.Int32(), "cited_by_count": pl.Int64()})),
        "authorships": pl.List(
            pl.Struct(
                {
                    "position": pl.Int32(),
                    "author_id": S(),
                    "display_name": S(),
                    "raw_author_name": S(),
                    "orcid": S(),
                    "institutions": pl.List(S()),
                }
            )
        ),
        "topics": pl.List(pl.Struct({"topic_id": S(), "display_name": S(), "score": pl.Float64()})),
        "is_retracted": pl.Boolean(),
        "fwci": pl.Float64(),
        "citation_percentile": pl.Float64(),
        "is_top_1_percent": pl.Boolean(),
        "is_top_10_percent": pl.Boolean(),
        "updated_at": UTC_TS,
    },
    "authors": {
        "author_id": S(),
        "display_name": S(),
        "orcid": S(),
        "display_name_alternatives": pl.List(S()),
        "works_count": pl.Int64(),
        "cited_by_count": pl.Int64(),
        "h_index": pl.Int64(),
        "i10_index": pl.Int64(),
        "counts_by_year": pl.List(
            pl.Struct({"year": pl.Int32(), "works_count": pl.Int64(), "cited_by_count": pl.Int64()})
        ),
        "last_known_institution": S(),
        "updated_at": UTC_TS,
    },
    "topics": {
        "topic_id": S(),
        "display_name": S(),
        "subfield": S(),
        "field": S(),
        "domain": S(),
        "works_count": pl.Int64(),
        "cited_by_count": pl.Int64(),
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "works", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("work_id"),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=pl.coalesce(
                norm.arxiv_id(pl.col("arxiv_id")), norm.arxiv_id_from_doi(pl.col("doi"))
            ),
            title=pl.col("title"),
            year=pl.coalesce(pl.col("publication_year"), pl.col("publication_date").dt.year()),
            publication_date=pl.col("publication_date"),
            venue=pl.col("venue"),
            work_type=pl.col("type"),
            cited_by_count=pl.col("cited_by_count"),
            abstract=pl.lit(None, pl.String),
            ext_ids=pl.concat_list(pl.lit("openalex:") + pl.col("work_id")),
            is_retracted=pl.col("is_retracted"),
            fwci=pl.col("fwci"),
            citation_percentile=pl.col("citation_percentile"),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(
            raw_or_empty(raw, SLUG, "works", SCHEMAS), SLUG, "work_id", "authorships"
        ).select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.col("a").struct.field("author_id"),
            raw_name=pl.coalesce(
                pl.col("a").struct.field("display_name"),
                pl.col("a").struct.field("raw_author_name"),
            ),
            orcid=pl.col("a").struct.field("orcid"),
        )
    )

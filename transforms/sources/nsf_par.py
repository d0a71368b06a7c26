"""NSF PAR search records -> staged works and authorships (linked to other sources by DOI or
title + year). Records with neither a title nor a DOI (embargoed deposits often show little else
than their embargo date) stay in the raw table only: there is nothing to match them on."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import NSF_PAR as SPEC
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
        "par_id": S(),
        "url": S(),
        "title": S(),
        "authors": pl.List(S()),
        "publication_date": pl.Date(),
        "publication_year": pl.Int32(),
        "doi": S(),
        "abstract": S(),
        "venue": S(),
        "publisher": S(),
        "embargo_until": pl.Date(),
        "item_type": S(),
    },
}


def _matchable(lf: pl.LazyFrame) -> pl.LazyFrame:
    return lf.filter(pl.col("title").is_not_null() | pl.col("doi").is_not_null())


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        _matchable(raw_or_empty(raw, SLUG, "works", SCHEMAS)).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("par_id"),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=norm.arxiv_id_from_doi(pl.col("doi")),
            title=pl.col("title"),
            year=pl.coalesce(pl.col("publication_year"), pl.col("publication_date").dt.year()),
            publication_date=pl.col("publication_date"),
            venue=pl.col("venue"),
            work_type=pl.lit(None, pl.String),
            cited_by_count=pl.lit(None, pl.Int64),
            abstract=pl.col("abstract"),
            ext_ids=pl.concat_list("par:" + pl.col("par_id")),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(
            _matchable(raw_or_empty(raw, SLUG, "works", SCHEMAS)), SLUG, "par_id", "authors"
        ).select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.lit(None, pl.String),
            raw_name=pl.col("a"),
            orcid=pl.lit(None, pl.String),
        )
    )

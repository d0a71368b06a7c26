"""Researcher profile pages (recipes) -> staged works and authorships; profile metrics raw only.

A profile lists the researcher's works as the site shows them: author names as printed (Scholar
abbreviates given names, DBLP spells them out), no author ids, a DOI or arXiv id only when a
link reveals one.
"""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import PROFILES as SPEC
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
        "researcher_id": S(),
        "recipe": S(),
        "profile_url": S(),
        "site_id": S(),
        "title": S(),
        "authors": pl.List(S()),
        # the page cut the list short ("..." is its last entry)
        "authors_truncated": pl.Boolean(),
        "year": pl.Int32(),
        "venue": S(),
        "abstract": S(),
        "link": S(),
        "doi": S(),
        "arxiv_id": S(),
        "citations": pl.Int64(),
    },
    "metrics": {
        "profile_id": S(),
        "researcher_id": S(),
        "recipe": S(),
        "profile_url": S(),
        "profile_name": S(),
        "metrics": pl.List(pl.Struct({"name": S(), "value": pl.Float64()})),
        "citations": pl.Int64(),
        "h_index": pl.Int64(),
        "i10_index": pl.Int64(),
        "works_count": pl.Int64(),
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
            year=pl.col("year"),
            publication_date=pl.lit(None, pl.Date),
            venue=pl.col("venue"),
            work_type=pl.lit(None, pl.String),
            cited_by_count=pl.col("citations"),
            abstract=pl.col("abstract"),
            # the DBLP person page's entries carry their DBLP key as the element id
            ext_ids=pl.concat_list(
                pl.when(pl.col("recipe") == "dblp_person").then("dblp:" + pl.col("site_id"))
            ).list.drop_nulls(),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(
            raw_or_empty(raw, SLUG, "works", SCHEMAS), SLUG, "work_id", "authors"
        ).select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.lit(None, pl.String),
            raw_name=pl.col("a"),
            orcid=pl.lit(None, pl.String),
        )
    )

"""Semantic Scholar papers and authors -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import SEMANTIC_SCHOLAR as SPEC
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
        "paper_id": S(),
        "corpus_id": pl.Int64(),
        "doi": S(),
        "arxiv_id": S(),
        "dblp_key": S(),
        "title": S(),
        "venue": S(),
        "year": pl.Int32(),
        "publication_date": pl.Date(),
        "citation_count": pl.Int64(),
        "influential_citation_count": pl.Int64(),
        "authors": pl.List(pl.Struct({"position": pl.Int32(), "author_id": S(), "name": S()})),
        "fields_of_study": pl.List(S()),
        "publication_types": pl.List(S()),
    },
    "authors": {
        "author_id": S(),
        "name": S(),
        "aliases": pl.List(S()),
        "affiliations": pl.List(S()),
        "paper_count": pl.Int64(),
        "citation_count": pl.Int64(),
        "h_index": pl.Int64(),
        "orcid": S(),
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "papers", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("paper_id"),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=pl.coalesce(
                norm.arxiv_id(pl.col("arxiv_id")), norm.arxiv_id_from_doi(pl.col("doi"))
            ),
            title=pl.col("title"),
            year=pl.coalesce(pl.col("year"), pl.col("publication_date").dt.year()),
            publication_date=pl.col("publication_date"),
            venue=pl.col("venue").replace("", None),
            work_type=pl.col("publication_types").list.first(),
            cited_by_count=pl.col("citation_count"),
            abstract=pl.lit(None, pl.String),
            ext_ids=pl.concat_list(
                "s2:" + pl.col("paper_id"),
                "corpus:" + pl.col("corpus_id").cast(pl.String),
                "dblp:" + pl.col("dblp_key"),
            ).list.drop_nulls(),
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
            source_author_id=pl.col("a").struct.field("author_id"),
            raw_name=pl.col("a").struct.field("name"),
            orcid=pl.lit(None, pl.String),
        )
    )

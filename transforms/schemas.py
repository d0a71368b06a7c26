"""Fixed polars schemas of the raw landing tables, so table shapes never depend on one page."""

from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")
S = pl.String

LINEAGE: dict[str, pl.DataType] = {
    "_run_id": S(),
    "_fetched_at": UTC_TS,
    "_response_sha256": S(),
    "_record_hash": S(),
}

RAW_SCHEMAS: dict[tuple[str, str], dict[str, pl.DataType]] = {
    ("arxiv", "entries"): {
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
    ("openalex", "works"): {
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
        "updated_at": UTC_TS,
    },
    ("openalex", "authors"): {
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
    ("openalex", "topics"): {
        "topic_id": S(),
        "display_name": S(),
        "subfield": S(),
        "field": S(),
        "domain": S(),
        "works_count": pl.Int64(),
        "cited_by_count": pl.Int64(),
    },
    ("semantic_scholar", "papers"): {
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
    ("semantic_scholar", "authors"): {
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


def raw_schema(slug: str, entity: str) -> pl.Schema:
    return pl.Schema({**RAW_SCHEMAS[(slug, entity)], **LINEAGE})


def empty_raw(slug: str, entity: str) -> pl.LazyFrame:
    return pl.LazyFrame(schema=raw_schema(slug, entity))

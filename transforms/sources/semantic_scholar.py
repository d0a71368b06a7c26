"""Semantic Scholar papers and authors -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.spec import HostPolicy, SourceSpec
from transforms.staging import Raw, explode_authors, finish_authorships, finish_works

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
SPEC = SourceSpec(
    slug="semantic_scholar",
    keys={"papers": "paper_id", "authors": "author_id"},
    schemas=SCHEMAS,
    field_rank={"title": 40, "venue": 40, "doi": 40, "work_type": 40, "abstract": 60},
    hosts={
        # 1 request/s with a key; the keyless pool is shared and throttled harder
        "api.semanticscholar.org": HostPolicy(1.1, 1),
    },
    secret_env="S2_API_KEY",
    # citation counts snapshotted every run
    citations=("papers", "paper_id", "citation_count"),
)
SLUG = SPEC.slug


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        SPEC.raw_frame(raw, "papers").select(
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
        explode_authors(SPEC.raw_frame(raw, "papers"), SLUG, "paper_id", "authors").select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.col("a").struct.field("author_id"),
            raw_name=pl.col("a").struct.field("name"),
            orcid=pl.lit(None, pl.String),
        )
    )

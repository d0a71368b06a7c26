"""DBLP publications and persons -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import DBLP as SPEC
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
    "publications": {
        "key": S(),
        "title": S(),
        "authors": pl.List(
            pl.Struct({"position": pl.Int32(), "name": S(), "pid": S(), "orcid": S()})
        ),
        "venue": S(),
        "year": pl.Int32(),
        "type": S(),
        "doi": S(),
        "arxiv_id": S(),
        "ee": pl.List(S()),
        "volume": S(),
        "pages": S(),
        "url": S(),
        "mdate": pl.Date(),
    },
    "persons": {
        "pid": S(),
        "name": S(),
        "aliases": pl.List(S()),
        "affiliations": pl.List(S()),
        "urls": pl.List(S()),
        "orcid": S(),
        "publication_count": pl.Int64(),
        "profile_type": S(),
    },
}
# DBLP's publication type labels -> the work types other sources use.
WORK_TYPES = {
    "Journal Articles": "journal-article",
    "Conference and Workshop Papers": "proceedings-article",
    "Informal and Other Publications": "other",
    "Books and Theses": "book",
    "Parts in Books or Collections": "book-chapter",
    "Reference Works": "reference-entry",
    "Data and Artifacts": "dataset",
}


def _publications(raw: Raw) -> pl.LazyFrame:
    # an edited volume (type "Editorship") lists editors, not authors: not a work of theirs
    return raw_or_empty(raw, SLUG, "publications", SCHEMAS).filter(
        pl.col("type").is_null() | (pl.col("type") != "Editorship")
    )


def works(raw: Raw) -> pl.LazyFrame:
    arxiv = norm.arxiv_id(pl.col("arxiv_id"))
    return finish_works(
        _publications(raw).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("key"),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=arxiv,
            title=pl.col("title"),
            year=pl.col("year"),
            publication_date=pl.lit(None, pl.Date),
            venue=pl.col("venue"),
            # informal publications with an arXiv id are CoRR records, i.e. arXiv preprints
            work_type=pl.when(
                (pl.col("type") == "Informal and Other Publications") & arxiv.is_not_null()
            )
            .then(pl.lit("preprint"))
            .otherwise(pl.col("type").replace_strict(WORK_TYPES, default=pl.col("type"))),
            cited_by_count=pl.lit(None, pl.Int64),
            abstract=pl.lit(None, pl.String),
            ext_ids=pl.concat_list("dblp:" + pl.col("key")),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(_publications(raw), SLUG, "key", "authors").select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.col("a").struct.field("pid"),
            raw_name=pl.col("a").struct.field("name"),
            orcid=pl.col("a").struct.field("orcid"),
        )
    )

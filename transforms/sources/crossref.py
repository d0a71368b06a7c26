"""Crossref works -> staged works and authorships."""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.schemas import UTC_TS
from transforms.specs import CROSSREF as SPEC
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
        "doi": S(),
        "title": S(),
        "subtitle": S(),
        "container_title": S(),
        "event_name": S(),
        "institution_name": S(),
        "type": S(),
        "publisher": S(),
        "year": pl.Int32(),
        "month": pl.Int32(),
        "day": pl.Int32(),
        "publication_date": pl.Date(),
        "authors": pl.List(
            pl.Struct(
                {
                    "position": pl.Int32(),
                    "given": S(),
                    "family": S(),
                    "suffix": S(),
                    "name": S(),
                    "orcid": S(),
                    "authenticated_orcid": pl.Boolean(),
                    "sequence": S(),
                    "affiliations": pl.List(S()),
                }
            )
        ),
        "is_referenced_by_count": pl.Int64(),
        "reference_count": pl.Int64(),
        "subjects": pl.List(S()),
        "licenses": pl.List(
            pl.Struct({"url": S(), "content_version": S(), "delay_in_days": pl.Int64()})
        ),
        "url": S(),
        "arxiv_id": S(),
        "abstract": S(),
        "deposited_at": UTC_TS,
    },
}


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        raw_or_empty(raw, SLUG, "works", SCHEMAS).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("doi"),
            doi=norm.doi(pl.col("doi")),
            arxiv_id=norm.arxiv_id(pl.col("arxiv_id")),
            title=pl.col("title"),
            year=pl.col("year"),
            publication_date=pl.col("publication_date"),
            venue=pl.coalesce(
                pl.col("container_title"), pl.col("event_name"), pl.col("institution_name")
            ),
            # Crossref calls preprints (and other not-yet-reviewed postings) posted-content
            work_type=pl.col("type").replace("posted-content", "preprint"),
            cited_by_count=pl.col("is_referenced_by_count"),
            abstract=pl.col("abstract"),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    works = raw_or_empty(raw, SLUG, "works", SCHEMAS)
    a = pl.col("a")
    given, family = a.struct.field("given"), a.struct.field("family")
    # warehouses loaded before `suffix` was parsed have author structs without it
    fields = works.collect_schema()["authors"].inner.fields  # type: ignore[attr-defined]
    suffix = (
        a.struct.field("suffix") if any(f.name == "suffix" for f in fields) else pl.lit(None, S)
    )
    person = pl.concat_str([given, family, suffix], separator=" ", ignore_nulls=True)
    # given and family both there: "Family, Given[, Suffix]", the structured form that
    # transforms.names reads as it is (display "Given Family Suffix", no guessing)
    structured = pl.concat_str([family, pl.lit(", "), given]) + pl.when(suffix.is_not_null()).then(
        ", " + suffix
    ).otherwise(pl.lit(""))
    has_parts = (
        given.is_not_null()
        & family.is_not_null()
        & ~pl.concat_str([given, family]).str.contains(",")
        & (given.str.strip_chars() != "")
        & (family.str.strip_chars() != "")
    )
    return finish_authorships(
        explode_authors(works, SLUG, "doi", "authors").select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            # Crossref has no author ids; an ORCID is the only identifier it carries
            source_author_id=a.struct.field("orcid"),
            raw_name=pl.when(has_parts)
            .then(structured)
            .otherwise(pl.coalesce(person.replace("", None), a.struct.field("name"))),
            orcid=a.struct.field("orcid"),
        )
    )

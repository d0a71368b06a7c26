"""arXiv listing entries (arxiv.org/list/<category>/new|recent) -> staged works and authorships.

A paper is seen once per listing it appears in (its own category's /new, cross-lists, /recent,
later replacements); it is staged once, from its latest announcement (the abstract from the
latest /new entry that had one). The year comes from the arXiv id (YYMM of first submission);
listings carry no publication date, only announcement dates, so `publication_date` stays null.
"""

from __future__ import annotations

import polars as pl

from transforms import normalize as norm
from transforms.specs import ARXIV_LISTING as SPEC
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
        "listing_entry_id": S(),  # <arxiv id>|<category>|<new|recent>|<announcement date>
        "arxiv_id": S(),
        "version": pl.Int32(),  # from the HTML-rendering link; null when there is none
        "category": S(),  # the listing's category
        "listing": S(),  # new | recent
        "announced_date": pl.Date(),
        "section": S(),  # new | cross-list | replacement
        "position": pl.Int32(),  # the entry's number in the listing ([1], [2], ...)
        "title": S(),  # as shown (LaTeX kept; normalised in staging)
        "authors": pl.List(S()),
        "comments": S(),
        "journal_ref": S(),
        "primary_subject": S(),  # "Distributed, Parallel, and Cluster Computing (cs.DC)"
        "primary_category": S(),
        "categories": pl.List(S()),  # primary first
        "abstract": S(),  # /new only
    },
}


def _year_from_id(expr: pl.Expr) -> pl.Expr:
    """`2601.09978` -> 2026; old-style `astro-ph/0601001` -> 2006 (91-99 -> 1991-1999)."""
    yy = (
        pl.when(expr.str.contains("/"))
        .then(expr.str.extract(r"/(\d{2})\d{5}$", 1))
        .otherwise(expr.str.extract(r"^(\d{2})\d{2}\.\d{4,5}$", 1))
        .cast(pl.Int32)
    )
    return pl.when(yy >= 91).then(yy + 1900).otherwise(yy + 2000)


def _latest(raw: Raw) -> pl.LazyFrame:
    """One row per arXiv id: its latest announcement, with the latest abstract seen."""
    entries = raw_or_empty(raw, SLUG, "entries", SCHEMAS).with_columns(
        norm_id=norm.arxiv_id(pl.col("arxiv_id"))
    )
    # the last three keys only break ties (the same entry read in several runs)
    ordered = entries.sort(
        "announced_date",
        pl.col("listing") == "new",
        "listing_entry_id",
        "_fetched_at",
        "_run_id",
        descending=True,
        nulls_last=True,
    )
    return ordered.group_by("norm_id", maintain_order=True).agg(
        pl.col("title").first(),
        pl.col("authors").first(),
        pl.col("abstract").drop_nulls().first(),
        pl.col("_run_id").first(),
        pl.col("_fetched_at").first(),
    )


def works(raw: Raw) -> pl.LazyFrame:
    return finish_works(
        _latest(raw).select(
            source=pl.lit(SLUG),
            source_work_id=pl.col("norm_id"),
            doi=pl.lit(None, pl.String),
            arxiv_id=pl.col("norm_id"),
            title=pl.col("title"),
            year=_year_from_id(pl.col("norm_id")),
            publication_date=pl.lit(None, pl.Date),
            venue=pl.lit("arXiv"),
            work_type=pl.lit("preprint"),
            cited_by_count=pl.lit(None, pl.Int64),
            abstract=pl.col("abstract"),
            _run_id=pl.col("_run_id"),
            _fetched_at=pl.col("_fetched_at"),
        )
    )


def authorships(raw: Raw) -> pl.LazyFrame:
    return finish_authorships(
        explode_authors(_latest(raw), SLUG, "norm_id", "authors").select(
            "source",
            "source_work_id",
            position=pl.col("idx"),
            source_author_id=pl.lit(None, pl.String),
            raw_name=pl.col("a"),
            orcid=pl.lit(None, pl.String),
        )
    )

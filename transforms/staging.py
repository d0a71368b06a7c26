"""Shared shapes for staging raw source records: one row per source work, one per authorship.

Each `transforms/sources/<slug>.py` maps its raw tables onto these columns; `transforms.model`
concatenates them, so adding a source never touches the model's join logic.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms import normalize as norm
from transforms.schemas import LINEAGE, UTC_TS

Raw = dict[str, pl.LazyFrame]

WORK_COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_work_id": pl.String(),
    "doi": pl.String(),
    "arxiv_id": pl.String(),
    "title": pl.String(),
    "title_key": pl.String(),
    "year": pl.Int32(),
    "publication_date": pl.Date(),
    "venue": pl.String(),
    "work_type": pl.String(),
    "cited_by_count": pl.Int64(),
    "abstract": pl.String(),
    # identifiers other than DOI / arXiv id, "<scheme>:<value>": "openalex:W123", "s2:<paperId>",
    # "corpus:215416146", "dblp:conf/sosp/KwonLZ0ZY0ZS23", "par:10483921", "pmid:…"
    "ext_ids": pl.List(pl.String()),
    # a source's word that the work is retracted (OpenAlex `is_retracted`); null: not said
    "is_retracted": pl.Boolean(),
    # field-normalised impact where the source rates it (OpenAlex FWCI, citation percentile)
    "fwci": pl.Float64(),
    "citation_percentile": pl.Float64(),
    "_run_id": pl.String(),
    "_fetched_at": UTC_TS,
}
AUTHORSHIP_COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_work_id": pl.String(),
    "position": pl.Int32(),
    "source_author_id": pl.String(),
    "raw_name": pl.String(),
    "orcid": pl.String(),
}


def raw_or_empty(
    raw: Raw, slug: str, entity: str, schemas: Mapping[str, Mapping[str, pl.DataType]]
) -> pl.LazyFrame:
    """The table `raw_<slug>__<entity>`, or an empty frame of its schema (the source's columns
    plus lineage) when the source has loaded nothing yet."""
    table = raw.get(f"raw_{slug}__{entity}")
    return table if table is not None else pl.LazyFrame(schema={**schemas[entity], **LINEAGE})


def finish_works(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Normalise titles, add the title key, and cast to WORK_COLUMNS (title_key is derived)."""
    names = lf.collect_schema().names()
    if "ext_ids" not in names:
        lf = lf.with_columns(ext_ids=pl.lit([], pl.List(pl.String)))
    for column in ("is_retracted", "fwci", "citation_percentile"):
        if column not in names:
            lf = lf.with_columns(pl.lit(None, WORK_COLUMNS[column]).alias(column))
    return (
        lf.with_columns(title=norm.title(pl.col("title")))
        .with_columns(title_key=norm.title_key(pl.col("title")))
        .select([pl.col(c).cast(t) for c, t in WORK_COLUMNS.items()])
    )


def explode_authors(lf: pl.LazyFrame, source: str, id_col: str, list_col: str) -> pl.LazyFrame:
    """(source, source_work_id, idx, a): one row per element of a record's author list."""
    return (
        lf.select(pl.col(id_col).alias("source_work_id"), pl.col(list_col).alias("a"))
        .with_columns(idx=pl.int_ranges(pl.col("a").list.len()))
        .explode("a", "idx")
        .filter(pl.col("a").is_not_null())
        .with_columns(source=pl.lit(source))
    )


def finish_authorships(lf: pl.LazyFrame) -> pl.LazyFrame:
    return lf.select([pl.col(c).cast(t) for c, t in AUTHORSHIP_COLUMNS.items()])

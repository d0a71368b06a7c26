"""Fixed polars schemas of the raw landing tables, so table shapes never depend on one page.

Each source declares its columns in `transforms/sources/<slug>.py`; lineage is added here.
"""

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


def raw_schema(slug: str, entity: str) -> pl.Schema:
    """Columns of `raw_<slug>__<entity>`: the source's own (transforms/sources/<slug>.py) plus
    lineage."""
    from transforms.sources import STAGING  # the source modules import this one

    return pl.Schema({**STAGING[slug].schemas[entity], **LINEAGE})


def empty_raw(slug: str, entity: str) -> pl.LazyFrame:
    return pl.LazyFrame(schema=raw_schema(slug, entity))


# resolution_flags: what entity resolution refused to decide alone (works and authors alike)
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "entity": S(),
    "kind": S(),
    "entity_id": S(),
    "source": S(),
    "source_id": S(),
    "detail": S(),
    "line": pl.Int32(),
}


def flag_rows(
    lf: pl.LazyFrame, entity: str, keep: tuple[str, ...] = (), **cols: pl.Expr
) -> pl.LazyFrame:
    """Rows in FLAG_SCHEMA for one entity kind, then the `keep` columns; missing ones are null."""
    exprs = {c: pl.lit(None, t) for c, t in FLAG_SCHEMA.items()}
    exprs["entity"] = pl.lit(entity)
    exprs.update(cols)
    return lf.select(
        *[exprs[c].cast(t).alias(c) for c, t in FLAG_SCHEMA.items()], *[pl.col(c) for c in keep]
    )

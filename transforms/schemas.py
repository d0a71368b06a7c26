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

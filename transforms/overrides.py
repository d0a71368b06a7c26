"""Curated corrections (`overrides.toml`) as a frame, and how their references find papers.

The file is read and validated in `flows/overrides.py`; the transforms only see this frame.
A work reference is one of:
- `doi:<doi>` / `arxiv:<id>`: every source record carrying that identifier;
- `<slug>:<source_work_id>` (`openalex:W4387`, `dblp:conf/sosp/KwonLZ0ZY0ZS23`): one record;
- a canonical `paper_id` as shown by `scholarflow explain` or the `papers` view.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from transforms import normalize as norm

# kind: "not_author" | "merge" | "keep_apart" | "alias"
OVERRIDE_SCHEMA: dict[str, Any] = {
    "kind": pl.String,
    "researcher_id": pl.String,  # not_author, alias (resolved from name or id by the reader)
    "works": pl.List(pl.String),  # not_author, merge, keep_apart
    "names": pl.List(pl.String),  # alias
    "ids": pl.List(pl.String),  # alias: "<slug>:<source_author_id>" or "orcid:<orcid>"
    "reason": pl.String,
    "line": pl.Int32,  # line of the entry in overrides.toml, for flags and explain
}


def overrides_frame(rows: list[dict[str, object]] | None = None) -> pl.LazyFrame:
    """Override entries (possibly none) in OVERRIDE_SCHEMA."""
    return pl.LazyFrame(rows or [], schema=OVERRIDE_SCHEMA)


def work_refs(overrides: pl.LazyFrame) -> pl.LazyFrame:
    """(line, kind, researcher_id, ref): one row per work reference of an entry."""
    return (
        overrides.select("line", "kind", "researcher_id", ref="works")
        .explode("ref")
        .drop_nulls("ref")
        .with_columns(ref=pl.col("ref").str.strip_chars())
    )


def match_refs(refs: pl.LazyFrame, records: pl.LazyFrame) -> pl.LazyFrame:
    """refs (any columns + `ref`) x records (source, source_work_id, doi, arxiv_id and optionally
    paper_id) -> the refs' columns + source, source_work_id (+ paper_id) of every record a
    reference names. A reference that names nothing yields no row (callers flag it)."""
    cols = records.collect_schema().names()
    keyed = [
        records.with_columns(ref=pl.concat_str("source", pl.lit(":"), "source_work_id")),
        records.filter(pl.col("doi").is_not_null()).with_columns(ref="doi:" + pl.col("doi")),
        records.filter(pl.col("arxiv_id").is_not_null()).with_columns(
            ref="arxiv:" + pl.col("arxiv_id")
        ),
    ]
    if "paper_id" in cols:
        keyed.append(records.with_columns(ref=pl.col("paper_id")))
    # references are normalised like the records' ids: "doi:10.1145/ABC" == "doi:10.1145/abc"
    prefix = pl.col("ref").str.extract(r"^([a-z_]+):", 1)
    body = pl.col("ref").str.replace(r"^[a-z_]+:", "")
    normal = refs.with_columns(
        key=pl.when(prefix == "doi")
        .then("doi:" + norm.doi(body))
        .when(prefix == "arxiv")
        .then("arxiv:" + norm.arxiv_id(body))
        .otherwise(pl.col("ref"))
    )
    return (
        normal.join(pl.concat(keyed, how="diagonal_relaxed").rename({"ref": "key"}), on="key")
        .drop("key")
        .unique(maintain_order=True)
    )

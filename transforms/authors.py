"""Authors: watched researchers, their ids across sources, authorship lists and profiles.

Pure polars. Inputs are staged authorships (`transforms.model.stage_authorships`), the paper
cross-reference and the watchlist's researchers.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from transforms import normalize as norm
from transforms.staging import raw_frame

# Whose author list becomes the paper's authorship list: OpenAlex (ids, full names), then arXiv
# (full names as submitted), then Semantic Scholar (often initials only: "D. Zhuo").
AUTHORSHIP_PRIORITY = {"openalex": 0, "arxiv": 1, "semantic_scholar": 2}


def _raw(raw: dict[str, pl.LazyFrame], slug: str, entity: str) -> pl.LazyFrame:
    return raw_frame(raw, slug, entity)


def _priority(col: str, order: dict[str, int]) -> pl.Expr:
    return pl.col(col).replace_strict(order, default=99, return_dtype=pl.Int32)


# Watchlist id columns of a researcher -> the source whose author ids they are.
_RESEARCHER_ID_COLUMNS = {
    "openalex_ids": "openalex",
    "s2_ids": "semantic_scholar",
    "scholar_feed_ids": "scholar_feed",
    "dblp_pids": "dblp",
}


def researchers_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    """Watched researchers: researcher_id, display_name, names, orcid and their source ids
    (openalex_ids, s2_ids, scholar_feed_ids, dblp_pids; missing columns are empty)."""
    schema: dict[str, Any] = {
        "researcher_id": pl.String,
        "display_name": pl.String,
        "names": pl.List(pl.String),
        "orcid": pl.String,
        **{c: pl.List(pl.String) for c in _RESEARCHER_ID_COLUMNS},
    }
    return pl.LazyFrame(
        [{**{c: [] for c in _RESEARCHER_ID_COLUMNS}, **r} for r in rows], schema=schema
    )


def _researcher_keys(researchers: pl.LazyFrame) -> pl.LazyFrame:
    """(researcher_id, names, orcid, name_key): one row per name or alias of a researcher."""
    return (
        researchers.select("researcher_id", "names", "orcid")
        .explode("names")
        .with_columns(name_key=pl.col("names").map_elements(norm.name_key, return_dtype=pl.String))
    )


def watched_author_ids(raw: dict[str, pl.LazyFrame], researchers: pl.LazyFrame) -> pl.LazyFrame:
    """(source, source_author_id, researcher_id): ids from the watchlist, plus source profiles
    whose name or ORCID matches a researcher (the ones fetched by name search)."""
    keys = _researcher_keys(researchers)
    explicit = (
        pl.concat(
            [
                researchers.select("researcher_id", ids=column)
                .explode("ids")
                .with_columns(source=pl.lit(source))
                for column, source in _RESEARCHER_ID_COLUMNS.items()
            ]
        )
        .select("source", source_author_id="ids", researcher_id="researcher_id")
        .drop_nulls()
    )
    profiles = pl.concat(
        [
            _raw(raw, "openalex", "authors").select(
                source=pl.lit("openalex"),
                source_author_id="author_id",
                name="display_name",
                orcid="orcid",
            ),
            _raw(raw, "semantic_scholar", "authors").select(
                source=pl.lit("semantic_scholar"),
                source_author_id="author_id",
                name="name",
                orcid="orcid",
            ),
            # full Scholar Feed profiles only: discover results include namesakes
            _raw(raw, "scholar_feed", "authors")
            .filter(pl.col("from_profile"))
            .select(
                source=pl.lit("scholar_feed"),
                source_author_id="author_id",
                name="name",
                orcid=pl.lit(None, pl.String),
            ),
        ]
    ).with_columns(name_key=pl.col("name").map_elements(norm.name_key, return_dtype=pl.String))
    by_name = profiles.join(keys.select("researcher_id", "name_key").unique(), on="name_key")
    by_orcid = profiles.join(
        keys.select("researcher_id", "orcid").drop_nulls().unique(), on="orcid"
    )
    found = pl.concat(
        [
            explicit,
            by_name.select("source", "source_author_id", "researcher_id"),
            by_orcid.select("source", "source_author_id", "researcher_id"),
        ]
    )
    return found.unique().sort("source", "source_author_id", "researcher_id")


def build_authorships(
    staged: pl.LazyFrame, xref: pl.LazyFrame, researchers: pl.LazyFrame, author_ids: pl.LazyFrame
) -> pl.LazyFrame:
    """One author list per paper, from the best source; watched researchers found by source id,
    ORCID or name in any source and carried onto that list by (initial, last name)."""
    keys = _researcher_keys(researchers)
    unique_keys = (
        keys.select("researcher_id", "name_key")
        .unique()
        .group_by("name_key")
        .agg(pl.col("researcher_id").first(), n=pl.len())
        .filter(pl.col("n") == 1)
        .drop("n")
    )
    rows = staged.join(xref, on=["source", "source_work_id"])
    by_id = author_ids.rename({"researcher_id": "rid_id"})
    by_orcid = keys.select("orcid", rid_orcid="researcher_id").drop_nulls().unique()
    matched = (
        rows.join(by_id, on=["source", "source_author_id"], how="left")
        .join(by_orcid, on="orcid", how="left")
        .join(unique_keys.rename({"researcher_id": "rid_name"}), on="name_key", how="left")
        .with_columns(researcher_id=pl.coalesce("rid_id", "rid_orcid", "rid_name"))
        .drop("rid_id", "rid_orcid", "rid_name")
    )
    hits = (
        matched.filter(pl.col("researcher_id").is_not_null())
        .select("paper_id", "short_key", "researcher_id")
        .unique()
    )
    best_source = (
        matched.with_columns(rank=_priority("source", AUTHORSHIP_PRIORITY))
        .group_by("paper_id")
        .agg(
            pl.col("source").sort_by("rank", "source_work_id").first(),
            pl.col("source_work_id").sort_by("rank", "source_work_id").first(),
        )
    )
    chosen = (
        matched.join(best_source, on=["paper_id", "source", "source_work_id"])
        .join(hits.rename({"researcher_id": "rid_hit"}), on=["paper_id", "short_key"], how="left")
        .with_columns(researcher_id=pl.coalesce("researcher_id", "rid_hit"))
        .drop("rid_hit")
    )
    # a watched researcher found on the paper in another source but not on the chosen list
    missing = hits.join(
        chosen.filter(pl.col("researcher_id").is_not_null()).select("paper_id", "researcher_id"),
        on=["paper_id", "researcher_id"],
        how="anti",
    ).join(researchers.select("researcher_id", "display_name"), on="researcher_id")
    chosen = chosen.unique(["paper_id", "position"], keep="first", maintain_order=True)
    listed = chosen.select(
        "paper_id",
        author_id=pl.coalesce("researcher_id", "name_key"),
        position=pl.col("position"),
        author_name=pl.col("display_name"),
        is_watched=pl.col("researcher_id").is_not_null(),
        source=pl.col("source"),
        source_author_id=pl.col("source_author_id"),
    )
    extra = missing.select(
        "paper_id",
        author_id="researcher_id",
        position=pl.lit(None, pl.Int32),
        author_name="display_name",
        is_watched=pl.lit(True),
        source=pl.lit("matched"),
        source_author_id=pl.lit(None, pl.String),
    ).unique(["paper_id", "author_id"])
    return (
        pl.concat([listed, extra])
        .unique(["paper_id", "author_id"], keep="first", maintain_order=True)
        .sort("paper_id", pl.col("position").fill_null(10_000), "author_id")
    )


def build_authors(
    authorships: pl.LazyFrame, researchers: pl.LazyFrame, author_ids: pl.LazyFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(authors, author_xref). Watched researchers keep their watchlist name and id."""
    xref = (
        pl.concat(
            [
                authorships.filter(pl.col("source_author_id").is_not_null()).select(
                    "author_id", "source", "source_author_id"
                ),
                author_ids.select(
                    author_id="researcher_id", source="source", source_author_id="source_author_id"
                ),
            ]
        )
        .unique()
        .sort("author_id", "source", "source_author_id")
    )
    counts = authorships.group_by("author_id").agg(
        display_name=pl.col("author_name").mode().sort().first(),
        n_papers=pl.col("paper_id").n_unique().cast(pl.Int32),
    )
    watched = researchers.select("researcher_id", watch_name="display_name", orcid="orcid")
    authors = counts.join(
        watched, left_on="author_id", right_on="researcher_id", how="full", coalesce=True
    ).select(
        "author_id",
        display_name=pl.coalesce("watch_name", "display_name"),
        is_watched=pl.col("watch_name").is_not_null(),
        orcid="orcid",
        n_papers=pl.col("n_papers").fill_null(0),
    )
    ids = xref.group_by("author_id").agg(
        openalex_author_ids=pl.col("source_author_id")
        .filter(pl.col("source") == "openalex")
        .sort(),
        s2_author_ids=pl.col("source_author_id")
        .filter(pl.col("source") == "semantic_scholar")
        .sort(),
    )
    authors = authors.join(ids, on="author_id", how="left").sort("author_id")
    return authors, xref


def build_author_profiles(raw: dict[str, pl.LazyFrame], author_ids: pl.LazyFrame) -> pl.LazyFrame:
    """What each source reports about a watched researcher (its own h-index, counts)."""
    oa = _raw(raw, "openalex", "authors").select(
        source=pl.lit("openalex"),
        source_author_id="author_id",
        source_name="display_name",
        works_count="works_count",
        cited_by_count="cited_by_count",
        h_index="h_index",
        i10_index="i10_index",
        observed_at="_fetched_at",
    )
    s2 = _raw(raw, "semantic_scholar", "authors").select(
        source=pl.lit("semantic_scholar"),
        source_author_id="author_id",
        source_name="name",
        works_count="paper_count",
        cited_by_count="citation_count",
        h_index="h_index",
        i10_index=pl.lit(None, pl.Int64),
        observed_at="_fetched_at",
    )
    sf = _raw(raw, "scholar_feed", "authors").select(
        source=pl.lit("scholar_feed"),
        source_author_id="author_id",
        source_name="name",
        works_count="paper_count",
        cited_by_count="citations",
        h_index="h_index",
        i10_index=pl.lit(None, pl.Int64),
        observed_at="_fetched_at",
    )
    # profile pages (recipes) name their researcher themselves
    pages = (
        _raw(raw, "profiles", "metrics")
        .select(
            researcher_id="researcher_id",
            source=pl.lit("profiles"),
            source_author_id="profile_url",
            source_name="profile_name",
            works_count="works_count",
            cited_by_count="citations",
            h_index="h_index",
            i10_index="i10_index",
            observed_at="_fetched_at",
        )
        .filter(pl.col("researcher_id").is_not_null())
    )
    by_id = pl.concat([oa, s2, sf]).join(author_ids, on=["source", "source_author_id"])
    return (
        pl.concat([by_id, pages], how="diagonal")
        .select(
            author_id="researcher_id",
            **{
                c: pl.col(c)
                for c in (
                    "source",
                    "source_author_id",
                    "source_name",
                    "works_count",
                    "cited_by_count",
                    "h_index",
                    "i10_index",
                    "observed_at",
                )
            },
        )
        .sort("author_id", "source", "source_author_id")
    )

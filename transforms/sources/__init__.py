"""Per-source staging, by slug: raw table schemas and how records become works/authorships.

A source module defines `SCHEMAS` (entity -> polars columns of `raw_<slug>__<entity>`) and, when
its records are works, `works(raw)` and `authorships(raw)` in the shapes of `transforms.staging`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import polars as pl

from transforms.sources import (
    arxiv,
    arxiv_listing,
    crossref,
    dblp,
    hf_papers,
    nsf_awards,
    nsf_par,
    openalex,
    profiles,
    scholar_feed,
    semantic_scholar,
)
from transforms.staging import Raw


@dataclass(frozen=True)
class Staging:
    slug: str
    schemas: dict[str, dict[str, pl.DataType]]
    works: Callable[[Raw], pl.LazyFrame] | None
    authorships: Callable[[Raw], pl.LazyFrame] | None


def _staging(module: ModuleType) -> Staging:
    return Staging(
        module.SLUG,
        module.SCHEMAS,
        getattr(module, "works", None),
        getattr(module, "authorships", None),
    )


STAGING: dict[str, Staging] = {
    m.SLUG: _staging(m)
    for m in (
        arxiv,
        openalex,
        semantic_scholar,
        hf_papers,
        arxiv_listing,
        nsf_par,
        nsf_awards,
        crossref,
        dblp,
        scholar_feed,
        profiles,
    )
}

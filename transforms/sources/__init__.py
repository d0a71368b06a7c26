"""The staging registry: each source's spec (transforms.specs) with its raw column schemas and
how its records become works and authorships.

A module `transforms/sources/<slug>.py` imports its spec as `SPEC`, declares `SCHEMAS`
(entity -> polars columns of `raw_<slug>__<entity>`) and, when its records are works,
`works(raw)` and `authorships(raw)` in the shapes of `transforms.staging`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

import polars as pl

from transforms.schemas import LINEAGE
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
from transforms.specs import SPECS, SourceSpec
from transforms.staging import Raw, raw_or_empty

_MODULES = (
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


@dataclass(frozen=True)
class Staging:
    spec: SourceSpec
    schemas: Mapping[str, Mapping[str, pl.DataType]]
    works: Callable[[Raw], pl.LazyFrame] | None
    authorships: Callable[[Raw], pl.LazyFrame] | None

    @property
    def slug(self) -> str:
        return self.spec.slug


def staging_of(module: ModuleType) -> Staging:
    """The module's staging, checked against its spec: the same entities, each key and each
    snapshotted field a column; a source whose records are works ranks every paper field (and
    one whose records are not ranks none), so no source silently ranks last."""
    spec: SourceSpec = module.SPEC
    schemas: Mapping[str, Mapping[str, pl.DataType]] = module.SCHEMAS
    works = getattr(module, "works", None)
    problems = []
    if spec.slug != module.__name__.rpartition(".")[2]:
        problems.append(f"its module is {module.__name__}")
    if set(spec.keys) != set(schemas):
        problems.append(f"entities {sorted(spec.keys)} but schemas for {sorted(schemas)}")
    fields: list[tuple[str, tuple[str, ...]]] = [(e, (k,)) for e, k in spec.keys.items()]
    if spec.citations:
        fields.append((spec.citations[0], spec.citations[1:]))
    fields += [(entity, (key, *metrics)) for entity, (key, metrics) in spec.signals.items()]
    for entity, columns in fields:
        if missing := [c for c in columns if c not in schemas.get(entity, {})]:
            problems.append(f"{missing} are not columns of {entity!r}")
    if works is not None and not spec.field_rank:
        problems.append("stages works but declares no field_rank")
    if works is None and spec.field_rank:
        problems.append("declares a field_rank but stages no works")
    if problems:
        raise ValueError(f"source {spec.slug!r}: " + "; ".join(problems))
    return Staging(spec, schemas, works, getattr(module, "authorships", None))


_BY_SLUG = {m.SPEC.slug: staging_of(m) for m in _MODULES}
if set(_BY_SLUG) != set(SPECS):
    raise ValueError(
        f"specs without a staging module: {sorted(set(SPECS) - set(_BY_SLUG))}; "
        f"staging modules without a spec: {sorted(set(_BY_SLUG) - set(SPECS))}"
    )
# In the specs' order.
STAGING: dict[str, Staging] = {slug: _BY_SLUG[slug] for slug in SPECS}


def raw_schema(slug: str, entity: str) -> pl.Schema:
    """Columns of `raw_<slug>__<entity>`: the source's own (its SCHEMAS) plus lineage."""
    return pl.Schema({**STAGING[slug].schemas[entity], **LINEAGE})


def raw_frame(raw: Raw, slug: str, entity: str) -> pl.LazyFrame:
    """A raw table, or an empty frame of its schema when the source has loaded nothing yet."""
    return raw_or_empty(raw, slug, entity, STAGING[slug].schemas)

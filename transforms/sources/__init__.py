"""The source registry: every per-source table is derived here from the sources' own specs.

A source module (`transforms/sources/<slug>.py`) declares `SPEC` (a `transforms.spec.SourceSpec`:
slug, raw tables and keys, field ranks, hosts, secret) and, when its records are works,
`works(raw)` and `authorships(raw)` in the shapes of `transforms.staging`. `flows/sources/<slug>.py`
adds fetching and parsing. The order of `_MODULES` is the order of sources everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
from transforms.spec import HostPolicy, SourceSpec
from transforms.staging import Raw

_MODULES = (
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


@dataclass(frozen=True)
class Staging:
    spec: SourceSpec
    works: Callable[[Raw], pl.LazyFrame] | None
    authorships: Callable[[Raw], pl.LazyFrame] | None

    @property
    def slug(self) -> str:
        return self.spec.slug

    @property
    def schemas(self) -> Mapping[str, Mapping[str, pl.DataType]]:
        return self.spec.schemas


def staging_of(module: ModuleType) -> Staging:
    """The module's staging; a source whose records are works must rank every paper field
    (and one whose records are not must rank none), so no source silently ranks last."""
    spec: SourceSpec = module.SPEC
    works = getattr(module, "works", None)
    if spec.slug != module.__name__.rsplit(".", 1)[-1]:
        raise ValueError(f"{module.__name__}: SPEC.slug {spec.slug!r} is not the module's name")
    if (works is None) == bool(spec.field_rank):
        raise ValueError(
            f"source {spec.slug!r}: "
            + ("stages works but declares no field_rank" if works else "ranks fields of no works")
        )
    return Staging(spec, works, getattr(module, "authorships", None))


def host_limits(specs: Iterable[SourceSpec]) -> dict[str, HostPolicy]:
    """Each host's documented limit, from the one source that declares it."""
    limits: dict[str, HostPolicy] = {}
    owner: dict[str, str] = {}
    for spec in specs:
        for host, policy in spec.hosts.items():
            if host in owner:
                raise ValueError(
                    f"host {host!r} declared by both {owner[host]!r} and {spec.slug!r}"
                )
            limits[host], owner[host] = policy, spec.slug
    return limits


STAGING: dict[str, Staging] = {m.SPEC.slug: staging_of(m) for m in _MODULES}
SPECS: dict[str, SourceSpec] = {slug: s.spec for slug, s in STAGING.items()}
SLUGS: tuple[str, ...] = tuple(SPECS)
# The primary key of each raw entity table.
ENTITY_KEYS: dict[tuple[str, str], str] = {
    (s.slug, entity): key for s in SPECS.values() for entity, key in s.keys.items()
}
HOST_LIMITS: dict[str, HostPolicy] = host_limits(SPECS.values())
SECRET_ENV: dict[str, str] = {s.slug: s.secret_env for s in SPECS.values() if s.secret_env}
# Records of these sources are hosted on arXiv: their `doi` (arXiv's arxiv:doi) and `venue` (the
# entry's arxiv:journal_ref, when it has one) name the published version, not arXiv's own.
PREPRINT_SOURCES: tuple[str, ...] = tuple(s.slug for s in SPECS.values() if s.preprint_server)


def raw_table(slug: str, entity: str) -> str:
    return SPECS[slug].table(entity)


def raw_schema(slug: str, entity: str) -> pl.Schema:
    """Columns of `raw_<slug>__<entity>`: the source's own (its SPEC) plus lineage."""
    return SPECS[slug].raw_schema(entity)


def raw_frame(raw: Raw, slug: str, entity: str) -> pl.LazyFrame:
    """A raw table, or an empty frame of its schema when the source has loaded nothing yet."""
    return SPECS[slug].raw_frame(raw, entity)

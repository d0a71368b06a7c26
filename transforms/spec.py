"""What a source is, declared once: `SPEC = SourceSpec(...)` in `transforms/sources/<slug>.py`.

Every registry reads the specs (`transforms.sources.SPECS`): the raw tables and their keys, the
staging, the field-survival order, the preprint rule, the HTTP host limits, the secret's
environment variable, the CLI's choices and the watchlist's slugs. Pure data: this layer sits
below `flows/`, which adds fetching and parsing (`flows/sources/<slug>.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from transforms.schemas import LINEAGE

# Paper-level fields whose surviving value is chosen by source rank (transforms.works).
PAPER_FIELDS = ("title", "venue", "doi", "work_type", "abstract")


@dataclass(frozen=True)
class HostPolicy:
    """How politely one host (or a group of hosts) is fetched.

    interval: minimum seconds between request starts; concurrency: requests open at once;
    window: at most `window[0]` requests in any `window[1]` seconds; group: hosts that share
    one allowance (arXiv asks for one request per 3 s across its machines).
    """

    interval: float = 0.0
    concurrency: int = 1
    window: tuple[int, float] | None = None
    group: str | None = None


Columns = Mapping[str, pl.DataType]


@dataclass(frozen=True)
class SourceSpec:
    """One source. `keys`: entity -> primary key column of `raw_<slug>__<entity>` (entities in
    this order); `schemas`: entity -> its columns (lineage is added); `field_rank`: for each of
    PAPER_FIELDS, the source's rank when records of one paper disagree (lower wins; None = the
    source never supplies that field, ranked after all that do), empty for a source whose records
    are not works; `preprint_server`: records are hosted on arXiv (their DOI and venue name the
    published version); `hosts`: documented rate limits of the hosts it fetches;
    `secret_env`: environment variable of its API key; `cost_unit`: what its budget counts;
    `citations`: (entity, id field, count field) snapshotted every run; `signals`:
    entity -> (id field, metric fields) recorded every run."""

    slug: str
    keys: Mapping[str, str]
    schemas: Mapping[str, Columns]
    field_rank: Mapping[str, int | None] = field(default_factory=dict)
    preprint_server: bool = False
    hosts: Mapping[str, HostPolicy] = field(default_factory=dict)
    secret_env: str | None = None
    cost_unit: str = "request"
    citations: tuple[str, str, str] | None = None
    signals: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"source spec {self.slug!r}: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out = []
        if set(self.keys) != set(self.schemas):
            out.append(
                f"entities with keys {sorted(self.keys)} != with schemas {sorted(self.schemas)}"
            )
        for entity, key in self.keys.items():
            if key not in self.schemas.get(entity, {key: pl.String()}):
                out.append(f"key {key!r} is not a column of {entity}")
        used: list[tuple[str, tuple[str, ...]]] = []
        if self.citations:
            used.append((self.citations[0], self.citations[1:]))
        used += [(entity, (f, *metrics)) for entity, (f, metrics) in self.signals.items()]
        for entity, columns in used:
            missing = [c for c in columns if c not in self.schemas.get(entity, {})]
            if missing:
                out.append(f"citations/signals name {missing}, not columns of {entity!r}")
        if self.field_rank and set(self.field_rank) != set(PAPER_FIELDS):
            out.append(
                f"field_rank must rank every one of {PAPER_FIELDS} (None: never supplied), "
                f"missing {[f for f in PAPER_FIELDS if f not in self.field_rank]}, "
                f"unknown {sorted(set(self.field_rank) - set(PAPER_FIELDS))}"
            )
        return out

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def table(self, entity: str) -> str:
        return f"raw_{self.slug}__{entity}"

    def raw_schema(self, entity: str) -> pl.Schema:
        """Columns of `raw_<slug>__<entity>`: the source's own plus lineage."""
        return pl.Schema({**self.schemas[entity], **LINEAGE})

    def raw_frame(self, raw: Mapping[str, pl.LazyFrame], entity: str) -> pl.LazyFrame:
        """The raw table, or an empty frame of its schema when nothing is loaded yet."""
        table = raw.get(self.table(entity))
        return table if table is not None else pl.LazyFrame(schema=self.raw_schema(entity))

"""Source registry: one slug per source, used for modules, tables, CLI values and env prefixes.

A source module (`flows/sources/<slug>.py`) defines:
  SLUG, ENTITIES, KEYS (entity -> primary key column of `raw_<slug>__<entity>`),
  fetch(client, watchlist) -> FetchReport, and a pure parser (bytes, where, status) -> Page.
Optionally:
  cost(path, query) -> cost units of one request (default 1), for the usage ledger and budgets;
  exhausted(status, headers, body) -> reason when a response says the allowance is spent;
  CITATIONS = (entity, id field, count field): records whose counts are snapshotted per run;
  SIGNALS = {entity: (id field, (metric fields...))}: per-run metrics (upvotes, scores...);
  INCREMENTAL = True: fetch(client, watchlist, plan) asks only for what changed (FetchPlan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from flows.http import HttpClient
from flows.sources import (
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
from flows.sources.base import FetchPlan, FetchReport, Page
from flows.watchlist import Watchlist

Parser = Callable[[bytes, str, int], Page]


@dataclass(frozen=True)
class Source:
    slug: str
    entities: tuple[str, ...]
    keys: Mapping[str, str]
    fetch: Callable[..., FetchReport]  # (client, watchlist[, plan]) -> FetchReport
    parse: Parser
    cost: Callable[[str, Mapping[str, str]], float] | None = None
    exhausted: Callable[[int, Mapping[str, str], bytes], str | None] | None = None
    citations: tuple[str, str, str] | None = None
    signals: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # Takes a FetchPlan: asks only for what changed since the last complete fetch.
    incremental: bool = False

    @classmethod
    def of(cls, module: ModuleType, parse: Parser) -> Source:
        return cls(
            slug=module.SLUG,
            entities=tuple(module.ENTITIES),
            keys=dict(module.KEYS),
            fetch=module.fetch,
            parse=parse,
            cost=getattr(module, "cost", None),
            exhausted=getattr(module, "exhausted", None),
            citations=getattr(module, "CITATIONS", None),
            signals=dict(getattr(module, "SIGNALS", {})),
            incremental=bool(getattr(module, "INCREMENTAL", False)),
        )

    def run(self, client: HttpClient, watchlist: Watchlist, plan: FetchPlan) -> FetchReport:
        """Fetch for the watchlist; only incremental sources are given the plan."""
        if self.incremental:
            return self.fetch(client, watchlist, plan)
        return self.fetch(client, watchlist)


SOURCES: dict[str, Source] = {
    s.slug: s
    for s in (
        Source.of(arxiv, arxiv.parse_feed),
        Source.of(openalex, openalex.parse_response),
        Source.of(semantic_scholar, semantic_scholar.parse_response),
        Source.of(hf_papers, hf_papers.parse_response),
        Source.of(arxiv_listing, arxiv_listing.parse_listing),
        Source.of(nsf_par, nsf_par.parse_search),
        Source.of(nsf_awards, nsf_awards.parse_response),
        Source.of(crossref, crossref.parse_response),
        Source.of(dblp, dblp.parse_response),
        Source.of(scholar_feed, scholar_feed.parse_response),
        Source.of(profiles, profiles.parse_profile),
    )
}

# The primary key of each raw entity table.
ENTITY_KEYS: dict[tuple[str, str], str] = {
    (s.slug, entity): key for s in SOURCES.values() for entity, key in s.keys.items()
}


def raw_table(slug: str, entity: str) -> str:
    return f"raw_{slug}__{entity}"

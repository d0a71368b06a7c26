"""Source registry of the fetch side: each source's SPEC (transforms/sources/<slug>.py) with its
fetch and parse functions (flows/sources/<slug>.py).

A fetch module defines `SLUG = SPEC.slug`, fetch(client, watchlist) -> FetchReport and a pure
parser (bytes, where, status) -> Page, listed in `_PARSERS` below. Optionally:
  cost(path, query) -> cost units of one request (default 1), for the usage ledger and budgets;
  exhausted(status, headers, body) -> reason when a response says the allowance is spent;
  INCREMENTAL = True: fetch(client, watchlist, plan) asks only for what changed (FetchPlan).
Entities, keys, citations and signals come from the SPEC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from transforms.specs import ENTITY_KEYS, SPECS, SourceSpec, raw_table

__all__ = ["ENTITY_KEYS", "SOURCES", "Source", "raw_table"]

Parser = Callable[[bytes, str, int], Page]


@dataclass(frozen=True)
class Source:
    spec: SourceSpec
    fetch: Callable[..., FetchReport]  # (client, watchlist[, plan]) -> FetchReport
    parse: Parser
    cost: Callable[[str, Mapping[str, str]], float] | None = None
    exhausted: Callable[[int, Mapping[str, str], bytes], str | None] | None = None
    # Takes a FetchPlan: asks only for what changed since the last complete fetch.
    incremental: bool = False

    @property
    def slug(self) -> str:
        return self.spec.slug

    @property
    def entities(self) -> tuple[str, ...]:
        return self.spec.entities

    @property
    def keys(self) -> Mapping[str, str]:
        return self.spec.keys

    @property
    def citations(self) -> tuple[str, str, str] | None:
        return self.spec.citations

    @property
    def signals(self) -> Mapping[str, tuple[str, tuple[str, ...]]]:
        return self.spec.signals

    @classmethod
    def of(cls, module: ModuleType, parse: Parser) -> Source:
        return cls(
            spec=module.SPEC,
            fetch=module.fetch,
            parse=parse,
            cost=getattr(module, "cost", None),
            exhausted=getattr(module, "exhausted", None),
            incremental=bool(getattr(module, "INCREMENTAL", False)),
        )

    def run(self, client: HttpClient, watchlist: Watchlist, plan: FetchPlan) -> FetchReport:
        """Fetch for the watchlist; only incremental sources are given the plan."""
        if self.incremental:
            return self.fetch(client, watchlist, plan)
        return self.fetch(client, watchlist)


_PARSERS: dict[ModuleType, Parser] = {
    arxiv: arxiv.parse_feed,
    openalex: openalex.parse_response,
    semantic_scholar: semantic_scholar.parse_response,
    hf_papers: hf_papers.parse_response,
    arxiv_listing: arxiv_listing.parse_listing,
    nsf_par: nsf_par.parse_search,
    nsf_awards: nsf_awards.parse_response,
    crossref: crossref.parse_response,
    dblp: dblp.parse_response,
    scholar_feed: scholar_feed.parse_response,
    profiles: profiles.parse_profile,
}
_BY_SLUG = {m.SPEC.slug: Source.of(m, parse) for m, parse in _PARSERS.items()}
if set(_BY_SLUG) != set(SPECS):
    raise ValueError(
        f"sources with a SPEC but no fetch module: {sorted(set(SPECS) - set(_BY_SLUG))}; "
        f"fetch modules without a SPEC: {sorted(set(_BY_SLUG) - set(SPECS))}"
    )
# In the registry's order (transforms.sources).
SOURCES: dict[str, Source] = {slug: _BY_SLUG[slug] for slug in SPECS}

"""Source registry: one slug per source, used for modules, tables, CLI values and env prefixes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flows.http import HttpClient
from flows.sources import arxiv, openalex, semantic_scholar
from flows.sources.base import FetchReport, Page
from flows.watchlist import Watchlist


@dataclass(frozen=True)
class Source:
    slug: str
    entities: tuple[str, ...]
    fetch: Callable[[HttpClient, Watchlist], FetchReport]
    parse: Callable[[bytes, str, int], Page]


SOURCES: dict[str, Source] = {
    "arxiv": Source("arxiv", arxiv.ENTITIES, arxiv.fetch, arxiv.parse_feed),
    "openalex": Source("openalex", openalex.ENTITIES, openalex.fetch, openalex.parse_response),
    "semantic_scholar": Source(
        "semantic_scholar",
        semantic_scholar.ENTITIES,
        semantic_scholar.fetch,
        semantic_scholar.parse_response,
    ),
}

# The primary key of each raw entity table.
ENTITY_KEYS: dict[tuple[str, str], str] = {
    ("arxiv", "entries"): "arxiv_id",
    ("openalex", "works"): "work_id",
    ("openalex", "authors"): "author_id",
    ("openalex", "topics"): "topic_id",
    ("semantic_scholar", "papers"): "paper_id",
    ("semantic_scholar", "authors"): "author_id",
}


def raw_table(slug: str, entity: str) -> str:
    return f"raw_{slug}__{entity}"

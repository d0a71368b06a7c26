"""Types shared by the source modules: parsed pages, quarantined records, source errors.

Source modules import only this, `flows.http` and parsing libraries: no prefect, duckdb, polars.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flows.http import FetchedResponse

Record = dict[str, Any]


class SourceError(ValueError):
    """A payload that is not valid data of its source (error page, malformed body).

    The message names the source and the request (or file) it came from.
    """

    def __init__(self, source: str, where: str, message: str) -> None:
        super().__init__(f"[{source}] {message} ({where})")
        self.source = source
        self.where = where
        self.reason = message


@dataclass(frozen=True)
class Quarantined:
    """One record that could not be parsed: kept with its reason, never dropped silently."""

    source: str
    entity: str
    record_key: str
    reason: str
    payload: str

    @classmethod
    def of(cls, source: str, entity: str, key: str, reason: str, raw: Any) -> Quarantined:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        return cls(source, entity, key, reason, text[:20_000])


@dataclass
class Page:
    """What one response holds: records by entity, quarantined records, paging hints."""

    records: dict[str, list[Record]] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    total: int | None = None
    next_token: str | None = None

    def add(self, entity: str, record: Record) -> None:
        self.records.setdefault(entity, []).append(record)

    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


@dataclass(frozen=True)
class Fetched:
    """A response together with what was parsed from it."""

    response: FetchedResponse
    page: Page


@dataclass
class FetchReport:
    """Everything one source fetch produced, including per-request errors."""

    source: str
    items: list[Fetched] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)

    def __iter__(self) -> Iterator[Fetched]:
        return iter(self.items)

    def collect(self, pages: Iterator[Fetched]) -> None:
        """Keep every page a listing yields; a failing request is recorded, not fatal."""
        try:
            for item in pages:
                self.items.append(item)
        except SourceError as exc:
            self.errors.append(exc)

    def collect_one(self, pages: Iterator[Fetched], entity: str, key: str) -> str | None:
        """Collect a lookup (e.g. an author by id or name); the id of the record it found."""
        before = len(self.items)
        self.collect(pages)
        if len(self.items) == before:
            return None
        found = self.items[-1].page.records.get(entity, [])
        return str(found[0][key]) if found else None


def item_key(where: str, index: int) -> str:
    """Quarantine key of a record that has no usable id of its own.

    Unique per response and position, so two id-less records never share a key (the quarantine
    table's primary key would otherwise keep only the first), and stable when the same response
    is parsed again.
    """
    return f"{where} [item {index}]"


def load_json(source: str, body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        snippet = body[:120].decode("utf-8", errors="replace").strip().replace("\n", " ")
        raise SourceError(source, where, f"response is not JSON: {snippet!r}") from None

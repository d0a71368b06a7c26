"""The one gate between parsed records and the warehouse: every record is checked against its
raw table's schema before anything (raw tables, citation snapshots, metrics) is built from it.

A record that does not fit is moved to its page's quarantine with the reason, the field, and
the response (URL or file) it came from; the rest of the page loads. Records the parser already
quarantined get the response named the same way.
"""

from __future__ import annotations

from dataclasses import replace

from flows.sources import ENTITY_KEYS
from flows.sources.base import FetchReport, Page, Quarantined, Record
from transforms.schemas import record_checker
from transforms.sources import raw_schema


def _key(record: Record, key: str, where: str, index: int) -> str:
    value = record.get(key)
    return str(value) if value not in (None, "") else f"{where} #{index}"


def checked_page(source: str, page: Page, where: str) -> Page:
    """`page` with every record that does not fit its raw table moved to `quarantined`."""
    records: dict[str, list[Record]] = {}
    bad: list[Quarantined] = []
    for entity, rows in page.records.items():
        table = f"raw_{source}__{entity}"
        key = ENTITY_KEYS.get((source, entity))
        if key is None:
            reason = f"{table} is not a table of {source} (from {where})"
            bad.extend(
                Quarantined.of(source, entity, f"{where} #{i}", reason, r)
                for i, r in enumerate(rows)
            )
            continue
        problem_of = record_checker(raw_schema(source, entity), key)
        good = records.setdefault(entity, [])
        for i, record in enumerate(rows):
            problem = problem_of(record)
            if problem is None:
                good.append(record)
                continue
            reason = f"value does not fit {table}: {problem} (from {where})"
            bad.append(Quarantined.of(source, entity, _key(record, key, where, i), reason, record))
    # the parser's own quarantine names the record; say which response it came from too
    held = [
        q if where in q.reason else replace(q, reason=f"{q.reason} (from {where})")
        for q in page.quarantined
    ]
    if not bad and held == page.quarantined:
        return page
    return replace(page, records=records, quarantined=[*held, *bad])


def validated(reports: list[FetchReport]) -> list[FetchReport]:
    """Reports whose pages hold only records that fit their tables (the others quarantined)."""
    out = []
    for rep in reports:
        items = [
            replace(f, page=checked_page(rep.source, f.page, f.response.url)) for f in rep.items
        ]
        out.append(replace(rep, items=items))
    return out

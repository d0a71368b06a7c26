"""arXiv API (Atom feed at export.arxiv.org/api/query).

Terms of use: at most one request every 3 seconds on a single connection (enforced by the shared
client's per-host limit); results are paged with `start`/`max_results`.

Upstream quirks handled here:
- Two Atom dialects: the 2016 feed declares the `arxiv:`/`opensearch:` namespaces on each element,
  the 2025/26 feed on the root; feedparser and lxml (namespace-aware) read both the same way.
- `<arxiv:affiliation>` sits inside `<author>`; feedparser keeps only the entry's last one, so
  authors and their affiliations are read with lxml.
- A bad query comes back as HTTP 400 *with a feed* whose single entry is titled "Error".
- Unknown ids in `id_list` are dropped silently; an empty page can appear mid-paging (transient).
- Old-style ids (`astro-ph/0601001`) keep their archive prefix; versions (`v2`) are split off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import feedparser
from lxml import etree  # type: ignore[import-untyped]

from flows.http import HttpClient
from flows.sources.base import (
    FULL_PLAN,
    Fetched,
    FetchPlan,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    item_key,
)
from flows.watchlist import Watchlist
from transforms.specs import ARXIV as SPEC

SLUG = SPEC.slug
# Live runs take a FetchPlan (what changed since the last run).
INCREMENTAL = True
API_URL = "https://export.arxiv.org/api/query"
PAGE_SIZE = 100
MAX_PER_AUTHOR = 2_000
EMPTY_PAGE_RETRIES = 2

_ID = re.compile(r"arxiv\.org/abs/(?P<id>.+?)(?:v(?P<v>\d+))?$")
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def parse_arxiv_id(value: str) -> tuple[str, int | None]:
    """`http://arxiv.org/abs/1111.2011v2` -> ("1111.2011", 2); old-style ids keep their archive."""
    m = _ID.search(value.strip())
    if not m:
        raise ValueError(f"not an arXiv abs URL: {value!r}")
    return m.group("id"), int(m.group("v")) if m.group("v") else None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


Author = dict[str, str | None]


def _xml_authors(body: bytes) -> list[list[Author]]:
    """Authors of each entry, in document order, each with its `arxiv:affiliation`(s)."""
    root = etree.fromstring(body, parser=_XML_PARSER)
    out: list[list[Author]] = []
    for entry in root.findall(f"{_ATOM}entry"):
        authors: list[Author] = []
        for author in entry.findall(f"{_ATOM}author"):
            name = (author.findtext(f"{_ATOM}name") or "").strip()
            affiliations = [(a.text or "").strip() for a in author.findall(f"{_ARXIV}affiliation")]
            if name:
                affiliation = "; ".join(a for a in affiliations if a) or None
                authors.append({"name": name, "affiliation": affiliation})
        out.append(authors)
    return out


def _entry_record(entry: Any, authors: list[Author]) -> dict[str, Any]:
    arxiv_id, version = parse_arxiv_id(entry["id"])
    if not authors:
        raise ValueError("entry has no authors")
    # The API wraps long titles ("...in the presence\n  of quenched disorder"): unwrap them.
    title = " ".join(entry.get("title", "").split())
    if not title:
        raise ValueError("entry has no title")
    primary = entry.get("arxiv_primary_category", {}).get("term")
    categories = [t["term"] for t in entry.get("tags", []) if t.get("term")]
    if primary and primary not in categories:
        categories.insert(0, primary)
    return {
        "arxiv_id": arxiv_id,
        "version": version,
        "title": title,
        "summary": entry.get("summary", "").strip() or None,
        "authors": authors,
        "primary_category": primary or (categories[0] if categories else None),
        "categories": categories,
        "doi": entry.get("arxiv_doi"),
        "journal_ref": entry.get("arxiv_journal_ref"),
        "comment": entry.get("arxiv_comment"),
        "published_at": _when(entry.get("published")),
        "updated_at": _when(entry.get("updated")),
    }


def parse_feed(body: bytes, where: str, status: int = 200) -> Page:
    """Atom feed bytes -> entries. Error feeds and malformed XML raise `SourceError`."""
    feed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    entries = feed.get("entries", [])
    # The error entry's id is https://arxiv.org/api/errors#...; a paper may well be titled "Error".
    error = next(
        (
            e
            for e in entries
            if "arxiv.org/api/errors" in e.get("id", "")
            or (status != 200 and e.get("title") == "Error")
        ),
        None,
    )
    if error is not None:
        raise SourceError(
            SLUG, where, f"arXiv API error (HTTP {status}): {error.get('summary', '').strip()}"
        )
    if status != 200:
        raise SourceError(SLUG, where, f"HTTP {status} from the arXiv API")
    if feed.get("bozo"):
        # A truncated or broken feed: refuse the whole page rather than load part of it.
        reason = feed.get("bozo_exception")
        raise SourceError(SLUG, where, f"malformed Atom feed ({type(reason).__name__}: {reason})")
    if feed.get("version", "") != "atom10":
        raise SourceError(SLUG, where, "response is not an Atom feed")
    try:
        authors = _xml_authors(body)
    except etree.XMLSyntaxError as exc:
        raise SourceError(SLUG, where, f"malformed Atom feed (XMLSyntaxError: {exc})") from None
    if len(authors) != len(entries):
        raise SourceError(
            SLUG, where, f"feed has {len(authors)} <entry> elements, parsed {len(entries)}"
        )
    page = Page()
    total = feed.get("feed", {}).get("opensearch_totalresults")
    try:
        page.total = int(total) if total is not None else None
    except ValueError:
        raise SourceError(
            SLUG, where, f"opensearch:totalResults is not a number: {total!r}"
        ) from None
    for i, (entry, entry_authors) in enumerate(zip(entries, authors, strict=True)):
        try:
            page.add("entries", _entry_record(entry, entry_authors))
        except (KeyError, TypeError, ValueError) as exc:
            key = entry.get("id") or item_key(where, i)
            page.quarantined.append(Quarantined.of(SLUG, "entries", key, str(exc), dict(entry)))
    return page


def queries(watchlist: Watchlist) -> list[tuple[str, str, int]]:
    """(label, search_query, cap) for every researcher and topic."""
    out = []
    for r in watchlist.researchers:
        out.append((f"researcher {r.name}", r.arxiv_query or f'au:"{r.name}"', MAX_PER_AUTHOR))
    for t in watchlist.topics:
        words = " OR ".join(f'all:"{k}"' for k in t.keywords)
        query = f"({words})"
        if t.arxiv_categories:
            cats = " OR ".join(f"cat:{c}" for c in t.arxiv_categories)
            query = f"({cats}) AND {query}"
        out.append((f"topic {t.name}", query, watchlist.sources.max_topic_results))
    return out


def fetch(client: HttpClient, watchlist: Watchlist, plan: FetchPlan = FULL_PLAN) -> FetchReport:
    """Every researcher's and topic's query. With a plan, a query is listed newest-updated first
    (`sortBy=lastUpdatedDate`) and paging stops at the first entry older than the watermark
    minus the overlap window: new papers and new versions, not the whole history again."""
    report = FetchReport(SLUG)
    for entry, query, cap in entries(watchlist):
        since = plan.since(entry)
        report.collect_entry(
            entry, plan, _fetch_query(client, query, cap, since), full=since is None
        )
    return report


def entries(watchlist: Watchlist) -> list[tuple[str, str, int]]:
    """(plan entry, search_query, cap) for every researcher and topic."""
    keyed = [f"researcher:{r.researcher_id}" for r in watchlist.researchers]
    keyed += [f"topic:{t.name}" for t in watchlist.topics]
    return [(k, q, cap) for k, (_label, q, cap) in zip(keyed, queries(watchlist), strict=True)]


def _fetch_query(
    client: HttpClient, query: str, cap: int, since: date | None = None
) -> Iterator[Fetched]:
    start, empty_tries = 0, 0
    listing_total = 0  # the largest totalResults seen: a flaky empty page may report 0
    while True:
        size = min(PAGE_SIZE, cap - start)
        params: dict[str, str | int] = {
            "search_query": query,
            "start": start,
            "max_results": size,
            "sortBy": "submittedDate" if since is None else "lastUpdatedDate",
            "sortOrder": "descending",
        }
        resp = client.get(SLUG, API_URL, params=params)
        page = parse_feed(resp.body, f"GET {resp.url}", resp.status)
        listing_total = total = max(listing_total, page.total or 0)
        if page.count() == 0 and not page.quarantined and start < min(total, cap):
            # Known arXiv flake: an empty page mid-listing; ask again before giving up.
            empty_tries += 1
            if empty_tries > EMPTY_PAGE_RETRIES:
                raise SourceError(
                    SLUG, f"GET {resp.url}", f"empty page at start={start} of {total}"
                )
            continue
        empty_tries = 0
        yield Fetched(resp, page)
        start += page.count() + len(page.quarantined)
        if start >= min(total, cap) or page.count() + len(page.quarantined) == 0:
            return
        if since is not None and _older_than(page, since):
            return  # listed by last update, newest first: the rest is older still


def _older_than(page: Page, since: date) -> bool:
    """True when the page's last entry was last updated before `since`."""
    entries = page.records.get("entries", [])
    last = entries[-1].get("updated_at") if entries else None
    return isinstance(last, datetime) and last.date() < since

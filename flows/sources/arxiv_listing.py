"""arXiv listing pages (arxiv.org/list): what was announced today per watched category.

Endpoints (HTML, no key): `https://arxiv.org/list/<category>/new` (the latest announcement:
sections "New submissions", "Cross submissions", "Replacement submissions", with abstracts;
up to 2000 entries per page, arXiv's `max_show`) and `https://arxiv.org/list/<category>/recent`
(the last five announcement days, one section per day, no abstracts; paged with `skip`/`show`,
`show` capped at 2000 by arXiv; its own steps are 5, 10, 25, 50, 100, 250, 500, 1000, 2000).
Categories: the topics' `arxiv_categories` plus `[sources.arxiv_listing] categories`.

Terms and limits: arXiv asks for one request every 3 s on a single connection across its
machines (the shared client's `arxiv` host group, with export.arxiv.org) and forbids
indiscriminate crawling. arxiv.org/robots.txt (checked 2026: `User-agent: *`, `Crawl-delay: 15`,
`Allow: /list`, `Disallow: /search`, `/api`, `/format`, `/IgnoreMe`, ...) allows these pages; every
request is made with `robots=True`, so a disallowed path is skipped, not fetched. A run makes one
/new request and ceil(max_recent / recent_page_size) /recent requests per category. HTTP 403 is
arXiv's "access denied" to a client it considers abusive, and it treats further requests as an
attack: `exhausted` stops the source for the run on the first 403.

Records (`entries`): one per (arXiv id, listing it was seen in), keyed by `listing_entry_id` =
`<arxiv id>|<category>|<new or recent>|<announcement date>`; the same paper is announced in
several categories (cross-lists), shown again in /recent, and replaced on later days.

Upstream quirks handled here:
- Each section is its own `<dl id='articles'>` with an `<h3>` inside it; `</dd>`, `</dt>` and
  `</p>` are optional in HTML. Entries are read in document order (see `_scan`), so a page with
  omitted end tags or unclosed `<div>`s parses to the same entries with any tree builder.
- Counts to check against: "Total of N entries" (top and bottom of the page) and each section's
  "(showing [first|last] n of M entries)" / "(continued, showing ...)". A page that ends early
  raises `TruncatedPage` (asked for again once); a complete page whose entries disagree with its
  own counts raises `ScrapeDrift`: a listing never loads as a silently shorter list.
- Versions are not in the abs link; the HTML-rendering link carries one (`/html/<id>v3`) when the
  paper has an HTML version, otherwise the version is unknown (null).
- The new page's date ("Showing new listings for Friday, 16 January 2026") and /recent's day
  headings ("Fri, 16 Jan 2026 (showing 10 of 10 entries )") are English whatever the locale.
- Pages are XHTML with the encoding in an XML declaration; decoding is done here
  (BOM > declared charset > UTF-8 > windows-1252), not by a detector that guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from flows.http import FetchedResponse, HttpClient
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    ScrapeDrift,
    SourceError,
    check_drift,
    decode_html,
    item_key,
)
from flows.watchlist import Watchlist
from transforms import ids
from transforms.specs import ARXIV_LISTING as SPEC

SLUG = SPEC.slug
BASE_URL = "https://arxiv.org/list"
NEW_PAGE_SIZE = 2000  # arXiv's max_show and the /new page's default
TRUNCATED_RETRIES = 1
# Tree builder, chosen by measurement (benchmarks/bench_arxiv_listing_builders.py: a 900-entry,
# 1.5 MB /new page; an entry is kept when its id, exact title and authors come out):
#   variant                   dl > dt/dd tree walk: html.parser   lxml        html5lib | this scan
#   well-formed                                     900           900         900      | 900
#   omitted </dd> and </dt>                         0             900         900      | 900
#   unclosed <div>s in <dd>                         0 (900 wrong) 0 (1 wrong) 0 (900 w) | 900
#   unclosed <a>s in authors                        0 (900 wrong) 0 (900 w)   0 (900 w) | 900
#   cut at 60 %                                     540           540         540      | refused
#   parse_listing time, best of 5 (s)               0.75          0.63        1.26
# ("this scan": the same with all three builders; "refused": TruncatedPage.) With the document-
# order scan every builder keeps every entry, so the choice is about the rest: html.parser is the
# standard library (no libxml2, whose HTML error recovery has changed between releases),
# deterministic, and 1.7x faster than html5lib; lxml would save ~0.1 s per 900 entries, nothing
# next to arXiv's 3 s between requests.
BUILDER = "html.parser"

_ABS = re.compile(r"(?:^|/)abs/(?P<id>[^?#\s]+?)(?:v(?P<v>\d+))?/?$")
_HTML_VERSION = re.compile(r"/html/(?P<id>[^?#\s]+?)v(?P<v>\d+)/?$")
_CROSS = re.compile(r"\(cross-list from (?P<cat>[A-Za-z\-]+(?:\.[A-Za-z\-]+)?)\)")
_CODE = re.compile(r"\(([a-z\-]+(?:\.[A-Za-z\-]+)?)\)\s*$")
_COUNTS = re.compile(
    r"\((?P<continued>continued, )?showing (?:first |last )?(?P<n>\d+) of (?P<of>\d+) entries\s*\)"
)
_SECTION = re.compile(r"^(?P<kind>New|Cross|Replacement) submissions\b(?: for (?P<date>[^(]+))?")
_DAY = re.compile(r"^(?P<date>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? \d{1,2} [A-Za-z]+ \d{4})")
_SHOWING_NEW = re.compile(r"^Showing new listings for (?P<date>.+)$")
_DATE = re.compile(r"(?P<d>\d{1,2}) (?P<m>[A-Za-z]{3})[A-Za-z]* (?P<y>\d{4})")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_TOTAL = re.compile(r"Total of (?P<n>\d+) entries")
_SHOWN = re.compile(r"Showing up to (?P<n>\d+) entries per page")
_RANGE = re.compile(r"^(?P<a>\d+)-(?P<b>\d+)$")
_LIST_HREF = re.compile(
    r"/list/(?P<cat>[a-z\-]+(?:\.[A-Za-z\-]+)?)/(?P<kind>new|recent|pastweek)\b"
)
_CONTEXT_ID = re.compile(r"^(?P<kind>new|recent)-(?P<cat>[a-z\-]+(?:\.[A-Za-z\-]+)?)$")
_SECTION_NAMES = {"New": "new", "Cross": "cross-list", "Replacement": "replacement"}
_FIELD_CLASSES = {
    "list-title": "title",
    "list-authors": "authors",
    "list-comments": "comments",
    "list-journal-ref": "journal_ref",
    "list-subjects": "subjects",
}


class TruncatedPage(SourceError):
    """The page ends before its closing paging block and `</html>`: a partial transfer."""


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def html_text(body: bytes) -> str:
    """The page as text, without the XML declaration arXiv's XHTML starts with: decoded, it
    says nothing more, and lxml/html5lib would warn that an XML document is parsed as HTML."""
    return _XML_DECLARATION.sub("", decode_html(body), count=1)


def _date(text: str) -> date | None:
    m = _DATE.search(text)
    if not m or m.group("m").lower() not in _MONTHS:
        return None
    try:
        return date(int(m.group("y")), _MONTHS[m.group("m").lower()], int(m.group("d")))
    except ValueError:
        return None


def _clean(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


@dataclass
class _Heading:
    """An `<h3>`: a section of /new ("Cross submissions (...)") or a day of /recent."""

    parts: list[str] = field(default_factory=list)
    kind: str | None = None  # new | cross-list | replacement (sections of /new)
    day: date | None = None
    shown: int | None = None  # entries of the section on this page, by its own count

    def finish(self) -> None:
        text = _clean(self.parts)
        m = _COUNTS.search(text)
        self.shown = int(m.group("n")) if m else None
        if sec := _SECTION.match(text):
            self.kind = _SECTION_NAMES[sec.group("kind")]
            self.day = _date(sec.group("date") or "")
        elif day := _DAY.match(text):
            self.day = _date(day.group("date"))


@dataclass
class _RawEntry:
    section: _Heading | None
    texts: dict[str, list[str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    primary: str | None = None

    def text(self, name: str) -> str:
        return _clean(self.texts.get(name, []))

    def dump(self) -> dict[str, Any]:
        return {"links": self.links, **{k: self.text(k) for k in self.texts}}


@dataclass
class _Scan:
    headings: list[_Heading] = field(default_factory=list)
    entries: list[_RawEntry] = field(default_factory=list)
    paging: list[list[str]] = field(default_factory=list)  # each div.paging's text
    ranges: list[tuple[int, int]] = field(default_factory=list)  # current-page spans "26-50"
    shown: int | None = None
    new_date: date | None = None
    recent_title: bool = False
    hrefs: list[str] = field(default_factory=list)
    context_ids: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""


def _scan(soup: BeautifulSoup) -> _Scan:
    """Walk the document in order and hand every string to the field opened last.

    Entries are the `<dt>`s; an entry's fields are the `div.list-*`/`p.mathjax` that follow it.
    Nothing here depends on how the tree builder nested the elements, so omitted `</dd>`,
    `</dt>`, `</p>` and unclosed `<div>`s (which make html.parser nest every later entry inside
    the first one) cannot move a field to the wrong entry.
    """
    scan = _Scan()
    entry: _RawEntry | None = None
    heading: _Heading | None = None
    current: list[str] | None = None  # where strings go now
    where = ""  # name of the open field
    for node in soup.descendants:
        if isinstance(node, Tag):
            name, classes = node.name, node.get_attribute_list("class")
            if name == "a":
                href = str(node.get("href") or "")
                scan.hrefs.append(href)
                if m := _CONTEXT_ID.match(str(node.get("id") or "")):
                    scan.context_ids.append((m.group("kind"), m.group("cat")))
                if where == "dt" and entry is not None:
                    entry.links.append(href)
                elif where == "authors" and entry is not None:
                    # The link's first string, up to an affiliation marker "(1)": an unclosed
                    # <a> would hold the separators and the rest of the list too.
                    first = str(node.find(string=True) or "").split("(")[0]
                    entry.authors.append(" ".join(first.split()).rstrip(", "))
            elif name == "title" and not scan.title:
                scan.title = node.get_text(" ", strip=True)
            elif name == "h3":
                heading = _Heading()
                scan.headings.append(heading)
                current, where = heading.parts, "h3"
            elif name == "h2":
                text = node.get_text(" ", strip=True)
                scan.recent_title = scan.recent_title or text.startswith("Authors and titles for")
                current, where = None, "h2"
            elif name == "dt":
                entry = _RawEntry(section=heading)
                scan.entries.append(entry)
                current, where = entry.texts.setdefault("dt", []), "dt"
            elif name == "div" and "paging" in classes:
                scan.paging.append([])
                current, where = scan.paging[-1], "paging"
                entry = None
            elif name == "div" and "morefewer" in classes:
                current, where = [], "morefewer"
                entry = None
            elif entry is not None and name == "div" and (f := _known_field(classes)):
                current, where = entry.texts.setdefault(f, []), f
            elif entry is not None and name == "p" and "mathjax" in classes:
                current, where = entry.texts.setdefault("abstract", []), "abstract"
            elif name == "span" and where == "subjects" and "primary-subject" in classes:
                if entry is not None and entry.primary is None:
                    entry.primary = node.get_text(" ", strip=True)
            elif name == "span" and where == "paging":
                if m := _RANGE.match(node.get_text(strip=True)):
                    scan.ranges.append((int(m.group("a")), int(m.group("b"))))
            elif name == "br" and current is not None:
                current.append("\n")
        elif type(node) is NavigableString and current is not None:
            parent = node.parent
            if parent is not None and "descriptor" in parent.get_attribute_list("class"):
                continue  # "Title:", "Comments:", "Subjects:" labels
            current.append(str(node))
            if where == "morefewer" and scan.shown is None and (m := _SHOWN.search(str(node))):
                scan.shown = int(m.group("n"))
    for h in scan.headings:  # entries hold their heading: its counts are read once it is whole
        h.finish()
        text = _clean(h.parts)
        if m := _SHOWING_NEW.match(text):
            scan.new_date = _date(m.group("date"))
    return scan


def _known_field(classes: list[str]) -> str | None:
    for c in classes:
        if c in _FIELD_CLASSES:
            return _FIELD_CLASSES[c]
    return None


def _arxiv_id(entry: _RawEntry) -> tuple[str, int | None]:
    arxiv_id, version = None, None
    for href in entry.links:
        if arxiv_id is None and (m := _ABS.search(href)):
            arxiv_id = m.group("id")
            version = int(m.group("v")) if m.group("v") else None
    if arxiv_id is None or ids.arxiv_id(arxiv_id) != arxiv_id:
        raise ValueError(f"entry without an arXiv id (links: {entry.links[:3]})")
    for href in entry.links:
        if (m := _HTML_VERSION.search(href)) and m.group("id") == arxiv_id:
            version = int(m.group("v"))
    return arxiv_id, version


def _subjects(entry: _RawEntry) -> tuple[str | None, str | None, list[str]]:
    """(primary subject as shown, its code, all codes in page order, primary first)."""
    parts = [p.strip() for p in entry.text("subjects").split(";") if p.strip()]
    codes = [m.group(1) for p in parts if (m := _CODE.search(p))]
    primary = entry.primary or (parts[0] if parts else None)
    m = _CODE.search(primary) if primary else None
    code = m.group(1) if m else (codes[0] if codes else None)
    if code and code in codes:
        codes.remove(code)
    return primary, code, ([code] if code else []) + codes


def _entry_record(
    raw: _RawEntry, category: str, listing: str, page_date: date | None, position: int
) -> dict[str, Any]:
    arxiv_id, version = _arxiv_id(raw)
    title = raw.text("title")
    if not title:
        raise ValueError("entry without a title")
    section = raw.section
    announced = page_date if listing == "new" and page_date else (section.day if section else None)
    if announced is None:
        raise ValueError("entry without an announcement date (no day heading above it)")
    dt_text = raw.text("dt")
    if _CROSS.search(dt_text):
        kind = "cross-list"
    elif "(replaced)" in dt_text:
        kind = "replacement"
    else:
        kind = (section.kind if section else None) or "new"
    m = re.search(r"\[(\d+)\]", dt_text)
    primary, primary_code, codes = _subjects(raw)
    abstract = raw.text("abstract") if listing == "new" else ""
    return {
        "listing_entry_id": f"{arxiv_id}|{category}|{listing}|{announced.isoformat()}",
        "arxiv_id": arxiv_id,
        "version": version,
        "category": category,
        "listing": listing,
        "announced_date": announced,
        "section": kind,
        "position": int(m.group(1)) if m else position,
        "title": title,
        "authors": [a for a in raw.authors if a],
        "comments": raw.text("comments") or None,
        "journal_ref": raw.text("journal_ref") or None,
        "primary_subject": primary,
        "primary_category": primary_code,
        "categories": codes,
        "abstract": abstract or None,
    }


def _identify(scan: _Scan, where: str) -> tuple[str | None, str | None]:
    """(category, listing kind) from the page itself, else from the request URL."""
    kind = (
        "new"
        if scan.new_date or any(h.kind for h in scan.headings)
        else ("recent" if scan.recent_title or any(h.day for h in scan.headings) else None)
    )
    category = None
    if scan.context_ids:  # "See recent articles" on /new (id recent-cs.DC), "new" on /recent
        category = scan.context_ids[0][1]
    if category is None:
        for href in scan.hrefs:
            if m := _LIST_HREF.search(href):
                category = m.group("cat")
                break
    if (m := _LIST_HREF.search(where)) is not None:
        category = category or m.group("cat")
        kind = kind or ("recent" if m.group("kind") != "new" else "new")
    return category, kind


def _complete(body: bytes, scan: _Scan) -> bool:
    """The page reached its end: the bottom paging block (every listing with entries has one
    above and one below the list) or the document's closing tag."""
    return len(scan.paging) >= 2 or b"</html>" in body[-2048:].lower()


def parse_listing(body: bytes, where: str, status: int = 200) -> Page:
    """An arxiv.org /list/<category>/new or /recent page -> entries. Error pages raise."""
    soup = BeautifulSoup(html_text(body), BUILDER)
    if status != 200:
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        snippet = title or " ".join(soup.get_text(" ").split())[:160]
        raise SourceError(SLUG, where, f"HTTP {status} from arxiv.org: {snippet!r}")
    scan = _scan(soup)
    totals = [int(m.group("n")) for p in scan.paging if (m := _TOTAL.search(_clean(p)))]
    category, listing = _identify(scan, where)
    evidence = totals or scan.headings or scan.entries or scan.recent_title or scan.new_date
    total = totals[0] if totals else 0
    parsed = len(scan.entries)
    counted = [h.shown for h in scan.headings if h.shown is not None]
    expected = sum(counted) if counted else None
    if not evidence or listing is None:
        if b"<html" in body[:4096].lower() and not _complete(body, scan):
            raise TruncatedPage(SLUG, where, "page ends early, before any listing content")
        raise SourceError(SLUG, where, f"not an arXiv listing page (title {scan.title!r})")
    if category is None:
        raise SourceError(SLUG, where, "listing page without a category (no /list/<cat> link)")
    if not _complete(body, scan):
        raise TruncatedPage(
            SLUG,
            where,
            f"page ends early: {parsed} entries before the cut, the page lists "
            f"{expected if expected is not None else total}",
        )
    skip = scan.ranges[0][0] - 1 if scan.ranges else 0
    shown = scan.shown or (NEW_PAGE_SIZE if listing == "new" else None)
    by_total = min(shown, total - skip) if shown and total else None
    if len(set(totals)) > 1:
        raise _drift(where, body, f"the page's totals disagree: {sorted(set(totals))}")
    if expected is not None and parsed != expected:
        raise _drift(where, body, f"{parsed} entries parsed, its section headings list {expected}")
    if by_total is not None and expected is not None and by_total != expected:
        raise _drift(
            where,
            body,
            f"sections list {expected} entries, 'Total of {total}' from {skip} by {shown} "
            f"means {by_total}",
        )
    if expected is None and by_total is not None and parsed != by_total:
        raise _drift(where, body, f"{parsed} entries parsed, 'Total of {total}' means {by_total}")
    page = Page(total=total)
    if shown and skip + shown < total:
        page.next_token = str(skip + shown)
    for i, raw in enumerate(scan.entries):
        try:
            page.add("entries", _entry_record(raw, category, listing, scan.new_date, skip + i + 1))
        except ValueError as exc:
            page.quarantined.append(
                Quarantined.of(SLUG, "entries", item_key(where, i), str(exc), raw.dump())
            )
    required = ("title", "authors", "primary_category", "announced_date")
    check_drift(
        SLUG,
        where,
        body,
        page.records.get("entries", []),
        lists_results=bool(total or parsed or expected),
        required=required + (("abstract",) if listing == "new" else ()),
    )
    return page


def _drift(where: str, body: bytes, message: str) -> ScrapeDrift:
    return ScrapeDrift(SLUG, where, message, body)


def exhausted(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """HTTP 403 is arXiv denying access to a client it finds abusive; arXiv says continued
    requests after it are treated as an attack, so the source stops for this run."""
    if status == 403:
        return "arxiv.org answered 403 (access denied): no more requests this run"
    return None


def categories(watchlist: Watchlist) -> list[str]:
    """Watched categories: the topics' arxiv_categories, then the options' own, once each."""
    seen: dict[str, None] = {}
    for t in watchlist.topics:
        for c in t.arxiv_categories:
            seen.setdefault(c, None)
    for c in watchlist.sources.arxiv_listing.categories:
        seen.setdefault(c, None)
    return list(seen)


def _get(
    client: HttpClient, url: str, params: dict[str, str | int] | None
) -> tuple[FetchedResponse, Page]:
    """One listing page; a truncated one is asked for again (TRUNCATED_RETRIES times)."""
    attempt = 0
    while True:
        resp = client.get(SLUG, url, params=params, robots=True)
        try:
            return resp, parse_listing(resp.body, f"GET {resp.url}", resp.status)
        except TruncatedPage:
            attempt += 1
            if attempt > TRUNCATED_RETRIES:
                raise


def _listing(
    client: HttpClient, category: str, kind: str, page_size: int, cap: int | None
) -> Iterator[Fetched]:
    """Every page of one listing, to its end or past `cap` entries (whole pages)."""
    url = f"{BASE_URL}/{category}/{kind}"
    skip, seen, first_total = 0, 0, None
    while True:
        # /new's canonical URL (cached by arXiv's CDN) shows up to 2000 entries.
        params: dict[str, str | int] | None = (
            None if kind == "new" and skip == 0 else {"skip": skip, "show": page_size}
        )
        resp, page = _get(client, url, params)
        total = page.total or 0
        if first_total is None:
            first_total = total
        elif total != first_total:
            raise SourceError(
                SLUG,
                f"GET {resp.url}",
                f"the listing changed while paging (total {first_total} -> {total}); "
                "the next run reads it again",
            )
        yield Fetched(resp, page)
        n = page.count() + len(page.quarantined)
        seen += n
        skip += page_size
        if n == 0 or skip >= first_total or (cap is not None and seen >= cap):
            return


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    report = FetchReport(SLUG)
    opts = watchlist.sources.arxiv_listing
    for category in categories(watchlist):
        if "new" in opts.listings:
            report.collect(_listing(client, category, "new", NEW_PAGE_SIZE, None))
        if "recent" in opts.listings:
            report.collect(
                _listing(client, category, "recent", opts.recent_page_size, opts.max_recent)
            )
    return report

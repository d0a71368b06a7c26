"""NSF Public Access Repository (par.nsf.gov): search result pages, scraped (HTML only).

Endpoint: `GET https://par.nsf.gov/search/<field>:<value>[/sort:...][/page:N]`: the search is in
the path as `name:value` segments (values percent-encoded, phrases in double quotes), e.g.
`/search/author:"Zhuo, Danyang"/page:2` or `/search/term:"LLM serving"/sort:publication_date desc`.
10 records per page; a page shows the result count (`#item-count-everything`) and
"Page X of Y" (`.paging-max`), and links to the next page. No API and no key: pages are fetched
with robots.txt honoured (a disallowed search is skipped and logged, not an error), at most one
request per second (the client's policy for par.nsf.gov).
The records are US government metadata; abstracts are the authors' text (kept as data, not shown
elsewhere).

Each result is a schema.org microdata item (`itemscope itemtype=".../ScholarlyArticle"`):
`name` (title, inside the `url` link to `/biblio/<PAR id>-<slug>`), `author` (plain text or a
Person item with its own `name`), `datePublished` (`<time datetime>` or `<meta content>`; some
records show only "Month YYYY"), `identifier` (a doi.org link), `description` (abstract with
"more » « less" toggles), `publisher`, `isPartOf` (journal / proceedings). Outside the
microdata: the embargo line "Free, publicly-accessible full text available <Month D, YYYY>".

Upstream quirks: many records have no title, abstract or DOI (an embargoed deposit shows little
more than its embargo date); some carry their venue as the whole description ("HotNets'23.");
names are "Last, First". A record without a `/biblio/<id>` link has no usable id and is
quarantined. A page that shows a result count but yields no parsable record raises ScrapeDrift.
Author searches page to the end (capped by `max_pages`); keyword searches are sorted newest first
and stop at `max_topic_results` or at the first page older than `since_year`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, unquote

from bs4 import BeautifulSoup, Tag

from flows.http import HttpClient
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    check_drift,
    decode_html,
    item_key,
)
from flows.watchlist import Researcher, Watchlist
from transforms.names import family_first
from transforms.specs import NSF_PAR as SPEC

SLUG = SPEC.slug
SITE = "https://par.nsf.gov"
PER_PAGE = 10
# Tree builder, chosen by measurement on tests/fixtures/nsf_par (tests/test_nsf_par.py,
# test_tree_builders_agree): on a page whose </li>, </div>, </span> and </p> are missing,
# html.parser and lxml nest 9 of its 10 records inside their predecessor (html5lib closes them as
# a browser does), so a naive `find_all(itemprop="author")` collects 80 authors instead of 20.
# Reading each property only from its own microdata item (`_props`) makes all three builders
# give identical records on every fixture (complete, truncated, unclosed, windows-1252, BOM).
# lxml then wins: a declared dependency (html5lib is not), and the fastest of the three
# (~11 ms vs ~15-18 ms per 10-record page here).
BUILDER = "lxml"

_WORK_TYPES = re.compile(
    r"schema\.org/(ScholarlyArticle|Article|CreativeWork|Book|Chapter|Thesis|Report|Dataset)$",
    re.I,
)
_BIBLIO = re.compile(r"/biblio/(\d+)")
_DOI = re.compile(r"(10\.\d{4,9}/\S+)")
_EMBARGO = re.compile(
    r"Free,\s*publicly-accessible\s+full\s+text\s+available\s+"
    r"([A-Z][a-z]{2,8}\.?\s+\d{1,2},\s*\d{4})"
)
_COUNT = re.compile(r"^\s*([\d,]+)\s*$")
_PAGE_OF = re.compile(r"Page\s+(\d+)\s+of\s+([\d,]+)")
_VENUE_ONLY = re.compile(r"^[A-Z][\w&+\-/ ]{1,30}?\s?'?\s?(?:\d{2}|\d{4})\.?$")
_TOGGLES = re.compile(r"\s*(?:more\s*»|«\s*less)\s*", re.I)
_TRUNCATED = re.compile(rb"</html\s*>$", re.I)
_NO_RESULTS = re.compile(r"\bno (?:results|records) (?:found|match)", re.I)


def _soup(body: bytes) -> BeautifulSoup:
    # decoded as browsers do (BOM, declared charset, UTF-8, windows-1252), never by guessing
    return BeautifulSoup(decode_html(body), BUILDER)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = " ".join(text.replace("\u00a0", " ").split())
    return cleaned or None


def _scope_of(tag: Tag) -> Tag | None:
    """The nearest enclosing microdata item (itemscope) of an element, itself excluded."""
    parent = tag.parent
    while parent is not None and not (isinstance(parent, Tag) and parent.has_attr("itemscope")):
        parent = parent.parent
    return parent if isinstance(parent, Tag) else None


def _props(item: Tag, name: str) -> list[Tag]:
    """Elements carrying `itemprop=name` that belong to this item (not to a nested item)."""
    return [
        el
        for el in item.find_all(itemprop=True)
        if name in str(el.get("itemprop", "")).split() and _scope_of(el) is item
    ]


def _own_text(item: Tag) -> str:
    """The item's own text: strings of a work item nested in it (records nested by unclosed
    tags) are left out."""
    return " ".join(str(s) for s in item.find_all(string=True) if _owner(s) is item)


def _owner(node: Any) -> Tag | None:
    """The nearest work item enclosing an element or string."""
    parent = node.parent
    while parent is not None and not _is_work(parent):
        parent = parent.parent
    return parent if isinstance(parent, Tag) else None


def _is_work(tag: Any) -> bool:
    return (
        isinstance(tag, Tag)
        and tag.has_attr("itemscope")
        and bool(_WORK_TYPES.search(str(tag.get("itemtype", "")).strip()))
    )


def _value(el: Tag) -> str | None:
    """Microdata value: content/datetime/href attributes, else text."""
    for attr in ("content", "datetime"):
        if el.has_attr(attr):
            return _clean(str(el[attr]))
    if el.has_attr("itemscope"):
        names = _props(el, "name")
        return _clean(names[0].get_text(" ")) if names else _clean(el.get_text(" "))
    return _clean(el.get_text(" "))


def _first(item: Tag, name: str) -> str | None:
    for el in _props(item, name):
        value = _value(el)
        if value:
            return value
    return None


def _date(item: Tag) -> tuple[date | None, int | None]:
    for el in _props(item, "datePublished"):
        for raw in (el.get("datetime"), el.get("content"), el.get_text(" ")):
            text = _clean(str(raw)) if raw else None
            if not text:
                continue
            m = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
            if m and m.group(3):
                try:
                    return date(int(m.group(1)), int(m.group(2)), int(m.group(3))), int(m.group(1))
                except ValueError:
                    return None, int(m.group(1))
            if m:
                return None, int(m.group(1))
            y = re.search(r"\b(19|20)\d{2}\b", text)
            if y:
                return None, int(y.group(0))
    return None, None


def _doi(item: Tag) -> str | None:
    candidates = [str(el.get("href") or _value(el) or "") for el in _props(item, "identifier")]
    candidates += [
        str(a["href"])
        for a in item.find_all("a", href=True)
        if "doi.org/" in str(a["href"]) and _owner(a) is item
    ]
    for c in candidates:
        m = _DOI.search(unquote(c))
        if m:
            return m.group(1).rstrip(".,;)")
    return None


def _embargo(text: str) -> date | None:
    m = _EMBARGO.search(" ".join(text.split()))
    if not m:
        return None
    raw = m.group(1).replace(".", "")
    for fmt in ("%B %d, %Y", "%b %d, %Y", "%B %d,%Y", "%b %d,%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def _par_id(item: Tag) -> str | None:
    links = [str(el.get("href") or "") for el in _props(item, "url")]
    links += [str(a["href"]) for a in item.find_all("a", href=True) if _owner(a) is item]
    for href in links:
        m = _BIBLIO.search(href)
        if m:
            return m.group(1)
    return None


def work_record(item: Tag, par_id: str) -> dict[str, Any]:
    title = _first(item, "name")
    description = _first(item, "description")
    abstract = _clean(_TOGGLES.sub(" ", description)) if description else None
    venue = _first(item, "isPartOf")
    if abstract and len(abstract) <= 40 and _VENUE_ONLY.match(abstract):
        venue = venue or abstract.rstrip(".").strip()
        abstract = None
    published, year = _date(item)
    url = next((str(el["href"]) for el in _props(item, "url") if el.get("href")), None)
    itemtype = str(item.get("itemtype", "")).strip().rsplit("/", 1)[-1] or None
    return {
        "par_id": par_id,
        "url": url or f"{SITE}/biblio/{par_id}",
        "title": title,
        "authors": [a for a in (_value(el) for el in _props(item, "author")) if a],
        "publication_date": published,
        "publication_year": year,
        "doi": _doi(item),
        "abstract": abstract,
        "venue": venue,
        "publisher": _first(item, "publisher"),
        "embargo_until": _embargo(_own_text(item)),
        "item_type": itemtype,
    }


def _items(soup: BeautifulSoup) -> list[Tag]:
    """Result records: the page's schema.org work items (a record nested in another by unclosed
    tags is still its own item)."""
    return [t for t in soup.find_all(itemscope=True) if _is_work(t)]


def _count(soup: BeautifulSoup, text: str) -> tuple[int | None, int | None, int | None]:
    """(result count, current page, last page) as the page states them."""
    total = None
    el = soup.find(id="item-count-everything")
    if isinstance(el, Tag):
        m = _COUNT.match(el.get_text())
        if m:
            total = int(m.group(1).replace(",", ""))
    current, last = _number(soup, ".paging-current"), _number(soup, ".paging-max")
    if current is None or last is None:
        m = _PAGE_OF.search(text)
        if m:
            current, last = int(m.group(1)), int(m.group(2).replace(",", ""))
    return total, current, last


def _number(soup: BeautifulSoup, selector: str) -> int | None:
    el = soup.select_one(selector)
    m = _COUNT.match(el.get_text()) if el is not None else None
    return int(m.group(1).replace(",", "")) if m else None


def _title_of(soup: BeautifulSoup, body: bytes) -> str:
    t = soup.title.get_text(" ", strip=True) if soup.title else ""
    return t or body[:80].decode("utf-8", "replace").strip()


def parse_search(body: bytes, where: str, status: int = 200) -> Page:
    """One search result page -> work records (+ quarantined id-less records, paging hints)."""
    if status != 200:
        detail = _title_of(_soup(body), body) if body.lstrip()[:1] == b"<" else body[:120]
        raise SourceError(SLUG, where, f"HTTP {status} from NSF PAR: {detail!r}")
    soup = _soup(body)
    text = " ".join(soup.get_text(" ").split())
    items = _items(soup)
    total, current, last = _count(soup, text)
    is_search_page = (
        bool(items)
        or total is not None
        or last is not None
        or bool(_NO_RESULTS.search(text))
        or soup.select_one("ol.item-list") is not None
    )
    if not is_search_page:
        raise SourceError(
            SLUG, where, f"not an NSF PAR search result page: {_title_of(soup, body)!r}"
        )
    no_results = not items and bool(_NO_RESULTS.search(text))
    page = Page(total=0 if no_results and total is None else total)
    candidates: list[dict[str, Any]] = []
    # A body cut off in transfer still parses; its last record may lack fields it really has,
    # and loading it would overwrite the complete copy: it is quarantined instead.
    truncated = _TRUNCATED.search(body.rstrip()[-64:]) is None
    for i, item in enumerate(items):
        par_id = _par_id(item)
        candidates.append({"par_id": par_id})
        if par_id is not None and truncated and i == len(items) - 1:
            page.quarantined.append(
                Quarantined.of(
                    SLUG,
                    "works",
                    par_id,
                    "page is truncated (no </html>): its last record may be incomplete",
                    str(item),
                )
            )
            continue
        if par_id is None:
            page.quarantined.append(
                Quarantined.of(
                    SLUG,
                    "works",
                    item_key(where, i),
                    "record without a /biblio/<id> link",
                    str(item)[:20_000],
                )
            )
            continue
        try:
            page.add("works", work_record(item, par_id))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(Quarantined.of(SLUG, "works", par_id, str(exc), str(item)))
    lists_results = (
        bool(total) or bool(last) or (soup.find("a", href=_BIBLIO) is not None and not no_results)
    )
    check_drift(SLUG, where, body, candidates, lists_results=lists_results, required=("par_id",))
    if current is not None and last is not None and current < last:
        page.next_token = str(current + 1)
    elif current is None:
        nxt = soup.find("a", rel="next", href=True)
        m = re.search(r"/page:(\d+)", str(nxt["href"])) if isinstance(nxt, Tag) else None
        page.next_token = m.group(1) if m else None
    return page


# ---------------------------------------------------------------- fetch


def author_query(r: Researcher) -> str:
    """The researcher as PAR lists creators, "Last, First": an alias already in that form wins,
    else the name is turned around."""
    for alias in r.aliases:
        if re.fullmatch(r"[^,]+,\s*\w[\w'\-]+.*", alias):  # "Zuo, P." is no better
            return " ".join(alias.split())
    return family_first(r.name)


def search_url(field: str, value: str, page: int = 1, sort: str | None = None) -> str:
    segments = [f'{field}:"{value}"']
    if sort:
        segments.append(f"sort:{sort}")
    if page > 1:
        segments.append(f"page:{page}")
    return f"{SITE}/search/" + "/".join(quote(s, safe=":") for s in segments)


def _search(
    client: HttpClient,
    field: str,
    value: str,
    max_pages: int,
    *,
    cap: int | None = None,
    since_year: int | None = None,
    sort: str | None = None,
) -> Iterator[Fetched]:
    page_no, seen = 1, 0
    while page_no <= max_pages:
        resp = client.get(SLUG, search_url(field, value, page_no, sort), robots=True)
        page = parse_search(resp.body, f"GET {resp.url}", resp.status)
        yield Fetched(resp, page)
        found = page.count() + len(page.quarantined)
        seen += found
        years = [y for w in page.records.get("works", []) if (y := w["publication_year"])]
        if found == 0 or page.next_token is None or (cap is not None and seen >= cap):
            return
        if since_year is not None and years and min(years) < since_year:
            return  # newest first: every later page is older than since_year
        if int(page.next_token) <= page_no:
            return
        page_no = int(page.next_token)


def _keywords(topics: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for t in topics:
        out.extend(k for k in t.keywords if k not in out)
    return out


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    report = FetchReport(SLUG)
    opts = watchlist.sources.nsf_par
    for r in watchlist.researchers:
        report.collect(_search(client, "author", author_query(r), opts.max_pages))
    if opts.search_topics:
        cap = watchlist.sources.max_topic_results
        for keyword in _keywords(watchlist.topics):
            report.collect(
                _search(
                    client,
                    "term",
                    keyword,
                    min(opts.max_pages, -(-cap // PER_PAGE)),
                    cap=cap,
                    since_year=watchlist.sources.since_year,
                    sort="publication_date desc",
                )
            )
    return report

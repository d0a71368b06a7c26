"""DBLP computer science bibliography (dblp.org): publications and persons.

Endpoints:
- `https://dblp.org/pid/<pid>.xml`: a person's record with all their publications
  (`<dblpperson>`, one `<r>` per publication), for researchers with `dblp_pid`;
- `https://dblp.org/search/author/api?q=…&format=json`: finds the pid of a researcher without
  one (the single person whose name or alias equals the researcher's name or an alias);
- `https://dblp.org/search/publ/api?q=…&format=json&h=…&f=…`: topic keyword searches, paged
  with `f` (first hit) and `h` (hits, at most 1000) up to `result.hits.@total` or the cap
  (and stopped if a page's `@first` + `@sent` does not move past the `f` asked for).
Key: none. Rate limit: DBLP asks clients to leave about a second between requests (configured
in flows/http.py) and answers 429 with Retry-After under load (honoured by the shared client).
Terms: data under ODC-BY 1.0 (attribution to dblp). robots.txt (checked 2026-06) disallows
/search and every *.xml/*.json path for crawlers, and sets Crawl-delay 4; those rules address
crawlers of the site's pages. The search API and the person XML are dblp's documented
programmatic interfaces (FAQ "How to use the dblp search API", "…get all publications of a
person"), fetched here for a bounded list of named researchers and keywords, so they go through
`client.get` without a robots check, like every other API source.

Upstream quirks handled here:
- JSON search API: a field that holds one item is sent as that item, not as a list of one:
  `info.authors.author` (one author), `ee`, `venue`, `aliases.alias`, `notes.note`; `hits.hit`
  came as a list of one in a recorded page but is normalised the same way; an empty result has
  no `hit` at all. Every such field goes through `as_list`.
- Numbers come as strings (`"@total": "112"`, `"year": "2021"`); a hit count that is not a
  whole number is a SourceError naming the request.
- Titles end with a period ("…Generation.") unless they end in ?/!: stripped. Person XML titles
  carry inline markup (`<i>`, `<sub>`): text kept.
- Homonyms carry a 4-digit number in the name ("Xiaopeng Zhang 0009"): split off the name (the
  pid tells them apart).
- arXiv preprints are CoRR records: key `journals/corr/abs-2401-12345`, volume `abs/2401.12345`,
  ee `https://doi.org/10.48550/arXiv.2401.12345` (arXiv's DataCite DOI).
- XML may use HTML named entities (`&eacute;`, declared in dblp.dtd) that a plain XML parser
  does not know: turned into character references before parsing.
"""

from __future__ import annotations

import html
import html.entities
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from flows.http import FetchedResponse, HttpClient
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    item_key,
    load_json,
)
from flows.watchlist import DblpOptions, Researcher, Watchlist
from transforms import ids
from transforms.names import matches, wanted_keys
from transforms.specs import DBLP as SPEC

log = logging.getLogger("scholarflow.sources.dblp")

SLUG = SPEC.slug
SITE = "https://dblp.org"
MAX_PAGE = 1000  # DBLP caps `h` at 1000
AUTHOR_HITS = 30

# Record element (and publtype) of the person XML -> the type label of the search API.
_TYPES = {
    "article": "Journal Articles",
    "inproceedings": "Conference and Workshop Papers",
    "proceedings": "Editorship",
    "incollection": "Parts in Books or Collections",
    "book": "Books and Theses",
    "phdthesis": "Books and Theses",
    "mastersthesis": "Books and Theses",
    "data": "Data and Artifacts",
}
_HOMONYM = re.compile(r"\s+\d{4}$")
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\..+)$", re.I)
_PID_URL = re.compile(r"/pid/(.+?)(?:\.html|\.xml)?$")
_HTML_START = re.compile(rb"^\s*(?:<!doctype\s+html|<html)", re.I)
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]*);")
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def as_list(value: Any) -> list[Any]:
    """DBLP's JSON: a single item is an object, several a list, none absent."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    """Text of a JSON field that is a string or an object with `text`."""
    if isinstance(value, dict):
        value = value.get("text")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        # a nested array or object where text belongs: never stored as its Python repr
        raise ValueError(f"expected text, got {value!r}"[:300])
    text = " ".join(html.unescape(str(value)).split())
    return text or None


def clean_title(title: str | None) -> str | None:
    if not title:
        return None
    title = " ".join(title.split())
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1].rstrip()
    return title or None


def person_name(name: str | None) -> str | None:
    """`Xiaopeng Zhang 0009` -> `Xiaopeng Zhang`."""
    return _HOMONYM.sub("", name.strip()) if name else None


def _arxiv_from_volume(key: str, volume: str | None) -> str | None:
    if not key.startswith("journals/corr/") or not volume:
        return None
    return ids.arxiv_id(volume.strip().removeprefix("abs/"))


def _ids(
    key: str, volume: str | None, doi: str | None, ee: list[str]
) -> tuple[str | None, str | None]:
    """(doi, arxiv_id) from the record's DOI field and its electronic editions."""
    dois = [d for d in [doi] if d] + [m.group(1) for e in ee if (m := _DOI_URL.match(e.strip()))]
    doi = next((d for d in dois if not ids.is_arxiv_doi(d)), dois[0] if dois else None)
    arxiv = _arxiv_from_volume(key, volume)
    for e in ee:
        arxiv = arxiv or ids.arxiv_id_from_url(e)
    for d in dois:
        arxiv = arxiv or ids.arxiv_id_from_doi(d)
    return doi, arxiv


def _year(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text else None


def _publication(
    *,
    key: str | None,
    title: str | None,
    authors: list[dict[str, Any]],
    venue: str | None,
    year: int | None,
    type_: str | None,
    doi: str | None,
    ee: list[str],
    volume: str | None,
    pages: str | None,
    url: str | None,
    mdate: date | None,
) -> dict[str, Any]:
    if not key:
        raise ValueError("publication without a DBLP key")
    title = clean_title(title)
    if not title:
        raise ValueError("publication without a title")
    doi, arxiv = _ids(key, volume, doi, ee)
    return {
        "key": key,
        "title": title,
        "authors": authors,
        "venue": venue,
        "year": year,
        "type": type_,
        "doi": doi,
        "arxiv_id": arxiv,
        "ee": ee,
        "volume": volume,
        "pages": pages,
        "url": url or f"{SITE}/rec/{key}",
        "mdate": mdate,
    }


# ---------------------------------------------------------------- JSON search API


def hit_publication(info: dict[str, Any]) -> dict[str, Any]:
    authors = [
        {
            "position": i,
            "name": person_name(_text(a)),
            "pid": a.get("@pid") if isinstance(a, dict) else None,
            "orcid": None,
        }
        for i, a in enumerate(as_list((info.get("authors") or {}).get("author")))
    ]
    venues = [v for v in map(_text, as_list(info.get("venue"))) if v]
    return _publication(
        key=_text(info.get("key")),
        title=_text(info.get("title")),
        authors=authors,
        venue=venues[0] if venues else None,
        year=_year(info.get("year")),
        type_=_text(info.get("type")),
        doi=_text(info.get("doi")),
        ee=[e for e in map(_text, as_list(info.get("ee"))) if e],
        volume=_text(info.get("volume")),
        pages=_text(info.get("pages")),
        url=_text(info.get("url")),
        mdate=None,
    )


def pid_of(url: str | None) -> str | None:
    """`https://dblp.org/pid/151/7537` -> `151/7537`."""
    m = _PID_URL.search(url or "")
    return m.group(1) if m else None


def hit_person(info: dict[str, Any]) -> dict[str, Any]:
    pid = pid_of(_text(info.get("url")))
    if not pid:
        raise ValueError("person without a DBLP pid URL")
    notes = [n for n in as_list((info.get("notes") or {}).get("note")) if isinstance(n, dict)]
    return {
        "pid": pid,
        "name": person_name(_text(info.get("author"))),
        "aliases": [
            n
            for n in (
                person_name(_text(a)) for a in as_list((info.get("aliases") or {}).get("alias"))
            )
            if n
        ],
        "affiliations": [t for n in notes if n.get("@type") == "affiliation" if (t := _text(n))],
        "urls": [],
        "orcid": None,
        "publication_count": None,
        "profile_type": None,
    }


def _count(hits: dict[str, Any], field: str, where: str) -> int:
    """A `hits` count sent as a string ("112"); absent is 0, anything but a whole number >= 0
    is an error naming the request (paging on it would go wrong)."""
    value = hits.get(field)
    if value is None or value == "":
        return 0
    text = str(value).strip() if isinstance(value, str | int) else ""
    if isinstance(value, bool) or not text.isdigit():
        raise SourceError(SLUG, where, f"hits.{field} {value!r} is not a count")
    return int(text)


def _parse_search(data: Any, where: str) -> Page:
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict) or not isinstance(result.get("hits"), dict):
        raise SourceError(SLUG, where, "JSON is not a DBLP search result")
    code = str((result.get("status") or {}).get("@code") or "200")
    if code != "200":
        text = (result.get("status") or {}).get("text") or ""
        raise SourceError(SLUG, where, f"DBLP search status {code}: {text}")
    hits = result["hits"]
    page = Page()
    page.total = _count(hits, "@total", where)
    sent, first = _count(hits, "@sent", where), _count(hits, "@first", where)
    if first + sent < page.total:
        page.next_token = str(first + sent)
    by_request = "persons" if "/search/author/" in where else "publications"
    for i, hit in enumerate(as_list(hits.get("hit"))):
        info = hit.get("info") if isinstance(hit, dict) else None
        if not isinstance(info, dict):
            page.quarantined.append(
                Quarantined.of(SLUG, by_request, item_key(where, i), "hit without info", hit)
            )
            continue
        entity = (
            "publications"
            if "key" in info
            else "persons"
            if "author" in info and "authors" not in info
            else by_request
        )
        key = _text(info.get("key")) if entity == "publications" else pid_of(_text(info.get("url")))
        try:
            page.add(
                entity, hit_publication(info) if entity == "publications" else hit_person(info)
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(
                Quarantined.of(SLUG, entity, key or item_key(where, i), str(exc), hit)
            )
    return page


# ---------------------------------------------------------------- person XML


def _named_to_numeric(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii")
    if name in _XML_ENTITIES or name not in html.entities.name2codepoint:
        return match.group(0)
    return f"&#{html.entities.name2codepoint[name]};".encode("ascii")


def _xml_text(el: Any) -> str | None:
    if el is None:
        return None
    text = " ".join("".join(el.itertext()).split())
    return text or None


def _mdate(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def xml_publication(rec: Any) -> dict[str, Any]:
    tag = rec.tag
    publtype = rec.get("publtype")
    type_: str | None
    if publtype == "informal":
        type_ = "Informal and Other Publications"
    elif tag == "incollection" and publtype == "encyclopedia":
        type_ = "Reference Works"
    elif publtype == "data":
        type_ = "Data and Artifacts"
    else:
        type_ = _TYPES.get(tag)
    authors = [
        {
            "position": i,
            "name": person_name(_xml_text(a)),
            "pid": a.get("pid"),
            "orcid": a.get("orcid"),
        }
        for i, a in enumerate(rec.findall("author"))
    ]
    venue = _xml_text(rec.find("journal")) or _xml_text(rec.find("booktitle"))
    if venue is None and tag in ("book", "proceedings"):
        venue = _xml_text(rec.find("series")) or _xml_text(rec.find("publisher"))
    year = _xml_text(rec.find("year"))
    return _publication(
        key=rec.get("key"),
        title=_xml_text(rec.find("title")),
        authors=authors,
        venue=venue,
        year=int(year) if year else None,
        type_=type_,
        doi=None,
        ee=[e for e in (_xml_text(x) for x in rec.findall("ee")) if e],
        volume=_xml_text(rec.find("volume")),
        pages=_xml_text(rec.find("pages")),
        url=None,
        mdate=_mdate(rec.get("mdate")),
    )


def _person_from_xml(root: Any) -> dict[str, Any]:
    pid = root.get("pid")
    if not pid:
        raise ValueError("dblpperson without a pid")
    person = root.find("person")
    if person is None:
        person = etree.Element("person")
    authors = person.findall("author")
    names = [n for n in (person_name(_xml_text(a)) for a in authors) if n]
    name = person_name(root.get("name")) or (names[0] if names else None)
    orcids = [a.get("orcid") for a in authors if a.get("orcid")]
    count = root.get("n")
    return {
        "pid": pid,
        "name": name,
        "aliases": [n for n in names if n != name],
        "affiliations": [
            t
            for n in person.findall("note")
            if n.get("type") == "affiliation"
            if (t := _xml_text(n))
        ],
        "urls": [u for u in map(_xml_text, person.findall("url")) if u],
        "orcid": orcids[0] if orcids else None,
        "publication_count": int(count) if count and count.isdigit() else None,
        # "disambiguation" marks a page that gathers several people of one name
        "profile_type": person.get("publtype"),
    }


def _parse_person(body: bytes, where: str) -> Page:
    # entity names are ASCII, so this holds in any ASCII-compatible encoding the XML declares
    try:
        root = etree.fromstring(_NAMED_ENTITY.sub(_named_to_numeric, body), _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(SLUG, where, f"malformed XML: {exc}") from None
    if root.tag != "dblpperson":
        raise SourceError(SLUG, where, f"XML root <{root.tag}> is not a DBLP person record")
    page = Page()
    try:
        page.add("persons", _person_from_xml(root))
    except (AttributeError, TypeError, ValueError) as exc:
        raise SourceError(SLUG, where, f"person record unusable: {exc}") from None
    records = [child for r in root.findall("r") for child in r if isinstance(child.tag, str)]
    page.total = len(records)
    for i, rec in enumerate(records):
        key = rec.get("key") or item_key(where, i)
        try:
            page.add("publications", xml_publication(rec))
        except (AttributeError, TypeError, ValueError) as exc:
            raw = etree.tostring(rec, encoding="unicode")
            page.quarantined.append(Quarantined.of(SLUG, "publications", key, str(exc), raw))
    return page


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """A search API JSON page (publications or persons) or a person XML record -> records."""
    if status != 200:
        detail = (
            "HTML error page"
            if _HTML_START.match(body[:200])
            else body[:200].decode("utf-8", "replace").strip() or "empty body"
        )
        raise SourceError(SLUG, where, f"HTTP {status} from DBLP: {detail}")
    head = body.lstrip()[:1]
    if _HTML_START.match(body[:200]):
        raise SourceError(SLUG, where, "HTML page where DBLP data was expected")
    if head == b"<":
        return _parse_person(body, where)
    return _parse_search(load_json(SLUG, body, where), where)


# ---------------------------------------------------------------- fetch


def _get(client: HttpClient, url: str, **params: str | int) -> tuple[FetchedResponse, Page]:
    resp = client.get(SLUG, url, params=params or None)
    return resp, parse_response(resp.body, f"GET {resp.url}", resp.status)


def person_record(client: HttpClient, pid: str) -> Iterator[Fetched]:
    resp, page = _get(client, f"{SITE}/pid/{pid}.xml")
    (person,) = page.records["persons"]
    if person["profile_type"] == "disambiguation":
        raise SourceError(
            SLUG,
            f"GET {resp.url}",
            f"pid {pid} is a disambiguation profile (several people named "
            f"{person['name']!r}); set dblp_pid to the researcher's own profile",
        )
    yield Fetched(resp, page)


def resolve_pid(client: HttpClient, r: Researcher) -> Iterator[Fetched]:
    """The author search page, narrowed to the one person named like the researcher."""
    resp, page = _get(client, f"{SITE}/search/author/api", q=r.name, format="json", h=AUTHOR_HITS)
    wanted = wanted_keys(r.all_names)
    found = [
        p
        for p in page.records.get("persons", [])
        if any(matches(n, wanted) for n in [p["name"], *p["aliases"]])
    ]
    where = f"GET {resp.url}"
    if not found:
        raise SourceError(SLUG, where, f"no DBLP person named {r.name!r}; set dblp_pid")
    if len(found) > 1:
        pids = ", ".join(p["pid"] for p in found)
        raise SourceError(
            SLUG, where, f"{len(found)} DBLP persons are named {r.name!r} ({pids}); set dblp_pid"
        )
    page.records["persons"] = found
    yield Fetched(resp, page)


@dataclass
class _TopicBudget:
    left: int


def _some(keys: list[str], shown: int = 5) -> str:
    """A few keys for a log line: `a, b, c` or `a, b, c, … (+4 more)`."""
    more = f", … (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def search(
    client: HttpClient,
    query: str,
    opts: DblpOptions,
    since_year: int,
    budget: _TopicBudget,
    known: set[str],
) -> Iterator[Fetched]:
    """One keyword search, paged with f/h to its end or to `opts.max_hits` hits; keeps works
    since `since_year` not already fetched in a person record, until the topic's budget is
    spent. Every hit left out is counted in an INFO line (reason, count, a few keys)."""
    first, size = 0, min(MAX_PAGE, opts.max_hits)
    while first < opts.max_hits and budget.left > 0:
        resp, page = _get(
            client, f"{SITE}/search/publ/api", q=query, format="json", h=size, f=first
        )
        hits = page.count() + len(page.quarantined)
        pubs = page.records.get("publications", [])
        dropped: dict[str, list[str]] = {}
        kept: list[dict[str, Any]] = []
        for p in pubs:
            if p["key"] in known:
                reason = "already read from a person record"
            elif p["year"] is not None and p["year"] < since_year:
                reason = f"older than {since_year}"
            elif len(kept) >= budget.left:
                reason = "over the topic budget"
            else:
                kept.append(p)
                continue
            dropped.setdefault(reason, []).append(p["key"])
        if pubs:
            page.records["publications"] = kept
        if dropped:
            log.info(
                "[%s] search %r (f=%d): %d of %d hit(s) left out: %s",
                SLUG,
                query,
                first,
                len(pubs) - len(kept),
                len(pubs),
                "; ".join(f"{len(k)} {why} ({_some(k)})" for why, k in dropped.items()),
            )
        budget.left -= len(kept)
        known.update(p["key"] for p in kept)
        yield Fetched(resp, page)
        if hits == 0 or page.next_token is None:
            return
        next_first = int(page.next_token)
        if next_first <= first:  # upstream ignored `f` (or went back): reading on would loop
            log.info(
                "[%s] search %r: the page asked from hit %d points on to hit %d; stopping",
                SLUG,
                query,
                first,
                next_first,
            )
            return
        first = next_first


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    report = FetchReport(SLUG)
    opts = watchlist.sources.dblp
    for r in watchlist.researchers:
        pid = r.dblp_pid or report.collect_one(resolve_pid(client, r), "persons", "pid")
        if pid is None:  # not found or ambiguous: reported
            continue
        report.collect(person_record(client, pid))
    # works already read from a person record (with ORCIDs and mdate) are not replaced by the
    # leaner search hit of the same work
    known = {p["key"] for f in report for p in f.page.records.get("publications", [])}
    for t in watchlist.topics:
        budget = _TopicBudget(watchlist.sources.max_topic_results)
        for keyword in t.keywords:
            report.collect(
                search(client, keyword, opts, watchlist.sources.since_year, budget, known)
            )
    return report

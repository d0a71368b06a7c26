"""Crossref REST API (api.crossref.org): works registered with Crossref DOIs.

Endpoints: `/works/{doi}` (one work) and `/works?query.author=…` or `/works?filter=orcid:…`
(a researcher's works), deep-paged with `cursor=*` then `message.next-cursor`, `rows` up to 1000
per page; the last page holds fewer items than `rows` (a cursor past it answers an empty list).
Lists ask only for the fields we keep (`select`), which leaves out the long reference lists.

Key: none needed. `mailto` (the watchlist's contact email) puts requests in the polite pool.
Crossref Metadata Plus subscribers may set CROSSREF_PLUS_TOKEN (optional): it travels as the
`Crossref-Plus-API-Token: Bearer …` header only and is masked wherever requests are logged.
Rate limit: advertised per response in `X-Rate-Limit-Limit` / `X-Rate-Limit-Interval`; the shared
client starts at 5 requests/s on one connection and adopts the advertised interval at run time.
Terms: metadata is free to reuse (Crossref claims no ownership); be polite, cache, back off.

Upstream quirks handled here:
- `title`, `container-title`, `subtitle` are lists (usually of one); titles carry inline HTML/
  MathML (`<i>`, `<sub>`, `<mml:math>`) and abstracts are JATS XML (`<jats:p>`): tags stripped.
- Dates are `date-parts` and often partial: `[[2020]]`, `[[2009, 9]]`, and even `[[null]]`.
  `issued` is the earliest known date; `published`/`published-print`/`published-online`/
  `posted` are fallbacks. Only a complete year-month-day becomes `publication_date`.
- Authors are people (`given`/`family`, `ORCID` as a URL, `affiliation` objects, `sequence`) or
  organisations (`name` only); a work may have no `author` at all.
- An unknown DOI, and every arXiv DOI (10.48550/…, registered with DataCite, not Crossref),
  answers HTTP 404 with the plain-text body "Resource not found."; bad parameters answer 400 with
  `{"status": "failed", "message-type": "validation-failure", "message": [...]}`.
- `query.author` matches any name token, ranked by relevance: hits without an author named like
  the researcher are left out here (an INFO line counts them and names their DOIs), and paging
  stops at the first page without any such author. A researcher with an ORCID is fetched by
  `filter=orcid:` instead (exact, nothing left out).
- `is-referenced-by-count` may be absent: the count is then None (unknown), not 0.
- `institution` (posted content, reports, dissertations) is kept apart from `container-title`
  (`institution_name`), so staging can prefer a proceedings' `event` name as the venue.
- `date-time` values carry `Z`; one without an offset is read as UTC, not as host local time.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from flows import settings
from flows.http import FetchedResponse, HttpClient
from flows.sources.base import (
    FULL_PLAN,
    Fetched,
    FetchPlan,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    error_summary,
    item_key,
    load_json,
    whole,
)
from flows.watchlist import CrossrefOptions, Researcher, Watchlist
from transforms import ids
from transforms.names import matches, wanted_keys
from transforms.specs import CROSSREF as SPEC

log = logging.getLogger("scholarflow.sources.crossref")

SLUG = SPEC.slug
# Live runs take a FetchPlan (what changed since the last run).
INCREMENTAL = True
API = "https://api.crossref.org"
# Fields asked for on list requests (names as Crossref's `select` accepts them).
SELECT = (
    "DOI,title,subtitle,container-title,event,institution,type,publisher,issued,published,"
    "published-print,published-online,posted,author,is-referenced-by-count,references-count,"
    "subject,license,URL,abstract,relation,deposited"
)
PLUS_HEADER = "Crossref-Plus-API-Token"

_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_JATS_TITLE = re.compile(r"<jats:title[^>]*>.*?</jats:title>", re.S)
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_DATE_FIELDS = ("issued", "published", "published-print", "published-online", "posted")


def _text(value: str | None, tag_gap: str = "") -> str | None:
    """Markup stripped (inline tags leave nothing: `H<sub>2</sub>O` -> `H2O`; paragraph tags
    leave `tag_gap`), entities decoded, whitespace collapsed; None when empty."""
    if not value:
        return None
    text = " ".join(html.unescape(_TAG.sub(tag_gap, value)).split())
    return text or None


def _first(value: Any, name: str = "field") -> str | None:
    """First non-empty string of a Crossref list field (or the string itself). Anything else
    in the list (a nested array, a number) raises ValueError: never stored as its repr."""
    if value is None or isinstance(value, str):
        return _text(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} is not a list of text: {value!r}"[:300])
    for v in value:
        if v.strip():
            return _text(v)
    return None


def _abstract(value: str | None) -> str | None:
    return _text(_JATS_TITLE.sub(" ", value), tag_gap=" ") if value else None


def _orcid(value: str | None) -> str | None:
    m = _ORCID.search(value.strip()) if value else None
    return m.group(1) if m else None


def date_parts(work: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(year, month, day) of the first dated field, each None where the date is partial."""
    for name in _DATE_FIELDS:
        parts = ((work.get(name) or {}).get("date-parts") or [[]])[0] or []
        nums: list[int] = []
        for p in parts:
            if p is None or str(p).strip() == "":
                break
            nums.append(int(p))
        if nums:
            year, month, day = [*nums, 0, 0][:3]
            month_ok = 1 <= month <= 12
            return year, month if month_ok else None, day if month_ok and 1 <= day <= 31 else None
    return None, None, None


def _full_date(year: int | None, month: int | None, day: int | None) -> date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # 2021-02-30 happens
        return None


def _timestamp(value: dict[str, Any] | None) -> datetime | None:
    """`date-time` in UTC; one without an offset is UTC too (Crossref's clock), never the
    host's local time."""
    raw = (value or {}).get("date-time")
    if not raw:
        return None
    moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _count(value: Any, name: str = "is-referenced-by-count") -> int | None:
    """A count, or None when Crossref sent none (unknown is not zero); 12.5, true or "12"
    raise ValueError (the record is quarantined, not coerced)."""
    return whole(value, name)


def _arxiv_id(work: dict[str, Any]) -> str | None:
    """From a `has-preprint` relation: an arXiv id, or arXiv's DataCite DOI."""
    for rel in (work.get("relation") or {}).get("has-preprint") or []:
        ident = str((rel or {}).get("id") or "").strip()
        kind = str((rel or {}).get("id-type") or "").lower()
        found = ids.arxiv_id_from_doi(ident)
        if found:
            return found
        if kind == "arxiv" and ident:
            return ids.arxiv_id(ident) or re.sub(r"(?i)^arxiv:", "", ident)
    return None


def _author(i: int, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": i,
        "given": _text(a.get("given")),
        "family": _text(a.get("family")),
        "suffix": _text(a.get("suffix")),
        "name": _text(a.get("name")),
        "orcid": _orcid(a.get("ORCID")),
        "authenticated_orcid": a.get("authenticated-orcid")
        if isinstance(a.get("authenticated-orcid"), bool)
        else None,
        "sequence": a.get("sequence"),
        "affiliations": [
            str(aff["name"]).strip()
            for aff in a.get("affiliation") or []
            if isinstance(aff, dict) and aff.get("name")
        ],
    }


def author_name(a: dict[str, Any]) -> str | None:
    """Display name of an author record: "Given Family Suffix", or an organisation's name."""
    person = " ".join(p for p in (a.get("given"), a.get("family"), a.get("suffix")) if p)
    return person or a.get("name")


def structured_name(a: dict[str, Any]) -> str | None:
    """ "Family, Given[, Suffix]" when Crossref gives both parts (the form `transforms.names`
    reads without guessing which word is the family name), else `author_name`."""
    given, family = a.get("given"), a.get("family")
    if given and family and "," not in given + family:
        return ", ".join(p for p in (family, given, a.get("suffix")) if p)
    return author_name(a)


def work_record(w: dict[str, Any]) -> dict[str, Any]:
    doi = str(w.get("DOI") or "").strip().lower()
    if not doi:
        raise ValueError("work without a DOI")
    # no title: kept by its DOI (papers shows UNTITLED)
    title = _first(w.get("title"), "title")
    year, month, day = date_parts(w)
    institutions = [i for i in w.get("institution") or [] if isinstance(i, dict)]
    return {
        "doi": doi,
        "title": title,
        "subtitle": _first(w.get("subtitle"), "subtitle"),
        "container_title": _first(w.get("container-title"), "container-title"),
        "event_name": _text((w.get("event") or {}).get("name")),
        # the (first) institution of posted content, reports, dissertations: not a container
        "institution_name": _text(institutions[0].get("name")) if institutions else None,
        "type": w.get("type"),
        "publisher": w.get("publisher"),
        "year": year,
        "month": month,
        "day": day,
        "publication_date": _full_date(year, month, day),
        "authors": [_author(i, a) for i, a in enumerate(w.get("author") or [])],
        "is_referenced_by_count": _count(w.get("is-referenced-by-count")),
        "reference_count": _count(
            w.get("references-count") or w.get("reference-count") or 0, "references-count"
        ),
        "subjects": [s for s in w.get("subject") or [] if isinstance(s, str)],
        "licenses": [
            {
                "url": lic.get("URL"),
                "content_version": lic.get("content-version"),
                "delay_in_days": lic.get("delay-in-days"),
            }
            for lic in w.get("license") or []
        ],
        "url": w.get("URL"),
        "arxiv_id": _arxiv_id(w),
        "abstract": _abstract(w.get("abstract")),
        "deposited_at": _timestamp(w.get("deposited")),
    }


# Crossref registers containers and parts under their own DOIs; they are not works anyone
# authored (a journal "by" nobody, a figure of an article): skipped with a counted reason.
NOT_WORKS = frozenset(
    {
        "journal",
        "journal-volume",
        "journal-issue",
        "book-set",
        "book-series",
        "proceedings-series",
        "report-series",
        "component",
    }
)


def _failure_message(data: dict[str, Any]) -> str:
    msg = data.get("message")
    if isinstance(msg, list):
        parts = [
            str(m.get("message") or m.get("type")) if isinstance(m, dict) else str(m) for m in msg
        ]
        return "; ".join(parts) or str(data.get("message-type"))
    return str(msg or data.get("message-type") or data.get("status"))


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """A `work` or `work-list` message -> work records. Error payloads raise SourceError."""
    if status != 200:
        raise SourceError(
            SLUG, where, f"HTTP {status} from Crossref: {error_summary(body, _failure_message)}"
        )
    data = load_json(SLUG, body, where)
    if not isinstance(data, dict) or "message" not in data:
        raise SourceError(SLUG, where, "JSON is not a Crossref API message")
    if data.get("status") != "ok":
        raise SourceError(SLUG, where, f"Crossref {data.get('status')}: {_failure_message(data)}")
    kind, message = data.get("message-type"), data["message"]
    page = Page()
    if kind == "work-list" and isinstance(message, dict):
        items = message.get("items")
        if not isinstance(items, list):
            raise SourceError(SLUG, where, "work-list without an items list")
        page.total = message.get("total-results")
        page.next_token = message.get("next-cursor")
    elif kind == "work" and isinstance(message, dict):
        items = [message]
    else:
        raise SourceError(SLUG, where, f"message-type {kind!r} is not a work or a work list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            page.quarantined.append(
                Quarantined.of(SLUG, "works", item_key(where, i), "not a JSON object", item)
            )
            continue
        key = str(item.get("DOI") or "").strip().lower() or item_key(where, i)
        if item.get("type") in NOT_WORKS:
            reason = f"skipped: Crossref type {item['type']!r} is not a work"
            page.skipped.append(Quarantined.of(SLUG, "works", key, reason, item))
            continue
        try:
            page.add("works", work_record(item))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(Quarantined.of(SLUG, "works", key, str(exc), item))
    return page


# ---------------------------------------------------------------- fetch


def _headers() -> dict[str, str]:
    token = settings.secret(SLUG)
    return {PLUS_HEADER: f"Bearer {token}"} if token else {}


def _get(client: HttpClient, path: str, **params: str | int) -> tuple[FetchedResponse, Page]:
    resp = client.get(
        SLUG,
        f"{API}{path}",
        params={"mailto": client.contact_email, **params},
        headers=_headers(),
    )
    return resp, parse_response(resp.body, f"GET {resp.url}", resp.status)


def keep_named(page: Page, wanted: frozenset[str], name: str) -> int:
    """Keep only works with an author named like the researcher (`name`, for the log line
    that counts the works left out); how many were kept."""
    works = page.records.get("works", [])
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for w in works:
        named = any(matches(structured_name(a), wanted) for a in w["authors"])
        (kept if named else dropped).append(w)
    if works:
        page.records["works"] = kept
    if dropped:
        log.info(
            "[%s] %d of %d work(s) without an author named like %r left out: %s",
            SLUG,
            len(dropped),
            len(works),
            name,
            _some([w["doi"] for w in dropped]),
        )
    return len(kept)


def _some(keys: list[str], shown: int = 5) -> str:
    """A few ids for a log line: `a, b, c` or `a, b, c, … (+4 more)`."""
    more = f", … (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def researcher_works(
    client: HttpClient, r: Researcher, opts: CrossrefOptions, since: date | None = None
) -> Iterator[Fetched]:
    """A researcher's works, cursor-paged to the end or to `opts.max_results`; with `since`,
    only works (re)indexed from that day (`from-index-date`: new works and changed metadata,
    citation counts included)."""
    params: dict[str, str | int] = {"rows": opts.rows, "select": SELECT}
    wanted: frozenset[str] | None = None
    filters = [f"from-index-date:{since.isoformat()}"] if since is not None else []
    if r.orcid:
        filters.insert(0, f"orcid:{r.orcid}")
    else:
        params["query.author"] = r.name
        wanted = wanted_keys(r.all_names)
    if filters:
        params["filter"] = ",".join(filters)
    cursor, seen = "*", 0
    while seen < opts.max_results:
        resp, page = _get(client, "/works", cursor=cursor, **params)
        n = page.count() + len(page.quarantined) + len(page.skipped)  # the items the page held
        kept = keep_named(page, wanted, r.name) if wanted is not None else n
        yield Fetched(resp, page)
        seen += n
        if n < opts.rows or not page.next_token:
            return  # the last page (Crossref: fewer items than rows)
        if kept == 0:
            log.info(
                "[%s] no author named %r on this page of a relevance-ranked search: stopping",
                SLUG,
                r.name,
            )
            return
        cursor = page.next_token


def work_by_doi(client: HttpClient, doi: str) -> Iterator[Fetched]:
    resp, page = _get(client, f"/works/{quote(doi, safe='')}")
    yield Fetched(resp, page)


def fetch(client: HttpClient, watchlist: Watchlist, plan: FetchPlan = FULL_PLAN) -> FetchReport:
    report = FetchReport(SLUG)
    opts = watchlist.sources.crossref
    for r in watchlist.researchers:
        entry = f"researcher:{r.researcher_id}"
        since = plan.since(entry)
        report.collect_entry(
            entry, plan, researcher_works(client, r, opts, since), full=since is None
        )
    for doi in opts.dois:
        report.collect(work_by_doi(client, doi))
    return report

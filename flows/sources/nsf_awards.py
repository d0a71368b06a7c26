"""NSF Awards API (api.nsf.gov): award metadata and the publications reported on each award.

Endpoint: `GET https://api.nsf.gov/services/v1/awards.json` with `id=<award id>` (one award) or
`pdPIName=<name>` (awards whose principal investigator has that name), `printFields=...` to
choose the returned fields, and `offset` / `rpp` paging: `offset` is the 1-based number of the
first record, `rpp` at most 25 (the API's page size). No key; NSF asks clients to stay near one
request per second (the client's default policy for api.nsf.gov). Public-domain US government
data, no registration.

Upstream quirks:
- Every value is a string: amounts ("608513"), dates in US order `MM/DD/YYYY` ("09/17/2015").
- A bad request answers `{"response": {"serviceNotification": ...}}` (a dict or a list of
  `{notificationType, notificationCode, notificationMessage}`) instead of awards, sometimes with
  HTTP 200; no match answers `{"response": {"award": []}}` (or no `award` key at all).
- `publicationResearch` / `publicationConference` are lists of `~`-separated citation strings in
  two layouts: the current `journal~year~volume~authors~doi~pages~title~deposited timestamp`
  (empty parts are left out, not kept empty) and the older `authors~title~journal~volume~year~pages~`.
  They are kept verbatim on the award with best-effort title/venue/year/DOI: awards are not works,
  and the strings are too irregular to stage as works. The DOI may also stand in for the journal
  (`https://doi.org/10.1145/…~2020~…`). A string the parse cannot read quarantines its award
  (the field named), never the whole response.
- `coPDPI` entries carry an NSF person id after a tilde: `"Jane Doe ~000123456"`.
- A PI-name search matches loosely (either name part); fetch keeps the awards whose PI or co-PI is
  the researcher (by first and last name, initials allowed) and logs the namesakes it drops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html import unescape
from typing import Any

from flows.http import HttpClient
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    item_key,
    load_json,
)
from flows.watchlist import Researcher, Watchlist
from transforms.names import compatible
from transforms.specs import NSF_AWARDS as SPEC

log = logging.getLogger("scholarflow.sources.nsf_awards")

SLUG = SPEC.slug
API = "https://api.nsf.gov/services/v1/awards.json"
RPP = 25  # the API's maximum page size
PRINT_FIELDS = (
    "id,title,agency,awardeeName,awardeeCity,awardeeStateCode,date,startDate,expDate,"
    "estimatedTotalAmt,fundsObligatedAmt,pdPIName,piFirstName,piLastName,coPDPI,"
    "fundProgramName,transType,abstractText,publicationResearch,publicationConference"
)

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s~]+)", re.I)
_YEAR = re.compile(r"^(19|20)\d{2}$")
_NAMES = re.compile(r"[^\W\d][\w'\-]*,\s*[^\W\d]|\sand\s")
_BARE_DOI = re.compile(r"^(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*)?10\.\d{4,9}/\S+$", re.I)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        # a nested array or object where text belongs: never stored as its Python repr
        raise ValueError(f"expected text, got {value!r}"[:300])
    text = " ".join(unescape(str(value)).split())
    return text or None


def _us_date(value: Any, name: str) -> date | None:
    """`09/17/2015` -> 2015-09-17; a value in another form is an error (the record is
    quarantined with the field named)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%m/%d/%Y").date()
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a MM/DD/YYYY date") from None


def _amount(value: Any, name: str) -> int | None:
    """Whole dollars from "608513", "608,513" or "608513.00"; cents other than .00 raise."""
    text = _text(value)
    if text is None:
        return None
    try:
        amount = Decimal(text.replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not an amount") from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        # whole dollars only: 608513.50 is not truncated to 608513 silently
        raise ValueError(f"{name} {text!r} is not an amount in whole dollars")
    return int(amount)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [t for t in (_text(v) for v in items) if t]


def parse_publication(raw: str, kind: str) -> dict[str, Any]:
    """Best-effort fields of one `~`-separated publication string (see the module docstring)."""
    parts = [p.strip() for p in raw.split("~")]
    while parts and parts[-1] == "":
        parts.pop()
    doi_match = next((m for p in parts if (m := _DOI.search(p))), None)
    doi = doi_match.group(1).rstrip(".,;") if doi_match else None
    title = venue = authors = None
    year: int | None = None
    if len(parts) >= 2 and _YEAR.match(parts[1]):  # journal~year~volume~authors~doi~...~title~ts
        venue, year = parts[0] or None, int(parts[1])
        if venue and _BARE_DOI.match(venue):  # the DOI (or its URL) stands in for the journal
            venue = None
        body = parts[2:]
        if body and (_TIMESTAMP.match(body[-1]) or body[-1].upper() == "N"):
            body = body[:-1]
        if body:
            title = body[-1] or None
        # the authors come just before the DOI part; without a DOI among the parts after the
        # year (none, or it sat in the journal part), they are the first part before the title
        # that reads like a list of names
        at = (
            next((i for i, p in enumerate(body) if doi_match.group(1) in p), None)
            if doi_match
            else None
        )
        if at is not None:
            authors = body[at - 1] if at >= 1 else None
        else:
            authors = next((p for p in body[:-1] if _NAMES.search(p)), None)
    elif len(parts) >= 3:  # authors~title~journal~volume~year~pages~
        authors, title, venue = parts[0] or None, parts[1] or None, parts[2] or None
        year = next((int(p) for p in parts[3:6] if _YEAR.match(p)), None)
    return {
        "kind": kind,
        "citation": raw,
        "title": _text(title),
        "venue": _text(venue),
        "year": year,
        "doi": doi,
        "authors": _text(authors),
    }


def _publication(field: str, i: int, raw: str, kind: str) -> dict[str, Any]:
    """parse_publication, with any failure on a string it did not foresee turned into a
    ValueError naming the field, so the award is quarantined instead of crashing the parse."""
    try:
        return parse_publication(raw, kind)
    except Exception as exc:  # best-effort parsing of free text: never fatal
        raise ValueError(f"{field}[{i}] {raw[:80]!r} unparseable: {exc!r}") from None


def award_record(a: dict[str, Any]) -> dict[str, Any]:
    award_id = _text(a.get("id"))
    if not award_id:
        raise ValueError("award without an id")
    pi = _text(a.get("pdPIName")) or _text(
        " ".join(p for p in (a.get("piFirstName"), a.get("piLastName")) if p)
    )
    publications = [
        _publication(field, i, p, kind)
        for field, kind in (
            ("publicationResearch", "research"),
            ("publicationConference", "conference"),
        )
        for i, p in enumerate(_strings(a.get(field)))
    ]
    return {
        "award_id": award_id,
        "title": _text(a.get("title")),
        "agency": _text(a.get("agency")),
        "pi_name": pi,
        "co_pi_names": [re.sub(r"\s*~\s*\d*$", "", c) for c in _strings(a.get("coPDPI"))],
        "awardee": _text(a.get("awardeeName")),
        "awardee_city": _text(a.get("awardeeCity")),
        "awardee_state": _text(a.get("awardeeStateCode")),
        "award_date": _us_date(a.get("date"), "date"),
        "start_date": _us_date(a.get("startDate"), "startDate"),
        "end_date": _us_date(a.get("expDate"), "expDate"),
        "estimated_total_amount": _amount(a.get("estimatedTotalAmt"), "estimatedTotalAmt"),
        "funds_obligated_amount": _amount(a.get("fundsObligatedAmt"), "fundsObligatedAmt"),
        "program": _text(a.get("fundProgramName")),
        "transaction_type": _text(a.get("transType")),
        "abstract": _text(a.get("abstractText")),
        "publications": publications,
    }


def _notification(note: Any) -> str:
    """`serviceNotification` (a dict or a list of dicts) as one line."""
    notes = note if isinstance(note, list) else [note]
    texts = []
    for n in notes:
        if isinstance(n, dict):
            code = n.get("notificationCode")
            msg = n.get("notificationMessage") or n.get("message") or ""
            kind = n.get("notificationType") or "notification"
            texts.append(f"{kind}{f' {code}' if code else ''}: {msg}".strip())
        else:
            texts.append(str(n))
    return "; ".join(texts) or "empty serviceNotification"


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """An awards.json response -> award records. Error payloads raise SourceError."""
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"<":
        raise SourceError(SLUG, where, f"HTTP {status} from the NSF Awards API: HTML error page")
    if status != 200:
        detail = body[:200].decode("utf-8", "replace").strip()
        try:
            data = load_json(SLUG, body, where)
            note = (data.get("response") or {}).get("serviceNotification")
            if note is not None:
                detail = _notification(note)
        except (SourceError, AttributeError):
            pass
        raise SourceError(SLUG, where, f"HTTP {status} from the NSF Awards API: {detail}")
    data = load_json(SLUG, stripped, where)
    response = data.get("response") if isinstance(data, dict) else None
    if not isinstance(response, dict):
        raise SourceError(SLUG, where, 'JSON is not an NSF Awards API {"response": ...} object')
    if response.get("serviceNotification") is not None:
        raise SourceError(
            SLUG,
            where,
            f"NSF Awards API error: {_notification(response['serviceNotification'])}",
        )
    awards = response.get("award") or []
    if isinstance(awards, dict):
        awards = [awards]
    if not isinstance(awards, list):
        raise SourceError(SLUG, where, "response.award is neither a list nor an award")
    page = Page()
    meta = response.get("metadata")
    if isinstance(meta, dict) and str(meta.get("totalCount", "")).isdigit():
        page.total = int(meta["totalCount"])
    for i, a in enumerate(awards):
        if not isinstance(a, dict):
            page.quarantined.append(
                Quarantined.of(SLUG, "awards", item_key(where, i), "not a JSON object", a)
            )
            continue
        key = _text(a.get("id")) or item_key(where, i)
        try:
            page.add("awards", award_record(a))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(Quarantined.of(SLUG, "awards", key, str(exc), a))
    return page


# ---------------------------------------------------------------- fetch


def names_match(candidate: str, wanted: list[str]) -> bool:
    """The same name, or an initial of the same given name and the same family name
    (`transforms.names.compatible`)."""
    return any(compatible(candidate, name) for name in wanted)


def _get(client: HttpClient, **params: str | int) -> tuple[Fetched, Page]:
    resp = client.get(SLUG, API, params={**params, "printFields": PRINT_FIELDS})
    page = parse_response(resp.body, f"GET {resp.url}", resp.status)
    return Fetched(resp, page), page


def _by_pi(client: HttpClient, r: Researcher, cap: int) -> Iterator[Fetched]:
    """Awards whose PI (or co-PI) is the researcher, paged with offset/rpp to the end or cap."""
    offset, seen = 1, 0
    while seen < cap:
        fetched, page = _get(client, pdPIName=r.name, offset=offset, rpp=RPP)
        found = page.count() + len(page.quarantined)
        awards = page.records.get("awards", [])
        mine = [
            a
            for a in awards
            if any(names_match(n, r.all_names) for n in [a["pi_name"] or "", *a["co_pi_names"]])
        ]
        if len(mine) < len(awards):
            log.info(
                "[%s] %d award(s) of namesakes of %r left out: %s",
                SLUG,
                len(awards) - len(mine),
                r.name,
                ", ".join(a["award_id"] for a in awards if a not in mine),
            )
            page.records["awards"] = mine
        yield fetched
        seen += found
        if found < RPP or (page.total is not None and offset - 1 + found >= page.total):
            return
        offset += RPP


def _by_id(client: HttpClient, award_id: str) -> Iterator[Fetched]:
    fetched, page = _get(client, id=award_id)
    if page.count() + len(page.quarantined) == 0:
        raise SourceError(SLUG, f"GET {fetched.response.url}", f"no NSF award {award_id!r}")
    yield fetched


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    report = FetchReport(SLUG)
    opts = watchlist.sources.nsf_awards
    for r in watchlist.researchers:
        if opts.search_by_pi:
            report.collect(_by_pi(client, r, opts.max_awards_per_pi))
        for award_id in r.nsf_award_ids:
            report.collect(_by_id(client, award_id))
    return report

"""OpenAlex REST API (api.openalex.org): authors, works, topics.

Limits: 10 requests/s and a daily budget per key; `mailto` puts us in the polite pool and
`api_key` (env OPENALEX_API_KEY) raises the budget. The key is a query parameter on the wire only:
the shared client strips it from every logged, archived and recorded URL.
Lists are paged with `cursor` (`meta.next_cursor` is null on the last page), up to 200 per page.

Upstream quirks: ids and DOIs come as URLs (`https://openalex.org/W…`, `https://doi.org/…`);
an unknown id answers HTTP 404 with an HTML page, not JSON; an arXiv preprint shows up as a
location whose landing page is on arxiv.org or as a DataCite DOI `10.48550/arxiv.…`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

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
    item_key,
    load_json,
    text,
    whole,
)
from flows.watchlist import Researcher, Watchlist
from transforms import ids
from transforms.specs import OPENALEX as SPEC

SLUG = SPEC.slug
API = "https://api.openalex.org"
PER_PAGE = 200
# Known works re-fetched by id per request for a citation refresh (`openalex:W1|W2|…`).
REFRESH_BATCH = 50
# Live runs take a FetchPlan (what changed since the last run).
INCREMENTAL = True
WORK_FIELDS = (
    "id,doi,title,display_name,publication_year,publication_date,type,primary_location,"
    "locations,cited_by_count,counts_by_year,authorships,topics,ids,is_retracted,updated_date,"
    "fwci,citation_normalized_percentile"
)


def short_id(url: str | None) -> str | None:
    """`https://openalex.org/W2741809807` -> `W2741809807`."""
    if not url:
        return None
    return url.rstrip("/").rsplit("/", 1)[-1]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _arxiv_id(work: dict[str, Any]) -> str | None:
    """From the DataCite DOI `10.48550/arxiv.…` (as the work's DOI or a location's landing page,
    e.g. `https://api.datacite.org/dois/10.48550/arxiv.…`) or an arxiv.org abs/pdf location."""
    found = ids.arxiv_id_from_doi(work.get("doi"))
    if found:
        return found
    for loc in work.get("locations") or []:
        for key in ("landing_page_url", "pdf_url"):
            url = (loc or {}).get(key) or ""
            found = ids.arxiv_id_from_url(url) or ids.arxiv_id_from_doi(url)
            if found:
                return found
    return None


def work_record(w: dict[str, Any]) -> dict[str, Any]:
    percentile = w.get("citation_normalized_percentile") or {}
    work_id = short_id(w.get("id"))
    if not work_id or not work_id.startswith("W"):
        raise ValueError("work without an OpenAlex W id")
    title = text(w.get("display_name"), "display_name") or text(w.get("title"), "title")
    doi = text(w.get("doi"), "doi")
    arxiv = _arxiv_id(w)
    if not title and not (doi or arxiv):
        raise ValueError("work without a title, DOI or arXiv id")
    source = ((w.get("primary_location") or {}).get("source") or {}).get("display_name")
    return {
        "work_id": work_id,
        "doi": doi,
        "arxiv_id": arxiv,
        # None when OpenAlex has no title (the work is kept by its DOI; papers shows UNTITLED)
        "title": title,
        "publication_year": whole(w.get("publication_year"), "publication_year"),
        "publication_date": _date(w.get("publication_date")),
        "type": w.get("type"),
        "venue": source,
        "cited_by_count": whole(w.get("cited_by_count"), "cited_by_count") or 0,
        "counts_by_year": [
            {
                "year": whole(c["year"], "counts_by_year.year"),
                "cited_by_count": whole(c.get("cited_by_count"), "counts_by_year.cited_by_count")
                or 0,
            }
            for c in w.get("counts_by_year") or []
        ],
        "authorships": [
            {
                "position": i,
                "author_id": short_id((a.get("author") or {}).get("id")),
                "display_name": (a.get("author") or {}).get("display_name"),
                "raw_author_name": a.get("raw_author_name"),
                "orcid": short_id((a.get("author") or {}).get("orcid")),
                "institutions": [
                    inst.get("display_name")
                    for inst in a.get("institutions") or []
                    if inst.get("display_name")
                ],
            }
            for i, a in enumerate(w.get("authorships") or [])
        ],
        "topics": [
            {
                "topic_id": short_id(t.get("id")),
                "display_name": t.get("display_name"),
                "score": t.get("score"),
            }
            for t in w.get("topics") or []
        ],
        "is_retracted": bool(w.get("is_retracted")),
        "updated_at": _ts(w.get("updated_date")),
        # field-weighted citation impact (1.0 = the world average of works like it) and the
        # citation percentile among works of the same field, type and year; null when unrated
        "fwci": _number(w.get("fwci"), "fwci"),
        "citation_percentile": _number(percentile.get("value"), "citation_normalized_percentile"),
        "is_top_1_percent": percentile.get("is_in_top_1_percent"),
        "is_top_10_percent": percentile.get("is_in_top_10_percent"),
    }


def _number(value: Any, field: str) -> float | None:
    """A JSON number as float; anything else is an error naming the field (never coerced)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} is not a number: {value!r}")
    return float(value)


def author_record(a: dict[str, Any]) -> dict[str, Any]:
    author_id = short_id(a.get("id"))
    if not author_id or not author_id.startswith("A"):
        raise ValueError("author without an OpenAlex A id")
    stats = a.get("summary_stats") or {}
    institutions = a.get("last_known_institutions") or []
    return {
        "author_id": author_id,
        "display_name": a.get("display_name"),
        "orcid": short_id(a.get("orcid")),
        "display_name_alternatives": list(a.get("display_name_alternatives") or []),
        "works_count": whole(a.get("works_count"), "works_count"),
        "cited_by_count": whole(a.get("cited_by_count"), "cited_by_count"),
        "h_index": whole(stats.get("h_index"), "summary_stats.h_index"),
        "i10_index": whole(stats.get("i10_index"), "summary_stats.i10_index"),
        "counts_by_year": [
            {
                "year": int(c["year"]),
                "works_count": int(c.get("works_count") or 0),
                "cited_by_count": int(c.get("cited_by_count") or 0),
            }
            for c in a.get("counts_by_year") or []
        ],
        "last_known_institution": institutions[0].get("display_name") if institutions else None,
        "updated_at": _ts(a.get("updated_date")),
    }


def topic_record(t: dict[str, Any]) -> dict[str, Any]:
    topic_id = short_id(t.get("id"))
    if not topic_id or not topic_id.startswith("T"):
        raise ValueError("topic without an OpenAlex T id")
    return {
        "topic_id": topic_id,
        "display_name": t.get("display_name"),
        "subfield": (t.get("subfield") or {}).get("display_name"),
        "field": (t.get("field") or {}).get("display_name"),
        "domain": (t.get("domain") or {}).get("display_name"),
        "works_count": t.get("works_count"),
        "cited_by_count": t.get("cited_by_count"),
    }


_KINDS = {
    "W": ("works", work_record),
    "A": ("authors", author_record),
    "T": ("topics", topic_record),
}
_ENTITY_PATH = re.compile(r"api\.openalex\.org/(works|authors|topics)\b")


def _guess_entity(item: Any, where: str) -> str:
    """Entity of a record whose id is missing or malformed: by its fields, else by the request."""
    if isinstance(item, dict):
        if "authorships" in item or "publication_year" in item:
            return "works"
        if "summary_stats" in item or "last_known_institutions" in item:
            return "authors"
        if "subfield" in item and "field" in item:
            return "topics"
    m = _ENTITY_PATH.search(where)
    return m.group(1) if m else "unknown"


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """A single entity or a `{meta, results}` list -> records. Error payloads raise."""
    if status != 200 or body.lstrip()[:1] == b"<":
        detail = (
            "HTML error page"
            if body.lstrip()[:1] == b"<"
            else body[:200].decode("utf-8", "replace")
        )
        raise SourceError(SLUG, where, f"HTTP {status} from OpenAlex: {detail}")
    data = load_json(SLUG, body, where)
    if isinstance(data, dict) and "error" in data and "id" not in data:
        raise SourceError(
            SLUG, where, f"OpenAlex error: {data.get('error')}: {data.get('message', '')}"
        )
    page = Page()
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        meta = data.get("meta") or {}
        page.total = meta.get("count")
        page.next_token = meta.get("next_cursor")
        items = data["results"]
    elif isinstance(data, dict) and isinstance(data.get("id"), str):
        items = [data]
    else:
        raise SourceError(SLUG, where, "JSON is neither an OpenAlex entity nor a result list")
    for i, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, dict) else None
        key = short_id(raw_id) if isinstance(raw_id, str) else None
        kind = _KINDS.get(key[:1]) if key else None
        if key is None or kind is None:
            if not isinstance(item, dict):
                reason = "not a JSON object"
            elif raw_id:
                reason = f"unrecognised OpenAlex id {raw_id!r}"
            else:
                reason = "record without an OpenAlex id"
            entity = _guess_entity(item, where)
            page.quarantined.append(
                Quarantined.of(SLUG, entity, key or item_key(where, i), reason, item)
            )
            continue
        entity, build = kind
        try:
            page.add(entity, build(item))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(Quarantined.of(SLUG, entity, key, str(exc), item))
    return page


_SINGLETON = re.compile(r"^/(works|authors|topics|sources|institutions)/[^/]+$")


def cost(path: str, query: Mapping[str, str]) -> float:
    """Cost units of one request, in 1/10,000 USD: OpenAlex prices singletons free, list/filter
    calls at $0.10 and searches at $1 per 1,000; a free key's $1/day is 10,000 units."""
    if _SINGLETON.match(path):
        return 0.0
    if query.get("search") or ".search" in query.get("filter", ""):
        return 10.0
    return 1.0


def exhausted(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """OpenAlex answers 429 both for >100 requests/s (a throttle: retried) and for a spent
    daily allowance; the latter says so in its message (or leaves no USD remaining)."""
    if status != 429:
        return None
    remaining = headers.get("x-ratelimit-remaining-usd")
    text = body[:500].decode("utf-8", "replace").lower()
    if (remaining is not None and remaining.strip() in {"0", "0.0", "0.00"}) or any(
        w in text for w in ("daily", "budget", "insufficient", "credits")
    ):
        return "OpenAlex daily allowance spent (HTTP 429); the next run resumes"
    return None


def _params(client: HttpClient, **extra: str | int) -> dict[str, str | int]:
    params: dict[str, str | int] = {"mailto": client.contact_email, **extra}
    key = settings.secret(SLUG)
    if key:
        params["api_key"] = key
    return params


def _get(client: HttpClient, path: str, **params: str | int) -> tuple[FetchedResponse, Page]:
    resp = client.get(SLUG, f"{API}{path}", params=_params(client, **params))
    return resp, parse_response(resp.body, f"GET {resp.url}", resp.status)


def _list(client: HttpClient, path: str, cap: int, **params: str | int) -> Iterator[Fetched]:
    cursor, seen = "*", 0
    while cursor and seen < cap:
        resp, page = _get(client, path, cursor=cursor, **params)
        yield Fetched(resp, page)
        seen += page.count() + len(page.quarantined)
        if page.count() + len(page.quarantined) == 0:
            return
        cursor = page.next_token or ""


def _resolve_author(client: HttpClient, r: Researcher) -> Iterator[Fetched]:
    """Yield the author entity page; the last page holds exactly one author record."""
    if r.openalex_id:
        resp, page = _get(client, f"/authors/{r.openalex_id}")
    elif r.orcid:
        resp, page = _get(client, f"/authors/orcid:{r.orcid}")
    else:
        resp, page = _get(client, "/authors", search=r.name, **{"per-page": 10})
        wanted = {n.casefold() for n in r.all_names}
        matches = [
            a
            for a in page.records.get("authors", [])
            if (a["display_name"] or "").casefold() in wanted
        ]
        if not matches:
            raise SourceError(
                SLUG, f"GET {resp.url}", f"no OpenAlex author named {r.name!r}; set openalex_id"
            )
        page.records["authors"] = matches[:1]
    yield Fetched(resp, page)


def fetch(client: HttpClient, watchlist: Watchlist, plan: FetchPlan = FULL_PLAN) -> FetchReport:
    """Researchers' works and topic searches. With a plan (live runs), a researcher's list asks
    only for works updated since the watermark (`from_updated_date`, which OpenAlex serves to
    API-key holders; keyless, the list stays whole: it costs one unit per 200 works), a topic
    search only for works published since it, and known works due a citation refresh are
    fetched again by id, 50 to a page."""
    report = FetchReport(SLUG)
    keyed = settings.secret(SLUG) is not None
    for r in watchlist.researchers:
        author_id = report.collect_one(_resolve_author(client, r), "authors", "author_id")
        if author_id is None:  # lookup failed or its record was quarantined: both are reported
            continue
        entry = f"researcher:{r.researcher_id}"
        since = plan.since(entry) if keyed else None
        filters = [f"authorships.author.id:{author_id}"]
        if since is not None:
            filters.append(f"from_updated_date:{since.isoformat()}")
        report.collect_entry(
            entry,
            plan,
            _list(
                client,
                "/works",
                100_000,
                filter=",".join(filters),
                select=WORK_FIELDS,
                **{"per-page": PER_PAGE},
            ),
            full=since is None,
        )
    for t in watchlist.topics:
        for topic_id in t.openalex_topic_ids:
            report.collect(_get_one(client, f"/topics/{topic_id}"))
        entry = f"topic:{t.name}"
        since = plan.since(entry)
        first_day = f"{watchlist.sources.since_year}-01-01"
        if since is not None:
            first_day = max(first_day, since.isoformat())
        filters = [f"from_publication_date:{first_day}"]
        if t.openalex_topic_ids:
            filters.append("topics.id:" + "|".join(t.openalex_topic_ids))
        search = " OR ".join(f'"{k}"' for k in t.keywords)
        report.collect_entry(
            entry,
            plan,
            _list(
                client,
                "/works",
                watchlist.sources.max_topic_results,
                filter=",".join(filters),
                search=search,
                select=WORK_FIELDS,
                sort="cited_by_count:desc",
                **{"per-page": min(PER_PAGE, watchlist.sources.max_topic_results)},
            ),
            full=since is None,
        )
    for batch in _batches(plan.refresh, REFRESH_BATCH):
        report.collect(
            _list(
                client,
                "/works",
                len(batch),
                filter="openalex:" + "|".join(batch),
                select=WORK_FIELDS,
                **{"per-page": len(batch)},
            )
        )
    return report


def _batches(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _get_one(client: HttpClient, path: str) -> Iterator[Fetched]:
    resp, page = _get(client, path)
    yield Fetched(resp, page)

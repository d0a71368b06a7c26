"""Scholar Feed researcher profiles (api.scholarfeed.org/api/v1): author discover and profile.

Endpoints (as called by Scholar Feed's own client, github.com/YGao2005/scholar-feed-mcp,
`src/tools/find_author.ts` and `src/client.ts`):
  GET /public/authors/discover?q=<name or topic>&limit=<1..50>  -> {query, search_type, total,
      authors: [{id, name, h_index, total_papers, primary_field, research_topics,
      author_rank_score, semantic_scholar_id, years_active}]}
  GET /public/authors/{id}  (numeric id)  -> a flat profile {id, name, h_index, total_papers,
      total_citations, primary_field, research_topics, rank, ..., top_papers: [paper]} where a
      paper is {arxiv_id, title, authors: [str], n_authors (only when `authors` is cut short),
      published_date, year, categories, primary_category, citation_count, rank_score,
      impact_pct, llm_novelty_score, institution_tags, venue_name, has_code, github_url}.
  Field names above are from the client's declared output schemas (`src/tools/_output.ts`).

NOT VERIFIED (no genuine payload was available): the author-level novelty and "AI score" the
profile page shows ("Novelty53%", "AI Score45") have no published field name, and which paper
field the page's per-paper score ("81.6") is; their names below are inferred from the public
pages. All response-field names live in the two tables AUTHOR_FIELDS / PAPER_FIELDS (first
present name wins) so they are easy to correct; a record that does not fit is quarantined with
the reason, never dropped and never fatal.

Key: optional, env SCHOLAR_FEED_API_KEY, sent as `Authorization: Bearer <key>` (the header the
official client uses; the shared client redacts it and drops it on cross-host redirects).
Limits (README "Rate Limits" of scholar-feed-mcp): find_author - both discover and profile - 20
requests/min (search 30/min, the only other limit on the host), so the host is spaced 3 s apart
(flows.http.DEFAULT_LIMITS). Daily quota per account: 100 calls anonymous, 1,000 with a free key,
10,000 Pro (CHANGELOG 3.6.0). A spent daily quota answers HTTP 429 with a JSON
`{error, message}` envelope naming the daily limit ("Anonymous daily limit exceeded"; the
planned `X-Quota-Remaining: 0` header is honoured too): `exhausted` stops the source for the run,
while a per-minute 429 is retried by the shared client. Terms: scholarfeed.org terms of service;
we only read public profile data.

Upstream quirks: author ids are integers; after the 2026-06 identity rebuild unresolved authors
carry explicit nulls for h_index/total_papers/primary_field/rank; a profile lists only its top 10
papers by rank score (a documented cap, trimmed further by `max_papers`); paper author lists may
be cut to the first names ("A, B, C et al." on the page, `n_authors` in the API): we keep the
names as listed and mark the list truncated, never inventing the rest; `primary_field` may be a
full arXiv category ("cs.DC") or the bare subject class the page shows ("DC").
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from flows import settings
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
from flows.watchlist import Researcher, ScholarFeedOptions, Watchlist
from transforms import ids
from transforms.names import matches, wanted_keys
from transforms.specs import SCHOLAR_FEED as SPEC

log = logging.getLogger("scholarflow.sources.scholar_feed")

SLUG = SPEC.slug
API = "https://api.scholarfeed.org/api/v1"

# ---------------------------------------------------------------- field mapping (one place)
# record field -> response field names, first present wins. "(inferred)": not in any published
# schema; named after what the profile page shows.
AUTHOR_FIELDS: dict[str, tuple[str, ...]] = {
    "author_id": ("id", "author_id"),
    "name": ("name",),
    "h_index": ("h_index",),
    "citations": ("total_citations",),
    "paper_count": ("total_papers",),
    "primary_field": ("primary_field",),
    "research_topics": ("research_topics",),
    "years_active": ("years_active",),
    "rank": ("rank",),
    "rank_score": ("author_rank_score",),
    "semantic_scholar_id": ("semantic_scholar_id",),
    "novelty": ("avg_novelty", "mean_novelty", "novelty", "novelty_score"),  # (inferred)
    "ai_score": ("ai_score",),  # (inferred)
    "papers": ("top_papers",),
}
# The profile describes novelty as a distribution; its centre is used when no scalar is given.
NOVELTY_DISTRIBUTION = ("novelty_distribution", "novelty_score_distribution")  # (inferred)
DISTRIBUTION_CENTRE = ("mean", "avg", "average", "median", "p50")
PAPER_FIELDS: dict[str, tuple[str, ...]] = {
    "arxiv_id": ("arxiv_id",),
    "own_id": ("id", "paper_id"),
    "title": ("title",),
    "authors": ("authors",),
    "author_count": ("n_authors",),
    "category": ("primary_category", "category"),
    "categories": ("categories",),
    "published_date": ("published_date", "published_at", "date"),
    "year": ("year",),
    "rank_score": ("rank_score",),
    # the page's per-paper score (e.g. 81.6, shown on recent papers only): a percentile,
    # most plausibly impact_pct (inferred)
    "impact_pct": ("impact_pct", "score"),
    "novelty": ("llm_novelty_score",),
    "citation_count": ("citation_count",),
    "institutions": ("institution_tags", "institutions"),
    "venue": ("venue_name",),
    "has_code": ("has_code",),
    "github_url": ("github_url",),
}

# arXiv's Computer Science subject classes: the page shows "DC" for cs.DC.
CS_CLASSES = frozenset(
    {"AI", "AR", "CC", "CE", "CG", "CL", "CR", "CV", "CY", "DB", "DC", "DL", "DM", "DS", "ET"}
    | {"FL", "GL", "GR", "GT", "HC", "IR", "IT", "LG", "LO", "MA", "MM", "MS", "NA", "NE", "NI"}
    | {"OH", "OS", "PF", "PL", "RO", "SC", "SD", "SE", "SI", "SY"}
)
_CATEGORY = re.compile(r"^[a-z\-]+\.[A-Za-z\-]+$|^[a-z\-]+$")
_ET_AL = re.compile(r"\s*,?\s*et\s+al\.?\s*$", re.I)
_MONTH_DAY_YEAR = "%b %d, %Y"
_DAILY = ("daily", "quota", "per day", "/day")


def _pick(item: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in item and item[name] is not None:
            return item[name]
    return None


def _get(item: Mapping[str, Any], table: Mapping[str, tuple[str, ...]], field: str) -> Any:
    return _pick(item, table[field])


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} is a boolean, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{field} is not an integer: {value!r}")


def _float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} is a boolean, not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            pass
    raise ValueError(f"{field} is not a number: {value!r}")


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{field} is not text: {value!r}")
    text = str(value).strip()
    return text or None


def _texts(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{field} is not a list: {value!r}")
    return [t for t in (_text(v, field) for v in value) if t]


def arxiv_category(raw: str | None) -> str | None:
    """ "cs.DC" stays; the page's bare "DC" is cs.DC; anything else is not an arXiv category."""
    if not raw:
        return None
    if raw.upper() in CS_CLASSES and "." not in raw:
        return f"cs.{raw.upper()}"
    return raw if _CATEGORY.match(raw) and "." in raw else None


def arxiv_id(raw: Any) -> str | None:
    """Bare arXiv id without version or `arXiv:` prefix; ValueError for something else."""
    text = _text(raw, "arxiv_id")
    if text is None:
        return None
    aid = ids.arxiv_id(text.removesuffix(".pdf"))
    if not aid:
        raise ValueError(f"arxiv_id {raw!r} is not an arXiv identifier")
    return aid


def _date(raw: Any) -> tuple[date | None, int | None]:
    """(date, year) from an ISO date or timestamp, the page's "May 18, 2025", or a bare year;
    a year-less "Apr 18" is malformed."""
    text = _text(raw, "published_date")
    if text is None:
        return None, None
    if re.fullmatch(r"\d{4}", text):
        return None, int(text)
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        try:
            day = datetime.strptime(text, _MONTH_DAY_YEAR).date()
        except ValueError:
            raise ValueError(f"published_date {raw!r} is not a full date") from None
    return day, day.year


def _authors(raw: Any, count: int | None) -> tuple[list[str], bool]:
    """Names as listed and whether the list is cut short ("et al." or fewer than n_authors)."""
    truncated = False
    if raw is None:
        names: list[str] = []
    elif isinstance(raw, str):  # the page's "A, B, C et al." form
        names = [n for n in (p.strip() for p in raw.split(",")) if n]
    elif isinstance(raw, list):
        names = []
        for a in raw:
            name = a.get("name") if isinstance(a, dict) else a
            text = _text(name, "authors")
            if text:
                names.append(text)
    else:
        raise ValueError(f"authors is not a list: {raw!r}")
    if names and _ET_AL.search(names[-1]):
        truncated = True
        last = _ET_AL.sub("", names[-1]).strip()
        names = names[:-1] + ([last] if last else [])
    if count is not None and count > len(names):
        truncated = True
    return names, truncated


def paper_record(p: Mapping[str, Any]) -> dict[str, Any]:
    title = _text(_get(p, PAPER_FIELDS, "title"), "title")
    if not title:
        raise ValueError("paper without a title")
    aid = arxiv_id(_get(p, PAPER_FIELDS, "arxiv_id"))
    published, date_year = _date(_get(p, PAPER_FIELDS, "published_date"))
    year = _int(_get(p, PAPER_FIELDS, "year"), "year") or date_year
    count = _int(_get(p, PAPER_FIELDS, "author_count"), "n_authors")
    names, truncated = _authors(_get(p, PAPER_FIELDS, "authors"), count)
    categories = _texts(_get(p, PAPER_FIELDS, "categories"), "categories")
    category = _text(_get(p, PAPER_FIELDS, "category"), "primary_category") or (
        categories[0] if categories else None
    )
    own = _text(_get(p, PAPER_FIELDS, "own_id"), "id")
    return {
        "paper_id": aid or own or synthetic_paper_id(title, published, year),
        "arxiv_id": aid,
        "title": title,
        "authors": names,
        "authors_truncated": truncated,
        "author_count": count if count is not None else (None if truncated else len(names)),
        "category": category,
        "arxiv_category": arxiv_category(category),
        "categories": categories,
        "published_date": published,
        "year": year,
        "rank_score": _float(_get(p, PAPER_FIELDS, "rank_score"), "rank_score"),
        "impact_pct": _float(_get(p, PAPER_FIELDS, "impact_pct"), "impact_pct"),
        "novelty": _float(_get(p, PAPER_FIELDS, "novelty"), "llm_novelty_score"),
        "citation_count": _int(_get(p, PAPER_FIELDS, "citation_count"), "citation_count"),
        "institutions": _texts(_get(p, PAPER_FIELDS, "institutions"), "institution_tags"),
        "venue": _text(_get(p, PAPER_FIELDS, "venue"), "venue_name"),
        "has_code": _bool(_get(p, PAPER_FIELDS, "has_code"), "has_code"),
        "github_url": _text(_get(p, PAPER_FIELDS, "github_url"), "github_url"),
    }


def synthetic_paper_id(title: str, published: date | None, year: int | None) -> str:
    """Stable key of a paper listed without an arXiv id: its title (case and spacing folded)
    and date. Keys only; never shown as an upstream id."""
    basis = " ".join(title.casefold().split()) + "|" + str(published or year or "")
    return "title:" + hashlib.sha1(basis.encode()).hexdigest()[:16]


def _bool(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{field} is not a boolean: {value!r}")


def _novelty(a: Mapping[str, Any]) -> float | None:
    """Author novelty as a fraction (the page shows a percentage: 53% -> 0.53)."""
    value = _float(_get(a, AUTHOR_FIELDS, "novelty"), "novelty")
    if value is None:
        dist = _pick(a, NOVELTY_DISTRIBUTION)
        if isinstance(dist, Mapping):
            value = _float(_pick(dist, DISTRIBUTION_CENTRE), "novelty distribution")
    if value is not None and value > 1.0:
        value /= 100.0
    return value


def author_record(a: Mapping[str, Any], paper_ids: list[str], profile: bool) -> dict[str, Any]:
    raw_id = _get(a, AUTHOR_FIELDS, "author_id")
    author_id = _int(raw_id, "id")
    if author_id is None or author_id <= 0:
        raise ValueError(f"author without a positive integer id: {raw_id!r}")
    field = _text(_get(a, AUTHOR_FIELDS, "primary_field"), "primary_field")
    return {
        "author_id": str(author_id),
        "name": _text(_get(a, AUTHOR_FIELDS, "name"), "name"),
        "h_index": _int(_get(a, AUTHOR_FIELDS, "h_index"), "h_index"),
        "citations": _int(_get(a, AUTHOR_FIELDS, "citations"), "total_citations"),
        "paper_count": _int(_get(a, AUTHOR_FIELDS, "paper_count"), "total_papers"),
        "primary_field": field,
        "primary_category": arxiv_category(field),
        "research_topics": _texts(_get(a, AUTHOR_FIELDS, "research_topics"), "research_topics"),
        "years_active": _int(_get(a, AUTHOR_FIELDS, "years_active"), "years_active"),
        "rank": _int(_get(a, AUTHOR_FIELDS, "rank"), "rank"),
        "rank_score": _float(_get(a, AUTHOR_FIELDS, "rank_score"), "author_rank_score"),
        "novelty": _novelty(a),
        "ai_score": _float(_get(a, AUTHOR_FIELDS, "ai_score"), "ai_score"),
        "semantic_scholar_id": _text(
            _get(a, AUTHOR_FIELDS, "semantic_scholar_id"), "semantic_scholar_id"
        ),
        "paper_ids": paper_ids,
        # a full profile, or a discover candidate (no citations, no papers)
        "from_profile": profile,
    }


def _author_key(a: Any, where: str, index: int) -> str:
    raw = a.get("id") if isinstance(a, dict) else None
    return str(raw) if isinstance(raw, int | str) and str(raw).strip() else item_key(where, index)


def _add_author(
    page: Page, a: Any, where: str, index: int, paper_ids: list[str], profile: bool
) -> None:
    key = _author_key(a, where, index)
    if not isinstance(a, dict):
        page.quarantined.append(Quarantined.of(SLUG, "authors", key, "not a JSON object", a))
        return
    try:
        page.add("authors", author_record(a, paper_ids, profile))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        page.quarantined.append(Quarantined.of(SLUG, "authors", key, str(exc), a))


def _add_papers(page: Page, papers: Any, where: str) -> list[str]:
    """Paper records of a profile; the ids of those that parsed, in listed order."""
    if papers is None:
        return []
    if not isinstance(papers, list):
        reason = "top_papers is not a list"
        page.quarantined.append(Quarantined.of(SLUG, "papers", item_key(where, 0), reason, papers))
        return []
    ids: list[str] = []
    for i, p in enumerate(papers):
        raw_id = p.get("arxiv_id") if isinstance(p, dict) else None
        key = str(raw_id) if isinstance(raw_id, str) and raw_id.strip() else item_key(where, i)
        if not isinstance(p, dict):
            page.quarantined.append(Quarantined.of(SLUG, "papers", key, "not a JSON object", p))
            continue
        try:
            rec = paper_record(p)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            page.quarantined.append(Quarantined.of(SLUG, "papers", key, str(exc), p))
            continue
        page.add("papers", rec)
        if rec["paper_id"] not in ids:
            ids.append(rec["paper_id"])
    return ids


def _error_detail(data: Any) -> str | None:
    """The message of an error body: `{error, message}` (deliberate walls), FastAPI-style
    `{detail}`, or `{error}` alone."""
    if not isinstance(data, dict):
        return None
    for name in ("message", "detail", "error"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if name == "detail" and isinstance(value, list) and value:  # validation errors
            first = value[0]
            return str(first.get("msg") if isinstance(first, dict) else first)
    return None


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """An author discover list or an author profile -> author and paper records.

    Error payloads (HTTP errors, HTML pages, `{error, message}` or `{detail}` bodies) raise
    SourceError naming the request."""
    body = body.removeprefix(b"\xef\xbb\xbf")
    head = body.lstrip()[:1]
    if head == b"<":
        raise SourceError(SLUG, where, f"HTTP {status} from Scholar Feed: HTML page, not JSON")
    if not body.strip():
        raise SourceError(SLUG, where, f"HTTP {status} from Scholar Feed: empty body")
    if status != 200:
        try:
            detail = _error_detail(load_json(SLUG, body, where))
        except SourceError:
            detail = None
        text = detail or body[:200].decode("utf-8", "replace").strip()
        raise SourceError(SLUG, where, f"HTTP {status} from Scholar Feed: {text}")
    data = load_json(SLUG, body, where)
    if not isinstance(data, dict):
        raise SourceError(SLUG, where, "JSON is not a Scholar Feed author list or profile")
    # shapes, not just a key: an S2 paper also has an `authors` list, an OpenAlex entity an `id`
    is_list = (
        isinstance(data.get("authors"), list)
        and any(k in data for k in ("query", "search_type", "total"))
        and "paperId" not in data
    )
    is_profile = "top_papers" in data or (
        "id" in data
        and "name" in data
        and any(k in data for k in ("h_index", "total_papers", "total_citations"))
    )
    if not is_list and not is_profile:
        detail = _error_detail(data)
        if detail:
            raise SourceError(SLUG, where, f"Scholar Feed error: {detail}")
        raise SourceError(SLUG, where, "JSON is not a Scholar Feed author list or profile")
    page = Page()
    if is_list:
        total = data.get("total")
        page.total = total if isinstance(total, int) and not isinstance(total, bool) else None
        for i, a in enumerate(data["authors"]):
            _add_author(page, a, where, i, [], profile=False)
    else:
        ids = _add_papers(page, _get(data, AUTHOR_FIELDS, "papers"), f"{where} [top_papers]")
        _add_author(page, data, where, 0, ids, profile=True)
    return page


# ---------------------------------------------------------------- allowance


def exhausted(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """A 429 that names the daily quota (or `X-Quota-Remaining: 0`) ends the source for the
    run; a per-minute 429 ("Rate limit exceeded") is a throttle the client retries."""
    if status != 429:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    quota = lowered.get("x-quota-remaining")
    text = body[:1000].decode("utf-8", "replace").lower()
    if (quota is not None and quota.strip() == "0") or any(w in text for w in _DAILY):
        return "Scholar Feed daily quota spent (HTTP 429); the next run resumes"
    return None


# ---------------------------------------------------------------- fetch


def _headers() -> dict[str, str]:
    key = settings.secret(SLUG)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _request(
    client: HttpClient, path: str, **params: str | int
) -> tuple[FetchedResponse, Page, str]:
    resp = client.get(SLUG, f"{API}{path}", params=params or None, headers=_headers())
    where = f"GET {resp.url}"
    return resp, parse_response(resp.body, where, resp.status), where


def _discover(client: HttpClient, r: Researcher, opts: ScholarFeedOptions) -> Iterator[Fetched]:
    """Author discover by name; the page keeps only the one candidate named like the researcher
    (transforms.names: up to case, accents, punctuation and word order). Several such
    candidates are namesakes the API cannot tell apart: an error listing their ids, settled by
    setting scholar_feed_id (no guess)."""
    resp, page, where = _request(
        client, "/public/authors/discover", q=r.name, limit=opts.discover_limit
    )
    wanted = wanted_keys(r.all_names)
    candidates = page.records.get("authors", [])
    found = [a for a in candidates if matches(a["name"], wanted)]
    if not found:
        raise SourceError(
            SLUG,
            where,
            f"no Scholar Feed author named {r.name!r} (or an alias) among {len(candidates)} "
            "candidate(s); set scholar_feed_id",
        )
    if len(found) > 1:
        ids = ", ".join(a["author_id"] for a in found)
        raise SourceError(
            SLUG,
            where,
            f"{len(found)} Scholar Feed authors are named {r.name!r} (or an alias): {ids}; "
            "set scholar_feed_id",
        )
    page.records["authors"] = found
    yield Fetched(resp, page)


def _some(keys: list[str], shown: int = 5) -> str:
    """A few ids for a log line: `a, b, c` or `a, b, c, … (+4 more)`."""
    more = f", … (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _profile(client: HttpClient, author_id: str, r: Researcher, cap: int) -> Iterator[Fetched]:
    """The author's profile; its paper list trimmed to the first `cap` (by rank score), the
    papers left out logged."""
    if not author_id.isdigit():
        raise SourceError(
            SLUG,
            f"researcher {r.name!r}",
            f"scholar_feed_id must be a numeric Scholar Feed author id, not {author_id!r}",
        )
    resp, page, _ = _request(client, f"/public/authors/{author_id}")
    papers = page.records.get("papers", [])
    if len(papers) > cap:
        kept = papers[:cap]
        page.records["papers"] = kept
        keep = {p["paper_id"] for p in kept}
        for a in page.records.get("authors", []):
            a["paper_ids"] = [p for p in a["paper_ids"] if p in keep]
        log.info(
            "[%s] author %s: %d of %d paper(s) past max_papers=%d left out (%s)",
            SLUG,
            author_id,
            len(papers) - cap,
            len(papers),
            cap,
            _some([p["paper_id"] for p in papers[cap:]]),
        )
    yield Fetched(resp, page)


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    opts = watchlist.sources.scholar_feed
    report = FetchReport(SLUG)
    for r in watchlist.researchers:
        author_id = r.scholar_feed_id
        if author_id is None:
            author_id = report.collect_one(_discover(client, r, opts), "authors", "author_id")
            if author_id is None:  # no match, or the request failed: both are reported
                continue
        report.collect(_profile(client, author_id.strip(), r, opts.max_papers))
    return report

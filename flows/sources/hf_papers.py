"""Hugging Face Papers API (huggingface.co/api): daily-papers listings, paper search, one paper.

Endpoints (JSON):
- `GET /api/daily_papers?date=YYYY-MM-DD` (or `week=YYYY-Www`, `month=YYYY-MM`), paged with
  `limit` (at most 100) and `p` (0-based page); a page shorter than `limit` is the last.
- `GET /api/papers/search?q=…&limit=…`: one page of papers for a query (no paging parameter).
- `GET /api/papers/{arxiv_id}`: one paper (the paper object alone, not wrapped).
Key: none needed; an optional token (env HF_TOKEN, sent as `Authorization: Bearer …` and never
logged: the shared client redacts that header) raises the rate limit.
Rate limit: 500 requests per 5 minutes per IP unauthenticated (huggingface.co in DEFAULT_LIMITS);
a 429 carries Retry-After and is retried by the shared client.
Terms: Hugging Face Hub terms of service; paper metadata mirrors arXiv, community signals
(upvotes, comments, AI summaries/keywords) are Hugging Face's.

Upstream quirks handled here:
- A listing/search item wraps the paper: `{paper: {...}, publishedAt, title, summary, numComments,
  submittedBy, organization, isAuthorParticipating, ...}`. Fields moved between the item and the
  `paper` over time, so each is read from the paper first and the item second.
- 2024 items (older shape) have no `ai_summary`/`ai_keywords`/`githubRepo`/`githubStars`/
  `projectPage`/`organization`, and often no `paper.submittedOnDailyAt`: there the item's
  `publishedAt` is the time the paper was submitted to the daily list (today's items carry the
  arXiv announcement time in it instead, and the submission time in `paper.submittedOnDailyAt`).
- `paper.publishedAt` is the arXiv publication date; `upvotes`/`githubStars` come as numbers
  (the OpenAPI spec says float; ints on the wire).
- A paper id is its arXiv id (no version). Authors carry the Hub's `hidden` flag (kept, the
  author is kept too) and, once claimed, the HF `user` and a claim `status`.
- `sort=trending` together with a date answers the global trending list, not that day's: the
  listings here never send `sort`.
- An unknown paper answers 404; a day without papers (weekends) an empty list.
- Errors are JSON `{"error": "..."}` with a 4xx status; proxies answer HTML or plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows import settings
from flows.http import FetchedResponse, HttpClient
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    SourceError,
    error_summary,
    item_key,
    load_json,
)
from flows.watchlist import HfPapersOptions, Watchlist
from transforms import ids
from transforms.specs import HF_PAPERS as SPEC

log = logging.getLogger("scholarflow.sources.hf_papers")

SLUG = SPEC.slug
API = "https://huggingface.co/api"
PAGE_SIZE = 100  # the daily_papers maximum


# ---------------------------------------------------------------- parsing


def _ts(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"timestamp is not a string: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _count(value: Any, name: str) -> int | None:
    """A count sent as a JSON number (int or integral float); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{name} is not a count: {value!r}")
    return int(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip() or None


def _who(user: Any) -> tuple[str | None, str | None]:
    """(username, full name) of a user object; None for either when missing."""
    if not isinstance(user, dict):
        return None, None
    return _text(user.get("name") or user.get("user")), _text(user.get("fullname"))


def arxiv_id(value: Any) -> str:
    """The paper id as an arXiv id without version; ValueError when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("paper without an id")
    aid = ids.arxiv_id(value)
    if not aid:
        raise ValueError(f"paper id {value!r} is not an arXiv id")
    return aid


def _author(a: Any) -> dict[str, Any]:
    if not isinstance(a, dict):
        raise ValueError(f"author is not an object: {a!r}")
    name = _text(a.get("name"))
    if name is None:
        raise ValueError("author without a name")
    user, _ = _who(a.get("user"))
    return {
        "name": name,
        "hf_user": user,
        "status": _text(a.get("status")),
        "hidden": bool(a.get("hidden")),
    }


def paper_record(paper: dict[str, Any], item: dict[str, Any] | None = None) -> dict[str, Any]:
    """One paper from its `paper` object and, for listing/search results, the item around it."""
    outer: dict[str, Any] = item or {}

    def pick(*names: str) -> Any:
        for source in (paper, outer):
            for name in names:
                if source.get(name) is not None:
                    return source[name]
        return None

    key = arxiv_id(paper.get("id") or outer.get("id"))
    title = _text(paper.get("title")) or _text(outer.get("title"))
    if title is None:
        raise ValueError("paper without a title")
    submitted_at = _ts(pick("submittedOnDailyAt"))
    if submitted_at is None and item is not None and "submittedBy" in outer:
        # 2024 shape: the item's publishedAt is when the paper was submitted to the daily list
        submitted_at = _ts(outer.get("publishedAt"))
    by, by_name = _who(pick("submittedOnDailyBy", "submittedBy"))
    org, org_name = _who(pick("organization"))
    keywords = pick("ai_keywords")
    if keywords is not None and (
        not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords)
    ):
        raise ValueError(f"ai_keywords is not a list of strings: {keywords!r}")
    has_summary = "ai_summary" in paper or "ai_summary" in outer
    authors = paper.get("authors") or []
    if not isinstance(authors, list):
        raise ValueError(f"authors is not a list: {authors!r}")
    participating = outer.get("isAuthorParticipating")
    return {
        "arxiv_id": key,
        "title": " ".join(title.split()),
        "summary": _text(pick("summary")),
        "published_at": _ts(paper.get("publishedAt") or outer.get("publishedAt")),
        "submitted_on_daily_at": submitted_at,
        "submitted_by": by,
        "submitted_by_name": by_name,
        "authors": [_author(a) for a in authors],
        "upvotes": _count(pick("upvotes"), "upvotes"),
        "num_comments": _count(pick("numComments"), "numComments"),
        "discussion_id": _text(pick("discussionId")),
        "ai_keywords": [k.strip() for k in keywords if k.strip()] if keywords is not None else None,
        "has_ai_summary": bool(_text(pick("ai_summary"))) if has_summary else None,
        "ai_summary_model": _text(pick("ai_summary_model")),
        "organization": org,
        "organization_name": org_name,
        "github_repo": _text(pick("githubRepo")),
        "github_stars": _count(pick("githubStars"), "githubStars"),
        "project_page": _text(pick("projectPage")),
        "is_author_participating": participating if isinstance(participating, bool) else None,
        "withdrawn_at": _ts(pick("withdrawnAt")),
    }


def _error_message(data: Any) -> str | None:
    return str(data["error"]) if isinstance(data, dict) and data.get("error") else None


def _looks_like_paper(item: dict[str, Any]) -> bool:
    """A daily-papers/search item (wraps `paper`) or a paper (its `id` is an arXiv id)."""
    if isinstance(item.get("paper"), dict):
        return True
    try:
        arxiv_id(item.get("id"))
    except ValueError:
        return False
    return "title" in item


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """A daily-papers or search list (items wrapping `paper`) or a single paper -> records."""
    if status != 200 or body.lstrip()[:1] == b"<":
        raise SourceError(
            SLUG, where, f"HTTP {status} from Hugging Face: {error_summary(body, _error_message)}"
        )
    data = load_json(SLUG, body, where)
    if isinstance(data, dict) and "error" in data and "id" not in data:
        raise SourceError(SLUG, where, f"Hugging Face error: {data.get('error')}")
    if isinstance(data, list):
        items = data
        objects = [x for x in items if isinstance(x, dict)]
        if objects and not any(_looks_like_paper(x) for x in objects):
            keys = sorted({k for x in objects[:5] for k in x})[:6]
            raise SourceError(
                SLUG,
                where,
                "JSON array is not a Hugging Face papers list: no item has a paper or an arXiv "
                f"id (item keys: {', '.join(keys)})",
            )
    elif isinstance(data, dict) and _looks_like_paper(data):
        items = [data]
    else:
        raise SourceError(SLUG, where, "JSON is neither a list of papers nor a paper")
    page = Page()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            page.quarantined.append(
                Quarantined.of(SLUG, "papers", item_key(where, i), "not a JSON object", item)
            )
            continue
        wrapped = item.get("paper")
        paper, outer = (wrapped, item) if isinstance(wrapped, dict) else (item, None)
        raw_id = paper.get("id") or item.get("id")
        try:
            page.add("papers", paper_record(paper, outer))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            key = raw_id if isinstance(raw_id, str) and raw_id.strip() else item_key(where, i)
            page.quarantined.append(Quarantined.of(SLUG, "papers", key, str(exc), item))
    return page


# ---------------------------------------------------------------- fetching


def periods(options: HfPapersOptions, today: date) -> list[tuple[str, str]]:
    """The listings to fetch, newest first: (parameter, value) per day, ISO week or month that
    the `daily_days` days up to `until` (or today) touch."""
    end = options.until or today
    out: list[tuple[str, str]] = []
    for n in range(options.daily_days):
        day = end - timedelta(days=n)
        if options.period == "week":
            year, week, _ = day.isocalendar()
            value = f"{year}-W{week:02d}"
        elif options.period == "month":
            value = f"{day.year}-{day.month:02d}"
        else:
            value = day.isoformat()
        if (options.period, value) not in out:
            out.append((options.period, value))
    return out


def _headers() -> dict[str, str]:
    token = settings.secret(SLUG)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _get(client: HttpClient, path: str, **params: str | int) -> tuple[FetchedResponse, Page]:
    resp = client.get(SLUG, f"{API}{path}", params=params or None, headers=_headers())
    return resp, parse_response(resp.body, f"GET {resp.url}", resp.status)


def _listing(client: HttpClient, param: str, value: str, cap: int) -> Iterator[Fetched]:
    """One day/week/month of daily papers, page by page until a short page or the cap.

    Every request asks for `limit=PAGE_SIZE`: `p` counts pages of `limit` items, so a smaller
    last page would start at the wrong offset. The page that reaches the cap has its records
    past the cap trimmed (logged); its quarantined items are kept."""
    page_no, seen = 0, 0
    while seen < cap:
        resp, page = _get(client, "/daily_papers", **{param: value}, limit=PAGE_SIZE, p=page_no)
        got = page.count() + len(page.quarantined)
        papers = page.records.get("papers", [])
        room = cap - seen
        if len(papers) > room:
            page.records["papers"] = papers[:room]
            left_out = [p["arxiv_id"] for p in papers[room:]]
            log.info(
                "[%s] %s=%s: %d paper(s) past max_daily_results=%d left out (%s)",
                SLUG,
                param,
                value,
                len(left_out),
                cap,
                _some(left_out),
            )
        yield Fetched(resp, page)
        seen += got
        if got < PAGE_SIZE:
            return
        page_no += 1


def _some(keys: list[str], shown: int = 5) -> str:
    """A few ids for a log line: `a, b, c` or `a, b, c, … (+4 more)`."""
    more = f", … (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _one(client: HttpClient, path: str, **params: str | int) -> Iterator[Fetched]:
    resp, page = _get(client, path, **params)
    yield Fetched(resp, page)


def fetch(client: HttpClient, watchlist: Watchlist, *, today: date | None = None) -> FetchReport:
    """Single papers, then a search per topic keyword, then the daily listings (last, so a paper
    seen twice keeps its listing record: listings carry the most item-level signals)."""
    options = watchlist.sources.hf_papers
    report = FetchReport(SLUG)
    for aid in dict.fromkeys(options.arxiv_ids):
        report.collect(_one(client, f"/papers/{aid}"))
    limit = min(options.search_limit, watchlist.sources.max_topic_results)
    keywords = dict.fromkeys(k for t in watchlist.topics for k in t.keywords)
    for keyword in keywords:
        report.collect(_one(client, "/papers/search", q=keyword, limit=limit))
    day = today or datetime.now(UTC).date()
    for param, value in periods(options, day):
        report.collect(_listing(client, param, value, options.max_daily_results))
    return report

"""Fake api.scholarfeed.org: author discover and author profiles in the API's JSON shape.

Shapes follow Scholar Feed's own client (github.com/YGao2005/scholar-feed-mcp, the declared
output schemas in `src/tools/_output.ts`); see flows/sources/scholar_feed.py for what is
inferred. Facts come from `facts.json` and `scholar_feed.json`; only arXiv papers are listed
(Scholar Feed indexes arXiv), at most 10 per profile, ranked by rank score.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

EXTRA: dict[str, Any] = json.loads(
    (Path(__file__).with_name("scholar_feed.json")).read_text(encoding="utf-8")
)
TOP_PAPERS = 10
SHOWN_AUTHORS = 3


def _unit(text: str) -> float:
    """A stable illustrative number in [0, 1) for a text."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, indent=1, ensure_ascii=False).encode(),
        headers={"content-type": "application/json"},
    )


def _paper(w: dict[str, Any]) -> dict[str, Any]:
    aid = w["arxiv_id"]
    impact = EXTRA["impact_pct"].get(aid)
    authors = list(w["authors"])
    cats = w.get("arxiv_categories") or ["cs.DC"]
    paper: dict[str, Any] = {
        "arxiv_id": aid,
        "title": w["title"],
        "authors": authors[:SHOWN_AUTHORS],
        "year": int(w["date"][:4]),
        "published_date": w["date"],
        "categories": cats,
        "primary_category": cats[0],
        "citation_count": max(w.get("citations", {}).values(), default=0),
        "rank_score": round(impact / 100 if impact is not None else 0.2 + 0.6 * _unit(aid), 3),
        "impact_pct": impact,
        "llm_novelty_score": round(0.35 + 0.35 * _unit("novelty:" + aid), 2),
        "has_code": False,
        "github_url": None,
        "venue_name": None if w.get("venue", "arXiv") == "arXiv" else w["venue"],
    }
    if len(authors) > SHOWN_AUTHORS:  # the list is cut short; the count says so
        paper["n_authors"] = len(authors)
    if aid in EXTRA["institution_tags"]:
        paper["institution_tags"] = EXTRA["institution_tags"][aid]
    return paper


def _summary(key: str, r: dict[str, Any]) -> dict[str, Any]:
    sf = EXTRA["researchers"][key]
    return {
        "id": sf["scholar_feed_id"],
        "name": r["name"],
        "h_index": sf["h_index"],
        "total_papers": sf["paper_count"],
        "primary_field": sf["primary_field"],
        "research_topics": sf["research_topics"],
        "author_rank_score": sf["rank_score"],
        "semantic_scholar_id": str(r["s2_author_id"]),
        "years_active": sf["years_active"],
    }


def _profile(upstream: Any, key: str, r: dict[str, Any]) -> dict[str, Any]:
    sf = EXTRA["researchers"][key]
    works = [w for w in upstream.works if key in w["watched"] and w.get("arxiv_id")]
    papers = sorted((_paper(w) for w in works), key=lambda p: (-p["rank_score"], p["arxiv_id"]))
    return {
        **_summary(key, r),
        "total_citations": sf["citations"],
        "rank": sf["rank"],
        "avg_novelty": sf["novelty"],
        "ai_score": sf["ai_score"],
        "top_papers": papers[:TOP_PAPERS],
    }


def _namesake(name: str) -> list[dict[str, Any]]:
    n = EXTRA["namesakes"].get(name)
    if n is None:
        return []
    nulls = ("h_index", "total_papers", "primary_field", "author_rank_score", "years_active")
    return [{**n, **dict.fromkeys(nulls), "research_topics": [], "semantic_scholar_id": None}]


def handle(upstream: Any, request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix("/api/v1")
    q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    if path == "/public/authors/discover":
        name = q.get("q", "")
        hits = _namesake(name) + [
            _summary(key, r)
            for key, r in upstream.researchers.items()
            if r["name"].casefold() == name.casefold()
        ]
        hits = hits[: int(q.get("limit", 20))]
        return _json({"query": name, "search_type": "name", "total": len(hits), "authors": hits})
    m = re.fullmatch(r"/public/authors/(\d+)", path)
    if m:
        for key, r in upstream.researchers.items():
            if EXTRA["researchers"][key]["scholar_feed_id"] == int(m.group(1)):
                return _json(_profile(upstream, key, r))
        return _json({"detail": "Author not found"}, 404)
    return _json({"detail": "Not Found"}, 404)

"""Fake huggingface.co Papers API for the demo: daily-papers listings, paper search, one paper.

Renders the demo facts (`facts.json` works by arXiv id, plus `hf_papers.json`: which papers are on
Hugging Face, their daily-list dates and signals) in the API's current JSON shape: list items wrap
the paper (`{paper: {...}, publishedAt, title, numComments, submittedBy, ...}`), a single paper
is the bare paper object, errors are `{"error": ...}` with a 4xx status.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

Facts = dict[str, Any]
_FILE = Path(__file__).with_suffix(".json")
SUMMARY = "Placeholder abstract written for the scholarflow demo recording."
AI_SUMMARY = "Placeholder AI summary written for the scholarflow demo recording."


@cache
def _extra() -> Facts:
    data: Facts = json.loads(_FILE.read_text(encoding="utf-8"))
    return data


def _oid(text: str) -> str:
    """A 24-hex id like the Hub's object ids, stable per text."""
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def _user(name: str, fullname: str) -> dict[str, Any]:
    return {
        "_id": _oid("user:" + name),
        "avatarUrl": f"/avatars/{_oid('avatar:' + name)}.svg",
        "isPro": False,
        "fullname": fullname,
        "user": name,
        "type": "user",
        "name": name,
    }


def _org(org: dict[str, str] | None) -> dict[str, Any] | None:
    if not org:
        return None
    return {
        "_id": _oid("org:" + org["name"]),
        "name": org["name"],
        "fullname": org["fullname"],
        "avatar": f"https://cdn-avatars.huggingface.co/v1/production/uploads/{_oid(org['name'])}.png",
    }


def _papers(up: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(facts work, Hugging Face entry) for every paper the fake Hub knows."""
    by_id = {w["arxiv_id"]: w for w in up.works if w.get("arxiv_id")}
    extra = _extra()
    return [(by_id[e["arxiv_id"]], e) for e in [*extra["daily"], *extra["indexed"]]]


def _paper(work: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    aid = work["arxiv_id"]
    submitter = _extra()["submitter"]
    paper: dict[str, Any] = {
        "id": aid,
        "authors": [
            {"_id": _oid(f"{aid}:{name}"), "name": name, "hidden": False}
            for name in work["authors"]
        ],
        "publishedAt": f"{work['date']}T00:00:00.000Z",
    }
    if entry.get("submitted_on"):
        paper["submittedOnDailyAt"] = f"{entry['submitted_on']}T00:00:00.000Z"
    paper["title"] = work["title"]
    if entry.get("submitted_on"):
        paper["submittedOnDailyBy"] = _user(submitter["name"], submitter["fullname"])
    paper.update(
        summary=SUMMARY,
        upvotes=entry["upvotes"],
        discussionId=_oid("discussion:" + aid),
        ai_summary=AI_SUMMARY,
        ai_keywords=list(entry.get("ai_keywords", [])),
        ai_summary_model="Qwen/Qwen2.5-Coder-32B-Instruct",
    )
    if entry.get("organization"):
        paper["organization"] = _org(entry["organization"])
    if entry.get("github_repo"):
        paper.update(
            githubRepo=entry["github_repo"],
            githubRepoAddedBy="user",
            githubStars=entry["github_stars"],
        )
    return paper


def _item(work: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A listing/search item: the paper wrapped with its item-level signals."""
    announced = date.fromisoformat(work["date"]) - timedelta(days=1)
    item: dict[str, Any] = {
        "paper": _paper(work, entry),
        "publishedAt": f"{announced.isoformat()}T20:00:00.000Z",
        "title": work["title"],
        "summary": SUMMARY,
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{work['arxiv_id']}.png",
        "numComments": entry["num_comments"],
    }
    if entry.get("submitted_on"):
        submitter = _extra()["submitter"]
        item["submittedBy"] = {
            **_user(submitter["name"], submitter["fullname"]),
            "followerCount": 9000,
            "isHf": True,
        }
    if entry.get("organization"):
        item["organization"] = _org(entry["organization"])
    item["isAuthorParticipating"] = False
    return item


def _in_period(day: str | None, q: dict[str, str]) -> bool:
    if not day:
        return False
    if "date" in q:
        return day == q["date"]
    if "week" in q:
        year, week, _ = date.fromisoformat(day).isocalendar()
        return f"{year}-W{week:02d}" == q["week"]
    if "month" in q:
        return day[:7] == q["month"]
    return False


def _matches(keyword: str, work: dict[str, Any], entry: dict[str, Any]) -> bool:
    """A stand-in for the Hub's semantic search: a content word of the query in the title, or
    the query among the paper's AI keywords."""
    words = [w for w in keyword.lower().split() if len(w) > 3]
    title = work["title"].lower()
    keywords = {k.lower() for k in entry.get("ai_keywords", [])}
    return keyword.lower() in keywords or any(w in title for w in words)


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )


def handle(up: Any, request: httpx.Request) -> httpx.Response:
    q = {k: v[0] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}
    path = request.url.path
    papers = _papers(up)
    if path == "/api/daily_papers":
        hits = [(w, e) for w, e in papers if _in_period(e.get("submitted_on"), q)]
        hits.sort(key=lambda we: (-we[1]["upvotes"], we[0]["arxiv_id"]))
        limit, page = int(q.get("limit", 50)), int(q.get("p", 0))
        return _json([_item(w, e) for w, e in hits[page * limit : (page + 1) * limit]])
    if path == "/api/papers/search":
        keyword = q.get("q", "")
        hits = [(w, e) for w, e in papers if _matches(keyword, w, e)]
        hits.sort(key=lambda we: (-we[1]["upvotes"], we[0]["arxiv_id"]))
        return _json([_item(w, e) for w, e in hits[: int(q.get("limit", 50))]])
    if path.startswith("/api/papers/"):
        aid = path.removeprefix("/api/papers/")
        for w, e in papers:
            if w["arxiv_id"] == aid:
                return _json(_paper(w, e))
        return _json({"error": "Paper not found"}, 404)
    return _json({"error": "Sorry, we can't find the page you are looking for."}, 404)

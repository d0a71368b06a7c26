"""Fake api.crossref.org for the demo: `/works/{doi}` and `/works?query.author=…|filter=orcid:…`.

Renders the demo facts that have a Crossref DOI (`facts.json` works with `doi`, plus
`crossref.json`: publishers by DOI prefix, container titles and partial publication dates by
venue) in the REST API's JSON: `{status, message-type, message-version, message}` envelopes,
work lists with `next-cursor` deep paging and `select`, the plain-text 404 "Resource not found."
for DOIs Crossref does not know (arXiv's DataCite DOIs among them), and the rate-limit headers.
`query.author` is matched like Crossref does it: any name token, ranked by how many match.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx

Facts = dict[str, Any]
_FILE = Path(__file__).with_suffix(".json")
HEADERS = {
    "content-type": "application/json",
    "x-rate-limit-limit": "50",
    "x-rate-limit-interval": "1s",
}
DEPOSITED = "2026-11-02T10:21:07Z"
ABSTRACT = "<jats:p>Placeholder abstract written for the scholarflow demo recording.</jats:p>"


@cache
def _extra() -> Facts:
    data: Facts = json.loads(_FILE.read_text(encoding="utf-8"))
    return data


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^\w]+", text.casefold()) if t}


def _date(parts: list[int]) -> dict[str, Any]:
    return {"date-parts": [parts]}


def work(up: Any, w: dict[str, Any]) -> dict[str, Any]:
    """A facts work as Crossref's work message."""
    extra = _extra()
    venue = extra["venues"][w["venue"]]
    doi: str = w["doi"]
    prefix = doi.split("/", 1)[0]
    authors = []
    for i, name in enumerate(w["authors"]):
        *given, family = name.split()
        authors.append(
            {
                "given": " ".join(given),
                "family": family,
                "sequence": "first" if i == 0 else "additional",
                "affiliation": [],
            }
        )
    cites = w["citations"].get("openalex", w["citations"].get("semantic_scholar", 0))
    message: dict[str, Any] = {
        "indexed": {"date-parts": [[2026, 11, 19]], "date-time": "2026-11-19T08:12:44Z"},
        "reference-count": 40 + len(w["title"]) % 30,
        "publisher": extra["publishers"][prefix],
        "content-domain": {
            "domain": ["dl.acm.org"] if prefix == "10.1145" else [],
            "crossmark-restriction": False,
        },
        "short-container-title": [],
        "abstract": ABSTRACT,
        "DOI": doi,
        "type": venue["type"],
        "created": {"date-parts": [venue["issued"][:2]], "date-time": DEPOSITED},
        "source": "Crossref",
        "is-referenced-by-count": cites - cites // 10,  # Crossref counts fewer citing works
        "title": [w["title"]],
        "prefix": prefix,
        "author": authors,
        "member": "320" if prefix == "10.1145" else "263",
        "container-title": [venue["container_title"]],
        "original-title": [],
        "deposited": {"date-parts": [[2026, 11, 2]], "date-time": DEPOSITED},
        "score": 1,
        "resource": {"primary": {"URL": f"https://doi.org/{doi}"}},
        "subtitle": [],
        "short-title": [],
        "issued": _date(venue["issued"]),
        "references-count": 40 + len(w["title"]) % 30,
        "URL": f"https://doi.org/{doi}",
        "relation": {
            "has-preprint": [
                {
                    "id-type": "doi",
                    "id": f"10.48550/arxiv.{w['arxiv_id']}",
                    "asserted-by": "subject",
                }
            ]
        }
        if w.get("arxiv_id")
        else {},
        "published": _date(venue["issued"]),
    }
    if venue.get("event"):
        message["event"] = {"name": venue["event"]}
    return message


def _envelope(kind: str, message: Any) -> httpx.Response:
    body = {"status": "ok", "message-type": kind, "message-version": "1.0.0", "message": message}
    return httpx.Response(
        200, content=json.dumps(body, ensure_ascii=False).encode(), headers=HEADERS
    )


def _cursor(offset: int) -> str:
    return base64.b64encode(f"DnF1ZXJ5VGhlbkZldGNo;{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    return 0 if cursor == "*" else int(base64.b64decode(cursor).decode().rsplit(";", 1)[1])


def _listing(up: Any, q: dict[str, str]) -> httpx.Response:
    pool = [w for w in up.works if w.get("doi")]
    filters = dict(f.split(":", 1) for f in q.get("filter", "").split(",") if f)
    if "orcid" in filters:
        orcid = filters["orcid"].removeprefix("https://orcid.org/")
        names = {r["name"] for r in up.researchers.values() if r.get("orcid") == orcid}
        hits = [(1, w) for w in pool if names & set(w["authors"])]
    else:
        wanted = _tokens(q.get("query.author", ""))
        scored = [(max(len(wanted & _tokens(n)) for n in w["authors"]), w) for w in pool]
        hits = [(s, w) for s, w in scored if s > 0]
    hits.sort(key=lambda sw: (-sw[0], sw[1]["doi"]))
    rows, start = int(q.get("rows", 20)), _offset(q.get("cursor", "*"))
    fields = q["select"].split(",") if q.get("select") else None
    items = []
    for _, w in hits[start : start + rows]:
        item = work(up, w)
        items.append({k: v for k, v in item.items() if fields is None or k in fields})
    return _envelope(
        "work-list",
        {
            "facets": {},
            "next-cursor": _cursor(start + rows),
            "total-results": len(hits),
            "items": items,
            "items-per-page": rows,
            "query": {"start-index": 0, "search-terms": q.get("query.author")},
        },
    )


def handle(up: Any, request: httpx.Request) -> httpx.Response:
    q = dict(request.url.params)
    path = request.url.path
    if path == "/works":
        return _listing(up, q)
    if path.startswith("/works/"):
        doi = path.removeprefix("/works/").lower()
        for w in up.works:
            if (w.get("doi") or "").lower() == doi:
                return _envelope("work", work(up, w))
    return httpx.Response(404, text="Resource not found.", headers={"content-type": "text/plain"})

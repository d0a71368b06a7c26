"""Fake api.nsf.gov: the NSF Awards API's awards.json (search by `pdPIName` or `id`, `offset`
1-based, `rpp` at most 25, only the requested `printFields`), from `nsf_awards.json`. The
awards of a watched researcher list the researcher's published demo works as publications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

FACTS: dict[str, Any] = json.loads(Path(__file__).with_suffix(".json").read_text(encoding="utf-8"))
PLACEHOLDER = "Placeholder award abstract written for the scholarflow demo recording."


def _citation(w: dict[str, Any]) -> str:
    """The API's current layout: venue~year~authors~doi~title~deposit timestamp (empty parts
    are left out)."""
    authors = " and ".join(
        f"{n.split()[-1]}, {' '.join(n.split()[:-1])}" if " " in n else n for n in w["authors"]
    )
    parts = [w["venue"], w["date"][:4], authors, w.get("doi") or "", w["title"]]
    return "~".join(p for p in parts if p) + f"~{w['date']} 09:00:00.0"


def _award(up: Any, a: dict[str, Any]) -> dict[str, Any]:
    r = up.researchers.get(a.get("researcher") or "")
    pi = r["name"] if r else a["pdPIName"]
    first, last = pi.rsplit(" ", 1)
    record = {k: v for k, v in a.items() if k not in ("researcher", "pdPIName")}
    research: list[str] = []
    conference: list[str] = []
    if r:
        own = [a2["id"] for a2 in FACTS["awards"] if a2.get("researcher") == r["key"]]
        works = [
            w for w in up.works if r["key"] in w["watched"] and w.get("venue", "arXiv") != "arXiv"
        ]
        for i, w in enumerate(works):
            if own[i % len(own)] == a["id"]:
                (research if w.get("doi") else conference).append(_citation(w))
    return {
        **record,
        "agency": "NSF",
        "pdPIName": pi,
        "piFirstName": first,
        "piLastName": last,
        "transType": "Standard Grant",
        "abstractText": PLACEHOLDER,
        "publicationResearch": research,
        "publicationConference": conference,
    }


def handle(up: Any, request: httpx.Request) -> httpx.Response:
    if request.url.path != "/services/v1/awards.json":
        return httpx.Response(404, text="Not Found", headers={"content-type": "text/plain"})
    q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    if "id" in q:
        hits = [a for a in FACTS["awards"] if a["id"] == q["id"]]
    elif "pdPIName" in q:
        words = {w.casefold() for w in q["pdPIName"].split()}
        hits = [
            a
            for a in FACTS["awards"]
            if words
            & {
                w.casefold()
                for w in (
                    up.researchers[a["researcher"]]["name"]
                    if a.get("researcher")
                    else a["pdPIName"]
                ).split()
            }
        ]
    else:
        error = {
            "response": {
                "serviceNotification": [
                    {
                        "notificationType": "ERROR",
                        "notificationCode": "1",
                        "notificationMessage": "Search criteria missing",
                    }
                ]
            }
        }
        return httpx.Response(400, json=error)
    offset, rpp = int(q.get("offset", "1")), min(int(q.get("rpp", "25")), 25)
    fields = q.get("printFields", "").split(",") if q.get("printFields") else None
    awards = []
    for a in hits[offset - 1 : offset - 1 + rpp]:
        full = _award(up, a)
        awards.append({k: v for k, v in full.items() if fields is None or k in fields})
    body: dict[str, Any] = {"response": {"metadata": {"totalCount": len(hits)}, "award": awards}}
    return httpx.Response(
        200,
        content=json.dumps(body, indent=1, ensure_ascii=False).encode(),
        headers={"content-type": "application/json;charset=UTF-8"},
    )

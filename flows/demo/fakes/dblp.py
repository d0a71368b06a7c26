"""Fake dblp.org for the demo: person XML (`/pid/<pid>.xml`), author and publication search API.

Renders the demo facts (`facts.json` works; `dblp.json`: DBLP streams and booktitles of the
venues, illustrative pids of the watched researchers) the way DBLP does: every work is a CoRR
record (`journals/corr/abs-YYMM-NNNNN`, volume `abs/YYMM.NNNNN`, arXiv DataCite DOI), venue papers
also a conference or journal record; titles end with a period; the person XML is US-ASCII with
character references; the JSON search API turns every one-element list (hits, authors, ee) into
a bare object; an unknown pid answers a 404 HTML page.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

Facts = dict[str, Any]
_FILE = Path(__file__).with_suffix(".json")
MDATE = "2026-11-12"


@cache
def _extra() -> Facts:
    data: Facts = json.loads(_FILE.read_text(encoding="utf-8"))
    return data


def _digits(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def pid(up: Any, name: str) -> str:
    """Watched researchers keep their pid from dblp.json; coauthors get an illustrative one."""
    for r in up.researchers.values():
        if r["name"] == name:
            return str(_extra()["pids"][r["key"]])
    n = _digits("dblp-pid:" + name)
    return f"{n % 400}/{n % 10000}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _key_name(w: dict[str, Any], year: str) -> str:
    """DBLP key suffix: first author's last name, the other authors' initials, the year."""
    last = [re.sub(r"[^A-Za-z]", "", _ascii(n.split()[-1])) for n in w["authors"]]
    return last[0] + "".join(x[:1] for x in last[1:]) + year[2:]


def records(up: Any, w: dict[str, Any]) -> list[dict[str, Any]]:
    """The DBLP records of one facts work: CoRR, plus the venue record of a published work."""
    aid = w["arxiv_id"]
    corr = {
        "key": f"journals/corr/abs-{aid.replace('.', '-')}",
        "tag": "article",
        "publtype": "informal",
        "type": "Informal and Other Publications",
        "venue": "CoRR",
        "journal": "CoRR",
        "volume": f"abs/{aid}",
        "year": "20" + aid[:2],
        "ee": [f"https://doi.org/10.48550/arXiv.{aid}"],
        "doi": f"10.48550/ARXIV.{aid}",
        "work": w,
    }
    out = [corr]
    venue = _extra()["venues"].get(w["venue"])
    if venue:
        year = w["venue"].rsplit(" ", 1)[-1]
        rec = {
            "key": f"{venue['stream']}/{_key_name(w, year)}",
            "year": year,
            "ee": [f"https://doi.org/{w['doi']}"] if w.get("doi") else [],
            "doi": w.get("doi"),
            "work": w,
        }
        if "journal" in venue:
            rec |= {
                "tag": "article",
                "type": "Journal Articles",
                "venue": venue["journal"],
                "journal": venue["journal"],
                "volume": venue["volume"],
            }
        else:
            rec |= {
                "tag": "inproceedings",
                "type": "Conference and Workshop Papers",
                "venue": venue["booktitle"],
                "booktitle": venue["booktitle"],
            }
        out.insert(0, rec)
    return out


def _all_records(up: Any) -> list[dict[str, Any]]:
    return [rec for w in up.works for rec in records(up, w)]


def _x(text: str) -> str:
    """XML text in US-ASCII: non-ASCII characters as character references."""
    return escape(text).encode("ascii", "xmlcharrefreplace").decode()


def _ascii_attr(text: str) -> str:
    return quoteattr(text).encode("ascii", "xmlcharrefreplace").decode()


def _xml_record(up: Any, rec: dict[str, Any]) -> str:
    w = rec["work"]
    attrs = f'key="{rec["key"]}" mdate="{MDATE}"'
    if rec.get("publtype"):
        attrs += f' publtype="{rec["publtype"]}"'
    lines = [f"<r><{rec['tag']} {attrs}>"]
    lines += [f'<author pid="{pid(up, n)}">{_x(n)}</author>' for n in w["authors"]]
    lines.append(f"<title>{_x(w['title'])}.</title>")
    lines.append(f"<year>{rec['year']}</year>")
    if rec["tag"] == "article":
        lines.append(f"<volume>{rec['volume']}</volume>")
        lines.append(f"<journal>{_x(rec['journal'])}</journal>")
    else:
        lines.append(f"<booktitle>{_x(rec['booktitle'])}</booktitle>")
    lines += [f'<ee type="oa">{_x(e)}</ee>' for e in rec["ee"]]
    stream = rec["key"].rsplit("/", 1)[0]
    lines.append(
        f"<url>db/{stream}/{stream.split('/')[-1]}{rec['year']}.html#{rec['key'].rsplit('/', 1)[-1]}</url>"
    )
    lines.append(f"</{rec['tag']}></r>")
    return "\n".join(lines)


def person_xml(up: Any, r: dict[str, Any]) -> bytes:
    recs = [rec for rec in _all_records(up) if r["name"] in rec["work"]["authors"]]
    recs.sort(key=lambda rec: (rec["year"], rec["key"]), reverse=True)
    p = pid(up, r["name"])
    coauthors = sorted({n for rec in recs for n in rec["work"]["authors"] if n != r["name"]})
    parts = [
        '<?xml version="1.0" encoding="US-ASCII"?>',
        f'<dblpperson name={_ascii_attr(r["name"])} pid="{p}" n="{len(recs)}">',
        f'<person key="homepages/{p}" mdate="{MDATE}">',
        f'<author pid="{p}">{_x(r["name"])}</author>',
    ]
    if r.get("affiliation"):
        parts.append(f'<note type="affiliation">{_x(r["affiliation"])}</note>')
    parts.append("</person>")
    parts += [_xml_record(up, rec) for rec in recs]
    parts.append(f'<coauthors n="{len(coauthors)}" nc="1">')
    parts += [f'<co c="0"><na pid="{pid(up, n)}">{_x(n)}</na></co>' for n in coauthors]
    parts.append("</coauthors>\n</dblpperson>\n")
    return "\n".join(parts).encode("ascii")


def _one_or_many(items: list[Any]) -> Any:
    """DBLP's JSON quirk: a one-element list is sent as the element itself."""
    return items[0] if len(items) == 1 else items


def _hit(up: Any, rec: dict[str, Any]) -> dict[str, Any]:
    w = rec["work"]
    hid = str(_digits("dblp-hit:" + rec["key"]) % 10_000_000)
    info: dict[str, Any] = {
        "authors": {
            "author": _one_or_many([{"@pid": pid(up, n), "text": n} for n in w["authors"]])
        },
        "title": w["title"] + ".",
        "venue": rec["venue"],
    }
    if rec["tag"] == "article":
        info["volume"] = rec["volume"]
    info |= {"year": rec["year"], "type": rec["type"], "access": "open", "key": rec["key"]}
    if rec.get("doi"):
        info["doi"] = rec["doi"]
    if rec["ee"]:
        info["ee"] = _one_or_many(rec["ee"])
    info["url"] = f"https://dblp.org/rec/{rec['key']}"
    return {"@score": "3", "@id": hid, "info": info, "url": f"URL#{hid}"}


def _result(query: str, hits: list[dict[str, Any]], total: int, first: int) -> httpx.Response:
    shown = " ".join(f"{t}*" for t in query.split())
    hits_obj: dict[str, Any] = {
        "@total": str(total),
        "@computed": str(min(total, 100 if first < 100 else total)),
        "@sent": str(len(hits)),
        "@first": str(first),
    }
    if hits:
        hits_obj["hit"] = hits  # a list even of one, as recorded from the live API
    body = {
        "result": {
            "query": shown,
            "status": {"@code": "200", "text": "OK"},
            "time": {"@unit": "msecs", "text": "4.12"},
            "completions": {"@total": "0", "@computed": "0", "@sent": "0"},
            "hits": hits_obj,
        }
    }
    return httpx.Response(
        200,
        content=json.dumps(body, ensure_ascii=False).encode(),
        headers={"content-type": "application/json"},
    )


def _prefix_match(query: str, text: str) -> bool:
    words = re.findall(r"\w+", text.casefold())
    return all(any(w.startswith(t) for w in words) for t in re.findall(r"\w+", query.casefold()))


def handle(up: Any, request: httpx.Request) -> httpx.Response:
    q = dict(request.url.params)
    path = request.url.path
    if path.startswith("/pid/") and path.endswith(".xml"):
        wanted = path.removeprefix("/pid/").removesuffix(".xml")
        for r in up.researchers.values():
            if pid(up, r["name"]) == wanted:
                return httpx.Response(
                    200, content=person_xml(up, r), headers={"content-type": "application/xml"}
                )
    elif path == "/search/author/api":
        persons = [
            {
                "@score": "2",
                "@id": str(_digits("dblp-person:" + r["name"]) % 10_000_000),
                "info": {"author": r["name"], "url": f"https://dblp.org/pid/{pid(up, r['name'])}"},
                "url": "URL#" + str(_digits("dblp-person:" + r["name"]) % 10_000_000),
            }
            for r in up.researchers.values()
            if _prefix_match(q.get("q", ""), r["name"])
        ]
        return _result(q.get("q", ""), persons, len(persons), 0)
    elif path == "/search/publ/api":
        query = q.get("q", "")
        recs = [rec for rec in _all_records(up) if _prefix_match(query, rec["work"]["title"])]
        recs.sort(key=lambda rec: (-int(rec["year"]), rec["key"]))
        first, size = int(q.get("f", 0)), int(q.get("h", 30))
        hits = [_hit(up, rec) for rec in recs[first : first + size]]
        return _result(query, hits, len(recs), first)
    return httpx.Response(
        404,
        text="<!DOCTYPE html>\n<html><head><title>dblp: Error 404</title></head><body></body></html>\n",
        headers={"content-type": "text/html"},
    )

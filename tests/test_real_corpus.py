"""Real-data conformance corpus (tests/fixtures/real): every recorded payload goes through the
project's parser and every record it yields is compared, field by field, with an independent
reading of the raw bytes (plain json / xml.etree here, never the parser under test).

A payload is either refused as a whole (an error answer or another shape: SourceError), or each of
its items becomes a record or a quarantined row: none may vanish. The files and their recorded
requests are described in tests/fixtures/real/<slug>/SOURCES.md; only project files are read.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.sources import arxiv, crossref, dblp, openalex, semantic_scholar
from flows.sources.base import Page, SourceError

REAL = Path(__file__).parent / "fixtures" / "real"
SLUGS = ("arxiv", "crossref", "dblp", "openalex", "semantic_scholar")
# arxiv_listing, hf_papers, nsf_awards, nsf_par and scholar_feed have no folder: no public capture
# was found beyond ../shared/source-fixtures (tests/fixtures/real/SOURCES.md says where we looked).

# Files whose expected outcome is a known defect: strict, so a fix turns the test red and the
# marker must go. (None left: untitled works with a DOI or arXiv id are kept, untitled S2
# records with neither are quarantined, and the empty S2 search answer is an empty page.)
KNOWN: dict[str, str] = {}


@dataclass
class Expected:
    """What an independent reading of a payload says the parser must produce."""

    refused: bool = False
    total: int | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # item keys the parser must quarantine (present in the payload, not usable as a record)
    quarantined: list[str] = field(default_factory=list)


def documented(slug: str) -> dict[str, int]:
    """File name -> recorded HTTP status, from the folder's SOURCES.md (200 when none named)."""
    status: dict[str, int] = {}
    name = None
    for line in (REAL / slug / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"## `([^`]+)`", line):
            name = m.group(1)
            status[name] = 200
        elif name and line.startswith("- request:") and (m := re.search(r"-> HTTP (\d{3})", line)):
            status[name] = int(m.group(1))
    return status


def files(slug: str) -> list[Path]:
    return sorted(p for p in (REAL / slug).iterdir() if p.name != "SOURCES.md")


def squash(text: str | None) -> str | None:
    """Whitespace runs collapsed: the form a title is stored and matched in."""
    if text is None:
        return None
    out = " ".join(text.split())
    return out or None


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ---------------------------------------------------------------- independent readers

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def read_arxiv(body: bytes, status: int) -> Expected:
    root = ET.fromstring(body)
    entries = root.findall(f"{ATOM}entry")
    if status != 200:
        return Expected(refused=True)
    out = Expected(total=int(root.findtext(f"{OPENSEARCH}totalResults") or "0"))
    rows = out.records.setdefault("entries", [])
    for e in entries:
        abs_id = (e.findtext(f"{ATOM}id") or "").rsplit("/abs/", 1)[1]
        m = re.fullmatch(r"(.+?)v(\d+)", abs_id)
        rows.append(
            {
                "arxiv_id": m.group(1) if m else abs_id,
                "version": int(m.group(2)) if m else None,
                "title": squash(e.findtext(f"{ATOM}title")),
                "authors": [a.findtext(f"{ATOM}name") for a in e.findall(f"{ATOM}author")],
                "doi": e.findtext(f"{ARXIV}doi"),
                "journal_ref": e.findtext(f"{ARXIV}journal_ref"),
                "primary_category": e.find(f"{ARXIV}primary_category").get("term"),  # type: ignore[union-attr]
                "categories": [c.get("term") for c in e.findall(f"{ATOM}category")],
                "published_at": utc(e.findtext(f"{ATOM}published") or ""),
                "updated_at": utc(e.findtext(f"{ATOM}updated") or ""),
            }
        )
    return out


def parsed_arxiv(page: Page) -> dict[str, list[dict[str, Any]]]:
    return {
        "entries": [
            {
                "arxiv_id": r["arxiv_id"],
                "version": r["version"],
                "title": r["title"],
                "authors": [a["name"] for a in r["authors"]],
                "doi": r["doi"],
                "journal_ref": r["journal_ref"],
                "primary_category": r["primary_category"],
                "categories": r["categories"],
                "published_at": r["published_at"],
                "updated_at": r["updated_at"],
            }
            for r in page.records.get("entries", [])
        ]
    }


def read_crossref(body: bytes, status: int) -> Expected:
    if status != 200:
        return Expected(refused=True)
    data = json.loads(body)
    kind = data.get("message-type")
    if data.get("status") != "ok" or kind not in ("work", "work-list"):
        return Expected(refused=True)
    message = data["message"]
    items = message["items"] if kind == "work-list" else [message]
    out = Expected(total=message.get("total-results") if kind == "work-list" else None)
    rows = out.records.setdefault("works", [])
    for w in items:
        titles = [squash(t) for t in w.get("title") or [] if squash(t)]
        dates = [w[k]["date-parts"][0] for k in ("issued", "published") if k in w]
        containers = [squash(c) for c in w.get("container-title") or [] if squash(c)]
        rows.append(
            {
                "doi": w["DOI"].lower(),
                "title": html.unescape(titles[0]) if titles else None,
                "type": w.get("type"),
                "year": dates[0][0] if dates else None,
                "container_title": containers[0] if containers else None,
                "authors": [
                    (a.get("given"), a.get("family"), a.get("name")) for a in w.get("author") or []
                ],
                "orcids": [
                    a["ORCID"].rsplit("/", 1)[1] if "ORCID" in a else None
                    for a in w.get("author") or []
                ],
                "is_referenced_by_count": w.get("is-referenced-by-count"),
                "subtitle": squash((w.get("subtitle") or [None])[0]),
                "event_name": squash((w.get("event") or {}).get("name")),
            }
        )
    return out


def parsed_crossref(page: Page) -> dict[str, list[dict[str, Any]]]:
    return {
        "works": [
            {
                "doi": r["doi"],
                "title": r["title"],
                "type": r["type"],
                "year": r["year"],
                "container_title": r["container_title"],
                "authors": [(a["given"], a["family"], a["name"]) for a in r["authors"]],
                "orcids": [a["orcid"] for a in r["authors"]],
                "is_referenced_by_count": r["is_referenced_by_count"],
                "subtitle": r["subtitle"],
                "event_name": r["event_name"],
            }
            for r in page.records.get("works", [])
        ]
    }


def read_semantic_scholar(body: bytes, status: int) -> Expected:
    data = json.loads(body)
    if status != 200 or "error" in data:
        return Expected(refused=True)
    if "data" in data:
        items, total = data["data"], data.get("total")
    elif "paperId" in data:
        items, total = [data], None
    else:  # a search that found nothing: {"total": 0, "offset": 0}, no "data" at all
        items, total = [], data.get("total")
    out = Expected(total=total)
    rows = out.records.setdefault("papers", [])
    for p in items:
        ext = p.get("externalIds") or {}
        if not p.get("title") and not (ext.get("DOI") or ext.get("ArXiv")):
            # nothing to show and nothing to join it by: quarantined with the reason
            out.quarantined.append(p["paperId"])
            continue
        rows.append(
            {
                "paper_id": p["paperId"],
                "title": p.get("title") or None,
                "year": p.get("year"),
                "doi": ext.get("DOI"),
                "arxiv_id": ext.get("ArXiv"),
                "venue": p.get("venue") or (p.get("journal") or {}).get("name"),
                "citation_count": p.get("citationCount"),
                "authors": [(a["authorId"], a["name"]) for a in p.get("authors") or []],
            }
        )
    return out


def parsed_semantic_scholar(page: Page) -> dict[str, list[dict[str, Any]]]:
    return {
        "papers": [
            {
                "paper_id": r["paper_id"],
                "title": r["title"],
                "year": r["year"],
                "doi": r["doi"],
                "arxiv_id": r["arxiv_id"],
                "venue": r["venue"],
                "citation_count": r["citation_count"],
                "authors": [(a["author_id"], a["name"]) for a in r["authors"]],
            }
            for r in page.records.get("papers", [])
        ]
    }


def short(url: str | None) -> str | None:
    return url.rsplit("/", 1)[1] if url else None


def read_openalex(body: bytes, status: int) -> Expected:
    data = json.loads(body)
    if status != 200 or not isinstance(data.get("id"), str):
        return Expected(refused=True)  # select= without id, error objects: not an entity
    out = Expected()
    m = re.match(r"https://openalex\.org/([WA])\d+$", data["id"])
    if m is None:  # keywords, concepts, ...: an entity, but not one the warehouse keeps
        out.quarantined.append(data["id"].rsplit("/", 1)[1])
        return out
    if m.group(1) == "A":
        out.records["authors"] = [
            {
                "author_id": short(data["id"]),
                "display_name": data["display_name"],
                "orcid": short(data.get("orcid")),
                "works_count": data["works_count"],
                "cited_by_count": data["cited_by_count"],
                "h_index": data["summary_stats"]["h_index"],
                "counts_by_year": len(data["counts_by_year"]),
            }
        ]
        return out
    source = (data.get("primary_location") or {}).get("source") or {}
    out.records["works"] = [
        {
            "work_id": short(data["id"]),
            "doi": data["doi"],
            "title": data["display_name"],
            "publication_year": data["publication_year"],
            "cited_by_count": data["cited_by_count"],
            "venue": source.get("display_name"),
            "authors": [
                (short(a["author"]["id"]), a["author"]["display_name"], a["raw_author_name"])
                for a in data["authorships"]
            ],
            "orcids": [short(a["author"]["orcid"]) for a in data["authorships"]],
            "counts_by_year": {c["year"]: c["cited_by_count"] for c in data["counts_by_year"]},
        }
    ]
    return out


def parsed_openalex(page: Page) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in page.records.get("works", []):
        out.setdefault("works", []).append(
            {
                "work_id": r["work_id"],
                "doi": r["doi"],
                "title": r["title"],
                "publication_year": r["publication_year"],
                "cited_by_count": r["cited_by_count"],
                "venue": r["venue"],
                "authors": [
                    (a["author_id"], a["display_name"], a["raw_author_name"])
                    for a in r["authorships"]
                ],
                "orcids": [a["orcid"] for a in r["authorships"]],
                "counts_by_year": {c["year"]: c["cited_by_count"] for c in r["counts_by_year"]},
            }
        )
    for r in page.records.get("authors", []):
        out.setdefault("authors", []).append(
            {
                "author_id": r["author_id"],
                "display_name": r["display_name"],
                "orcid": r["orcid"],
                "works_count": r["works_count"],
                "cited_by_count": r["cited_by_count"],
                "h_index": r["h_index"],
                "counts_by_year": len(r["counts_by_year"]),
            }
        )
    return out


def read_dblp(body: bytes, status: int) -> Expected:
    if status != 200:
        return Expected(refused=True)
    hits = json.loads(body)["result"]["hits"]
    out = Expected(total=int(hits["@total"]))
    rows = out.records.setdefault("publications", [])
    for hit in hits.get("hit", []):
        info = hit["info"]
        authors = info["authors"]["author"]
        authors = authors if isinstance(authors, list) else [authors]
        title = html.unescape(info["title"])
        rows.append(
            {
                "key": info["key"],
                "title": title[:-1] if title.endswith(".") else title,
                "authors": [a["text"] if isinstance(a, dict) else a for a in authors],
                "year": int(info["year"]),
                "venue": info.get("venue"),
                "type": info["type"],
                "doi": info.get("doi"),
            }
        )
    return out


def parsed_dblp(page: Page) -> dict[str, list[dict[str, Any]]]:
    return {
        "publications": [
            {
                "key": r["key"],
                "title": r["title"],
                "authors": [a["name"] for a in r["authors"]],
                "year": r["year"],
                "venue": r["venue"],
                "type": r["type"],
                "doi": r["doi"],
            }
            for r in page.records.get("publications", [])
        ]
    }


Reader = Callable[[bytes, int], Expected]
Parsed = Callable[[Page], dict[str, list[dict[str, Any]]]]
SOURCES: dict[str, tuple[Callable[[bytes, str, int], Page], Reader, Parsed]] = {
    "arxiv": (arxiv.parse_feed, read_arxiv, parsed_arxiv),
    "crossref": (crossref.parse_response, read_crossref, parsed_crossref),
    "dblp": (dblp.parse_response, read_dblp, parsed_dblp),
    "openalex": (openalex.parse_response, read_openalex, parsed_openalex),
    "semantic_scholar": (
        semantic_scholar.parse_response,
        read_semantic_scholar,
        parsed_semantic_scholar,
    ),
}


def cases() -> list[Any]:
    out = []
    for slug in SLUGS:
        status = documented(slug)
        for path in files(slug):
            marks = (
                [pytest.mark.xfail(strict=True, reason=KNOWN[path.name])]
                if path.name in KNOWN
                else []
            )
            out.append(
                pytest.param(
                    slug, path, status.get(path.name), id=f"{slug}/{path.name}", marks=marks
                )
            )
    return out


# ---------------------------------------------------------------- the corpus itself


def test_corpus_size_and_documentation() -> None:
    """At least 40 payloads, every file described in its SOURCES.md and vice versa."""
    total = 0
    for slug in SLUGS:
        names = {p.name for p in files(slug)}
        assert names == set(documented(slug)), slug
        total += len(names)
    assert total >= 40
    # a folder without a reader here would go unchecked
    # (profiles/ holds Google Scholar pages, read by tests/test_profiles_real.py)
    assert {p.name for p in REAL.iterdir() if p.is_dir()} == {*SLUGS, "profiles"}


def test_prose_is_replaced_by_placeholders() -> None:
    """Abstracts and summaries are not carried over: only the placeholder remains."""
    for path in files("arxiv"):
        root = ET.fromstring(path.read_bytes())
        summaries = {e.findtext(f"{ATOM}summary") for e in root.findall(f"{ATOM}entry")}
        assert summaries <= {"[abstract removed]"}, path.name
    for slug in ("crossref", "openalex", "semantic_scholar"):
        for path in files(slug):
            text = path.read_text(encoding="utf-8")
            assert '"abstract":' not in text.replace('"abstract": null', ""), path.name
            if '"abstract_inverted_index"' in text:
                index = json.loads(text)["abstract_inverted_index"]
                assert index == {"[abstract": [0], "removed]": [1]}, path.name


@pytest.mark.parametrize(("slug", "path", "status"), cases())
def test_every_record_matches_an_independent_reading(slug: str, path: Path, status: int) -> None:
    parse, read, project = SOURCES[slug]
    body = path.read_bytes()
    where = f"{slug}/{path.name}"
    expected = read(body, status)
    if expected.refused:
        with pytest.raises(SourceError) as err:
            parse(body, where, status)
        assert where in str(err.value)  # the message names the payload
        return
    page = parse(body, where, status)
    assert project(page) == expected.records
    if expected.total is not None:
        assert page.total == expected.total
    got_quarantined = [q.record_key for q in page.quarantined]
    assert got_quarantined == expected.quarantined
    assert all(q.reason for q in page.quarantined)

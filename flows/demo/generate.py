"""Regenerate the bundled demo recording from `facts.json` (developer tool).

    python -m flows.demo.generate [--out DIR]

A small fake upstream renders the facts in each API's real response format (arXiv Atom 2026
dialect, OpenAlex entity/list JSON with cursors, Semantic Scholar Graph JSON with offset/token
paging) and the project's *real* fetchers run against it with a Recorder, so the recording holds
exactly the requests the pipeline makes for the example watchlist. Titles, names, years, venues and
categories are facts from public listing pages; ids and citation counts are illustrative; summaries
are placeholders written for the demo.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

import httpx

from flows import settings
from flows.demo import fakes
from flows.http import HttpClient
from flows.recording import Recorder
from flows.sources import SOURCES
from flows.watchlist import load_watchlist

UPDATED = "2026-11-20T06:00:00Z"
OPENALEX_UPDATED = "2026-11-19T08:12:44.512377"
Facts = dict[str, Any]
# Where the demo's OpenAlex topics sit in OpenAlex's subfield/field/domain tree.
TOPIC_HIERARCHY: dict[str, Any] = {
    "subfield": {
        "id": "https://openalex.org/subfields/1705",
        "display_name": "Computer Networks and Communications",
    },
    "field": {"id": "https://openalex.org/fields/17", "display_name": "Computer Science"},
    "domain": {"id": "https://openalex.org/domains/3", "display_name": "Physical Sciences"},
}


def _digits(text: str, n: int) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:n]


def _hex(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _illustrative_impact(cites: int, year: int) -> dict[str, Any]:
    """OpenAlex's field-normalised fields for a demo work (illustrative, not real): FWCI as the
    work's citations over 4 per year of age, and a percentile that grows with it."""
    if year >= 2026:  # OpenAlex does not rate works of the current year yet
        return {"fwci": None, "citation_normalized_percentile": None}
    fwci = round(cites / (4 * (2026 - year)), 3)
    value = round(1 - 1 / (1 + fwci), 6)
    return {
        "fwci": fwci,
        "citation_normalized_percentile": {
            "value": value,
            "is_in_top_1_percent": value >= 0.99,
            "is_in_top_10_percent": value >= 0.9,
        },
    }


class FakeUpstream:
    """Answers the requests scholarflow's fetchers make, from the facts file."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.works: list[dict[str, Any]] = facts["works"]
        for i, w in enumerate(self.works):
            w["_i"] = i
        self.researchers = {r["key"]: r for r in facts["researchers"]}
        self.topics = {t["key"]: t for t in facts["topics"]}

    # ---------- identities ----------
    def oa_author_id(self, name: str) -> str:
        for r in self.researchers.values():
            if name == r["name"]:
                return str(r["openalex_id"])
        return "A5" + _digits("oa-author:" + name, 9)

    def s2_author_id(self, name: str) -> str:
        for r in self.researchers.values():
            if name == r["name"]:
                return str(r["s2_author_id"])
        return _digits("s2-author:" + name, 9)

    @staticmethod
    def oa_work_id(work: dict[str, Any], suffix: str = "") -> str:
        return "W4" + _digits("oa-work:" + work["title"] + suffix, 9)

    @staticmethod
    def split_in_openalex(work: dict[str, Any]) -> bool:
        """OpenAlex keeps some preprints and their published versions as two works."""
        return bool(work.get("doi") and work.get("arxiv_id") and work["_i"] % 2 == 0)

    # ---------- routing ----------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        q = {k: v[0] for k, v in parse_qs(url.query.decode(), keep_blank_values=True).items()}
        host, path = url.host, url.path
        if path == "/robots.txt":
            return httpx.Response(
                200,
                text=fakes.ROBOTS.get(host, "User-agent: *\nAllow: /\n"),
                headers={"content-type": "text/plain"},
            )
        if host in fakes.HANDLERS:
            return fakes.HANDLERS[host](self, request)
        if host == "export.arxiv.org":
            return self.arxiv(q)
        if host == "api.openalex.org":
            return self.openalex(path, q)
        if host == "api.semanticscholar.org":
            return self.s2(path.removeprefix("/graph/v1"), q)
        return httpx.Response(404, text="unknown host")

    # ---------- arXiv ----------
    def _arxiv_match(self, query: str) -> list[dict[str, Any]]:
        pool = [w for w in self.works if "arxiv" in w["sources"]]
        m = re.fullmatch(r'au:"(.+)"', query)
        if m:
            name = m.group(1)
            hits = [w for w in pool if name in w["authors"]]
        else:
            words = set(re.findall(r'all:"([^"]+)"', query))
            topic = next(t for t in self.topics.values() if set(t["keywords"]) == words)
            hits = [w for w in pool if topic["key"] in w["topics"]]
        return sorted(hits, key=lambda w: (w["date"], w["arxiv_id"]), reverse=True)

    def arxiv(self, q: dict[str, str]) -> httpx.Response:
        hits = self._arxiv_match(q["search_query"])
        start, size = int(q.get("start", 0)), int(q.get("max_results", 10))
        entries = "".join(self._atom_entry(w) for w in hits[start : start + size])
        query_text = escape(
            f"search_query={q['search_query']}&id_list=&start={start}&max_results={size}"
        )
        feed = (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
            f"  <id>https://arxiv.org/api/{_hex(query_text)[:27]}</id>\n"
            f"  <title>arXiv Query: {query_text}</title>\n"
            f"  <updated>{UPDATED}</updated>\n"
            f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n"
            f"  <opensearch:totalResults>{len(hits)}</opensearch:totalResults>\n"
            f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
            f"{entries}</feed>\n"
        )
        return httpx.Response(
            200, content=feed.encode(), headers={"content-type": "application/atom+xml"}
        )

    def _atom_entry(self, w: dict[str, Any]) -> str:
        version = 2 if w["_i"] % 3 == 0 else 1
        aid = f"{w['arxiv_id']}v{version}"
        title = w["title"]
        if len(title) > 60:  # arXiv wraps long titles with a newline and two spaces
            cut = title.rfind(" ", 0, 60)
            title = title[:cut] + "\n  " + title[cut + 1 :]
        cats = w.get("arxiv_categories") or ["cs.DC"]
        topic_words = [
            self.topics[t]["keywords"][0] for t in w.get("topics", []) if t in self.topics
        ]
        summary = "Placeholder summary written for the scholarflow demo recording" + (
            f"; the work is about {', '.join(topic_words)}." if topic_words else "."
        )
        lines = [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{aid}</id>",
            f"    <title>{escape(title)}</title>",
            f"    <updated>{w['date']}T17:00:00Z</updated>",
            f'    <link href="https://arxiv.org/abs/{aid}" rel="alternate" type="text/html"/>',
            f'    <link href="https://arxiv.org/pdf/{aid}" rel="related" type="application/pdf" title="pdf"/>',
            f"    <summary>{escape(summary)}</summary>",
            *(f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in cats),
            f"    <published>{w['date']}T17:00:00Z</published>",
        ]
        if w.get("doi"):
            lines.append(f"    <arxiv:doi>{escape(w['doi'])}</arxiv:doi>")
            lines.append(
                f'    <link title="doi" href={quoteattr("https://doi.org/" + w["doi"])} rel="related"/>'
            )
        if w.get("venue") and w["venue"] != "arXiv":
            lines.append(f"    <arxiv:journal_ref>{escape(w['venue'])}</arxiv:journal_ref>")
        lines.append(f'    <arxiv:primary_category term="{cats[0]}"/>')
        for name in w["authors"]:
            lines.append(f"    <author>\n      <name>{escape(name)}</name>\n    </author>")
        lines.append("  </entry>\n")
        return "\n".join(lines)

    # ---------- OpenAlex ----------
    def _oa_author(self, r: dict[str, Any]) -> dict[str, Any]:
        works = [w for w in self.works if r["key"] in w["watched"] and "openalex" in w["sources"]]
        cites = sorted((w["citations"].get("openalex", 0) for w in works), reverse=True)
        h = sum(1 for i, c in enumerate(cites, 1) if c >= i)
        years: dict[int, dict[str, int]] = {}
        for w in works:
            y = int(w["date"][:4])
            years.setdefault(y, {"works_count": 0, "cited_by_count": 0})["works_count"] += 1
            for cy, c in (w.get("counts_by_year") or {}).items():
                years.setdefault(int(cy), {"works_count": 0, "cited_by_count": 0})[
                    "cited_by_count"
                ] += c
        inst = r.get("affiliation")
        return {
            "id": f"https://openalex.org/{r['openalex_id']}",
            "orcid": f"https://orcid.org/{r['orcid']}" if r.get("orcid") else None,
            "display_name": r["name"],
            "display_name_alternatives": [r["name"], *r.get("name_variants", [])],
            "works_count": len(works),
            "cited_by_count": sum(cites),
            "summary_stats": {
                "2yr_mean_citedness": 1.5,
                "h_index": h,
                "i10_index": sum(1 for c in cites if c >= 10),
            },
            "ids": {"openalex": f"https://openalex.org/{r['openalex_id']}"},
            "last_known_institutions": [
                {
                    "id": "https://openalex.org/I" + _digits(inst, 9),
                    "display_name": inst,
                    "type": "education",
                }
            ]
            if inst
            else [],
            "counts_by_year": [{"year": y, **v} for y, v in sorted(years.items(), reverse=True)],
            "works_api_url": f"https://api.openalex.org/works?filter=author.id:{r['openalex_id']}",
            "updated_date": OPENALEX_UPDATED,
            "created_date": "2023-07-21",
        }

    def _oa_works(self, w: dict[str, Any]) -> list[dict[str, Any]]:
        if self.split_in_openalex(w):
            return [self._oa_work(w, "published"), self._oa_work(w, "preprint")]
        return [self._oa_work(w, "merged")]

    def _oa_work(self, w: dict[str, Any], version: str) -> dict[str, Any]:
        suffix = "#preprint" if version == "preprint" else ""
        wid = self.oa_work_id(w, suffix)
        is_preprint = version == "preprint" or (
            not w.get("doi") and w.get("venue", "arXiv") == "arXiv"
        )
        doi = None
        if version != "preprint" and w.get("doi"):
            doi = f"https://doi.org/{w['doi']}"
        elif w.get("arxiv_id"):
            doi = f"https://doi.org/10.48550/arxiv.{w['arxiv_id']}"
        arxiv_loc = (
            {
                "is_oa": True,
                "landing_page_url": f"http://arxiv.org/abs/{w['arxiv_id']}",
                "pdf_url": f"http://arxiv.org/pdf/{w['arxiv_id']}",
                "source": {
                    "id": "https://openalex.org/S4306400194",
                    "display_name": "arXiv (Cornell University)",
                    "type": "repository",
                },
                "version": "submittedVersion",
            }
            if w.get("arxiv_id")
            else None
        )
        venue_loc = {
            "is_oa": False,
            "landing_page_url": doi,
            "source": {
                "id": "https://openalex.org/S" + _digits(w["venue"], 9),
                "display_name": w["venue"],
                "type": "conference",
            },
            "version": "publishedVersion",
        }
        if is_preprint:
            primary = arxiv_loc or venue_loc
            locations = [primary]
        else:
            primary = venue_loc
            locations = [venue_loc] + ([arxiv_loc] if arxiv_loc and version == "merged" else [])
        cites = w["citations"].get("openalex", 0)
        by_year = w.get("counts_by_year") or {}
        if version == "preprint":  # the preprint record collects a share of the citations
            cites = cites // 4
            by_year = {y: c // 4 for y, c in by_year.items()}
        elif version == "published":
            cites = cites - cites // 4
            by_year = {y: c - c // 4 for y, c in by_year.items()}
        topic_objs = []
        for tkey in w.get("topics", []):
            t = self.topics[tkey]
            for j, (tid, tname) in enumerate(
                zip(t["openalex_topic_ids"], t["openalex_topic_names"], strict=True)
            ):
                topic_objs.append(
                    {
                        "id": f"https://openalex.org/{tid}",
                        "display_name": tname,
                        "score": round(0.99 - 0.2 * j, 4),
                        **TOPIC_HIERARCHY,
                    }
                )
        year = int(w["date"][:4])
        return {
            "id": f"https://openalex.org/{wid}",
            "doi": doi,
            "title": w["title"],
            "display_name": w["title"],
            "publication_year": year,
            "publication_date": w["date"],
            "ids": {"openalex": f"https://openalex.org/{wid}", **({"doi": doi} if doi else {})},
            "language": "en",
            "primary_location": primary,
            "type": "preprint" if is_preprint else "article",
            "type_crossref": "posted-content" if is_preprint else "proceedings-article",
            "authorships": [
                {
                    "author_position": "first"
                    if i == 0
                    else ("last" if i == len(w["authors"]) - 1 else "middle"),
                    "author": {
                        "id": f"https://openalex.org/{self.oa_author_id(n)}",
                        "display_name": n,
                        "orcid": None,
                    },
                    "institutions": [],
                    "countries": [],
                    "is_corresponding": False,
                    "raw_author_name": n,
                    "raw_affiliation_strings": [],
                }
                for i, n in enumerate(w["authors"])
            ],
            "cited_by_count": cites,
            # illustrative, like the counts: a world-average work of its year scores 1.0
            **_illustrative_impact(cites, year),
            "is_retracted": False,
            "is_paratext": False,
            "primary_topic": topic_objs[0] if topic_objs else None,
            "topics": topic_objs,
            "locations_count": len(locations),
            "locations": locations,
            "counts_by_year": [
                {"year": int(y), "cited_by_count": c}
                for y, c in sorted(by_year.items(), reverse=True)
            ],
            "updated_date": OPENALEX_UPDATED,
            "created_date": f"{year}-{w['date'][5:7]}-20",
        }

    def _oa_list(self, items: list[dict[str, Any]], q: dict[str, str]) -> httpx.Response:
        per_page = int(q.get("per-page", 25))
        cursor = q.get("cursor", "*")
        start = 0 if cursor == "*" else int(cursor.removeprefix("IlsxNjgw").removesuffix("XQ=="))
        chunk = items[start : start + per_page]
        nxt = start + per_page
        body = {
            "meta": {
                "count": len(items),
                "db_response_time_ms": 41,
                "page": None,
                "per_page": per_page,
                "next_cursor": f"IlsxNjgw{nxt}XQ==" if nxt < len(items) else None,
                "groups_count": None,
            },
            "results": chunk,
            "group_by": [],
        }
        return self._json(body)

    def openalex(self, path: str, q: dict[str, str]) -> httpx.Response:
        if path.startswith("/authors/"):
            ident = path.removeprefix("/authors/")
            for r in self.researchers.values():
                if ident in (r["openalex_id"], f"orcid:{r.get('orcid')}"):
                    return self._json(self._oa_author(r))
            return httpx.Response(
                404,
                text="<!doctype html>\n<title>404 Not Found</title>\n",
                headers={"content-type": "text/html"},
            )
        if path == "/authors":
            name = q.get("search", "")
            hits = [
                self._oa_author(r)
                for r in self.researchers.values()
                if r["name"].casefold() == name.casefold()
            ]
            return self._oa_list(hits, q)
        if path.startswith("/topics/"):
            tid = path.removeprefix("/topics/")
            for t in self.topics.values():
                for j, (t_id, tname) in enumerate(
                    zip(t["openalex_topic_ids"], t["openalex_topic_names"], strict=True)
                ):
                    if t_id == tid:
                        n = sum(1 for w in self.works if t["key"] in w.get("topics", []))
                        return self._json(
                            {
                                "id": f"https://openalex.org/{tid}",
                                "display_name": tname,
                                "description": "Placeholder description for the scholarflow demo.",
                                "keywords": list(t["keywords"]),
                                "ids": {"openalex": f"https://openalex.org/{tid}"},
                                **TOPIC_HIERARCHY,
                                "works_count": 40_000 + 1_000 * j + n,
                                "cited_by_count": 350_000 + 7 * n,
                                "updated_date": OPENALEX_UPDATED,
                            }
                        )
        if path == "/works":
            filters = dict(f.split(":", 1) for f in q.get("filter", "").split(",") if f)
            pool = [w for w in self.works if "openalex" in w["sources"]]
            if "authorships.author.id" in filters:
                aid = filters["authorships.author.id"]
                key = next(r["key"] for r in self.researchers.values() if r["openalex_id"] == aid)
                hits = [w for w in pool if key in w["watched"]]
            else:
                since = filters.get("from_publication_date", "0000")
                tids = set(filters.get("topics.id", "").split("|"))
                hits = [
                    w
                    for w in pool
                    if w["date"] >= since
                    and any(
                        tids & set(self.topics[t]["openalex_topic_ids"])
                        for t in w.get("topics", [])
                    )
                ]
            records = [r for w in hits for r in self._oa_works(w)]
            if q.get("sort", "").startswith("cited_by_count"):
                records.sort(key=lambda r: (-r["cited_by_count"], r["id"]))
            else:
                records.sort(key=lambda r: (r["publication_date"], r["id"]), reverse=True)
            return self._oa_list(records, q)
        return httpx.Response(
            404,
            text="<!doctype html>\n<title>404 Not Found</title>\n",
            headers={"content-type": "text/html"},
        )

    # ---------- Semantic Scholar ----------
    def _s2_paper(self, w: dict[str, Any]) -> dict[str, Any]:
        ext: dict[str, Any] = {"CorpusId": int(_digits("corpus:" + w["title"], 9))}
        bare = w["_i"] % 7 == 3  # S2 sometimes knows a paper by its corpus id only
        if not bare:
            if w.get("arxiv_id"):
                ext["ArXiv"] = w["arxiv_id"]
            if w.get("doi"):
                ext["DOI"] = (
                    w["doi"].upper() if w["_i"] % 2 else w["doi"]
                )  # S2 DOIs come mixed-case
        initials = w["_i"] % 4 == 1  # some S2 author lists carry initials only
        authors = []
        for n in w["authors"]:
            parts = n.split()
            shown = f"{parts[0][0]}. {' '.join(parts[1:])}" if initials and len(parts) > 1 else n
            authors.append({"authorId": self.s2_author_id(n), "name": shown})
        venue = "" if w.get("venue", "arXiv") == "arXiv" else w["venue"]
        title = w["title"].replace(": ", " - ") if bare else w["title"]
        return {
            "paperId": _hex("s2:" + w["title"]),
            "externalIds": ext,
            "title": title,
            "venue": venue or ("arXiv.org" if w.get("arxiv_id") else ""),
            "year": int(w["date"][:4]),
            "publicationDate": w["date"],
            "citationCount": w["citations"].get("semantic_scholar", 0),
            "influentialCitationCount": w["citations"].get("semantic_scholar", 0) // 10,
            "authors": authors,
            "fieldsOfStudy": ["Computer Science"],
            "publicationTypes": ["JournalArticle"] if venue else None,
        }

    def _s2_author(self, r: dict[str, Any]) -> dict[str, Any]:
        works = [
            w for w in self.works if r["key"] in w["watched"] and "semantic_scholar" in w["sources"]
        ]
        return {
            "authorId": str(r["s2_author_id"]),
            "externalIds": {"DBLP": [r["name"]]},
            "name": r["name"],
            "aliases": list(r.get("name_variants", [])),
            "affiliations": [r["affiliation"]] if r.get("affiliation") else [],
            "paperCount": len(works),
            "citationCount": sum(w["citations"].get("semantic_scholar", 0) for w in works),
            "hIndex": r.get("s2_h_index"),
        }

    def s2(self, path: str, q: dict[str, str]) -> httpx.Response:
        m = re.fullmatch(r"/author/(\d+)(/papers)?", path)
        if m:
            r = next(
                (r for r in self.researchers.values() if str(r["s2_author_id"]) == m.group(1)), None
            )
            if r is None:
                return self._json({"error": f"Author with id {m.group(1)} not found"}, 404)
            if not m.group(2):
                return self._json(self._s2_author(r))
            works = sorted(
                (
                    w
                    for w in self.works
                    if r["key"] in w["watched"] and "semantic_scholar" in w["sources"]
                ),
                key=lambda w: (w["date"], w["title"]),
                reverse=True,
            )
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
            body: dict[str, Any] = {
                "offset": offset,
                "data": [self._s2_paper(w) for w in works[offset : offset + limit]],
            }
            if offset + limit < len(works):
                body["next"] = offset + limit
            return self._json(body)
        if path == "/paper/search/bulk":
            topic = next(
                t
                for t in self.topics.values()
                if set(re.findall(r'"([^"]+)"', q.get("query", ""))) == set(t["keywords"])
            )
            since = int(q.get("year", "0-").split("-")[0] or 0)
            hits = [
                w
                for w in self.works
                if "semantic_scholar" in w["sources"]
                and topic["key"] in w.get("topics", [])
                and int(w["date"][:4]) >= since
            ]
            hits.sort(key=lambda w: (-w["citations"].get("semantic_scholar", 0), w["title"]))
            return self._json(
                {"total": len(hits), "token": None, "data": [self._s2_paper(w) for w in hits]}
            )
        return self._json({"error": "Not found"}, 404)

    @staticmethod
    def _json(body: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(
            status,
            content=json.dumps(body, indent=1, ensure_ascii=False).encode(),
            headers={"content-type": "application/json"},
        )


def generate(
    out: Path, watchlist_path: Path = Path("watchlist.toml"), facts_path: Path | None = None
) -> int:
    """Write a recording of every request the fetchers make for the watchlist; returns count."""
    facts = json.loads((facts_path or settings.DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    watchlist = load_watchlist(watchlist_path)
    if out.exists():
        shutil.rmtree(out)
    recorder = Recorder(out)
    handler: Callable[[httpx.Request], httpx.Response] = FakeUpstream(facts)
    client = HttpClient(
        watchlist.contact_email,
        transport=httpx.MockTransport(handler),
        intervals={},
        max_attempts=1,
        on_response=recorder,
        adapt_to_headers=False,  # a fake upstream: no Crawl-delay or advertised limits to keep
    )
    with client:
        for slug in watchlist.sources.enabled:
            report = SOURCES[slug].fetch(client, watchlist)
            if report.errors:
                raise SystemExit(f"demo generation failed for {slug}: {report.errors[0]}")
    return sum(client.requests_made.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=settings.DEMO_RECORDING)
    ap.add_argument("--watchlist", type=Path, default=Path("watchlist.toml"))
    args = ap.parse_args()
    n = generate(args.out, args.watchlist)
    print(f"wrote {n} recorded exchanges to {args.out}")


if __name__ == "__main__":
    main()

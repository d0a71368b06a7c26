"""Entity-resolution evaluation set: source payloads in their real formats, from a truth table.

    python -m tests.resolution.build          # rewrites tests/resolution/payloads/ and truth.json

`truth.toml` is hand-written: one `[[work]]` per true work (label, title, year, venue, DOI, arXiv
id, authors, the sources that list it, the hard cases it stands for) and `[[work.rec]]` entries
that change one source's record (a different title or year, a DOI spelling, a name variant, a
truncated author list, missing fields...). This module renders every record the way its source's
API answers (OpenAlex works list, Semantic Scholar paper list and author batch, arXiv Atom feed,
Crossref work-list, DBLP publication search) and writes `truth.json`: each (source,
source_work_id) -> true work label, and each author mention of a watched researcher (source,
source_work_id, position) -> researcher id.

Authors in truth lists: a plain string is a person who is not watched; `@<researcher_id>` is a
watched researcher written under their canonical name, `@<researcher_id>|<spelling>` under
another spelling. Everything is deterministic: ids are hashes of labels and names.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TRUTH_TOML = HERE / "truth.toml"
TRUTH_JSON = HERE / "truth.json"
PAYLOADS = HERE / "payloads"
SOURCES = ("openalex", "semantic_scholar", "arxiv", "crossref", "dblp")
PAGE = 40  # records per payload file
ABSTRACT = "Placeholder abstract for the entity-resolution evaluation set."
FETCHED = "2026-06-01T00:00:00Z"


def _h(*parts: object) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:15], 16)


@dataclass
class Author:
    name: str  # as this source writes it
    rid: str | None  # watched researcher, or None
    person: str  # identity of the person (for ids): rid or the canonical plain name
    orcid: str | None = None


@dataclass
class Rec:
    source: str
    work: str
    title: str | None
    year: int | None
    date: str | None
    venue: str | None
    kind: str  # preprint | published
    wtype: str | None
    doi: str | None  # as the source writes it
    arxiv: str | None  # as the source writes it (may carry a version)
    authors: list[Author]
    ident: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _arxiv_year(arxiv: str | None, date: str | None) -> int | None:
    if date:
        return int(date[:4])
    if not arxiv:
        return None
    m = re.search(r"(\d{2})(\d{2})[.\d]", arxiv.split("/")[-1])
    return (
        1900 + int(m.group(1))
        if m and int(m.group(1)) > 90
        else 2000 + int(m.group(1))
        if m
        else None
    )


def _authors(
    names: list[str], researchers: dict[str, Any], variants: dict[str, str], orcids: dict[str, str]
) -> list[Author]:
    out = []
    for raw in names:
        if raw.startswith("@"):
            rid, _, spelled = raw[1:].partition("|")
            name = spelled or variants.get(rid) or researchers[rid]["name"]
            orcid = researchers[rid].get("orcid")
            out.append(Author(name, rid, rid, orcids.get(rid, orcid)))
        else:
            out.append(Author(raw, None, raw, orcids.get(raw)))
    return out


def records(truth: dict[str, Any]) -> list[Rec]:
    """Every source record of the set, ids assigned, in truth-file order."""
    researchers = truth["researcher"]
    out: list[Rec] = []
    for w in truth["work"]:
        explicit = w.get("rec", [])
        specs = [
            {"source": s} for s in w.get("sources", []) if s not in {r["source"] for r in explicit}
        ]
        for n, spec in enumerate([*specs, *explicit]):
            out.append(_record(w, spec, n, researchers))
    _assign_ids(out)
    return out


def _record(w: dict[str, Any], spec: dict[str, Any], n: int, researchers: dict[str, Any]) -> Rec:
    source = spec["source"]
    kind = spec.get("kind") or (
        "preprint" if source == "arxiv" or not w.get("venue") else "published"
    )
    arxiv_year = _arxiv_year(w.get("arxiv"), w.get("date"))
    year = w.get("year") if kind == "published" else (arxiv_year or w.get("year"))
    doi = w.get("doi") if kind == "published" else None
    arxiv = w.get("arxiv")
    if source == "arxiv" and arxiv:
        arxiv = f"{arxiv}v{spec.get('version', 1)}"
    names = spec.get("authors", w.get("authors", []))
    authors = _authors(names, researchers, spec.get("names", {}), spec.get("orcids", {}))
    if w.get("crowd"):  # a collaboration's author list: generated names around the real ones
        crowd = [
            Author(
                f"{chr(65 + _h('i', k) % 26)}. {_SURNAMES[_h('s', k) % len(_SURNAMES)]}{k}",
                None,
                f"crowd{k}",
            )
            for k in range(w["crowd"])
        ]
        authors = crowd[: len(crowd) // 2] + authors + crowd[len(crowd) // 2 :]
    if "truncate" in spec:
        authors = authors[: spec["truncate"]]
        if spec.get("marker"):
            authors.append(Author(spec["marker"], None, spec["marker"]))
    rec = Rec(
        source=source,
        work=w["label"],
        title=spec.get("title", w["title"]),
        year=spec.get("year", year),
        date=spec.get("date", w.get("date") if kind == "preprint" else None),
        venue=spec.get("venue", w.get("venue") if kind == "published" else None),
        kind=kind,
        wtype=spec.get("type", w.get("type")),
        doi=spec.get("doi", doi),
        arxiv=spec.get("arxiv", arxiv),
        authors=authors,
        extra={k: v for k, v in spec.items() if k in _EXTRA} | {"n": n},
    )
    if spec.get("no_year"):
        rec.year, rec.date = None, None
    for k in ("doi", "arxiv", "venue", "title"):
        if getattr(rec, k) == "":
            setattr(rec, k, None)
    return rec


_SURNAMES = (
    "Abe",
    "Berg",
    "Costa",
    "Dietz",
    "Evans",
    "Frank",
    "Guo",
    "Hahn",
    "Ito",
    "Jung",
    "Khan",
    "Lopez",
)

# per-record keys passed through to the renderers
_EXTRA = {
    "id",
    "corpus",
    "dblp_key",
    "s2_dblp",
    "s2_doi",
    "author_ids",
    "arxiv_location",
    "journal_ref",
    "comment",
    "ee",
    "oa_location",
}


def _assign_ids(recs: list[Rec]) -> None:
    taken: set[tuple[str, str]] = set()
    for r in recs:
        ident = r.extra.get("id") or _default_id(r)
        while (r.source, ident) in taken:  # two DBLP keys built alike get the DBLP suffix letter
            ident = ident + "a" if r.source == "dblp" else ident + "0"
        taken.add((r.source, ident))
        r.ident = ident


def _default_id(r: Rec) -> str:
    h = _h(r.work, r.source, r.extra["n"])
    if r.source == "openalex":
        return f"W{4_000_000_000 + h % 1_000_000_000}"
    if r.source == "semantic_scholar":
        return hashlib.sha1(f"{r.work}|{r.extra['n']}".encode()).hexdigest()
    if r.source == "arxiv":
        return str(r.arxiv)
    if r.source == "crossref":
        if not r.doi:
            raise ValueError(f"{r.work}: a Crossref record needs a DOI")
        return _bare_doi(r.doi)
    # dblp
    if r.kind == "preprint" and r.arxiv:
        return "journals/corr/abs-" + re.sub(r"v\d+$", "", r.arxiv).replace(".", "-").replace(
            "/", "-"
        )
    venue = re.sub(r"[^a-z]", "", (r.venue or "misc").lower())[:10] or "misc"
    lasts = [a.name.replace(",", " ").split()[-1] if a.name.split() else "X" for a in r.authors[:3]]
    stem = "".join(_ascii(x) for x in lasts[:1]) + "".join(_ascii(x)[:1] for x in lasts[1:])
    prefix = "journals" if r.wtype == "journal-article" else "conf"
    return f"{prefix}/{venue}/{stem or 'Anon'}{(r.year or 0) % 100:02d}"


def _ascii(s: str) -> str:
    import unicodedata

    return re.sub(
        r"[^A-Za-z]", "", unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    )


def _bare_doi(doi: str) -> str:
    return re.sub(r"(?i)^(https?://(dx\.)?doi\.org/|doi:\s*)", "", doi.strip()).lower()


def staged_id(r: Rec) -> str:
    """The record's source_work_id as staging derives it."""
    if r.source == "arxiv":
        aid = re.sub(r"v\d+$", "", r.ident)
        return aid.lower() if "/" in aid else aid
    return r.ident


# ------------------------------------------------------------------ author ids per source


def _oa_author(a: Author, researchers: dict[str, Any]) -> str:
    if a.rid and researchers[a.rid].get("openalex"):
        return str(researchers[a.rid]["openalex"])
    return f"A5{_h('oa', a.person) % 10**9:09d}"


def _s2_author(a: Author, r: Rec, researchers: dict[str, Any]) -> str | None:
    ids = r.extra.get("author_ids", {})
    if a.name in ids:
        return str(ids[a.name]) or None  # "": listed without an authorId, as S2 does
    if a.rid and researchers[a.rid].get("s2"):
        return str(researchers[a.rid]["s2"])
    return str(10_000_000 + _h("s2", a.person) % 90_000_000)


def _dblp_pid(a: Author, researchers: dict[str, Any]) -> str:
    if a.rid and researchers[a.rid].get("dblp"):
        return str(researchers[a.rid]["dblp"])
    h = _h("dblp", a.person)
    return f"{h % 300}/{h % 10_000}"


# ------------------------------------------------------------------ renderers


def _arxiv_doi(aid: str) -> str:
    return "10.48550/arXiv." + re.sub(r"v\d+$", "", aid)


def render_openalex(r: Rec, researchers: dict[str, Any]) -> dict[str, Any]:
    doi = r.doi
    if doi is None and r.kind == "preprint" and r.arxiv:
        doi = "https://doi.org/" + _arxiv_doi(r.arxiv).lower()
    elif doi and not re.match(r"(?i)^(https?://|doi:)", doi):
        doi = "https://doi.org/" + doi
    locations = []
    if r.venue:
        locations.append(
            {
                "is_oa": False,
                "landing_page_url": f"https://doi.org/{_bare_doi(r.doi)}" if r.doi else None,
                "pdf_url": None,
                "source": {
                    "id": f"https://openalex.org/S{_h('venue', r.venue) % 10**9}",
                    "display_name": r.venue,
                    "type": "conference",
                },
                "version": "publishedVersion",
            }
        )
    if r.arxiv and r.extra.get("arxiv_location", True):
        aid = re.sub(r"v\d+$", "", r.arxiv)
        locations.append(
            {
                "is_oa": True,
                "landing_page_url": f"http://arxiv.org/abs/{aid}",
                "pdf_url": f"http://arxiv.org/pdf/{aid}",
                "source": {
                    "id": "https://openalex.org/S4306400194",
                    "display_name": "arXiv (Cornell University)",
                    "type": "repository",
                },
                "version": "submittedVersion",
            }
        )
    year = r.year
    pub_date = (r.date if r.kind == "preprint" and r.date else f"{year}-06-01") if year else None
    return {
        "id": f"https://openalex.org/{r.ident}",
        "doi": doi,
        "title": r.title,
        "display_name": r.title,
        "publication_year": year,
        "publication_date": pub_date,
        "ids": {"openalex": f"https://openalex.org/{r.ident}", **({"doi": doi} if doi else {})},
        "type": "preprint" if r.kind == "preprint" else "article",
        "primary_location": locations[0] if locations else None,
        "locations": locations,
        "authorships": [
            {
                "author_position": "first"
                if i == 0
                else "last"
                if i == len(r.authors) - 1
                else "middle",
                "author": {
                    "id": f"https://openalex.org/{_oa_author(a, researchers)}",
                    "display_name": a.name,
                    "orcid": f"https://orcid.org/{a.orcid}" if a.orcid else None,
                },
                "institutions": [],
                "countries": [],
                "is_corresponding": False,
                "raw_author_name": a.name,
                "raw_affiliation_strings": [],
            }
            for i, a in enumerate(r.authors)
        ],
        "cited_by_count": _h("cites", r.work, r.source) % 300,
        "counts_by_year": [],
        "topics": [],
        "is_retracted": False,
        "updated_date": "2026-05-30T04:12:09.118270",
    }


def render_s2(r: Rec, researchers: dict[str, Any]) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    if r.extra.get("s2_dblp"):
        ext["DBLP"] = r.extra["s2_dblp"]
    if r.arxiv:
        ext["ArXiv"] = re.sub(r"v\d+$", "", r.arxiv)
    doi = r.extra.get("s2_doi", r.doi)
    if doi is None and r.arxiv and r.kind == "preprint":
        doi = _arxiv_doi(r.arxiv)
    if doi:
        ext["DOI"] = doi
    ext["CorpusId"] = r.extra.get(
        "corpus", 200_000_000 + _h("corpus", r.work, r.extra["n"]) % 90_000_000
    )
    pub_type = {"journal-article": "JournalArticle", "proceedings-article": "Conference"}.get(
        r.wtype or "", "JournalArticle"
    )
    return {
        "paperId": r.ident,
        "externalIds": ext,
        "title": r.title,
        "venue": r.venue or ("arXiv.org" if r.kind == "preprint" and r.arxiv else ""),
        "year": r.year,
        "publicationDate": (r.date if r.kind == "preprint" else None) if r.year else None,
        "journal": {"name": "ArXiv", "volume": f"abs/{ext['ArXiv']}"}
        if "ArXiv" in ext and r.kind == "preprint"
        else None,
        "citationCount": _h("cites", r.work, r.source) % 300,
        "influentialCitationCount": _h("infl", r.work) % 20,
        "authors": [{"authorId": _s2_author(a, r, researchers), "name": a.name} for a in r.authors],
        "fieldsOfStudy": ["Computer Science"],
        "publicationTypes": [pub_type],
    }


def render_crossref(r: Rec, researchers: dict[str, Any]) -> dict[str, Any]:
    authors = []
    for i, a in enumerate(r.authors):
        if a.name in {"et al.", "others"} or " " not in a.name.strip():
            authors.append({"name": a.name, "sequence": "additional", "affiliation": []})
            continue
        suffix = None
        if a.name.count(",") == 2:  # "Hale, Robert, Jr.": Crossref's own suffix field
            family, given, suffix = (s.strip() for s in a.name.split(","))
        elif "," in a.name:
            family, given = (s.strip() for s in a.name.split(",", 1))
        else:
            *given_parts, family = a.name.split()
            given = " ".join(given_parts)
        entry: dict[str, Any] = {
            "given": given,
            "family": family,
            "sequence": "first" if i == 0 else "additional",
            "affiliation": [],
        }
        if suffix:
            entry["suffix"] = suffix
        if a.orcid:
            entry["ORCID"] = f"https://orcid.org/{a.orcid}"
            entry["authenticated-orcid"] = False
        authors.append(entry)
    item: dict[str, Any] = {
        "DOI": r.doi
        if r.doi and not r.doi.lower().startswith(("http", "doi:"))
        else _bare_doi(r.doi or ""),
        "URL": f"https://doi.org/{_bare_doi(r.doi or '')}",
        "type": {"preprint": "posted-content"}.get(r.wtype or "", r.wtype or "journal-article"),
        "title": [r.title] if r.title else [],
        "container-title": [r.venue] if r.venue else [],
        "publisher": "Association for Computing Machinery"
        if (r.doi or "").startswith("10.1145")
        else "Example Publisher",
        "author": authors,
        "is-referenced-by-count": _h("cites", r.work, r.source) % 300,
        "references-count": 40,
        "deposited": {
            "date-parts": [[2026, 1, 5]],
            "date-time": "2026-01-05T10:00:00Z",
            "timestamp": 1767607200000,
        },
    }
    if r.year:
        item["issued"] = {"date-parts": [[r.year, 6]]}
    else:
        item["issued"] = {"date-parts": [[None]]}
    if r.arxiv:
        item["relation"] = {
            "has-preprint": [
                {"id-type": "doi", "id": _arxiv_doi(r.arxiv), "asserted-by": "subject"}
            ]
        }
    return item


def render_dblp(r: Rec, researchers: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    people = [{"@pid": _dblp_pid(a, researchers), "text": a.name} for a in r.authors]
    if people:
        info["authors"] = {"author": people[0] if len(people) == 1 else people}
    info["title"] = html.escape(r.title or "", quote=False) + (
        "" if (r.title or "").endswith(("?", "!", ".")) else "."
    )
    ee: list[str] = list(r.extra.get("ee", []))
    if r.kind == "preprint" and r.arxiv:
        aid = re.sub(r"v\d+$", "", r.arxiv)
        info["venue"] = "CoRR"
        info["volume"] = f"abs/{aid}"
        info["type"] = "Informal and Other Publications"
        ee = ee or [f"https://doi.org/{_arxiv_doi(aid)}"]
    else:
        info["venue"] = r.venue or "CoRR"
        info["type"] = (
            "Journal Articles" if r.wtype == "journal-article" else "Conference and Workshop Papers"
        )
        if r.doi:
            info["doi"] = r.doi
            ee = ee or [f"https://doi.org/{_bare_doi(r.doi)}"]
    if r.year:
        info["year"] = str(r.year)
    info["access"] = "closed"
    info["key"] = r.ident
    if ee:
        info["ee"] = ee[0] if len(ee) == 1 else ee
    info["url"] = f"https://dblp.org/rec/{r.ident}"
    return {
        "@score": "1",
        "@id": str(_h("dblpid", r.ident) % 10_000_000),
        "info": info,
        "url": f"URL#{_h('dblpurl', r.ident) % 10_000_000}",
    }


def _xml(s: str) -> str:
    return html.escape(s, quote=True)


def render_arxiv_entry(r: Rec) -> str:
    aid = r.arxiv or r.ident
    published = f"{r.date or f'{r.year}-01-15'}T17:00:00Z"
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{aid}</id>",
        f"    <updated>{published}</updated>",
        f"    <published>{published}</published>",
        f"    <title>{_xml(r.title or '')}</title>",
        f"    <summary>{ABSTRACT}</summary>",
    ]
    lines += [f"    <author>\n      <name>{_xml(a.name)}</name>\n    </author>" for a in r.authors]
    if r.extra.get("comment"):
        lines.append(f"    <arxiv:comment>{_xml(r.extra['comment'])}</arxiv:comment>")
    if r.extra.get("journal_ref"):
        lines.append(f"    <arxiv:journal_ref>{_xml(r.extra['journal_ref'])}</arxiv:journal_ref>")
    if r.doi:
        lines.append(f"    <arxiv:doi>{_xml(r.doi)}</arxiv:doi>")
        lines.append(
            f'    <link title="doi" href="https://doi.org/{_xml(_bare_doi(r.doi))}" rel="related"/>'
        )
    lines += [
        f'    <link href="http://arxiv.org/abs/{aid}" rel="alternate" type="text/html"/>',
        f'    <link title="pdf" href="http://arxiv.org/pdf/{aid}" rel="related" type="application/pdf"/>',
        '    <arxiv:primary_category term="cs.DC" scheme="http://arxiv.org/schemas/atom"/>',
        '    <category term="cs.DC" scheme="http://arxiv.org/schemas/atom"/>',
        "  </entry>",
    ]
    return "\n".join(lines)


def render_arxiv_feed(recs: list[Rec], page: int, total: int) -> str:
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">',
        f'  <link href="http://arxiv.org/api/query?search_query%3Dcat%3Acs.DC%26start%3D{page * PAGE}%26max_results%3D{PAGE}" rel="self" type="application/atom+xml"/>',
        '  <title type="html">ArXiv Query: search_query=cat:cs.DC&amp;id_list=&amp;start=0&amp;max_results=40</title>',
        "  <id>http://arxiv.org/api/evalset</id>",
        f"  <updated>{FETCHED}</updated>",
        f'  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>',
        f'  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{page * PAGE}</opensearch:startIndex>',
        f'  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{PAGE}</opensearch:itemsPerPage>',
    ]
    return "\n".join([*head, *(render_arxiv_entry(r) for r in recs), "</feed>"]) + "\n"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def payload_files(truth: dict[str, Any], recs: list[Rec]) -> dict[str, str]:
    """Relative path under payloads/ -> file text."""
    researchers = truth["researcher"]
    files: dict[str, str] = {}
    by_source = {s: [r for r in recs if r.source == s] for s in SOURCES}
    for s, rs in by_source.items():
        pages = [rs[i : i + PAGE] for i in range(0, len(rs), PAGE)]
        for p, chunk in enumerate(pages):
            last = p == len(pages) - 1
            if s == "openalex":
                body = {
                    "meta": {
                        "count": len(rs),
                        "db_response_time_ms": 31,
                        "page": None,
                        "per_page": PAGE,
                        "next_cursor": None if last else f"IlsxNjg{p + 1}",
                    },
                    "results": [render_openalex(r, researchers) for r in chunk],
                    "group_by": [],
                }
                files[f"openalex/works_{p + 1}.json"] = _dump(body)
            elif s == "semantic_scholar":
                body2: dict[str, Any] = {
                    "offset": p * PAGE,
                    "data": [render_s2(r, researchers) for r in chunk],
                }
                if not last:
                    body2["next"] = (p + 1) * PAGE
                files[f"semantic_scholar/papers_{p + 1}.json"] = _dump(body2)
            elif s == "crossref":
                body = {
                    "status": "ok",
                    "message-type": "work-list",
                    "message-version": "1.0.0",
                    "message": {
                        "facets": {},
                        "total-results": len(rs),
                        "items": [render_crossref(r, researchers) for r in chunk],
                        "items-per-page": PAGE,
                        "query": {"start-index": 0, "search-terms": None},
                        **({} if last else {"next-cursor": f"DnF1ZXJ5VGhlbkZldGNo{p + 1}"}),
                    },
                }
                files[f"crossref/works_{p + 1}.json"] = _dump(body)
            elif s == "dblp":
                body = {
                    "result": {
                        "query": "evalset*",
                        "status": {"@code": "200", "text": "OK"},
                        "time": {"@unit": "msecs", "text": "4.20"},
                        "completions": {"@total": "0", "@computed": "0", "@sent": "0"},
                        "hits": {
                            "@total": str(len(rs)),
                            "@computed": str(len(rs)),
                            "@sent": str(len(chunk)),
                            "@first": str(p * PAGE),
                            "hit": [render_dblp(r, researchers) for r in chunk],
                        },
                    }
                }
                files[f"dblp/publ_{p + 1}.json"] = _dump(body)
            else:
                files[f"arxiv/query_{p + 1}.xml"] = render_arxiv_feed(chunk, p, len(rs))
    files.update(_profiles(truth))
    return files


def _profiles(truth: dict[str, Any]) -> dict[str, str]:
    """Author profiles: OpenAlex authors and a Semantic Scholar author batch."""
    oa, s2 = [], []
    for p in truth.get("profile", []):
        if p["source"] == "openalex":
            oa.append(
                {
                    "id": f"https://openalex.org/{p['id']}",
                    "orcid": f"https://orcid.org/{p['orcid']}" if p.get("orcid") else None,
                    "display_name": p["name"],
                    "display_name_alternatives": p.get("aliases", []),
                    "works_count": p.get("works", 40),
                    "cited_by_count": p.get("cites", 2000),
                    "summary_stats": {"h_index": p.get("h", 20), "i10_index": p.get("h", 20) + 5},
                    "last_known_institutions": [],
                    "counts_by_year": [],
                    "updated_date": "2026-05-30T04:12:09.118270",
                }
            )
        else:
            s2.append(
                {
                    "authorId": p["id"],
                    "externalIds": {"ORCID": p["orcid"]} if p.get("orcid") else {},
                    "name": p["name"],
                    "aliases": p.get("aliases", []),
                    "affiliations": [],
                    "paperCount": p.get("works", 40),
                    "citationCount": p.get("cites", 2000),
                    "hIndex": p.get("h", 20),
                }
            )
    files = {}
    if oa:
        files["openalex/authors_1.json"] = _dump(
            {
                "meta": {"count": len(oa), "db_response_time_ms": 12, "page": 1, "per_page": 25},
                "results": oa,
                "group_by": [],
            }
        )
    if s2:
        files["semantic_scholar/authors_1.json"] = _dump(s2)
    return files


def truth_data(truth: dict[str, Any], recs: list[Rec]) -> dict[str, Any]:
    works = {
        w["label"]: {"cases": list(w.get("cases", [])), "group": w.get("group")}
        for w in truth["work"]
    }
    rows = [{"source": r.source, "source_work_id": staged_id(r), "work": r.work} for r in recs]
    mentions = [
        {"source": r.source, "source_work_id": staged_id(r), "position": i, "researcher_id": a.rid}
        for r in recs
        for i, a in enumerate(r.authors)
        if a.rid
    ]
    return {"works": works, "records": rows, "mentions": mentions}


def build(out: Path = HERE) -> dict[str, str]:
    """All generated files (relative to tests/resolution/) -> text. Writes nothing."""
    truth = tomllib.loads((out / "truth.toml").read_text(encoding="utf-8"))
    recs = records(truth)
    files = {f"payloads/{k}": v for k, v in payload_files(truth, recs).items()}
    files["truth.json"] = _dump(truth_data(truth, recs))
    return files


def main() -> None:
    files = build()
    for old in PAYLOADS.rglob("*"):
        if old.is_file() and f"payloads/{old.relative_to(PAYLOADS).as_posix()}" not in files:
            old.unlink()
    for rel, text in files.items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {HERE}")


if __name__ == "__main__":
    main()

"""Semantic Scholar Academic Graph API (api.semanticscholar.org/graph/v1): authors and papers.

Limits: without a key all clients share one pool and get HTTP 429 readily; with a key
(env S2_API_KEY, sent as the `x-api-key` header, never logged) 1 request/s. The shared client
spaces requests 1.1 s apart and honours `Retry-After`.
Paging: `/author/{id}/papers` and `/paper/search` use `offset`/`next` (no `next` on the last
page); `/paper/search/bulk` uses a continuation `token`, 1000 per page.

Upstream quirks: errors are JSON `{"error": "..."}` (or `{"message": ...}` on 429/403);
`externalIds.DOI` is mixed-case; ArXiv ids carry no version; a search with no hits answers
`{"total": 0, "offset": 0}` (no `data`); list items of `/citations` wrap the
paper in `citingPaper`; `/author/batch` answers a bare JSON array.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
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
    text,
    whole,
)
from flows.watchlist import Researcher, Watchlist
from transforms.specs import SEMANTIC_SCHOLAR as SPEC

SLUG = SPEC.slug
API = "https://api.semanticscholar.org/graph/v1"
PAGE_SIZE = 100
PAPER_FIELDS = (
    "title,year,venue,publicationDate,externalIds,citationCount,influentialCitationCount,"
    "authors,fieldsOfStudy,publicationTypes"
)
AUTHOR_FIELDS = "name,aliases,affiliations,paperCount,citationCount,hIndex,externalIds"
_WRAPPERS = ("citingPaper", "citedPaper")
# the keys of an empty list answer (no `data` at all)
_EMPTY_KEYS = {"total", "offset", "next", "token"}


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def paper_record(p: dict[str, Any]) -> dict[str, Any]:
    paper_id = p.get("paperId")
    if not paper_id:
        raise ValueError("paper without a paperId")
    ext = p.get("externalIds") or {}
    title = text(p.get("title"), "title")
    doi = text(ext.get("DOI"), "externalIds.DOI")
    arxiv = text(ext.get("ArXiv"), "externalIds.ArXiv")
    if not title and not (doi or arxiv):
        raise ValueError("paper without a title, DOI or arXiv id")
    journal = p.get("journal") or {}
    return {
        "paper_id": paper_id,
        "corpus_id": whole(ext.get("CorpusId") or p.get("corpusId"), "corpusId"),
        "doi": doi,
        "arxiv_id": arxiv,
        # a string on papers, a list of name variants on authors: keep text either way
        "dblp_key": "; ".join(ext["DBLP"])
        if isinstance(ext.get("DBLP"), list)
        else ext.get("DBLP"),
        # None when S2 has no title (kept by its DOI / arXiv id; papers shows UNTITLED)
        "title": title,
        "venue": text(p.get("venue"), "venue") or text(journal.get("name"), "journal.name"),
        "year": whole(p.get("year"), "year"),
        "publication_date": _date(p.get("publicationDate")),
        # counts arrive as JSON numbers: 12.5, true or "12" quarantine the record
        "citation_count": whole(p.get("citationCount"), "citationCount"),
        "influential_citation_count": whole(
            p.get("influentialCitationCount"), "influentialCitationCount"
        ),
        "authors": [
            {"position": i, "author_id": a.get("authorId"), "name": a.get("name")}
            for i, a in enumerate(p.get("authors") or [])
        ],
        "fields_of_study": [f for f in (p.get("fieldsOfStudy") or []) if isinstance(f, str)],
        "publication_types": list(p.get("publicationTypes") or []),
    }


def author_record(a: dict[str, Any]) -> dict[str, Any]:
    author_id = a.get("authorId")
    if not author_id:
        raise ValueError("author without an authorId")
    ext = a.get("externalIds") or {}
    orcid = ext.get("ORCID")
    return {
        "author_id": author_id,
        "name": a.get("name"),
        "aliases": list(a.get("aliases") or []),
        "affiliations": list(a.get("affiliations") or []),
        "paper_count": whole(a.get("paperCount"), "paperCount"),
        "citation_count": whole(a.get("citationCount"), "citationCount"),
        "h_index": whole(a.get("hIndex"), "hIndex"),
        "orcid": orcid if isinstance(orcid, str) else None,
    }


def _unwrap(item: Any) -> Any:
    """`/citations` and `/references` items wrap the paper in `citingPaper`/`citedPaper`."""
    if isinstance(item, dict):
        for wrapper in _WRAPPERS:
            if isinstance(item.get(wrapper), dict):
                return item[wrapper]
    return item


def _entity_of(item: dict[str, Any]) -> str:
    return "authors" if "authorId" in item and "paperId" not in item else "papers"


def _add(page: Page, item: Any, where: str, index: int, entity_hint: str = "unknown") -> None:
    item = _unwrap(item)
    if not isinstance(item, dict):
        reason = "id not found (null)" if item is None else "not a JSON object"
        key = item_key(where, index)
        page.quarantined.append(Quarantined.of(SLUG, entity_hint, key, reason, item))
        return
    entity = _entity_of(item)
    build = author_record if entity == "authors" else paper_record
    own_key = item.get("authorId" if entity == "authors" else "paperId")
    key = str(own_key) if own_key else item_key(where, index)
    try:
        page.add(entity, build(item))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        page.quarantined.append(Quarantined.of(SLUG, entity, key, str(exc), item))
        return
    if entity == "authors":
        papers = item.get("papers") or []
        for i, paper in enumerate(papers):
            _add(page, paper, f"{where} [author {key} papers]", i, "papers")


def parse_response(body: bytes, where: str, status: int = 200) -> Page:
    """Paper, author, list page (`data`), bulk page (`token`) or batch array -> records."""
    data = load_json(SLUG, body, where) if body.strip() else None
    if isinstance(data, dict) and ("error" in data or (status != 200 and "message" in data)):
        raise SourceError(SLUG, where, f"HTTP {status}: {data.get('error') or data.get('message')}")
    if status != 200:
        raise SourceError(SLUG, where, f"HTTP {status} from Semantic Scholar")
    page = Page()
    if isinstance(data, list):  # /paper/batch, /author/batch; unknown ids come back as null
        _refuse_foreign(data, where)
        _add_all(page, data, where)
    elif isinstance(data, dict) and isinstance(data.get("data"), list):
        page.total = data.get("total")
        nxt = data.get("token") or data.get("next")
        page.next_token = str(nxt) if nxt is not None else None
        _add_all(page, data["data"], where)
    elif isinstance(data, dict) and ("paperId" in data or "authorId" in data):
        _add(page, data, where, 0)
    elif isinstance(data, dict) and data.get("total") == 0 and set(data) <= _EMPTY_KEYS:
        # a search with no hits answers {"total": 0, "offset": 0}, without `data`
        page.total = 0
    else:
        raise SourceError(SLUG, where, "JSON is not a Semantic Scholar paper, author or list")
    return page


def _refuse_foreign(items: list[Any], where: str) -> None:
    """A JSON array none of whose objects is a paper or author (another source's list, e.g.
    Hugging Face daily papers) is not a Semantic Scholar batch: refused, not quarantined item by
    item. Nulls alone are a batch of unknown ids."""
    objects = [x for x in map(_unwrap, items) if isinstance(x, dict)]
    if objects and not any("paperId" in x or "authorId" in x for x in objects):
        keys = sorted({k for x in objects[:5] for k in x})[:6]
        raise SourceError(
            SLUG,
            where,
            "JSON array is not a Semantic Scholar batch: no item has a paperId or authorId "
            f"(item keys: {', '.join(keys)})",
        )


def _add_all(page: Page, items: list[Any], where: str) -> None:
    """A list or batch is of one kind: a null (unknown id in a batch) or a non-object item is
    quarantined under the kind of its neighbours, or of the endpoint."""
    kinds = {_entity_of(x) for x in map(_unwrap, items) if isinstance(x, dict)}
    if len(kinds) == 1:
        hint = kinds.pop()
    elif "/author/batch" in where or "/author/search" in where:
        hint = "authors"
    elif "/paper" in where:
        hint = "papers"
    else:
        hint = "unknown"
    for i, item in enumerate(items):
        _add(page, item, where, i, hint)


def _headers() -> dict[str, str]:
    key = settings.secret(SLUG)
    return {"x-api-key": key} if key else {}


def _get(client: HttpClient, path: str, **params: str | int) -> tuple[FetchedResponse, Page]:
    resp = client.get(SLUG, f"{API}{path}", params=params, headers=_headers())
    return resp, parse_response(resp.body, f"GET {resp.url}", resp.status)


def _offset_list(client: HttpClient, path: str, cap: int, **params: str | int) -> Iterator[Fetched]:
    offset = 0
    while offset < cap:
        resp, page = _get(client, path, offset=offset, limit=min(PAGE_SIZE, cap - offset), **params)
        yield Fetched(resp, page)
        if page.next_token is None or page.count() + len(page.quarantined) == 0:
            return
        offset = int(page.next_token)


def _bulk(client: HttpClient, cap: int, **params: str | int) -> Iterator[Fetched]:
    token: str | None = None
    seen = 0
    while seen < cap:
        extra = {"token": token} if token else {}
        resp, page = _get(client, "/paper/search/bulk", **params, **extra)
        yield Fetched(resp, page)
        seen += page.count()
        token = page.next_token
        if not token or page.count() == 0:
            return


def _resolve_author(client: HttpClient, r: Researcher) -> Iterator[Fetched]:
    if r.semantic_scholar_id:
        resp, page = _get(client, f"/author/{r.semantic_scholar_id}", fields=AUTHOR_FIELDS)
    else:
        resp, page = _get(client, "/author/search", query=r.name, fields=AUTHOR_FIELDS, limit=10)
        wanted = {n.casefold() for n in r.all_names}
        matches = [
            a for a in page.records.get("authors", []) if (a["name"] or "").casefold() in wanted
        ]
        if not matches:
            raise SourceError(
                SLUG, f"GET {resp.url}", f"no author named {r.name!r}; set semantic_scholar_id"
            )
        # the most prolific namesake is the likeliest; an explicit id in the watchlist settles it
        page.records["authors"] = sorted(matches, key=lambda a: -(a["paper_count"] or 0))[:1]
    yield Fetched(resp, page)


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    report = FetchReport(SLUG)
    for r in watchlist.researchers:
        author_id = report.collect_one(_resolve_author(client, r), "authors", "author_id")
        if author_id is None:  # lookup failed or its record was quarantined: both are reported
            continue
        report.collect(
            _offset_list(client, f"/author/{author_id}/papers", 10_000, fields=PAPER_FIELDS)
        )
    since = watchlist.sources.since_year
    for t in watchlist.topics:
        query = " | ".join(f'"{k}"' for k in t.keywords)
        report.collect(
            _bulk(
                client,
                watchlist.sources.max_topic_results,
                query=query,
                fields=PAPER_FIELDS,
                year=f"{since}-",
                sort="citationCount:desc",
            )
        )
    return report

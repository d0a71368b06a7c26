"""Semantic Scholar source: parser conformance on genuine recorded payloads, quarantine, and the
live code (offset and token paging, x-api-key, 429 + Retry-After) driven through
httpx.MockTransport serving recorded payloads."""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    documented,
    documented_status,
    fixture_bytes,
    needs_shared,
    shared_files,
    source_watchlist,
)

from flows.http import HttpClient
from flows.sources import semantic_scholar as s2
from flows.sources.base import FetchReport, SourceError

SLUG = "semantic_scholar"
FILES = shared_files(SLUG)
_DOI = "paperqa__api.semanticscholar.org_graph_v1_paper_DOI_"
CHEMCROW = _DOI + "10.1038_s42256-024-00832-8_fields_authors_citat.json"
PAPERQA = _DOI + "10.48550_arxiv.2312.07559_fields_authors_citati.json"
NOT_FOUND_DOI = _DOI + "10.1101_2024.04.01.587366_fields_authors_citati.json"
REACTIONS = _DOI + "10.1007_s40278-023-41815-2_fields_authors_citat.json"
MATCH = "paperqa__api.semanticscholar.org_graph_v1_paper_search_match_query_Augmenting_large_language_models.json"
AUTHOR = "s2py__Author_2262347_with_papers.json"
PAPER_FULL = "s2py__Paper_full_with_1000_citations.json"
AUTHOR_PAPERS = "s2py__author_1723755_papers_fields_title_offset_0_limit_100.json"
AUTHOR_BATCH = "s2py__author_batch_fields_name.json"
AUTHOR_SEARCH = "s2py__author_search_query_turing_fields_name_offset_0_limit_100.json"
NOT_FOUND = "s2py__error_404_paper_not_found.json"
CITATIONS = "s2py__paper_CorpusID_14514057_citations_fields_title_offset_0_limit_100.json"
BULK = "s2py__paper_search_bulk_query_kubernetes_fields_title_offset_0_limit_100.json"
SEARCH = "s2py__paper_search_query_turing_fields_title_offset_0_limit_100.json"

SECRET = "s2-test-key-7a3b9c2e"
EMAIL = "team@example.org"
API = "/graph/v1"


def payload(name: str) -> bytes:
    return fixture_bytes(SLUG, name)


def data(name: str) -> Any:
    return json.loads(payload(name))


DOCS = documented(SLUG)


def recorded_status(name: str) -> int:
    return documented_status(DOCS, name)


def unwrap(item: dict[str, Any]) -> dict[str, Any]:
    return item.get("citingPaper") or item.get("citedPaper") or item


def all_records(page: s2.Page) -> list[dict[str, Any]]:
    return [r for records in page.records.values() for r in records]


# ---------------------------------------------------------------- every recorded payload


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert FILES, "no recorded Semantic Scholar payloads found"
    assert {p.name for p in FILES} <= set(DOCS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:80])
def test_every_recorded_payload_parses_or_raises(path: Path) -> None:
    body = path.read_bytes()
    status = recorded_status(path.name)
    where = f"GET recorded:{path.name}"
    raw = json.loads(body)
    if status != 200:
        for as_status in (status, 200):  # fetched, or imported from a file
            with pytest.raises(SourceError) as info:
                s2.parse_response(body, where, as_status)
            assert info.value.source == SLUG
            assert str(info.value).startswith("[semantic_scholar] ") and where in str(info.value)
            assert raw["error"] in str(info.value)
        return
    page = s2.parse_response(body, where, status)
    assert page.quarantined == []
    shape = DOCS[path.name]["shape"]
    if m := re.match(r"data=(\d+) total=(\w+) offset=\w+ next=(\w+) token=(yes|no)", shape):
        items = [unwrap(i) for i in raw["data"]]
        assert page.count() == int(m.group(1)) == len(items)
        assert page.total == (None if m.group(2) == "None" else int(m.group(2)))
        if m.group(4) == "yes":
            assert page.next_token == raw["token"] and page.next_token
        else:
            assert page.next_token == (None if m.group(3) == "None" else m.group(3))
    elif m := re.match(r"array len=(\d+)", shape):
        items = raw
        assert page.count() + len(page.quarantined) == int(m.group(1))
    else:
        assert shape.startswith("keys=")
        items = [raw, *raw.get("papers", [])]
        assert page.total is None and page.next_token is None
    records = all_records(page)
    assert len(records) == len(items)
    for item, record in zip(items, records, strict=True):
        if "paperId" in item:
            assert (record["paper_id"], record["title"]) == (item["paperId"], item["title"])
        else:
            assert (record["author_id"], record["name"]) == (item["authorId"], item["name"])


def test_paper_by_doi_values() -> None:
    (p,) = s2.parse_response(payload(CHEMCROW), "chemcrow").records["papers"]
    assert p["paper_id"] == "354dcdebf3f8b5feeed5c62090e0bc1f0c28db06"
    assert p["doi"] == "10.1038/s42256-024-00832-8"
    assert (p["arxiv_id"], p["corpus_id"], p["dblp_key"]) == (
        "2304.05376",
        258059792,
        "journals/natmi/BranCSBWS24",
    )
    assert p["title"] == "Augmenting large language models with chemistry tools"
    assert (p["citation_count"], p["influential_citation_count"]) == (500, 20)
    assert (p["year"], p["publication_date"], p["venue"]) == (
        2023,
        date(2023, 4, 11),
        "Nat. Mac. Intell.",
    )
    assert p["authors"][:2] == [
        {"position": 0, "author_id": "2216007369", "name": "Andrés M Bran"},
        {"position": 1, "author_id": "2161337138", "name": "Sam Cox"},
    ]
    assert p["publication_types"] == ["JournalArticle"]


def test_mixed_case_datacite_doi_is_kept_as_sent() -> None:
    (p,) = s2.parse_response(payload(PAPERQA), "pqa").records["papers"]
    assert (p["doi"], p["arxiv_id"], p["citation_count"]) == (
        "10.48550/arXiv.2312.07559",
        "2312.07559",
        111,
    )
    assert [a["name"] for a in p["authors"]][:2] == ["Jakub L'ala", "Odhran O'Donoghue"]


def test_paper_without_authors_and_with_journal_venue() -> None:
    (p,) = s2.parse_response(payload(REACTIONS), "r").records["papers"]
    assert p["authors"] == [] and p["venue"] == "Reactions weekly" and p["year"] == 2023


def test_title_match_list() -> None:
    page = s2.parse_response(payload(MATCH), "match")
    (p,) = page.records["papers"]
    assert (
        p["paper_id"] == "354dcdebf3f8b5feeed5c62090e0bc1f0c28db06" and p["citation_count"] == 488
    )


def test_full_paper_is_one_record() -> None:
    page = s2.parse_response(payload(PAPER_FULL), "full")
    (p,) = page.records["papers"]  # the embedded citations/references lists are not loaded
    assert p["title"] == "Computing Machinery and Intelligence"
    assert (p["doi"], p["year"], p["citation_count"]) == ("10.1093/MIND/LIX.236.433", 1950, 10059)
    assert p["fields_of_study"] == ["Computer Science", "Sociology"]
    assert p["dblp_key"] == "journals/x/Turing50" and p["corpus_id"] == 14636783


def test_author_with_papers() -> None:
    page = s2.parse_response(payload(AUTHOR), "author")
    (a,) = page.records["authors"]
    assert (a["author_id"], a["name"]) == ("2262347", "A. Turing")
    assert (a["paper_count"], a["citation_count"], a["h_index"]) == (60, 12415, 23)
    assert a["orcid"] is None  # externalIds has DBLP (a list) only
    assert len(page.records["papers"]) == 60
    assert page.records["papers"][0]["title"] == "Dystopian or Utopian? Two Images of Alan Turing"


def test_list_pages_and_paging_hints() -> None:
    papers = s2.parse_response(payload(AUTHOR_PAPERS), "papers")
    assert (papers.count(), papers.total, papers.next_token) == (100, None, "100")
    assert (
        papers.records["papers"][0]["title"]
        == "SARS-CoV-2 hijacks p38β/MAPK11 to promote virus replication"
    )
    search = s2.parse_response(payload(SEARCH), "search")
    assert (search.total, search.next_token) == (70499, "100")
    authors = s2.parse_response(payload(AUTHOR_SEARCH), "authors")
    assert (authors.count(), authors.total, authors.next_token) == (59, 59, None)
    assert authors.records["authors"][0] == {
        "author_id": "2262347",
        "name": "A. Turing",
        "aliases": [],
        "affiliations": [],
        "paper_count": None,
        "citation_count": None,
        "h_index": None,
        "orcid": None,
    }


def test_bulk_page_token() -> None:
    page = s2.parse_response(payload(BULK), "bulk")
    assert page.total == 2674 and page.count() == 1000
    assert page.next_token == data(BULK)["token"] and page.next_token.startswith("PCOKWVSKJJ")
    assert page.records["papers"][0]["paper_id"] == "0018ce3db8f9957b520d6b7e0cec84abfa230e1c"


def test_citations_are_unwrapped_from_citing_paper() -> None:
    page = s2.parse_response(payload(CITATIONS), "citations")
    assert page.count() == 100 and page.next_token == "100"
    first = page.records["papers"][0]
    assert first["paper_id"] == "344e7fb2000d9063cbc9deb550e46946bafe3c90"
    assert first["title"].startswith("We’ve got you covered!")
    assert [p["paper_id"] for p in page.records["papers"]] == [
        i["citingPaper"]["paperId"] for i in data(CITATIONS)["data"]
    ]


def test_references_are_unwrapped_from_cited_paper() -> None:
    raw = {
        "offset": 0,
        "data": [{"citedPaper": i["citingPaper"]} for i in data(CITATIONS)["data"][:3]],
    }
    page = s2.parse_response(json.dumps(raw).encode(), "refs")
    assert [p["paper_id"] for p in page.records["papers"]] == [
        i["citingPaper"]["paperId"] for i in data(CITATIONS)["data"][:3]
    ]
    assert page.next_token is None


def test_author_batch() -> None:
    page = s2.parse_response(payload(AUTHOR_BATCH), "batch")
    assert [(a["author_id"], a["name"]) for a in page.records["authors"]] == [
        ("3234559", "E. Dijkstra"),
        ("1726629", "D. Parnas"),
        ("1711844", "I. Sommerville"),
    ]


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        (NOT_FOUND, 404, "HTTP 404: Paper with id 0 not found"),
        (NOT_FOUND_DOI, 404, "HTTP 404: Paper with id DOI:10.1101/2024.04.01.587366 not found"),
    ],
)
def test_404_json_names_source_request_and_error(name: str, status: int, message: str) -> None:
    where = "GET https://api.semanticscholar.org/graph/v1/paper/0?fields=title"
    with pytest.raises(SourceError) as info:
        s2.parse_response(payload(name), where, status)
    assert str(info.value) == f"[semantic_scholar] {message} ({where})"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            b'{"message": "Too Many Requests. Please wait and try again"}',
            429,
            "HTTP 429: Too Many Requests",
        ),
        (b'{"message": "Forbidden"}', 403, "HTTP 403: Forbidden"),
        (b"", 500, "HTTP 500 from Semantic Scholar"),
        (b"<html>Bad gateway</html>", 200, "not JSON"),
        (b'{"foo": 1}', 200, "not a Semantic Scholar paper, author or list"),
    ],
)
def test_error_and_unknown_payloads_raise(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(SourceError, match=re.escape(fragment)) as info:
        s2.parse_response(body, "GET here", status)
    assert "(GET here)" in str(info.value)


# ---------------------------------------------------------------- quarantine


def test_batch_null_is_quarantined_not_dropped() -> None:
    raw = data(AUTHOR_BATCH)
    raw.insert(1, None)
    where = "POST https://api.semanticscholar.org/graph/v1/author/batch?fields=name"
    page = s2.parse_response(json.dumps(raw).encode(), where)
    assert [a["name"] for a in page.records["authors"]] == [
        "E. Dijkstra",
        "D. Parnas",
        "I. Sommerville",
    ]
    (q,) = page.quarantined
    assert (q.source, q.entity, q.reason) == ("semantic_scholar", "authors", "id not found (null)")
    assert q.record_key == f"{where} [item 1]"


def test_batch_of_nulls_only_is_quarantined_under_the_endpoint_entity() -> None:
    where = "POST https://api.semanticscholar.org/graph/v1/author/batch?fields=name"
    page = s2.parse_response(b"[null, null]", where)
    assert page.count() == 0
    assert [q.entity for q in page.quarantined] == ["authors", "authors"]
    assert len({q.record_key for q in page.quarantined}) == 2


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.pop("paperId"), "paper without a paperId"),
        (lambda p: p.update(paperId=None), "paper without a paperId"),
        # no title is kept when a DOI or arXiv id identifies the paper; without either, not
        (lambda p: p.update(title="", externalIds={}), "paper without a title, DOI or arXiv id"),
        (lambda p: p.update(publicationDate="not a date"), "Invalid isoformat string"),
        (lambda p: p.update(authors=[None]), "'NoneType' object has no attribute 'get'"),
        # numbers are never coerced: 12.5, true and "12" were stored as 12, 1 and 12
        (lambda p: p.update(citationCount=12.5), "citationCount is not a whole number: 12.5"),
        (lambda p: p.update(citationCount=True), "citationCount is not a whole number: True"),
        (lambda p: p.update(citationCount="12"), "citationCount is not a whole number: '12'"),
        (lambda p: p.update(year="2020"), "year is not a whole number: '2020'"),
        # a nested-array title was stored as its Python repr
        (lambda p: p.update(title=[["A", "title"]]), "title is not text: [['A', 'title']]"),
    ],
    ids=[
        "no-paperId",
        "null-paperId",
        "no-title-no-ids",
        "bad-date",
        "null-author",
        "float-count",
        "bool-count",
        "string-count",
        "string-year",
        "nested-title",
    ],
)
def test_malformed_paper_in_a_valid_page_is_quarantined(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    raw = data(AUTHOR)  # an author with 60 papers
    mutate(raw["papers"][3])
    page = s2.parse_response(json.dumps(raw).encode(), "GET author")
    assert len(page.records["papers"]) == 59 and len(page.records["authors"]) == 1
    (q,) = page.quarantined
    assert (q.source, q.entity) == ("semantic_scholar", "papers")
    assert reason in q.reason
    assert q.record_key in (
        data(AUTHOR)["papers"][3]["paperId"],
        "GET author [author 2262347 papers] [item 3]",
    )
    assert json.loads(q.payload)["title"] == raw["papers"][3]["title"]


def test_a_paper_without_title_is_kept_by_its_doi() -> None:
    raw = data(AUTHOR)
    paper = next(p for p in raw["papers"] if (p.get("externalIds") or {}).get("DOI"))
    paper["title"] = ""
    page = s2.parse_response(json.dumps(raw).encode(), "GET author")
    (kept,) = [r for r in page.records["papers"] if r["paper_id"] == paper["paperId"]]
    assert kept["title"] is None and kept["doi"] == paper["externalIds"]["DOI"]
    assert page.quarantined == []


def test_the_real_empty_search_answer_is_an_empty_page() -> None:
    """GET /paper/search with no hits answers {"total": 0, "offset": 0} (no `data`), as
    captured by danielnsilva/semanticscholar (tests/data/test_empty_paginated_results.yaml)."""
    page = s2.parse_response(b'{"total": 0, "offset": 0}', "GET search")
    assert page.count() == 0 and page.quarantined == [] and page.total == 0
    assert page.next_token is None


def test_another_sources_array_is_refused_naming_the_file() -> None:
    body = fixture_bytes("hf_papers", "sotawhat__daily_papers_2026-06-12.json")
    with pytest.raises(SourceError, match="not a Semantic Scholar batch") as info:
        s2.parse_response(body, "daily_papers.json")
    assert info.value.where == "daily_papers.json"


def test_papers_without_id_in_a_list_get_distinct_keys() -> None:
    raw = data(CITATIONS)
    raw["data"][5]["citingPaper"]["paperId"] = None  # S2 does answer citing papers without an id
    raw["data"][7]["citingPaper"]["paperId"] = None
    where = (
        "GET https://api.semanticscholar.org/graph/v1/paper/CorpusID:14514057/citations?offset=0"
    )
    page = s2.parse_response(json.dumps(raw).encode(), where)
    assert page.count() == 98
    assert [q.record_key for q in page.quarantined] == [f"{where} [item 5]", f"{where} [item 7]"]
    assert all(
        q.entity == "papers" and q.reason == "paper without a paperId" for q in page.quarantined
    )


def test_author_without_id_in_a_batch_is_quarantined() -> None:
    raw = data(AUTHOR_BATCH)
    raw[2]["authorId"] = None
    page = s2.parse_response(json.dumps(raw).encode(), "POST batch")
    assert page.count() == 2
    (q,) = page.quarantined
    assert (q.entity, q.reason, q.record_key) == (
        "authors",
        "author without an authorId",
        "POST batch [item 2]",
    )
    assert "I. Sommerville" in q.payload


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: `route(request)` answers; every request is kept."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response | bytes]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "api.semanticscholar.org"
        answer = self.route(request)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        return answer

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix(API) for r in self.requests]


@pytest.fixture
def client_for() -> Iterator[Callable[..., tuple[HttpClient, list[float]]]]:
    clients: list[HttpClient] = []

    def make(server: Server, **options: Any) -> tuple[HttpClient, list[float]]:
        sleeps: list[float] = []
        client = HttpClient(
            EMAIL,
            transport=httpx.MockTransport(server),
            intervals={},
            sleep=sleeps.append,
            **options,
        )
        clients.append(client)
        return client, sleeps

    yield make
    for c in clients:
        c.close()


ClientFor = Callable[..., tuple[HttpClient, list[float]]]


make_watchlist = functools.partial(source_watchlist, SLUG)


def author_entity() -> bytes:
    """The recorded author as /author/{id}?fields=AUTHOR_FIELDS answers it (no papers)."""
    raw = data(AUTHOR)
    raw.pop("papers")
    return json.dumps(raw).encode()


def last_papers_page() -> bytes:
    """Second and last page of /author/{id}/papers: recorded papers, offset 100, no `next`."""
    raw = data(AUTHOR_PAPERS)
    return json.dumps({"offset": 100, "data": raw["data"][:40]}).encode()


def researcher_route(request: httpx.Request) -> httpx.Response | bytes:
    path, params = request.url.path.removeprefix(API), request.url.params
    if path == "/author/2262347":
        return author_entity()
    if path == "/author/2262347/papers" and params["offset"] == "0":
        return payload(AUTHOR_PAPERS)
    if path == "/author/2262347/papers" and params["offset"] == "100":
        return last_papers_page()
    raise AssertionError(f"unexpected request {request.url}")


TURING = {"name": "A. Turing", "semantic_scholar_id": "2262347"}


def paper_ids(report: FetchReport) -> list[str]:
    return [p["paper_id"] for f in report for p in f.page.records.get("papers", [])]


def test_offset_paging_follows_next_until_absent(no_secrets: None, client_for: ClientFor) -> None:
    server = Server(researcher_route)
    client, _ = client_for(server)
    report = s2.fetch(client, make_watchlist([TURING]))
    assert report.errors == []
    assert server.paths() == ["/author/2262347", "/author/2262347/papers", "/author/2262347/papers"]
    assert server.requests[0].url.params["fields"] == s2.AUTHOR_FIELDS
    lists = server.requests[1:]
    assert [(r.url.params["offset"], r.url.params["limit"]) for r in lists] == [
        ("0", "100"),
        ("100", "100"),
    ]
    assert all(r.url.params["fields"] == s2.PAPER_FIELDS for r in lists)
    expected = [p["paperId"] for p in data(AUTHOR_PAPERS)["data"]] + [
        p["paperId"] for p in data(AUTHOR_PAPERS)["data"][:40]
    ]
    assert paper_ids(report) == expected
    assert all("x-api-key" not in r.headers for r in server.requests)


def test_bulk_search_follows_the_token(no_secrets: None, client_for: ClientFor) -> None:
    token = data(BULK)["token"]
    second = json.dumps(
        {"total": 2674, "data": data(BULK)["data"][:5]}
    ).encode()  # last page: no token

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/paper/search/bulk":
            return payload(BULK) if "token" not in request.url.params else second
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server)
    wl = make_watchlist(
        [TURING],
        [{"name": "K8s", "keywords": ["kubernetes", "container orchestration"]}],
        max_topic_results=5000,
        since_year=2019,
    )
    report = s2.fetch(client, wl)
    assert report.errors == []
    bulk = [r for r in server.requests if r.url.path.endswith("/paper/search/bulk")]
    assert [r.url.params.get("token") for r in bulk] == [None, token]
    for r in bulk:
        assert r.url.params["query"] == '"kubernetes" | "container orchestration"'
        assert (r.url.params["year"], r.url.params["sort"]) == ("2019-", "citationCount:desc")
        assert r.url.params["fields"] == s2.PAPER_FIELDS
    bulk_pages = report.items[-2:]
    assert [f.page.count() for f in bulk_pages] == [1000, 5]
    assert bulk_pages[-1].page.next_token is None


def test_bulk_search_stops_at_the_topic_cap(no_secrets: None, client_for: ClientFor) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/paper/search/bulk":
            assert "token" not in request.url.params, "asked for a second page beyond the cap"
            return payload(BULK)
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server)
    wl = make_watchlist(
        [TURING], [{"name": "K8s", "keywords": ["kubernetes"]}], max_topic_results=200
    )
    report = s2.fetch(client, wl)
    assert sum(r.url.path.endswith("/bulk") for r in server.requests) == 1
    assert report.errors == []


def test_api_key_header_on_the_wire_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, client_for: ClientFor
) -> None:
    monkeypatch.setenv("S2_API_KEY", SECRET)
    caplog.set_level(logging.WARNING, logger="httpx")  # as cli._setup_logging does
    caplog.set_level(logging.DEBUG)

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/author/404":
            return httpx.Response(404, content=payload(NOT_FOUND))
        if (
            request.url.path == f"{API}/author/2262347/papers"
            and request.url.params["offset"] == "100"
        ):
            return httpx.Response(
                429, json={"message": "Too Many Requests"}, headers={"Retry-After": "1"}
            )
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server, max_attempts=2)
    report = s2.fetch(
        client, make_watchlist([TURING, {"name": "Nobody", "semantic_scholar_id": "404"}])
    )
    assert server.requests and all(r.headers["x-api-key"] == SECRET for r in server.requests)
    assert all(SECRET not in str(r.url) for r in server.requests)
    assert len(report.errors) == 2
    assert "HTTP 429: Too Many Requests" in str(report.errors[0])
    assert "HTTP 404: Paper with id 0 not found" in str(report.errors[1])
    for err in report.errors:
        assert SECRET not in str(err) and err.where.startswith(
            "GET https://api.semanticscholar.org/graph/v1/"
        )
    for f in report:
        assert SECRET not in f.response.url
    messages = [r.getMessage() for r in caplog.records]
    assert any("api.semanticscholar.org" in m for m in messages) and any(
        "retry" in m for m in messages
    )
    assert all(SECRET not in m for m in messages)
    assert SECRET not in caplog.text


def test_429_then_200_honours_retry_after(no_secrets: None, client_for: ClientFor) -> None:
    answers = [
        httpx.Response(
            429,
            json={"message": "Too Many Requests. Please wait and try again"},
            headers={"Retry-After": "7"},
        ),
    ]

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/author/2262347" and answers:
            return answers.pop(0)
        return researcher_route(request)

    server = Server(route)
    client, sleeps = client_for(server)
    report = s2.fetch(client, make_watchlist([TURING]))
    assert report.errors == []
    assert server.paths()[:2] == ["/author/2262347", "/author/2262347"]
    assert sleeps and sleeps[0] == 7.0  # the retry waited what Retry-After asked
    assert client.requests_made["semantic_scholar"] == 4
    assert report.items[0].response.status == 200
    assert report.items[0].page.records["authors"][0]["author_id"] == "2262347"


def test_429_until_retries_are_exhausted_is_an_error(
    no_secrets: None, client_for: ClientFor
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        return httpx.Response(
            429, json={"message": "Too Many Requests"}, headers={"Retry-After": "3"}
        )

    server = Server(route)
    client, sleeps = client_for(server, max_attempts=3)
    report = s2.fetch(client, make_watchlist([TURING]))
    assert len(server.requests) == 3
    assert sleeps[0] == 3.0
    (err,) = report.errors
    assert "HTTP 429: Too Many Requests" in str(err) and "/author/2262347" in err.where


def search_page(*authors: tuple[str, str, int | None]) -> bytes:
    data_ = [{"authorId": i, "name": n, "paperCount": c} for i, n, c in authors]
    return json.dumps({"total": len(data_), "offset": 0, "data": data_}).encode()


def test_author_resolution_by_search_picks_the_most_prolific_namesake(
    no_secrets: None, client_for: ClientFor
) -> None:
    recorded = data(AUTHOR_SEARCH)["data"]
    counts = {"2262347": 60, "2079681806": 3}
    results = [(a["authorId"], a["name"], counts.get(a["authorId"], 1)) for a in recorded]

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/author/search":
            return search_page(*results)
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server)
    report = s2.fetch(client, make_watchlist([{"name": "Alan Turing", "aliases": ["A. Turing"]}]))
    search = server.requests[0]
    assert (search.url.params["query"], search.url.params["limit"]) == ("Alan Turing", "10")
    assert search.url.params["fields"] == s2.AUTHOR_FIELDS
    (author,) = report.items[0].page.records["authors"]
    assert author["author_id"] == "2262347"
    assert server.paths()[1] == "/author/2262347/papers"
    assert report.errors == []


def test_author_resolution_by_search_without_a_match_is_a_clear_error(
    no_secrets: None, client_for: ClientFor
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/author/search":
            return payload(AUTHOR_SEARCH)
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server)
    report = s2.fetch(client, make_watchlist([{"name": "Zhaoyuan Su"}, TURING]))
    (err,) = report.errors
    assert str(err).startswith(
        "[semantic_scholar] no author named 'Zhaoyuan Su'; set semantic_scholar_id"
    )
    assert "/author/search?" in err.where and "query=Zhaoyuan+Su" in err.where
    assert server.paths()[1] == "/author/2262347"  # the next researcher still ran
    assert report.items[-1].page.count() == 40


def test_author_that_is_quarantined_does_not_stop_the_fetch(
    no_secrets: None, client_for: ClientFor
) -> None:
    broken = copy.deepcopy(data(AUTHOR))
    broken.pop("papers")
    broken["authorId"] = None

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == f"{API}/author/999":
            return json.dumps(broken).encode()
        return researcher_route(request)

    server = Server(route)
    client, _ = client_for(server)
    report = s2.fetch(
        client, make_watchlist([{"name": "Broken", "semantic_scholar_id": "999"}, TURING])
    )
    assert report.errors == []
    assert report.items[0].page.quarantined[0].reason == "author without an authorId"
    assert server.paths() == [
        "/author/999",
        "/author/2262347",
        "/author/2262347/papers",
        "/author/2262347/papers",
    ]

"""OpenAlex source: parser conformance on genuine recorded payloads, arXiv id extraction,
quarantine, and the live code (cursor paging, author resolution, api_key redaction) driven
through httpx.MockTransport serving recorded payloads."""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
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
from flows.sources import openalex
from flows.sources.base import FetchReport, SourceError

SLUG = "openalex"
FILES = shared_files(SLUG)
AUTHOR = "bvitamins__author_A5023888391.json"
TOPIC = "bvitamins__topic_T11636.json"
WORK = "bvitamins__work_W2741809807.json"
CHEM = "paperqa__api.openalex.org_works_filter_title.search_3AAugmenting_large_language_models_with_chemist.json"
OXIDE = "paperqa__api.openalex.org_works_filter_title.search_3AEffect_of_native_oxide_layers_on_copper_thin-.json"
PAPERQA = "paperqa__api.openalex.org_works_filter_title.search_3APaperQA_3A_Retrieval-Augmented_Generative_Age.json"
BY_DOI = "paperqa__api.openalex.org_works_https_doi.org_10.1016_2Fj.xgen.2025.100814.json"
NOT_FOUND = "paperqa__openalex_404_unknown_doi.html"

SECRET = "oa-test-key-5c1f0e9d"
EMAIL = "team@example.org"


def payload(name: str) -> bytes:
    return fixture_bytes(SLUG, name)


def data(name: str) -> Any:
    return json.loads(payload(name))


DOCS = documented(SLUG)


def recorded_status(name: str) -> int:
    return documented_status(DOCS, name)


def short(url: str) -> str:
    return url.rsplit("/", 1)[1]


# ---------------------------------------------------------------- every recorded payload


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert FILES, "no recorded OpenAlex payloads found"
    assert {p.name for p in FILES} <= set(DOCS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:70])
def test_every_recorded_payload_parses_or_raises(path: Path) -> None:
    body = path.read_bytes()
    status = recorded_status(path.name)
    where = f"GET recorded:{path.name}"
    if status != 200:
        for as_status in (status, 200):  # fetched, or imported from a file
            with pytest.raises(SourceError) as info:
                openalex.parse_response(body, where, as_status)
            assert info.value.source == SLUG
            assert str(info.value).startswith("[openalex] ") and where in str(info.value)
        return
    page = openalex.parse_response(body, where, status)
    assert page.quarantined == []
    raw = json.loads(body)
    items = raw.get("results", [raw])
    shape = DOCS[path.name]["shape"]
    if m := re.match(r"results=(\d+) meta=\{'count': (\d+)", shape):
        assert page.count() == int(m.group(1))
        assert page.total == int(m.group(2))
        assert page.next_token is None  # page-based recordings: no cursor
    else:
        assert shape.startswith("keys=id,") and page.count() == 1 and page.total is None
    entity = {"W": "works", "A": "authors", "T": "topics"}
    for item in items:
        sid = short(item["id"])
        (record,) = [r for r in page.records[entity[sid[0]]] if sid in r.values()]
        assert record["display_name" if sid[0] != "W" else "title"] == item["display_name"]
        assert record["cited_by_count"] == item["cited_by_count"]
        if sid[0] == "W":
            assert record["doi"] == item["doi"]
            assert record["publication_year"] == item["publication_year"]
            assert [a["author_id"] for a in record["authorships"]] == [
                short(a["author"]["id"]) for a in item["authorships"]
            ]


def test_work_entity_values() -> None:
    (w,) = openalex.parse_response(payload(WORK), "w").records["works"]
    assert w["work_id"] == "W2741809807"
    assert w["doi"] == "https://doi.org/10.7717/peerj.4375"
    assert w["title"].startswith("The state of OA: a large-scale analysis")
    assert (w["publication_year"], w["publication_date"]) == (2018, date(2018, 2, 13))
    assert (w["type"], w["venue"], w["cited_by_count"]) == ("article", "PeerJ", 962)
    assert w["arxiv_id"] is None
    assert w["is_retracted"] is False
    assert w["counts_by_year"][:2] == [
        {"year": 2025, "cited_by_count": 30},
        {"year": 2024, "cited_by_count": 118},
    ]
    assert len(w["authorships"]) == 9
    first, second = w["authorships"][:2]
    assert first == {
        "position": 0,
        "author_id": "A5048491430",
        "display_name": "Heather Piwowar",
        "raw_author_name": "Heather Piwowar",
        "orcid": "0000-0003-1613-5981",
        "institutions": ["Impact Technology Development (United States)"],
    }
    assert (second["author_id"], second["display_name"]) == ("A5023888391", "Jason Priem")
    assert w["topics"][0]["topic_id"] == "T10102"
    assert w["updated_at"] == datetime(2025, 6, 11, 0, 3, 37, 532706, tzinfo=UTC)


def test_author_entity_values() -> None:
    (a,) = openalex.parse_response(payload(AUTHOR), "a").records["authors"]
    assert a["author_id"] == "A5023888391"
    assert a["display_name"] == "Jason Priem"
    assert a["orcid"] == "0000-0001-6187-6610"
    assert (a["works_count"], a["cited_by_count"], a["h_index"], a["i10_index"]) == (
        62,
        3890,
        17,
        20,
    )
    assert len(a["counts_by_year"]) == 14
    assert a["counts_by_year"][0] == {"year": 2025, "works_count": 0, "cited_by_count": 80}
    assert a["last_known_institution"] == "OurResearch"
    assert "Priem Jason" in a["display_name_alternatives"]


def test_topic_entity_values() -> None:
    (t,) = openalex.parse_response(payload(TOPIC), "t").records["topics"]
    assert t == {
        "topic_id": "T11636",
        "display_name": "Artificial Intelligence in Healthcare and Education",
        "subfield": "Health Informatics",
        "field": "Medicine",
        "domain": "Health Sciences",
        "works_count": 42324,
        "cited_by_count": 469365,
    }


def test_title_search_lists() -> None:
    chem = openalex.parse_response(payload(CHEM), "chem")
    assert chem.total == 2
    journal, preprint = chem.records["works"]
    assert (journal["work_id"], journal["doi"]) == (
        "W4396723768",
        "https://doi.org/10.1038/s42256-024-00832-8",
    )
    assert journal["venue"] == "Nature Machine Intelligence" and journal["arxiv_id"] is None
    assert (preprint["work_id"], preprint["type"], preprint["arxiv_id"]) == (
        "W4365597205",
        "preprint",
        "2304.05376",
    )
    (paperqa,) = openalex.parse_response(payload(PAPERQA), "pqa").records["works"]
    assert (paperqa["work_id"], paperqa["arxiv_id"]) == ("W4389761608", "2312.07559")
    assert paperqa["authorships"][0]["display_name"] == "Jakub Lála"
    assert paperqa["authorships"][0]["raw_author_name"] == "Lála, Jakub"
    (oxide,) = openalex.parse_response(payload(OXIDE), "ox").records["works"]
    assert (oxide["work_id"], oxide["doi"], oxide["cited_by_count"]) == (
        "W2277923667",
        "https://doi.org/10.1063/1.4938384",
        9,
    )


def test_work_by_doi() -> None:
    (w,) = openalex.parse_response(payload(BY_DOI), "doi").records["works"]
    assert (w["work_id"], w["venue"], w["publication_date"]) == (
        "W4408732759",
        "Cell Genomics",
        date(2025, 3, 1),
    )
    assert w["doi"] == "https://doi.org/10.1016/j.xgen.2025.100814"


def test_404_html_names_source_status_and_request() -> None:
    where = "GET https://api.openalex.org/works/https://doi.org/10.1046%2Fj.1365-2699.2003.00795"
    with pytest.raises(SourceError) as info:
        openalex.parse_response(payload(NOT_FOUND), where, 404)
    assert str(info.value) == f"[openalex] HTTP 404 from OpenAlex: HTML error page ({where})"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            b'{"error": "Invalid query parameters error.", "message": "x is not a valid field"}',
            403,
            "HTTP 403",
        ),
        (
            b'{"error": "Invalid query parameters error.", "message": "x is not a valid field"}',
            200,
            "x is not a",
        ),
        (b"Too many requests", 200, "not JSON"),
        (b"[1, 2]", 200, "neither an OpenAlex entity nor a result list"),
    ],
)
def test_error_and_non_entity_payloads_raise(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(SourceError, match=re.escape(fragment)) as info:
        openalex.parse_response(body, "GET there", status)
    assert str(info.value).startswith("[openalex] ") and "(GET there)" in str(info.value)


# ---------------------------------------------------------------- arXiv ids


def _preprint() -> dict[str, Any]:
    return copy.deepcopy(data(CHEM)["results"][1])  # W4365597205, ChemCrow on arXiv


def test_arxiv_id_from_datacite_doi() -> None:
    work = _preprint()
    work["locations"] = []
    assert work["doi"] == "https://doi.org/10.48550/arxiv.2304.05376"
    assert openalex.work_record(work)["arxiv_id"] == "2304.05376"


def test_arxiv_id_from_arxiv_location_when_doi_is_the_journal_one() -> None:
    work = _preprint()
    work["doi"] = "https://doi.org/10.1038/s42256-024-00832-8"
    assert openalex.work_record(work)["arxiv_id"] == "2304.05376"


def test_arxiv_id_from_datacite_location_alone() -> None:
    work = _preprint()
    work["doi"] = "https://doi.org/10.1038/s42256-024-00832-8"
    work["locations"] = [
        loc for loc in work["locations"] if "datacite" in (loc["landing_page_url"] or "")
    ]
    assert (
        work["locations"][0]["landing_page_url"]
        == "https://api.datacite.org/dois/10.48550/arxiv.2304.05376"
    )
    assert openalex.work_record(work)["arxiv_id"] == "2304.05376"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://arxiv.org/pdf/2304.05376v2.pdf", "2304.05376"),
        ("http://arxiv.org/abs/2304.05376v3", "2304.05376"),
        ("http://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
        ("https://doi.org/10.48550/arXiv.2312.07559", "2312.07559"),
        ("https://www.nature.com/articles/s42256-024-00832-8.pdf", None),
    ],
)
def test_arxiv_id_from_location_urls(url: str, expected: str | None) -> None:
    work = _preprint()
    work["doi"] = None
    work["locations"] = [{"landing_page_url": None, "pdf_url": url}]
    assert openalex.work_record(work)["arxiv_id"] == expected


def test_no_arxiv_id_for_a_journal_only_work() -> None:
    assert openalex.work_record(data(WORK))["arxiv_id"] is None


# ---------------------------------------------------------------- quarantine


def test_work_without_id_is_quarantined_not_dropped() -> None:
    raw = data(CHEM)
    del raw["results"][0]["id"]
    where = "GET https://api.openalex.org/works?filter=title.search%3Achem"
    page = openalex.parse_response(json.dumps(raw).encode(), where)
    assert [w["work_id"] for w in page.records["works"]] == ["W4365597205"]
    (q,) = page.quarantined
    assert (q.source, q.entity) == ("openalex", "works")
    assert q.record_key == f"{where} [item 0]"
    assert q.reason == "record without an OpenAlex id"
    assert "Augmenting large language models with chemistry tools" in q.payload


def test_two_works_without_id_get_distinct_keys() -> None:
    raw = data(CHEM)
    for item in raw["results"]:
        item["id"] = None
    page = openalex.parse_response(json.dumps(raw).encode(), "GET list")
    assert page.count() == 0
    assert len({q.record_key for q in page.quarantined}) == 2
    assert {q.entity for q in page.quarantined} == {"works"}


def test_entity_of_an_idless_record_comes_from_the_request_when_fields_do_not_tell() -> None:
    raw = {"meta": {"count": 1}, "results": [{"display_name": "?"}]}
    page = openalex.parse_response(
        json.dumps(raw).encode(), "GET https://api.openalex.org/authors?search=x"
    )
    (q,) = page.quarantined
    assert q.entity == "authors"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda w: w.update(counts_by_year=[{"cited_by_count": 3}]), "'year'"),
        (lambda w: w.update(display_name=[["A", "title"]]), "display_name is not text"),
        (lambda w: w.update(authorships=[None]), "'NoneType' object has no attribute 'get'"),
        (lambda w: w.update(id="https://openalex.org/X123"), "unrecognised OpenAlex id"),
        (lambda w: w.update(cited_by_count=12.5), "cited_by_count is not a whole number: 12.5"),
        (lambda w: w.update(cited_by_count="12"), "cited_by_count is not a whole number: '12'"),
        (lambda w: w.update(publication_year=True), "publication_year is not a whole number"),
    ],
    ids=[
        "counts-without-year",
        "nested-title",
        "null-authorship",
        "unknown-id-kind",
        "float-count",
        "string-count",
        "bool-year",
    ],
)
def test_malformed_work_in_a_valid_page_is_quarantined(
    mutate: Callable[[dict[str, Any]], None], reason: str
) -> None:
    raw = data(CHEM)
    mutate(raw["results"][0])
    page = openalex.parse_response(json.dumps(raw).encode(), "GET list")
    assert [w["work_id"] for w in page.records["works"]] == ["W4365597205"]
    (q,) = page.quarantined
    assert q.source == "openalex" and q.entity == "works"
    assert q.record_key in ("W4396723768", "X123")
    assert reason in q.reason
    assert json.loads(q.payload)["doi"] == "https://doi.org/10.1038/s42256-024-00832-8"


def test_a_work_without_title_is_kept_by_its_doi() -> None:
    """A real work with `title: ""` but a DOI, a journal and two authors was dropped (the real
    one is not among the recorded payloads; this is a recorded work with its title blanked)."""
    raw = data(CHEM)
    raw["results"][0].update(display_name="", title="")
    page = openalex.parse_response(json.dumps(raw).encode(), "GET list")
    kept = page.records["works"][0]
    assert (kept["work_id"], kept["title"]) == ("W4396723768", None)
    assert kept["doi"] == "https://doi.org/10.1038/s42256-024-00832-8"
    assert page.quarantined == []
    # without a title, DOI or arXiv id nothing identifies it: quarantined
    raw["results"][0].update(doi=None, locations=[], primary_location=None)
    page = openalex.parse_response(json.dumps(raw).encode(), "GET list")
    assert "work without a title, DOI or arXiv id" in page.quarantined[0].reason


def test_non_object_result_is_quarantined() -> None:
    raw = data(PAPERQA)
    raw["results"].append(None)
    page = openalex.parse_response(json.dumps(raw).encode(), "GET list")
    assert page.count() == 1
    (q,) = page.quarantined
    assert q.reason == "not a JSON object" and q.record_key == "GET list [item 1]"


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: `route(request)` answers; every request is kept."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response | bytes]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "api.openalex.org"
        answer = self.route(request)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        return answer

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


make_watchlist = functools.partial(source_watchlist, SLUG)


def list_page(*names: str, next_cursor: str | None = None) -> bytes:
    """A /works list built from recorded works, with cursor paging meta."""
    results = [w for n in names for w in data(n)["results"]]
    meta = {
        "count": 4,
        "db_response_time_ms": 12,
        "page": None,
        "per_page": 200,
        "next_cursor": next_cursor,
    }
    return json.dumps({"meta": meta, "results": results}).encode()


CURSOR_2 = "IlsxNjg0NzE5MjAwMDAwLCAnaHR0cHM6Ly9vcGVuYWxleC5vcmcvVzQzODk3NjE2MDgnXSI="


def author_works_route(request: httpx.Request) -> httpx.Response | bytes:
    path, params = request.url.path, request.url.params
    if path == "/authors/A5023888391":
        return payload(AUTHOR)
    if path == "/works" and params["cursor"] == "*":
        return list_page(CHEM, OXIDE, next_cursor=CURSOR_2)
    if path == "/works" and params["cursor"] == CURSOR_2:
        return list_page(PAPERQA, next_cursor=None)
    raise AssertionError(f"unexpected request {request.url}")


def works_ids(report: FetchReport) -> list[str]:
    return [w["work_id"] for f in report for w in f.page.records.get("works", [])]


def test_cursor_paging_to_the_end(
    no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    server = Server(author_works_route)
    report = openalex.fetch(
        client_for(server), make_watchlist([{"name": "Jason Priem", "openalex_id": "A5023888391"}])
    )
    assert report.errors == []
    assert server.paths() == ["/authors/A5023888391", "/works", "/works"]
    works_requests = server.requests[1:]
    assert [r.url.params["cursor"] for r in works_requests] == ["*", CURSOR_2]
    for r in works_requests:
        assert r.url.params["filter"] == "authorships.author.id:A5023888391"
        assert r.url.params["per-page"] == "200"
        assert r.url.params["select"] == openalex.WORK_FIELDS
    assert all(r.url.params["mailto"] == EMAIL for r in server.requests)
    assert all("api_key" not in r.url.params for r in server.requests)
    assert report.items[0].page.records["authors"][0]["author_id"] == "A5023888391"
    assert works_ids(report) == ["W4396723768", "W4365597205", "W2277923667", "W4389761608"]
    assert [f.page.next_token for f in report.items[1:]] == [CURSOR_2, None]


def test_api_key_on_the_wire_only(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    client_for: Callable[[Server], HttpClient],
) -> None:
    monkeypatch.setenv("OPENALEX_API_KEY", SECRET)
    # as `scholarflow` sets logging up (cli._setup_logging): httpx itself is kept at WARNING
    caplog.set_level(logging.WARNING, logger="httpx")
    caplog.set_level(logging.DEBUG)

    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/authors/A5000000404":
            return httpx.Response(
                404, content=payload(NOT_FOUND), headers={"content-type": "text/html"}
            )
        if request.url.path == "/works" and request.url.params["cursor"] == CURSOR_2:
            return httpx.Response(503, content=b"busy")  # retried, then handed to the parser
        return author_works_route(request)

    server = Server(route)
    wl = make_watchlist(
        [
            {"name": "Jason Priem", "openalex_id": "A5023888391"},
            {"name": "Gone", "openalex_id": "A5000000404"},
        ]
    )
    report = openalex.fetch(client_for(server), wl)
    assert all(r.url.params["api_key"] == SECRET for r in server.requests)
    assert all(r.url.params["mailto"] == EMAIL for r in server.requests)
    assert len(report.errors) == 2
    assert [f.response.url for f in report]  # responses were archived ...
    for f in report:
        assert (
            SECRET not in f.response.url and "api_key" not in f.response.url
        )  # ... without the key
        assert f"mailto={EMAIL.replace('@', '%40')}" in f.response.url
    for err in report.errors:
        assert SECRET not in str(err) and SECRET not in err.where
        assert err.where.startswith("GET https://api.openalex.org/")
    assert "HTTP 503" in str(report.errors[0]) and "HTTP 404" in str(report.errors[1])
    messages = [r.getMessage() for r in caplog.records]
    assert any("api.openalex.org/works" in m for m in messages)  # the requests were logged ...
    assert any("retry" in m for m in messages)
    assert all(SECRET not in m for m in messages)  # ... without the key
    assert SECRET not in caplog.text


def test_author_resolution_by_orcid(
    no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/authors/orcid:0000-0001-6187-6610":
            return payload(AUTHOR)
        return author_works_route(request)

    server = Server(route)
    report = openalex.fetch(
        client_for(server),
        make_watchlist([{"name": "Jason Priem", "orcid": "0000-0001-6187-6610"}]),
    )
    assert server.paths()[0] == "/authors/orcid:0000-0001-6187-6610"
    assert server.requests[1].url.params["filter"] == "authorships.author.id:A5023888391"
    assert report.errors == [] and len(works_ids(report)) == 4


def author_search_page(*display_names: str) -> bytes:
    """Search results built from the recorded author: only a name equal to "jason priem"
    (ignoring case) keeps its real id A5023888391; namesakes get other ids."""
    results = []
    for i, name in enumerate(display_names):
        author = data(AUTHOR)
        if name.casefold() != "jason priem":
            author["id"] = f"https://openalex.org/A50000000{i:02d}"
        author["display_name"] = name
        results.append(author)
    return json.dumps(
        {"meta": {"count": len(results), "next_cursor": None}, "results": results}
    ).encode()


@pytest.mark.parametrize("name, aliases", [("Jason Priem", []), ("J. Priem", ["Jason Priem"])])
def test_author_resolution_by_search_picks_the_matching_name(
    name: str, aliases: list[str], no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/authors":
            return author_search_page(
                "Jason Priemer", "JASON PRIEM" if aliases else "Jason Priem", "J Priem"
            )
        return author_works_route(request)

    server = Server(route)
    report = openalex.fetch(
        client_for(server), make_watchlist([{"name": name, "aliases": aliases}])
    )
    search = server.requests[0]
    assert search.url.path == "/authors"
    assert (search.url.params["search"], search.url.params["per-page"]) == (name, "10")
    (author,) = report.items[0].page.records["authors"]
    assert author["author_id"] == "A5023888391"
    assert server.requests[1].url.params["filter"] == "authorships.author.id:A5023888391"
    assert report.errors == [] and len(works_ids(report)) == 4


def test_author_resolution_by_search_without_a_match_is_a_clear_error(
    no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/authors":
            return author_search_page("Jason Priemer", "J Priem")
        return author_works_route(request)

    server = Server(route)
    wl = make_watchlist(
        [
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {"name": "Jason Priem", "openalex_id": "A5023888391"},
        ]
    )
    report = openalex.fetch(client_for(server), wl)
    (err,) = report.errors
    assert isinstance(err, SourceError)
    assert str(err).startswith("[openalex] no OpenAlex author named 'Zhaoyuan Su'; set openalex_id")
    assert (
        err.where.startswith("GET https://api.openalex.org/authors?")
        and "search=Zhaoyuan+Su" in err.where
    )
    # no works were asked for the unresolved researcher; the next one went on
    assert server.paths() == ["/authors", "/authors/A5023888391", "/works", "/works"]
    assert len(works_ids(report)) == 4


def test_topic_entities_and_capped_topic_search(
    no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/topics/T11636":
            return payload(TOPIC)
        if request.url.path == "/works" and "search" in request.url.params:
            return list_page(CHEM, next_cursor=CURSOR_2)
        return author_works_route(request)

    server = Server(route)
    wl = make_watchlist(
        [{"name": "Jason Priem", "openalex_id": "A5023888391"}],
        [
            {
                "name": "LLM serving",
                "keywords": ["LLM serving", "KV cache"],
                "openalex_topic_ids": ["T11636"],
            }
        ],
        max_topic_results=2,
        since_year=2020,
    )
    report = openalex.fetch(client_for(server), wl)
    assert report.errors == []
    assert server.paths() == [
        "/authors/A5023888391",
        "/works",
        "/works",
        "/topics/T11636",
        "/works",
    ]
    topic_search = server.requests[-1].url.params
    assert topic_search["filter"] == "from_publication_date:2020-01-01,topics.id:T11636"
    assert topic_search["search"] == '"LLM serving" OR "KV cache"'
    assert topic_search["sort"] == "cited_by_count:desc"
    assert topic_search["per-page"] == "2"
    assert topic_search["cursor"] == "*"  # the cap was reached on the first page: no second request
    topics = [t for f in report for t in f.page.records.get("topics", [])]
    assert [t["topic_id"] for t in topics] == ["T11636"]


def test_empty_list_page_stops_paging(
    no_secrets: None, client_for: Callable[[Server], HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.path == "/works":
            return json.dumps(
                {"meta": {"count": 0, "next_cursor": "still-a-cursor"}, "results": []}
            ).encode()
        return author_works_route(request)

    server = Server(route)
    report = openalex.fetch(
        client_for(server), make_watchlist([{"name": "Jason Priem", "openalex_id": "A5023888391"}])
    )
    assert server.paths() == ["/authors/A5023888391", "/works"]
    assert report.errors == [] and works_ids(report) == []


def test_field_normalised_impact_from_a_real_work() -> None:
    """OpenAlex rates works by FWCI and a citation percentile; unrated works give null."""
    page = openalex.parse_response(
        fixture_bytes("openalex", "bvitamins__work_W2741809807.json"), "file"
    )
    (work,) = page.records["works"]
    assert work["fwci"] == pytest.approx(76.282)
    assert work["citation_percentile"] == pytest.approx(0.999768)
    assert (work["is_top_1_percent"], work["is_top_10_percent"]) == (True, True)
    raw = json.loads(fixture_bytes("openalex", "bvitamins__work_W2741809807.json"))
    raw.update(fwci=None, citation_normalized_percentile=None)
    (unrated,) = openalex.parse_response(json.dumps(raw).encode(), "file").records["works"]
    assert (unrated["fwci"], unrated["citation_percentile"], unrated["is_top_10_percent"]) == (
        None,
        None,
        None,
    )
    raw["fwci"] = "76.3"  # a string is not a number: the record is quarantined, not coerced
    bad = openalex.parse_response(json.dumps(raw).encode(), "file")
    assert not bad.records.get("works") and "fwci is not a number" in bad.quarantined[0].reason

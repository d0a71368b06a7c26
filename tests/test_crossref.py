"""Crossref source: parser conformance on genuine recorded payloads (work and work-list messages,
the plain-text 404), partial dates, markup, quarantine, and the live code (cursor paging, name
filtering, ORCID filter, DOI lookups, Plus token, rate-limit headers) through MockTransport."""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl
import pytest
from conftest import (
    ROOT,
    demo_context,
    documented,
    documented_status,
    fixture_bytes,
    needs_shared,
    shared_files,
    source_watchlist,
)

from flows import fetch, settings, steps
from flows.http import HostPolicy, HttpClient
from flows.sources import SOURCES, crossref
from flows.sources.base import FetchReport, SourceError
from flows.watchlist import CrossrefOptions
from transforms.names import parse_name
from transforms.sources import crossref as staging

SLUG = "crossref"
FILES = shared_files(SLUG)
DOCS = documented(SLUG)
DATA_FILES = [p for p in FILES if p.suffix == ".json"]
OWN = ROOT / "tests" / "fixtures" / SLUG
WIDGET = "habanero__works_query_widget_cursor_2A.json"
PLOS = "habanero__works_10.1371_journal.pone.0033693.json"
CHEM = (
    "paperqa__api.crossref.org_works_10.1038_2Fs42256-024-00832-8_mailto_example_papercrow.ai.json"
)
CHEM_SEARCH = "paperqa__api.crossref.org_works_mailto_example_40papercrow.ai_query.title_Augmenting_large_language.json"
CHEM_BIB = "paperqa__api.crossref.org_works_10.1038_2Fs42256-024-00832-8_transform_application_x-bibtex.bib"
NOT_FOUND = "paperqa__crossref_404_arxiv_datacite_doi.txt"
APS = "papis__work_journal_article_multiple_authors.json"
WWW = "papis__work_proceedings_article.json"
EMAIL = "team@example.org"
TOKEN = "cr-plus-token-7d1e2f"
ClientFor = Callable[..., HttpClient]


def payload(name: str) -> bytes:
    return fixture_bytes(SLUG, name)


def message(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload(name))["message"]
    return data


def widget_items() -> list[dict[str, Any]]:
    return copy.deepcopy(message(WIDGET)["items"])


def works(report: FetchReport) -> list[str]:
    return [w["doi"] for f in report for w in f.page.records.get("works", [])]


# ---------------------------------------------------------------- every recorded payload


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert FILES, "no recorded Crossref payloads found"
    assert {p.name for p in FILES} <= set(DOCS)


# the BibTeX export is reference only: checked against its JSON twin below
@pytest.mark.parametrize(
    "path", [p for p in FILES if p.suffix != ".bib"], ids=lambda p: p.name[:70]
)
def test_every_recorded_payload_parses_or_raises(path: Path) -> None:
    body, status = path.read_bytes(), documented_status(DOCS, path.name)
    where = f"GET recorded:{path.name}"
    if status != 200:
        for as_status in (status, 200):  # fetched, or imported from a file
            with pytest.raises(SourceError) as info:
                crossref.parse_response(body, where, as_status)
            assert str(info.value).startswith("[crossref] ") and where in str(info.value)
        return
    page = crossref.parse_response(body, where, status)
    assert page.quarantined == []
    data = json.loads(body)
    items = data["message"]["items"] if data["message-type"] == "work-list" else [data["message"]]
    assert [w["doi"] for w in page.records["works"]] == [i["DOI"].lower() for i in items]
    shape = DOCS[path.name]["shape"]
    m = re.search(r"total-results=(\d+|None) next-cursor=(yes|no)", shape)
    assert m is not None
    assert page.total == (None if m.group(1) == "None" else int(m.group(1)))
    assert (page.next_token is not None) == (m.group(2) == "yes")
    for rec, item in zip(page.records["works"], items, strict=True):
        assert rec["title"] == " ".join(item["title"][0].split())
        assert rec["is_referenced_by_count"] == item["is-referenced-by-count"]
        assert rec["type"] == item["type"]
        assert len(rec["authors"]) == len(item.get("author", []))


def test_the_bibtex_export_names_the_same_work() -> None:
    bib = payload(CHEM_BIB).decode()
    (w,) = crossref.parse_response(payload(CHEM), "chem").records["works"]
    assert re.search(r"DOI=\{([^}]+)\}", bib).group(1).lower() == w["doi"]  # type: ignore[union-attr]
    assert f"title={{{w['title']}}}" in bib
    assert f"journal={{{w['container_title']}}}" in bib and f"year={{{w['year']}}}" in bib


def test_work_by_doi_values() -> None:
    (w,) = crossref.parse_response(payload(CHEM), "chem").records["works"]
    assert w["doi"] == "10.1038/s42256-024-00832-8"
    assert w["title"] == "Augmenting large language models with chemistry tools"
    assert (w["container_title"], w["type"]) == ("Nature Machine Intelligence", "journal-article")
    assert w["publisher"] == "Springer Science and Business Media LLC"
    assert (w["year"], w["month"], w["day"], w["publication_date"]) == (
        2024,
        5,
        8,
        date(2024, 5, 8),
    )
    assert (w["is_referenced_by_count"], w["reference_count"]) == (238, 103)
    assert w["licenses"][0]["url"] == "https://creativecommons.org/licenses/by/4.0"
    assert w["url"] == "https://doi.org/10.1038/s42256-024-00832-8"
    assert w["deposited_at"] == datetime(2024, 5, 23, 23, 3, 31, tzinfo=UTC)
    assert [a["family"] for a in w["authors"]] == [
        "M. Bran",
        "Cox",
        "Schilter",
        "Baldassari",
        "White",
        "Schwaller",
    ]
    first, third = w["authors"][0], w["authors"][2]
    assert (first["given"], first["sequence"], first["orcid"]) == ("Andres", "first", None)
    assert (third["orcid"], third["authenticated_orcid"]) == ("0000-0003-0310-0851", False)
    # JATS: the "Abstract" heading dropped, tags stripped
    assert w["abstract"].startswith("Large language models (LLMs) have shown strong performance")
    assert "<" not in w["abstract"] and not w["abstract"].startswith("Abstract")
    assert w["arxiv_id"] is None


def test_the_title_search_and_the_lookup_see_the_same_work_with_its_count_then() -> None:
    (listed,) = crossref.parse_response(payload(CHEM_SEARCH), "search").records["works"]
    (looked_up,) = crossref.parse_response(payload(CHEM), "doi").records["works"]
    assert listed["doi"] == looked_up["doi"]
    assert (listed["is_referenced_by_count"], looked_up["is_referenced_by_count"]) == (232, 238)


def test_partial_and_missing_dates() -> None:
    page = crossref.parse_response(payload(WIDGET), "widget")
    by_doi = {w["doi"]: w for w in page.records["works"]}
    assert len(by_doi) == 20 and page.total == 454
    none = by_doi["10.1007/978-1-4302-0197-7_9"]  # issued {"date-parts": [[null]]}
    assert (none["year"], none["month"], none["day"], none["publication_date"]) == (None,) * 4
    year_only = by_doi["10.1007/978-1-4842-6700-4_5"]  # [[2020]]
    assert (year_only["year"], year_only["month"], year_only["publication_date"]) == (
        2020,
        None,
        None,
    )
    year_month = by_doi["10.1109/afrcon.2009.5308146"]  # [[2009, 9]]
    assert (year_month["year"], year_month["month"], year_month["day"]) == (2009, 9, None)
    assert year_month["event_name"] == "AFRICON 2009 (AFRICON)"
    (www,) = crossref.parse_response(payload(WWW), "www").records["works"]
    assert (www["year"], www["month"], www["type"]) == (2018, None, "proceedings-article")
    assert www["event_name"] == "Companion of the The Web Conference 2018"
    assert www["authors"][0]["affiliations"] == ["University of Leipzig, Leipzig, Germany"]


def test_posted_content_and_works_without_authors() -> None:
    by_doi = {w["doi"]: w for w in crossref.parse_response(payload(WIDGET), "w").records["works"]}
    blog = by_doi["10.59350/7mtwq-q3661"]  # posted-content: no container-title, an institution
    assert (blog["type"], blog["container_title"]) == ("posted-content", None)
    assert blog["institution_name"] == "Front Matter"
    assert blog["authors"][0]["orcid"] == "0000-0001-7542-0286"
    assert blog["abstract"].startswith("In addition to this Swing-based screenshot")
    assert (blog["year"], blog["month"], blog["day"]) == (2008, 6, 18)
    assert by_doi["10.1093/oed/5229773278"]["authors"] == []


def test_multi_author_aps_article() -> None:
    (w,) = crossref.parse_response(payload(APS), "aps").records["works"]
    assert w["doi"] == "10.1103/physrevb.89.140501" and w["container_title"] == "Physical Review B"
    assert [a["position"] for a in w["authors"]] == list(range(len(w["authors"])))
    assert w["authors"][1]["given"] == "P.-N."


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local time zone is not UTC (UTC-4 in May)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-23T23:03:31Z", datetime(2024, 5, 23, 23, 3, 31, tzinfo=UTC)),
        ("2024-05-23T23:03:31+02:00", datetime(2024, 5, 23, 21, 3, 31, tzinfo=UTC)),
        ("2024-05-23T23:03:31", datetime(2024, 5, 23, 23, 3, 31, tzinfo=UTC)),  # naive: UTC
    ],
)
def test_timestamps_are_utc_and_a_naive_one_is_not_host_local_time(
    host_in_new_york: None, raw: str, expected: datetime
) -> None:
    w = crossref.work_record({**message(PLOS), "deposited": {"date-time": raw}})
    assert w["deposited_at"] == expected and w["deposited_at"].utcoffset().total_seconds() == 0


def test_a_missing_citation_count_is_unknown_not_zero() -> None:
    w = message(PLOS)
    del w["is-referenced-by-count"]
    assert crossref.work_record(w)["is_referenced_by_count"] is None
    assert crossref.work_record({**w, "is-referenced-by-count": 0})["is_referenced_by_count"] == 0
    with pytest.raises(ValueError):
        crossref.work_record({**w, "is-referenced-by-count": "many"})


def test_an_institution_is_not_a_container_and_the_event_names_the_venue() -> None:
    w = message(PLOS)
    del w["container-title"]
    talk = crossref.work_record(
        {
            **w,
            "DOI": "10.5555/talk",
            "event": {"name": "SOSP 2023"},
            "institution": [{"name": "Duke University"}],
        }
    )
    assert (talk["container_title"], talk["event_name"], talk["institution_name"]) == (
        None,
        "SOSP 2023",
        "Duke University",
    )
    note = crossref.work_record(
        {**w, "DOI": "10.5555/note", "institution": [{"name": "Duke University"}]}
    )
    staged = {
        r["source_work_id"]: r for r in staging.works(_raw([talk, note])).collect().to_dicts()
    }
    assert staged["10.5555/talk"]["venue"] == "SOSP 2023"  # the event, not the institution
    assert staged["10.5555/note"]["venue"] == "Duke University"  # the institution, last


@pytest.mark.parametrize(
    ("date_parts", "expected"),
    [
        ([[2021, 2, 30]], (2021, 2, 30, None)),  # impossible day: no full date, parts kept
        ([["2020", "05", "17"]], (2020, 5, 17, date(2020, 5, 17))),  # strings happen
        ([[2019, 13]], (2019, None, None, None)),
        ([[None]], (None, None, None, None)),
        ([], (None, None, None, None)),
    ],
)
def test_date_parts_edge_cases(date_parts: list[Any], expected: tuple[Any, ...]) -> None:
    w = message(PLOS)
    w["issued"] = {"date-parts": date_parts}
    for fallback in ("published", "published-print", "published-online"):
        w.pop(fallback, None)
    rec = crossref.work_record(w)
    assert (rec["year"], rec["month"], rec["day"], rec["publication_date"]) == expected


def test_issued_missing_falls_back_to_published_print() -> None:
    w = message(PLOS)
    w.pop("issued")
    w.pop("published")
    w["published-print"] = {"date-parts": [[2012, 4]]}
    assert crossref.date_parts(w) == (2012, 4, None)


def test_markup_in_titles_and_organisation_authors() -> None:
    w = message(PLOS)
    w["title"] = [
        "Observation of H<sub>2</sub>O in <i>k</i>-means &amp; <mml:math><mml:mi>x</mml:mi></mml:math> space"
    ]
    w["subtitle"] = ["  a   <scp>Study</scp> "]
    w["author"] = [
        {"name": "The LIGO Scientific Collaboration", "sequence": "first", "affiliation": []}
    ]
    rec = crossref.work_record(w)
    assert rec["title"] == "Observation of H2O in k-means & x space"
    assert rec["subtitle"] == "a Study"
    (org,) = rec["authors"]
    assert (org["name"], org["given"], org["family"]) == (
        "The LIGO Scientific Collaboration",
        None,
        None,
    )
    assert crossref.author_name(org) == "The LIGO Scientific Collaboration"


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        (
            {
                "has-preprint": [
                    {"id-type": "doi", "id": "10.48550/arxiv.2309.06180", "asserted-by": "subject"}
                ]
            },
            "2309.06180",
        ),
        (
            {
                "has-preprint": [
                    {"id-type": "arxiv", "id": "arXiv:2304.05376", "asserted-by": "subject"}
                ]
            },
            "2304.05376",
        ),
        ({"has-preprint": [{"id-type": "doi", "id": "10.1101/2020.01.01.123456"}]}, None),
        ({"is-preprint-of": [{"id-type": "doi", "id": "10.48550/arxiv.2309.06180"}]}, None),
        ({}, None),
    ],
)
def test_arxiv_id_from_the_preprint_relation(
    relation: dict[str, Any], expected: str | None
) -> None:
    w = message(PLOS)
    w["relation"] = relation
    assert crossref.work_record(w)["arxiv_id"] == expected


# ---------------------------------------------------------------- errors and quarantine


def test_plain_text_404_names_source_status_and_request() -> None:
    where = "GET https://api.crossref.org/works/10.48550%2Farxiv.2312.07559?mailto=x%40y.org"
    with pytest.raises(SourceError) as info:
        crossref.parse_response(payload(NOT_FOUND), where, 404)
    assert str(info.value) == f"[crossref] HTTP 404 from Crossref: Resource not found. ({where})"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            (OWN / "validation_failure_400.json").read_bytes(),
            400,
            "HTTP 400 from Crossref: Filter orcid-id specified",
        ),
        (
            (OWN / "validation_failure_400.json").read_bytes(),
            200,
            "Crossref failed: Filter orcid-id",
        ),
        (
            (OWN / "rate_limited_429.html").read_bytes(),
            429,
            "HTTP 429 from Crossref: HTML error page",
        ),
        (b"", 503, "HTTP 503 from Crossref: empty body"),
        (b"Resource not found.", 200, "response is not JSON: 'Resource not found.'"),
        (
            b'{"status": "ok", "message-type": "member", "message": {"id": 78}}',
            200,
            "message-type 'member' is not a work",
        ),
        (
            b'{"status": "ok", "message-type": "work-list", "message": {"total-results": 3}}',
            200,
            "work-list without an items list",
        ),
        (b"[1, 2]", 200, "not a Crossref API message"),
    ],
    ids=[
        "400-json",
        "failed-at-200",
        "429-html",
        "503-empty",
        "text-at-200",
        "member",
        "no-items",
        "array",
    ],
)
def test_error_bodies_raise_naming_source_and_request(
    body: bytes, status: int, fragment: str
) -> None:
    with pytest.raises(SourceError, match=re.escape(fragment)) as info:
        crossref.parse_response(body, "GET there", status)
    assert str(info.value).startswith("[crossref] ") and str(info.value).endswith("(GET there)")


def _listing(items: list[Any], total: int | None = None, cursor: str | None = "c-next") -> bytes:
    msg: dict[str, Any] = {
        "facets": {},
        "total-results": total if total is not None else len(items),
        "items": items,
        "items-per-page": 20,
    }
    if cursor is not None:
        msg["next-cursor"] = cursor
    return json.dumps(
        {"status": "ok", "message-type": "work-list", "message-version": "1.0.0", "message": msg}
    ).encode()


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (lambda w: w.pop("DOI"), "GET list [item 0]", "work without a DOI"),
        # a nested-array title was stored as its Python repr
        (
            lambda w: w.update(title=[["Widgets"]]),
            "10.1007/978-1-4302-0197-7_9",
            "title is not a list of text",
        ),
        # counts are never coerced (12.5, true, "12")
        (
            lambda w: w.update({"is-referenced-by-count": 12.5}),
            "10.1007/978-1-4302-0197-7_9",
            "is-referenced-by-count is not a whole number: 12.5",
        ),
        (
            lambda w: w.update({"is-referenced-by-count": "12"}),
            "10.1007/978-1-4302-0197-7_9",
            "is-referenced-by-count is not a whole number: '12'",
        ),
        (
            lambda w: w.update(issued={"date-parts": [["spring"]]}),
            "10.1007/978-1-4302-0197-7_9",
            "invalid literal",
        ),
        (
            lambda w: w.update(author=[None]),
            "10.1007/978-1-4302-0197-7_9",
            "'NoneType' object has no attribute 'get'",
        ),
    ],
    ids=["no-doi", "nested-title", "float-count", "string-count", "bad-date", "null-author"],
)
def test_malformed_work_is_quarantined_and_the_rest_kept(
    mutate: Callable[[dict[str, Any]], Any], key: str, reason: str
) -> None:
    items = widget_items()
    mutate(items[0])
    page = crossref.parse_response(_listing(items), "GET list")
    assert page.count() == 19
    (q,) = page.quarantined
    assert (q.source, q.entity, q.record_key) == ("crossref", "works", key)
    assert reason in q.reason
    assert "9781590598160" in q.payload  # the ISBN of the recorded item


def test_non_object_items_get_distinct_keys() -> None:
    page = crossref.parse_response(_listing([None, "x", *widget_items()[:1]]), "GET list")
    assert page.count() == 1
    assert [q.record_key for q in page.quarantined] == ["GET list [item 0]", "GET list [item 1]"]
    assert {q.reason for q in page.quarantined} == {"not a JSON object"}


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: `route(request)` answers; every request is kept."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response | bytes]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "api.crossref.org"
        answer = self.route(request)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        return answer


make_watchlist = functools.partial(source_watchlist, SLUG)


def named(
    item: dict[str, Any], doi: str, given: str = "Danyang", family: str = "Zhuo"
) -> dict[str, Any]:
    """A recorded work with another DOI and the researcher among its authors."""
    w = copy.deepcopy(item)
    w["DOI"] = doi
    w.setdefault("author", []).append(
        {"given": given, "family": family, "sequence": "additional", "affiliation": []}
    )
    return w


def zhuo_pages(*sizes: int) -> list[list[dict[str, Any]]]:
    items, n = widget_items(), 0
    pages = []
    for size in sizes:
        pages.append([named(items[n + i], f"10.5555/zhuo.{n + i}") for i in range(size)])
        n += size
    return pages


def cursor_route(pages: list[list[dict[str, Any]]]) -> Callable[[httpx.Request], bytes]:
    def route(request: httpx.Request) -> bytes:
        cursor = request.url.params["cursor"]
        index = 0 if cursor == "*" else int(cursor.removeprefix("c"))
        total = sum(map(len, pages))
        return _listing(pages[index] if index < len(pages) else [], total, f"c{index + 1}")

    return route


def test_cursor_paging_to_a_short_last_page(client_for: ClientFor) -> None:
    server = Server(cursor_route(zhuo_pages(2, 2, 1)))
    wl = make_watchlist([{"name": "Danyang Zhuo"}], crossref={"rows": 2})  # type: ignore[arg-type]
    report = crossref.fetch(client_for(server), wl)
    assert report.errors == []
    assert [r.url.params["cursor"] for r in server.requests] == ["*", "c1", "c2"]
    for r in server.requests:
        assert r.url.path == "/works"
        assert r.url.params["query.author"] == "Danyang Zhuo"
        assert (r.url.params["rows"], r.url.params["mailto"]) == ("2", EMAIL)
        assert r.url.params["select"] == crossref.SELECT
        assert "filter" not in r.url.params
    assert works(report) == [f"10.5555/zhuo.{i}" for i in range(5)]


def test_a_full_last_page_asks_once_more_and_stops_on_no_items(client_for: ClientFor) -> None:
    server = Server(cursor_route(zhuo_pages(2, 2)))
    wl = make_watchlist([{"name": "Danyang Zhuo"}], crossref={"rows": 2})  # type: ignore[arg-type]
    report = crossref.fetch(client_for(server), wl)
    assert [r.url.params["cursor"] for r in server.requests] == ["*", "c1", "c2"]
    assert report.errors == [] and len(works(report)) == 4
    assert report.items[-1].page.count() == 0


def test_max_results_caps_the_pages(client_for: ClientFor) -> None:
    server = Server(cursor_route(zhuo_pages(2, 2, 2, 2)))
    wl = make_watchlist([{"name": "Danyang Zhuo"}], crossref={"rows": 2, "max_results": 3})  # type: ignore[arg-type]
    report = crossref.fetch(client_for(server), wl)
    assert len(server.requests) == 2 and len(works(report)) == 4  # whole pages, cap rounded up


def test_name_search_drops_namesakes_and_stops_when_relevance_runs_out(
    client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    items = widget_items()
    page1 = [
        named(items[0], "10.5555/a"),  # "Danyang Zhuo"
        named(items[1], "10.5555/b", "Zhuo", "Danyang"),  # given/family swapped
        named(items[2], "10.5555/c", "Danyang", "Zhou"),  # a namesake: dropped
    ]
    page2 = [
        named(items[3], "10.5555/d", "D.", "Zhuo"),
        named(items[4], "10.5555/e", "Dan", "Zhuo"),
    ]
    page3 = [named(items[5], "10.5555/f", "Danyang", "Zhuo")]  # never asked for
    server = Server(cursor_route([page1, page2, page3]))
    wl = make_watchlist(
        [{"name": "Danyang Zhuo", "aliases": ["Zhuo, Danyang"]}], crossref={"rows": 3}
    )  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="scholarflow"):
        report = crossref.fetch(client_for(server), wl)
    # page 2 holds no author named like the researcher ("D. Zhuo" is not an alias here)
    assert len(server.requests) == 2
    assert works(report) == ["10.5555/a", "10.5555/b"]
    assert report.items[1].page.records["works"] == []
    lines = [r.getMessage() for r in caplog.records if r.name == "scholarflow.sources.crossref"]
    assert lines == [
        "[crossref] 1 of 3 work(s) without an author named like 'Danyang Zhuo' left out: 10.5555/c",
        "[crossref] 2 of 2 work(s) without an author named like 'Danyang Zhuo' left out: "
        "10.5555/d, 10.5555/e",
    ]  # page 2 is short, so it is the last anyway


def test_an_alias_with_initials_accepts_initials(client_for: ClientFor) -> None:
    items = widget_items()
    page = [named(items[0], "10.5555/d", "D.", "Zhuo"), named(items[1], "10.5555/x", "D.", "Zhou")]
    server = Server(cursor_route([page]))
    wl = make_watchlist([{"name": "Danyang Zhuo", "aliases": ["D. Zhuo"]}], crossref={"rows": 5})  # type: ignore[arg-type]
    assert works(crossref.fetch(client_for(server), wl)) == ["10.5555/d"]


def test_orcid_researcher_is_fetched_by_filter_with_nothing_dropped(client_for: ClientFor) -> None:
    server = Server(cursor_route([widget_items()[:3]]))
    wl = make_watchlist([{"name": "Egon Willighagen", "orcid": "0000-0001-7542-0286"}])
    report = crossref.fetch(client_for(server), wl)
    (r,) = server.requests
    assert r.url.params["filter"] == "orcid:0000-0001-7542-0286"
    assert "query.author" not in r.url.params and r.url.params["rows"] == "100"
    assert len(works(report)) == 3  # authors not matched by name: the ORCID decides


def test_doi_lookups_after_the_researchers_and_a_404_is_reported(client_for: ClientFor) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        raw = request.url.raw_path.decode()
        if raw.startswith("/works/10.1038%2Fs42256-024-00832-8?"):
            return payload(CHEM)
        if raw.startswith("/works/10.1371%2Fjournal.pone.0033693?"):
            return payload(PLOS)
        if request.url.path == "/works":
            return _listing([], 0)
        return httpx.Response(
            404, content=payload(NOT_FOUND), headers={"content-type": "text/plain"}
        )

    server = Server(route)
    wl = make_watchlist(
        [{"name": "Danyang Zhuo"}],
        crossref={
            "dois": [
                "https://doi.org/10.1038/S42256-024-00832-8",
                "10.1145/0000000.0000000",
                "doi:10.1371/journal.pone.0033693",
            ]
        },  # type: ignore[arg-type]
    )
    report = crossref.fetch(client_for(server), wl)
    assert [r.url.path for r in server.requests] == [
        "/works",
        "/works/10.1038/s42256-024-00832-8",
        "/works/10.1145/0000000.0000000",
        "/works/10.1371/journal.pone.0033693",
    ]
    assert all(r.url.params["mailto"] == EMAIL for r in server.requests)
    assert works(report) == ["10.1038/s42256-024-00832-8", "10.1371/journal.pone.0033693"]
    (err,) = report.errors
    assert "HTTP 404 from Crossref: Resource not found." in str(err)
    assert err.where.startswith("GET https://api.crossref.org/works/10.1145%2F0000000.0000000")


def test_server_errors_are_retried_then_reported_and_the_next_researcher_goes_on(
    client_for: ClientFor,
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.params.get("query.author") == "Gone Wrong":
            return httpx.Response(500, text="Internal Server Error")
        return cursor_route(zhuo_pages(1))(request)

    server = Server(route)
    wl = make_watchlist([{"name": "Gone Wrong"}, {"name": "Danyang Zhuo"}])
    report = crossref.fetch(client_for(server), wl)
    (err,) = report.errors
    assert "HTTP 500 from Crossref: Internal Server Error" in str(err)
    assert len(server.requests) == 5 + 1  # the shared client's five attempts, then the next one
    assert works(report) == ["10.5555/zhuo.0"]


def test_429_honours_retry_after() -> None:
    answers: list[httpx.Response | bytes] = [
        httpx.Response(
            429, headers={"Retry-After": "3"}, content=(OWN / "rate_limited_429.html").read_bytes()
        ),
        _listing(zhuo_pages(1)[0], 1),
    ]
    sleeps: list[float] = []
    client = HttpClient(
        EMAIL,
        transport=httpx.MockTransport(Server(lambda r: answers.pop(0))),
        intervals={},
        sleep=sleeps.append,
    )
    with client:
        report = crossref.fetch(client, make_watchlist([{"name": "Danyang Zhuo"}]))
    assert report.errors == [] and works(report) == ["10.5555/zhuo.0"]
    assert 3.0 in sleeps


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("configured", "headers", "expected"),
    [
        (0.2, {}, [0.2, 0.2, 0.2, 0.2]),
        # the first response's headers apply from the request after the next one (that one
        # was already due `configured` s after the first)
        (
            0.01,
            {"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Interval": "1s"},
            [0.01, 0.02, 0.02, 0.02],
        ),
        (
            0.01,
            {"X-Rate-Limit-Limit": "3000", "X-Rate-Limit-Interval": "60s"},
            [0.01, 0.02, 0.02, 0.02],
        ),
        (0.2, {"X-Rate-Limit-Limit": "2", "X-Rate-Limit-Interval": "1s"}, [0.2, 0.5, 0.5, 0.5]),
        # a server may slow the client down, never speed it up past what was configured
        (0.2, {"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Interval": "1s"}, [0.2, 0.2, 0.2, 0.2]),
    ],
    ids=["no-headers", "50-per-1s", "3000-per-60s", "2-per-1s", "never-faster-than-configured"],
)
def test_rate_limit_headers_set_the_interval(
    configured: float, headers: dict[str, str], expected: list[float]
) -> None:
    fake = FakeTime()

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=payload(PLOS), headers={"content-type": "application/json", **headers}
        )

    client = HttpClient(
        EMAIL,
        transport=httpx.MockTransport(Server(route)),
        intervals={"api.crossref.org": HostPolicy(configured)},
        sleep=fake.sleep,
        clock=fake.clock,
    )
    dois = ["10.1371/a", "10.1371/b", "10.1371/c", "10.1371/d"]
    wl = make_watchlist([{"name": "x", "orcid": "0000-0001-7542-0286"}], crossref={"dois": dois})  # type: ignore[arg-type]
    with client:
        report = crossref.fetch(client, wl)
    assert report.errors == [] and len(report.items) == 5  # the ORCID listing, four DOIs
    assert fake.sleeps == pytest.approx(expected)


def test_plus_token_is_sent_as_a_header_and_never_shown(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROSSREF_PLUS_TOKEN", TOKEN)
    assert settings.secret(SLUG) == TOKEN

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"boom {request.headers.get(crossref.PLUS_HEADER)}")

    server = Server(route)
    with caplog.at_level(logging.DEBUG):
        report = crossref.fetch(client_for(server), make_watchlist([{"name": "Danyang Zhuo"}]))
    assert server.requests[0].headers[crossref.PLUS_HEADER] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in f.response.url for f in report)
    assert all(TOKEN not in r.url.query.decode() for r in server.requests)


def test_no_token_no_plus_header(client_for: ClientFor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSREF_PLUS_TOKEN", raising=False)
    server = Server(cursor_route([[]]))
    crossref.fetch(client_for(server), make_watchlist([{"name": "Danyang Zhuo"}]))
    assert crossref.PLUS_HEADER.lower() not in server.requests[0].headers


# ---------------------------------------------------------------- options


def test_options_defaults_and_validation() -> None:
    opts = CrossrefOptions()
    assert (opts.rows, opts.max_results, opts.dois) == (100, 1000, [])
    opts = CrossrefOptions(
        dois=["https://doi.org/10.1145/3600006.3613165", "DOI: 10.18653/V1/2024.ACL-LONG.270"]
    )
    assert opts.dois == ["10.1145/3600006.3613165", "10.18653/v1/2024.acl-long.270"]
    with pytest.raises(ValueError, match="arXiv DOI"):
        CrossrefOptions(dois=["10.48550/arXiv.2309.06180"])
    with pytest.raises(ValueError, match="is not a DOI"):
        CrossrefOptions(dois=["2309.06180"])
    with pytest.raises(ValueError, match="less than or equal to 1000"):
        CrossrefOptions(rows=1001)


# ---------------------------------------------------------------- staging and warehouse


def test_source_is_registered_with_citations() -> None:
    source = SOURCES[SLUG]
    assert source.keys == {"works": "doi"} and source.entities == ("works",)
    assert source.citations == ("works", "doi", "is_referenced_by_count")


def _raw(records: list[dict[str, Any]]) -> dict[str, pl.LazyFrame]:
    frame = pl.DataFrame(
        [{**r, "_run_id": "r1", "_fetched_at": datetime(2026, 1, 1, tzinfo=UTC)} for r in records],
        schema={
            **staging.SCHEMAS["works"],
            "_run_id": pl.String,
            "_fetched_at": pl.Datetime("us", "UTC"),
        },
        strict=True,
    )
    return {"raw_crossref__works": frame.lazy()}


def test_staged_works_and_authorships() -> None:
    records = crossref.parse_response(payload(WIDGET), "w").records["works"]
    (chem,) = crossref.parse_response(payload(CHEM), "c").records["works"]
    org = crossref.work_record(
        {
            **message(PLOS),
            "DOI": "10.5555/ORG",
            "author": [{"name": "CRAN Team", "sequence": "first"}],
        }
    )
    preprint = crossref.work_record(
        {
            **message(PLOS),
            "DOI": "10.5555/pre",
            "relation": {"has-preprint": [{"id-type": "doi", "id": "10.48550/arxiv.2309.06180"}]},
        }
    )
    raw = _raw([*records, chem, org, preprint])
    staged = {r["source_work_id"]: r for r in staging.works(raw).collect().to_dicts()}
    assert len(staged) == 23
    c = staged["10.1038/s42256-024-00832-8"]
    assert (c["source"], c["doi"], c["year"], c["venue"]) == (
        "crossref",
        "10.1038/s42256-024-00832-8",
        2024,
        "Nature Machine Intelligence",
    )
    assert (c["work_type"], c["cited_by_count"], c["publication_date"]) == (
        "journal-article",
        238,
        date(2024, 5, 8),
    )
    assert c["abstract"].startswith("Large language models")
    assert staged["10.59350/7mtwq-q3661"]["work_type"] == "preprint"  # posted-content
    assert staged["10.1109/afrcon.2009.5308146"]["venue"] == "AFRICON 2009"
    assert staged["10.5555/pre"]["arxiv_id"] == "2309.06180"
    assert staged["10.5555/org"]["doi"] == "10.5555/org"
    authors = staging.authorships(raw).collect()
    assert authors.schema["position"] == pl.Int32
    chem_authors = authors.filter(pl.col("source_work_id") == "10.1038/s42256-024-00832-8").sort(
        "position"
    )
    # given and family both given: staged as "Family, Given" so the parts survive as Crossref
    # split them (here given "Andres", family "M. Bran"); shown the way round
    assert chem_authors["raw_name"].to_list()[:3] == [
        "M. Bran, Andres",
        "Cox, Sam",
        "Schilter, Oliver",
    ]
    assert [parse_name(n)[0] for n in chem_authors["raw_name"].to_list()[:3]] == [
        "Andres M. Bran",
        "Sam Cox",
        "Oliver Schilter",
    ]
    assert chem_authors["orcid"].to_list()[2] == "0000-0003-0310-0851"
    assert chem_authors["source_author_id"].to_list()[2] == "0000-0003-0310-0851"
    (org_row,) = authors.filter(pl.col("source_work_id") == "10.5555/org").to_dicts()
    assert org_row["raw_name"] == "CRAN Team"


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name[:60])
def test_import_and_build_each_data_file(tmp_path: Path, path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [path])
    summary = steps.load_and_build(demo_context(warehouse), [report], {})
    data = json.loads(path.read_bytes())
    dois = sorted(
        {
            i["DOI"].lower()
            for i in (
                data["message"]["items"]
                if data["message-type"] == "work-list"
                else [data["message"]]
            )
        }
    )
    (src,) = summary.sources
    assert (src.source, src.records, src.new, src.quarantined, src.errors) == (
        SLUG,
        len(dois),
        len(dois),
        0,
        [],
    )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw = con.execute("select doi from raw_crossref__works order by doi").fetchall()
        papers = con.execute(
            "select count(*) from papers where list_contains(sources, 'crossref')"
        ).fetchone()
        snaps = con.execute(
            "select count(*) from citation_snapshots where source = 'crossref'"
        ).fetchone()
    finally:
        con.close()
    assert [d for (d,) in raw] == dois
    assert papers is not None and papers[0] >= 1
    assert snaps == (len(dois),)


def test_import_of_the_404_body_fails_naming_the_file() -> None:
    path = shared_files(SLUG)[[p.name for p in FILES].index(NOT_FOUND)]
    with pytest.raises(SourceError, match="the file is not JSON") as info:  # a file, not a response
        fetch.import_files(SLUG, [path])
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- demo fake


def test_fetch_against_the_demo_fake() -> None:
    from flows.demo.generate import FakeUpstream

    facts = json.loads((settings.DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    wl = source_watchlist(
        SLUG,
        [
            {"name": "Danyang Zhuo", "aliases": ["Zhuo, Danyang", "D. Zhuo"]},
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {"name": "Pengfei Zuo", "aliases": ["Zuo, Pengfei", "P. Zuo"]},
        ],
        [{"name": "LLM serving", "keywords": ["LLM serving", "LLM inference", "KV cache"]}],
        crossref={"dois": ["10.1145/3600006.3613165", "10.18653/v1/2024.acl-long.270"]},  # type: ignore[arg-type]
    )
    client = HttpClient(
        "a@b.org",
        transport=httpx.MockTransport(FakeUpstream(facts)),
        intervals={},
        max_attempts=1,
        adapt_to_headers=False,  # the fake advertises Crossref's X-Rate-Limit headers
    )
    with client:
        report = crossref.fetch(client, wl)
    assert report.errors == [] and report.stopped is None
    assert all(not f.page.quarantined for f in report)
    assert len(report.items) == 5  # three researcher searches, two DOI lookups
    records = {w["doi"]: w for f in report for w in f.page.records.get("works", [])}
    assert sorted(records) == [
        "10.1145/3600006.3613165",
        "10.14778/3570690.3570692",
        "10.18653/v1/2024.acl-long.270",
    ]
    pvldb = records["10.14778/3570690.3570692"]
    assert (
        pvldb["title"]
        == "Serving and Optimizing Machine Learning Workflows on Heterogeneous Infrastructures"
    )
    assert (pvldb["container_title"], pvldb["year"], pvldb["month"], pvldb["day"]) == (
        "Proceedings of the VLDB Endowment",
        2022,
        11,
        None,
    )
    assert pvldb["arxiv_id"] == "2205.04713"
    assert "Danyang Zhuo" in [crossref.author_name(a) for a in pvldb["authors"]]
    vllm = records["10.1145/3600006.3613165"]
    assert (vllm["type"], vllm["event_name"]) == (
        "proceedings-article",
        "SOSP '23: 29th Symposium on Operating Systems Principles",
    )
    assert vllm["is_referenced_by_count"] > 0


def _suffixed_record() -> dict[str, Any]:
    author = {"given": "Robert", "family": "Hallowell", "suffix": "Jr.", "sequence": "first"}
    return crossref.work_record({**message(PLOS), "DOI": "10.5555/sfx", "author": [author]})


def test_a_name_suffix_is_kept_and_shown() -> None:
    rec = _suffixed_record()
    assert rec["authors"][0]["suffix"] == "Jr."
    assert crossref.author_name(rec["authors"][0]) == "Robert Hallowell Jr."
    (row,) = staging.authorships(_raw([rec])).collect().to_dicts()
    assert row["raw_name"] == "Hallowell, Robert, Jr."
    assert parse_name(row["raw_name"]) == (
        "Robert Hallowell Jr.",
        "robert-hallowell",
        "r-hallowell",
    )


def test_authors_stage_from_a_warehouse_loaded_before_suffixes_were_parsed() -> None:
    rec = _suffixed_record()
    for a in rec["authors"]:
        del a["suffix"]
    schema = dict(staging.SCHEMAS["works"])
    fields = schema["authors"].inner.fields  # type: ignore[attr-defined]
    old_author = {f.name: f.dtype for f in fields if f.name != "suffix"}
    schema["authors"] = pl.List(pl.Struct(old_author))
    frame = pl.DataFrame(
        [{**rec, "_run_id": "r1", "_fetched_at": datetime(2026, 1, 1, tzinfo=UTC)}],
        schema={**schema, "_run_id": pl.String, "_fetched_at": pl.Datetime("us", "UTC")},
        strict=True,
    )
    (row,) = staging.authorships({"raw_crossref__works": frame.lazy()}).collect().to_dicts()
    assert row["raw_name"] == "Hallowell, Robert"


def test_fetch_filter_reads_crossref_name_parts() -> None:
    """A hit counts when Crossref's given/family parts are the researcher's name, in any
    spelling the shared keyer accepts ("Peng Fei" / "Pengfei"), never on the family name alone."""
    page_works = [
        crossref.work_record(
            {**message(PLOS), "DOI": f"10.5555/{i}", "author": [{**a, "sequence": "first"}]}
        )
        for i, a in enumerate(
            [
                {"given": "Peng Fei", "family": "Zuo"},
                {"given": "Fei", "family": "Zuo"},
                {"given": "Zuo", "family": "Pengfei"},
            ]
        )
    ]
    from flows.sources.base import Page
    from transforms.names import wanted_keys

    page = Page()
    for w in page_works:
        page.add("works", w)
    assert crossref.keep_named(page, wanted_keys(["Pengfei Zuo"]), "Pengfei Zuo") == 2
    assert [w["doi"] for w in page.records["works"]] == ["10.5555/0", "10.5555/2"]

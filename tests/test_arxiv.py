"""arXiv source: parser conformance on genuine recorded feeds, both Atom dialects, broken feeds,
and the live paging code driven through httpx.MockTransport serving recorded pages."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

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
from lxml import etree

from flows.http import HttpClient
from flows.sources import arxiv
from flows.sources.base import FetchReport, SourceError

SLUG = "arxiv"
ATOM_NS = "http://www.w3.org/2005/Atom"
ARXIV_NS = "http://arxiv.org/schemas/atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"

FILES = shared_files(SLUG)
PAGE_1 = "arxivpy__query_all-testing_start0_max10.atom.xml"
PAGE_2 = "arxivpy__query_all-testing_start10_max10.atom.xml"
EMPTY = "arxivpy__id_list_0000.0000_empty.atom.xml"
ERROR_400 = "arxivpy__id_list_abc_error_400.atom.xml"
OLD_STYLE = "arxivpy__id_list_astro-ph_0601001_oldstyle_id.atom.xml"
LEGACY = "arxivpy_legacy2016__id_list_1111.2011v2.atom.xml"
SINGLE = "arxivpy__id_list_1605.08386.atom.xml"
TWO_IDS = "arxivpy__id_list_two_ids.atom.xml"


def payload(name: str) -> bytes:
    return fixture_bytes(SLUG, name)


DOCS = documented(SLUG)


def recorded_status(name: str) -> int:
    return documented_status(DOCS, name)


def raw_entry_ids(body: bytes) -> list[str]:
    """Entry ids straight from the XML (namespace-aware), for comparison with the parser."""
    root = etree.fromstring(body)
    return [e.findtext(f"{{{ATOM_NS}}}id") for e in root.findall(f"{{{ATOM_NS}}}entry")]


# ---------------------------------------------------------------- every recorded feed


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    """Expected status and shape come from SOURCES.md: a new file must be described there."""
    assert FILES, "no recorded arXiv payloads found"
    assert {p.name for p in FILES} <= set(DOCS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_recorded_feed_parses_or_raises(path: Path) -> None:
    body = path.read_bytes()
    status = recorded_status(path.name)
    where = f"GET recorded:{path.name}"
    if status != 200:
        with pytest.raises(SourceError) as info:
            arxiv.parse_feed(body, where, status)
        assert info.value.source == SLUG
        assert str(info.value).startswith("[arxiv] ")
        assert where in str(info.value)
        # imported from a file (status unknown, taken as 200) it must fail the same way
        with pytest.raises(SourceError):
            arxiv.parse_feed(body, where, 200)
        return
    page = arxiv.parse_feed(body, where, status)
    assert page.quarantined == []
    shape = re.search(r"entries=(\d+) totalResults=(\d+)", DOCS[path.name]["shape"])
    assert shape, DOCS[path.name]
    assert page.count() == int(shape.group(1))
    assert page.total == int(shape.group(2))
    records = page.records.get("entries", [])
    expected_ids = [
        re.sub(r"v\d+$", "", i.removeprefix("http://arxiv.org/abs/")) for i in raw_entry_ids(body)
    ]
    assert [r["arxiv_id"] for r in records] == expected_ids
    for r in records:
        assert r["title"] and r["authors"] and all(a["name"] for a in r["authors"])
        assert r["version"] is not None and r["version"] >= 1
        assert r["primary_category"] in r["categories"]
        assert r["published_at"] is not None and r["published_at"].tzinfo is not None


def test_single_entry_values() -> None:
    page = arxiv.parse_feed(payload(SINGLE), "single")
    (r,) = page.records["entries"]
    assert r["arxiv_id"] == "1605.08386"
    assert r["version"] == 1
    assert r["title"] == "Heat-bath random walks with Markov bases"
    assert [a["name"] for a in r["authors"]] == ["Caprice Stanley", "Tobias Windisch"]
    assert r["categories"] == ["math.CO", "math.ST"]
    assert r["primary_category"] == "math.CO"
    assert r["comment"] == "20 pages, 3 figures"
    assert r["doi"] is None
    assert r["published_at"] == datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)
    assert r["summary"].startswith("Graphs on lattice points are studied")


def test_query_pages_values() -> None:
    first = arxiv.parse_feed(payload(PAGE_1), "p1")
    second = arxiv.parse_feed(payload(PAGE_2), "p2")
    assert first.total == second.total == 214881
    r = first.records["entries"][0]
    assert (r["arxiv_id"], r["version"]) == ("2202.12139", 1)
    assert r["doi"] == "10.1109/ICSTW55395.2022.00035"
    assert [a["name"] for a in r["authors"]] == [
        "Mohit Kumar Ahuja",
        "Arnaud Gotlieb",
        "Helge Spieker",
    ]
    assert r["categories"] == ["cs.SE", "cs.LG"]
    r = second.records["entries"][0]
    assert (r["arxiv_id"], r["version"]) == ("2403.16981", 2)
    assert r["title"] == "The Sample Complexity of Simple Binary Hypothesis Testing"
    assert r["categories"] == ["math.ST", "cs.IT", "stat.ML"]
    assert r["updated_at"] == datetime(2025, 5, 24, 5, 50, 33, tzinfo=UTC)
    ids_1 = {r["arxiv_id"] for r in first.records["entries"]}
    ids_2 = {r["arxiv_id"] for r in second.records["entries"]}
    assert len(ids_1) == len(ids_2) == 10 and not ids_1 & ids_2


def test_unknown_id_in_id_list_is_dropped_upstream() -> None:
    page = arxiv.parse_feed(payload(TWO_IDS), "two")
    (r,) = page.records["entries"]
    assert r["arxiv_id"] == "1707.08567"
    assert len(r["authors"]) == 34
    assert r["authors"][0]["name"] == "Kees A. Schouhamer Immink"
    assert "Dirk Wübben" in [a["name"] for a in r["authors"]]


def test_old_style_id_keeps_archive_and_affiliations() -> None:
    (r,) = arxiv.parse_feed(payload(OLD_STYLE), "old").records["entries"]
    assert r["arxiv_id"] == "astro-ph/0601001"
    assert r["version"] == 1
    assert r["categories"] == ["astro-ph"]
    assert r["journal_ref"] == "ActaAstron.56:1-50,2006"
    assert r["authors"] == [
        {"name": "Andrew Gould", "affiliation": "Ohio State"},
        {"name": "Susan Dorsher", "affiliation": "Ohio State"},
        {"name": "B. Scott Gaudi", "affiliation": "CfA"},
        {"name": "Andrzej Udalski", "affiliation": "Warsaw University Observatory"},
    ]


def test_several_affiliations_of_one_author_are_all_kept() -> None:
    body = payload(OLD_STYLE).replace(
        b"<arxiv:affiliation>CfA</arxiv:affiliation>",
        b"<arxiv:affiliation>CfA</arxiv:affiliation><arxiv:affiliation>IAS</arxiv:affiliation>",
    )
    (r,) = arxiv.parse_feed(body, "old").records["entries"]
    assert r["authors"][2] == {"name": "B. Scott Gaudi", "affiliation": "CfA; IAS"}
    assert r["authors"][3]["affiliation"] == "Warsaw University Observatory"


def test_legacy_2016_feed_version_split() -> None:
    page = arxiv.parse_feed(payload(LEGACY), "legacy")
    assert page.total == 1
    (r,) = page.records["entries"]
    assert (r["arxiv_id"], r["version"]) == ("1111.2011", 2)
    assert r["doi"] == "10.1103/PhysRevB.85.115117"
    assert r["journal_ref"] == "Phys. Rev. B 85, 115117 (2012)"
    assert r["comment"] == "8 pages, 3 figures. Published version"
    assert r["primary_category"] == "cond-mat.str-el"
    assert r["categories"] == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert [a["name"] for a in r["authors"]] == [
        "James M. Murray",
        "Adrian Del Maestro",
        "Zlatko Tesanovic",
    ]
    assert r["published_at"] == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert r["updated_at"] == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)


def test_empty_feed_has_no_records_and_total_zero() -> None:
    page = arxiv.parse_feed(payload(EMPTY), "empty")
    assert page.count() == 0
    assert page.total == 0
    assert page.quarantined == []


def test_error_feed_names_source_request_and_reason() -> None:
    where = "GET https://export.arxiv.org/api/query?id_list=abc&max_results=100&start=0"
    with pytest.raises(SourceError) as info:
        arxiv.parse_feed(payload(ERROR_400), where, 400)
    message = str(info.value)
    assert message.startswith("[arxiv] ")
    assert "HTTP 400" in message
    assert "incorrect id format for abc" in message
    assert where in message and info.value.where == where


def test_paper_titled_error_is_a_record_not_an_api_error() -> None:
    body = payload(SINGLE).replace(
        b"<title>Heat-bath random walks with Markov bases</title>", b"<title>Error</title>"
    )
    (r,) = arxiv.parse_feed(body, "single").records["entries"]
    assert r["title"] == "Error"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://arxiv.org/abs/1111.2011v2", ("1111.2011", 2)),
        ("http://arxiv.org/abs/2403.16981v12", ("2403.16981", 12)),
        ("https://arxiv.org/abs/2304.05376", ("2304.05376", None)),
        ("http://arxiv.org/abs/astro-ph/0601001v1", ("astro-ph/0601001", 1)),
        ("http://arxiv.org/abs/solv-int/9901001", ("solv-int/9901001", None)),
        ("  http://arxiv.org/abs/1605.08386v1\n", ("1605.08386", 1)),
    ],
)
def test_parse_arxiv_id(value: str, expected: tuple[str, int | None]) -> None:
    assert arxiv.parse_arxiv_id(value) == expected


def test_parse_arxiv_id_rejects_other_urls() -> None:
    with pytest.raises(ValueError, match="not an arXiv abs URL"):
        arxiv.parse_arxiv_id("https://arxiv.org/api/errors#incorrect_id_format_for_abc")


# ---------------------------------------------------------------- the two Atom dialects


def to_2026_dialect(legacy: bytes) -> bytes:
    """Namespace declarations moved from each element to the root, re-serialised."""
    root = etree.fromstring(legacy)
    etree.cleanup_namespaces(root, top_nsmap={"opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def to_2016_dialect(modern: bytes) -> bytes:
    """Namespace declarations removed from the root and repeated on every prefixed element."""
    text = modern.decode("utf-8")
    text = text.replace(f' xmlns:opensearch="{OPENSEARCH_NS}"', "", 1)
    text = text.replace(f' xmlns:arxiv="{ARXIV_NS}"', "", 1)
    text = re.sub(r"<opensearch:(\w+)", rf'<opensearch:\1 xmlns:opensearch="{OPENSEARCH_NS}"', text)
    text = re.sub(r"<arxiv:(\w+)", rf'<arxiv:\1 xmlns:arxiv="{ARXIV_NS}"', text)
    return text.encode("utf-8")


def test_legacy_feed_reserialised_in_2026_dialect_parses_identically() -> None:
    legacy = payload(LEGACY)
    modern = to_2026_dialect(legacy)
    assert legacy.count(b"xmlns:arxiv=") > 1  # the 2016 dialect: one declaration per element
    assert modern.count(b"xmlns:arxiv=") == 1 and modern.count(b"xmlns:opensearch=") == 1
    assert etree.fromstring(modern).nsmap["arxiv"] == ARXIV_NS
    old_page, new_page = arxiv.parse_feed(legacy, "2016"), arxiv.parse_feed(modern, "2026")
    assert new_page.records == old_page.records
    assert new_page.total == old_page.total == 1
    assert new_page.records["entries"][0]["doi"] == "10.1103/PhysRevB.85.115117"


@pytest.mark.parametrize("name", [PAGE_1, OLD_STYLE, SINGLE])
def test_2026_feed_reserialised_in_2016_dialect_parses_identically(name: str) -> None:
    modern = payload(name)
    legacy = to_2016_dialect(modern)
    assert "arxiv" not in etree.fromstring(legacy).nsmap
    assert legacy.count(b"xmlns:arxiv=") > 1
    assert arxiv.parse_feed(legacy, "2016").records == arxiv.parse_feed(modern, "2026").records
    assert arxiv.parse_feed(legacy, "2016").total == arxiv.parse_feed(modern, "2026").total


# ---------------------------------------------------------------- broken feeds


def _entry_span(body: bytes, n: int) -> tuple[int, int]:
    start = -1
    for _ in range(n):
        start = body.index(b"<entry>", start + 1)
    return start, body.index(b"</entry>", start) + len(b"</entry>")


def _truncations() -> Iterator[tuple[str, Callable[[bytes], bytes]]]:
    def mid_entry(b: bytes) -> bytes:
        s, e = _entry_span(b, 5)
        return b[: (s + e) // 2]

    def inside_tag(b: bytes) -> bytes:
        s, _ = _entry_span(b, 3)
        return b[: b.index(b"<author>", s) + len(b"<auth")]

    def after_whole_entry(b: bytes) -> bytes:
        return b[: _entry_span(b, 4)[1]]

    def only_feed_close_missing(b: bytes) -> bytes:
        return b[: b.rindex(b"</feed>")]

    yield from {
        "mid-entry": mid_entry,
        "inside-a-tag": inside_tag,
        "after-a-whole-entry": after_whole_entry,
        "feed-close-missing": only_feed_close_missing,
    }.items()


TRUNCATIONS = dict(_truncations())


@pytest.mark.parametrize("cut", TRUNCATIONS, ids=str)
def test_truncated_feed_is_refused_whole(cut: str) -> None:
    body = TRUNCATIONS[cut](payload(PAGE_1))
    assert len(body) < len(payload(PAGE_1))
    with pytest.raises(SourceError, match=r"^\[arxiv\] malformed Atom feed") as info:
        arxiv.parse_feed(body, "GET truncated")
    assert info.value.where == "GET truncated"


@pytest.mark.parametrize(
    ("old", "count"),
    [(b"</title>", 2), (b"</author>", 1), (b"</name>", 1), (b"</entry>", 1), (b"</summary>", 1)],
    ids=["title", "author", "name", "entry", "summary"],
)
def test_feed_with_unclosed_tags_is_refused(old: bytes, count: int) -> None:
    body = payload(PAGE_1).replace(old, b"", count)
    with pytest.raises(SourceError, match=r"malformed Atom feed"):
        arxiv.parse_feed(body, "GET unclosed")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"", 200, "not an Atom feed"),
        (b"<html><body><h1>Service Unavailable</h1></body></html>", 200, "not an Atom feed"),
        (b'{"error": "nope"}', 200, "malformed Atom feed"),
        (b"<html><body>Bad gateway</body></html>", 502, "HTTP 502"),
    ],
    ids=["empty-body", "html-200", "json-200", "html-502"],
)
def test_non_feed_payloads_raise(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(SourceError, match=fragment) as info:
        arxiv.parse_feed(body, "GET somewhere", status)
    assert "[arxiv]" in str(info.value) and "(GET somewhere)" in str(info.value)


def test_non_200_feed_is_refused_even_with_entries() -> None:
    with pytest.raises(SourceError, match="HTTP 503 from the arXiv API"):
        arxiv.parse_feed(payload(SINGLE), "GET x", 503)


# ---------------------------------------------------------------- quarantine


def test_malformed_entry_is_quarantined_and_the_rest_kept() -> None:
    body = payload(PAGE_1)
    s, e = _entry_span(body, 2)
    entry = body[s:e]
    broken = re.sub(rb"<author>.*?</author>", b"", entry, flags=re.S)
    page = arxiv.parse_feed(body[:s] + broken + body[e:], "GET page1")
    assert page.count() == 9
    (q,) = page.quarantined
    assert (q.source, q.entity) == ("arxiv", "entries")
    assert q.record_key == "http://arxiv.org/abs/2405.13786v1"
    assert q.reason == "entry has no authors"
    assert "Learning-to-Rank" in q.payload
    assert "2405.13786" not in {r["arxiv_id"] for r in page.records["entries"]}


def test_entries_without_id_get_distinct_quarantine_keys() -> None:
    body = payload(PAGE_1)
    body = re.sub(rb"<id>http://arxiv\.org/abs/(2202\.12139|2405\.13786)v1</id>", b"", body)
    page = arxiv.parse_feed(body, "GET page1")
    assert page.count() == 8
    assert len(page.quarantined) == 2
    keys = {q.record_key for q in page.quarantined}
    assert len(keys) == 2  # the quarantine table's key would otherwise keep only one
    assert all("GET page1" in k for k in keys)
    assert all(q.entity == "entries" and q.source == "arxiv" for q in page.quarantined)


# ---------------------------------------------------------------- fetch: paging and retries


class Server:
    """A MockTransport handler serving recorded feeds by (search_query, start)."""

    def __init__(
        self, pages: dict[tuple[str, int], list[bytes]], default: bytes | None = None
    ) -> None:
        self.pages = pages
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "export.arxiv.org" and request.url.path == "/api/query"
        key = (request.url.params["search_query"], int(request.url.params["start"]))
        queue = self.pages.get(key)
        if queue:
            body = queue.pop(0) if len(queue) > 1 else queue[0]
        elif self.default is not None:
            body = self.default
        else:
            raise AssertionError(f"unexpected request {request.url}")
        status = 400 if b"arxiv.org/api/errors" in body else 200
        return httpx.Response(
            status, content=body, headers={"content-type": "application/atom+xml"}
        )

    def calls(self, query: str | None = None) -> list[tuple[int, int]]:
        return [
            (int(r.url.params["start"]), int(r.url.params["max_results"]))
            for r in self.requests
            if query is None or r.url.params["search_query"] == query
        ]


make_watchlist = functools.partial(source_watchlist, SLUG)


TESTING = "all:testing"


def page_ids(name: str) -> list[str]:
    """The arXiv ids of a recorded page, read at test time (skips without ../shared)."""
    return [re.sub(r"v\d+$", "", i.rsplit("/abs/", 1)[1]) for i in raw_entry_ids(payload(name))]


def fetched_ids(report: FetchReport) -> list[str]:
    return [r["arxiv_id"] for f in report for r in f.page.records.get("entries", [])]


def test_queries_for_researchers_and_topics() -> None:
    wl = make_watchlist(
        [{"name": "Pengfei Zuo"}, {"name": "Danyang Zhuo", "arxiv_query": 'au:"Zhuo, D"'}],
        [
            {
                "name": "LLM serving",
                "keywords": ["LLM serving", "KV cache"],
                "arxiv_categories": ["cs.DC", "cs.LG"],
            }
        ],
        max_topic_results=150,
    )
    assert arxiv.queries(wl) == [
        ("researcher Pengfei Zuo", 'au:"Pengfei Zuo"', arxiv.MAX_PER_AUTHOR),
        ("researcher Danyang Zhuo", 'au:"Zhuo, D"', arxiv.MAX_PER_AUTHOR),
        (
            "topic LLM serving",
            '(cat:cs.DC OR cat:cs.LG) AND (all:"LLM serving" OR all:"KV cache")',
            150,
        ),
    ]


def test_researcher_paging_stops_at_cap(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    monkeypatch.setattr(arxiv, "MAX_PER_AUTHOR", 20)
    server = Server({(TESTING, 0): [payload(PAGE_1)], (TESTING, 10): [payload(PAGE_2)]})
    report = arxiv.fetch(
        client_for(server), make_watchlist([{"name": "Some One", "arxiv_query": TESTING}])
    )
    assert server.calls() == [(0, 10), (10, 10)]
    assert report.errors == []
    assert len(report.items) == 2
    assert fetched_ids(report) == page_ids(PAGE_1) + page_ids(PAGE_2)
    params = server.requests[0].url.params
    assert (params["sortBy"], params["sortOrder"]) == ("submittedDate", "descending")
    assert all(f.response.source == "arxiv" and f.response.status == 200 for f in report)
    assert "start=10" in report.items[1].response.url


def test_topic_paging_stops_at_max_topic_results(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    topic_query = '(all:"testing")'
    server = Server(
        {(topic_query, 0): [payload(PAGE_1)], (topic_query, 10): [payload(PAGE_2)]},
        default=payload(EMPTY),
    )
    wl = make_watchlist(
        [{"name": "Some One"}], [{"name": "Testing", "keywords": ["testing"]}], max_topic_results=20
    )
    report = arxiv.fetch(client_for(server), wl)
    assert server.calls('au:"Some One"') == [(0, 10)]  # empty result: one request, no retries
    assert server.calls(topic_query) == [(0, 10), (10, 10)]
    assert report.errors == []
    assert fetched_ids(report) == page_ids(PAGE_1) + page_ids(PAGE_2)


def test_last_page_asks_only_for_what_the_cap_leaves(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    monkeypatch.setattr(arxiv, "MAX_PER_AUTHOR", 15)
    server = Server({(TESTING, 0): [payload(PAGE_1)], (TESTING, 10): [payload(PAGE_2)]})
    arxiv.fetch(client_for(server), make_watchlist([{"name": "X", "arxiv_query": TESTING}]))
    assert server.calls() == [(0, 10), (10, 5)]


def _emptied(body: bytes) -> bytes:
    """The page without its entries, totalResults kept (as the flaky page sometimes is)."""
    return re.sub(rb"\s*<entry>.*?</entry>", b"", body, flags=re.S)


@pytest.mark.parametrize("empty", ["recorded-empty-feed", "page-without-entries"])
def test_empty_page_mid_listing_is_asked_again(
    empty: str, monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    monkeypatch.setattr(arxiv, "MAX_PER_AUTHOR", 20)
    flaky = payload(EMPTY) if empty == "recorded-empty-feed" else _emptied(payload(PAGE_2))
    assert arxiv.parse_feed(flaky, "flaky").count() == 0
    server = Server({(TESTING, 0): [payload(PAGE_1)], (TESTING, 10): [flaky, payload(PAGE_2)]})
    report = arxiv.fetch(
        client_for(server), make_watchlist([{"name": "X", "arxiv_query": TESTING}])
    )
    assert server.calls() == [(0, 10), (10, 10), (10, 10)]
    assert report.errors == []
    assert len(report.items) == 2  # the empty page is not kept
    assert fetched_ids(report) == page_ids(PAGE_1) + page_ids(PAGE_2)


def test_empty_page_on_first_request_is_asked_again(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    monkeypatch.setattr(arxiv, "MAX_PER_AUTHOR", 10)
    server = Server({(TESTING, 0): [_emptied(payload(PAGE_1)), payload(PAGE_1)]})
    report = arxiv.fetch(
        client_for(server), make_watchlist([{"name": "X", "arxiv_query": TESTING}])
    )
    assert server.calls() == [(0, 10), (0, 10)]
    assert fetched_ids(report) == page_ids(PAGE_1) and report.errors == []


def test_empty_page_that_stays_empty_gives_up_with_an_error(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[[Server], HttpClient]
) -> None:
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 10)
    monkeypatch.setattr(arxiv, "MAX_PER_AUTHOR", 30)
    server = Server({(TESTING, 0): [payload(PAGE_1)], (TESTING, 10): [payload(EMPTY)]})
    report = arxiv.fetch(
        client_for(server), make_watchlist([{"name": "X", "arxiv_query": TESTING}])
    )
    assert server.calls() == [(0, 10)] + [(10, 10)] * (1 + arxiv.EMPTY_PAGE_RETRIES)
    assert fetched_ids(report) == page_ids(PAGE_1)  # what came before is kept
    (error,) = report.errors
    assert isinstance(error, SourceError) and error.source == "arxiv"
    assert "empty page at start=10 of 214881" in str(error)
    assert (
        error.where.startswith("GET https://export.arxiv.org/api/query?")
        and "start=10" in error.where
    )


def test_genuinely_empty_result_is_one_request_and_no_error(
    client_for: Callable[[Server], HttpClient],
) -> None:
    server = Server({}, default=payload(EMPTY))
    report = arxiv.fetch(client_for(server), make_watchlist([{"name": "Nobody"}]))
    assert server.calls() == [(0, arxiv.PAGE_SIZE)]
    assert report.errors == [] and len(report.items) == 1 and report.items[0].page.count() == 0


def test_error_feed_and_truncated_feed_are_recorded_and_other_queries_go_on(
    client_for: Callable[[Server], HttpClient],
) -> None:
    truncated = TRUNCATIONS["mid-entry"](payload(PAGE_1))
    server = Server(
        {
            ('au:"Bad Query"', 0): [payload(ERROR_400)],
            ('au:"Cut Off"', 0): [truncated],
            ('au:"Caprice Stanley"', 0): [payload(SINGLE)],
        }
    )
    wl = make_watchlist([{"name": "Bad Query"}, {"name": "Cut Off"}, {"name": "Caprice Stanley"}])
    report = arxiv.fetch(client_for(server), wl)
    assert len(report.errors) == 2
    bad, cut = report.errors
    assert "HTTP 400" in str(bad) and "incorrect id format for abc" in str(bad)
    assert "Bad+Query" in bad.where
    assert "malformed Atom feed" in str(cut)
    # nothing of the truncated page was loaded; the next researcher was still fetched
    assert fetched_ids(report) == ["1605.08386"]

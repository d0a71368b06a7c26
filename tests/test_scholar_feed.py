"""Scholar Feed source: the parser on the project's fixtures (written to the shape Scholar Feed's
own client declares, facts from the seed profile pages), quarantine, staging, and the live code
(discover -> profile, key header, daily quota vs per-minute throttle, caps) through
httpx.MockTransport. No genuine payload exists for this source (no shared fixture folder)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import ROOT, demo_context

from flows import fetch, settings, steps
from flows.demo.generate import FakeUpstream
from flows.http import DEFAULT_LIMITS, AllowanceExhausted, HttpClient, public_url
from flows.sources import SOURCES
from flows.sources import scholar_feed as sf
from flows.sources.base import FetchReport, SourceError
from flows.watchlist import Watchlist
from transforms.sources import raw_schema
from transforms.sources import scholar_feed as staging

SLUG = "scholar_feed"
FIXTURES = ROOT / "tests" / "fixtures" / SLUG
API = "/api/v1"
SECRET = "sf_test_key_4c9e1b7d"
SU, ZUO, UNSCORED = "4411872", "3007719", "5120004"
# file -> (HTTP status it stands for, records by entity, quarantined)
EXPECTED: dict[str, tuple[int, dict[str, int], int]] = {
    "discover_zhaoyuan_su.json": (200, {"authors": 3}, 0),
    "discover_empty.json": (200, {}, 0),
    "discover_malformed.json": (200, {"authors": 1}, 3),
    "profile_zhaoyuan_su.json": (200, {"authors": 1, "papers": 6}, 0),
    "profile_pengfei_zuo.json": (200, {"authors": 1, "papers": 10}, 0),
    "profile_unscored.json": (200, {"authors": 1}, 0),
    "profile_malformed_papers.json": (200, {"authors": 1, "papers": 1}, 5),
    "error_404_author.json": (404, {}, 0),
    "error_429_daily.json": (429, {}, 0),
    "error_429_minute.json": (429, {}, 0),
    "error_502.html": (502, {}, 0),
}
DATA_FILES = sorted(n for n, (status, _, _) in EXPECTED.items() if status == 200)


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, status: int = 200) -> Any:
    return sf.parse_response(body(name), f"GET fixture:{name}", status)


def by_id(records: list[dict[str, Any]], key: str = "paper_id") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in records}


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHOLAR_FEED_API_KEY", raising=False)


# ---------------------------------------------------------------- every fixture file


def test_every_fixture_file_is_listed() -> None:
    files = {p.name for p in FIXTURES.iterdir() if p.name != "README.md"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_parses_or_raises(name: str) -> None:
    status, counts, quarantined = EXPECTED[name]
    where = f"GET fixture:{name}"
    if status != 200:
        for as_status in (status, 200):  # fetched, or imported from a file
            if as_status == 200 and name.endswith(".json"):
                continue  # an error envelope imported as a file is covered below
            with pytest.raises(SourceError) as info:
                sf.parse_response(body(name), where, as_status)
            assert info.value.source == SLUG
            assert str(info.value).startswith("[scholar_feed] ") and where in str(info.value)
        return
    page = sf.parse_response(body(name), where, status)
    assert {k: len(v) for k, v in page.records.items()} == counts
    assert len(page.quarantined) == quarantined


@pytest.mark.parametrize("name", DATA_FILES)
def test_records_fit_the_raw_schemas(name: str) -> None:
    page = parse(name)
    for entity, records in page.records.items():
        schema = {c: t for c, t in raw_schema(SLUG, entity).items() if not c.startswith("_")}
        assert [set(r) for r in records] == [set(schema)] * len(records)
        pl.DataFrame(records, schema=schema, strict=True)  # raises if a value does not fit


def test_error_bodies_say_what_upstream_said() -> None:
    with pytest.raises(SourceError, match=r"HTTP 404 from Scholar Feed: Author not found"):
        parse("error_404_author.json", 404)
    with pytest.raises(SourceError, match=r"HTTP 429 .*Anonymous daily limit exceeded"):
        parse("error_429_daily.json", 429)
    with pytest.raises(SourceError, match=r"HTTP 502 from Scholar Feed: HTML page"):
        parse("error_502.html", 502)
    # an error envelope saved to a file and imported (status unknown, 200)
    with pytest.raises(SourceError, match=r"Scholar Feed error: Author not found"):
        parse("error_404_author.json", 200)


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b"", 200, "empty body"),
        (b"   \n", 503, "empty body"),
        (b"Internal Server Error", 500, "HTTP 500 from Scholar Feed: Internal Server Error"),
        (b"not json", 200, "response is not JSON"),
        (b"[1, 2]", 200, "not a Scholar Feed author list or profile"),
        (b'{"papers": []}', 200, "not a Scholar Feed author list or profile"),
        (b'{"detail": [{"msg": "field required"}]}', 422, "HTTP 422 .*field required"),
        (b'{"detail": "Not authenticated"}', 200, "Scholar Feed error: Not authenticated"),
    ],
)
def test_odd_bodies_raise_a_clear_error(payload: bytes, status: int, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        sf.parse_response(payload, "GET https://api.scholarfeed.org/x", status)
    assert "(GET https://api.scholarfeed.org/x)" in str(info.value)


def test_a_byte_order_mark_does_not_break_the_parse() -> None:
    page = sf.parse_response(b"\xef\xbb\xbf" + body("profile_unscored.json"), "GET x")
    assert page.records["authors"][0]["author_id"] == UNSCORED


# ---------------------------------------------------------------- key facts


def test_profile_keeps_the_page_metrics() -> None:
    page = parse("profile_zhaoyuan_su.json")
    (author,) = page.records["authors"]
    assert author == {
        "author_id": SU,
        "name": "Zhaoyuan Su",
        "h_index": 22,
        "citations": 8,
        "paper_count": 6,
        "primary_field": "DC",
        "primary_category": "cs.DC",  # the page's bare "DC"
        "research_topics": ["LLM serving", "model storage and compression", "offloaded training"],
        "years_active": 3,
        "rank": 48211,
        "rank_score": 0.45,
        "novelty": 0.53,
        "ai_score": 45.0,
        "semantic_scholar_id": None,
        "paper_ids": [
            "2605.11585",
            "2604.05352",
            "2605.11948",
            "2505.05480",
            "2505.05693",
            "2402.19603",
        ],
        "from_profile": True,
    }


def test_profile_papers_keep_scores_authors_as_listed_and_mark_truncation() -> None:
    papers = by_id(parse("profile_zhaoyuan_su.json").records["papers"])
    tensorhub = papers["2604.05352"]
    assert (
        tensorhub["title"] == "TensorHub: Rethinking AI Model Hub with Tensor-Centric Compression"
    )
    assert (tensorhub["impact_pct"], tensorhub["category"]) == (81.6, "cs.DC")
    assert tensorhub["published_date"] == date(2026, 4, 18) and tensorhub["year"] == 2026
    assert tensorhub["authors"] == ["Tingfeng Lan", "Zirui Wang", "Yunjia Zheng"]
    assert (tensorhub["authors_truncated"], tensorhub["author_count"]) == (True, 4)
    assert tensorhub["institutions"] == ["cmu"]
    # "et al." as its own element, glued to the last name, or in one "A, B, C et al." string
    for aid, first in (("2605.11585", "Zhaoyuan Su"), ("2605.11948", "Zirui Wang")):
        assert papers[aid]["authors"][0] == first and len(papers[aid]["authors"]) == 3
        assert papers[aid]["authors_truncated"] and papers[aid]["author_count"] is None
    assert papers["2605.11948"]["authors"][-1] == "Tingfeng Lan"
    assert papers["2402.19603"]["authors"] == ["Zhaoyuan Su", "Ammar Ahmed", "Zirui Wang"]
    assert papers["2402.19603"]["authors_truncated"] is True
    assert papers["2402.19603"]["categories"] == ["cs.DB", "cs.LG"]
    assert papers["2605.11585"]["impact_pct"] == 93.8
    assert papers["2605.11948"]["impact_pct"] == 70.5
    assert papers["2505.05693"]["published_date"] == date(2025, 5, 18)  # "May 18, 2025"
    assert papers["2505.05693"]["impact_pct"] is None  # older papers show no score


def test_profile_novelty_from_a_distribution_and_a_paper_without_arxiv_id() -> None:
    page = parse("profile_pengfei_zuo.json")
    (author,) = page.records["authors"]
    assert (author["h_index"], author["citations"], author["paper_count"]) == (25, 263, 12)
    assert (author["novelty"], author["ai_score"], author["primary_category"]) == (
        0.53,
        56.0,
        "cs.DC",
    )
    assert len(author["paper_ids"]) == 10 < author["paper_count"]  # the profile's top 10
    (no_arxiv,) = [p for p in page.records["papers"] if p["arxiv_id"] is None]
    assert no_arxiv["title"] == "A Secure and Persistent Memory System for Non-volatile Memory"
    assert no_arxiv["paper_id"].startswith("title:")
    assert (
        no_arxiv["paper_id"] == parse("profile_pengfei_zuo.json").records["papers"][-1]["paper_id"]
    )  # stable across parses
    assert (no_arxiv["authors_truncated"], no_arxiv["author_count"]) == (False, 3)


def test_unscored_author_keeps_its_nulls() -> None:
    (author,) = parse("profile_unscored.json").records["authors"]
    assert author["author_id"] == UNSCORED and author["paper_ids"] == []
    assert all(author[f] is None for f in ("h_index", "citations", "paper_count", "novelty"))
    assert author["primary_category"] is None


def test_discover_lists_candidates_as_summaries() -> None:
    page = parse("discover_zhaoyuan_su.json")
    assert page.total == 3
    authors = by_id(page.records["authors"], "author_id")
    assert authors[SU]["h_index"] == 22 and authors[SU]["from_profile"] is False
    assert authors[SU]["citations"] is None and authors[SU]["paper_ids"] == []
    assert authors[UNSCORED]["name"] == "Z. Su" and authors[UNSCORED]["h_index"] is None


def test_malformed_records_are_quarantined_with_reasons() -> None:
    page = parse("profile_malformed_papers.json")
    assert [p["paper_id"] for p in page.records["papers"]] == ["2604.05352"]
    assert page.records["authors"][0]["paper_ids"] == ["2604.05352"]
    reasons = {q.reason for q in page.quarantined}
    assert reasons == {
        "paper without a title",
        "not a JSON object",
        "arxiv_id 'not-an-arxiv-id' is not an arXiv identifier",
        "published_date 'May 19' is not a full date",
        "citation_count is not an integer: 'three'",
    }
    assert {q.entity for q in page.quarantined} == {"papers"}
    assert len({q.record_key for q in page.quarantined}) == 5

    disc = parse("discover_malformed.json")
    assert [a["author_id"] for a in disc.records["authors"]] == [SU]
    assert {q.reason for q in disc.quarantined} == {
        "not a JSON object",
        "author without a positive integer id: None",
        "id is not an integer: 'abc'",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2605.11585", "2605.11585"),
        ("arXiv:2605.11585v2", "2605.11585"),
        ("https://arxiv.org/abs/2402.19603v1", "2402.19603"),
        ("cs.DC/0601001", "cs/0601001"),  # old style: the subject class is not in the id
        (None, None),
        ("", None),
    ],
)
def test_arxiv_ids_are_bare(raw: str | None, expected: str | None) -> None:
    assert sf.arxiv_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("DC", "cs.DC"), ("lg", "cs.LG"), ("cs.DC", "cs.DC"), ("q-bio.NC", "q-bio.NC"), ("ZZ", None)],
)
def test_primary_field_becomes_an_arxiv_category(raw: str, expected: str | None) -> None:
    assert sf.arxiv_category(raw) == expected


# ---------------------------------------------------------------- staging and warehouse


def raw_of(*names: str) -> dict[str, pl.LazyFrame]:
    lineage = {
        "_run_id": "r1",
        "_fetched_at": datetime(2026, 6, 1, tzinfo=UTC),
        "_response_sha256": "x",
        "_record_hash": "y",
    }
    frames: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        for entity, records in parse(name).records.items():
            frames.setdefault(entity, []).extend({**r, **lineage} for r in records)
    return {
        f"raw_{SLUG}__{e}": pl.LazyFrame(rows, schema=raw_schema(SLUG, e))
        for e, rows in frames.items()
    }


def test_papers_stage_as_works_and_listed_authorships() -> None:
    raw = raw_of("profile_zhaoyuan_su.json", "profile_pengfei_zuo.json")
    works = staging.works(raw).collect()
    assert works.height == 16
    tensorhub = works.filter(pl.col("source_work_id") == "2604.05352").row(0, named=True)
    assert (tensorhub["arxiv_id"], tensorhub["year"], tensorhub["source"]) == (
        "2604.05352",
        2026,
        SLUG,
    )
    assert tensorhub["publication_date"] == date(2026, 4, 18) and tensorhub["doi"] is None
    assert works.filter(pl.col("arxiv_id").is_null()).height == 1
    ships = staging.authorships(raw).collect()
    listed = ships.filter(pl.col("source_work_id") == "2604.05352")
    assert listed["raw_name"].to_list() == ["Tingfeng Lan", "Zirui Wang", "Yunjia Zheng"]
    assert listed["position"].to_list() == [0, 1, 2]  # no invented fourth author
    assert ships.height == 16 * 3


@pytest.mark.parametrize("name", DATA_FILES)
def test_import_and_build_each_data_file(name: str, tmp_path: Path) -> None:
    _, counts, quarantined = EXPECTED[name]
    report = fetch.import_files(SLUG, [FIXTURES / name])
    if not counts:  # an empty discover page: nothing to load, and still a run
        summary = steps.load_and_build(demo_context(tmp_path / "w.duckdb"), [report], {})
        assert summary.tables["papers"] == 0 and summary.sources[0].records == 0
        return
    summary = steps.load_and_build(demo_context(tmp_path / "w.duckdb"), [report], {})
    (stats,) = summary.sources
    assert stats.new == sum(counts.values())
    assert stats.quarantined == quarantined


# ---------------------------------------------------------------- allowance and limits


def test_daily_quota_stops_the_source_but_a_throttle_is_retried() -> None:
    assert sf.exhausted(429, {}, body("error_429_daily.json")) is not None
    assert sf.exhausted(429, {"X-Quota-Remaining": "0"}, b"{}") is not None
    assert sf.exhausted(429, {}, body("error_429_minute.json")) is None
    assert sf.exhausted(200, {}, body("error_429_daily.json")) is None
    assert SOURCES[SLUG].exhausted is sf.exhausted


def test_host_is_spaced_for_the_stricter_endpoint_limit() -> None:
    # find_author (discover and profile) allows 20 requests a minute
    assert DEFAULT_LIMITS["api.scholarfeed.org"].interval >= 60 / 20


def test_registered_with_signals_citations_and_its_key_variable() -> None:
    source = SOURCES[SLUG]
    assert source.keys == {"authors": "author_id", "papers": "paper_id"}
    assert source.citations == ("papers", "paper_id", "citation_count")
    assert set(source.signals["authors"][1]) >= {"h_index", "citations", "novelty", "ai_score"}
    assert settings.SECRET_ENV[SLUG] == "SCHOLAR_FEED_API_KEY"


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: answers by path, records every request."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.route(request)

    def paths(self) -> list[str]:
        return [r.url.path.removeprefix(API) for r in self.requests]


def ok(name: str, status: int = 200, **headers: str) -> httpx.Response:
    kind = "text/html" if name.endswith(".html") else "application/json"
    return httpx.Response(status, content=body(name), headers={"content-type": kind, **headers})


def standard(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix(API)
    if path == "/public/authors/discover":
        q = request.url.params["q"]
        return ok("discover_zhaoyuan_su.json" if "Su" in q else "discover_empty.json")
    if path == f"/public/authors/{SU}":
        return ok("profile_zhaoyuan_su.json")
    if path == f"/public/authors/{ZUO}":
        return ok("profile_pengfei_zuo.json")
    return ok("error_404_author.json", 404)


@pytest.fixture
def make_client() -> Iterator[Callable[..., HttpClient]]:
    clients: list[HttpClient] = []

    def make(server: Server, **options: Any) -> HttpClient:
        client = HttpClient(
            "team@example.org",
            transport=httpx.MockTransport(server),
            intervals={},
            exhaustion={SLUG: sf.exhausted},
            **{"sleep": lambda s: None, **options},
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def watchlist(researchers: list[dict[str, Any]], **options: int) -> Watchlist:
    return Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": researchers,
            "sources": {"enabled": [SLUG], SLUG: options},
        }
    )


def records(report: FetchReport, entity: str) -> list[dict[str, Any]]:
    return [r for item in report for r in item.page.records.get(entity, [])]


ZUO_BY_ID = {"name": "Pengfei Zuo", "scholar_feed_id": ZUO}


def test_researcher_with_an_id_is_one_profile_request(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(standard)
    report = sf.fetch(make_client(server), watchlist([ZUO_BY_ID]))
    assert server.paths() == [f"/public/authors/{ZUO}"]
    assert "authorization" not in server.requests[0].headers
    assert report.errors == [] and report.stopped is None
    assert [a["author_id"] for a in records(report, "authors")] == [ZUO]
    assert len(records(report, "papers")) == 10


def test_researcher_without_id_is_discovered_by_name_then_profiled(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(standard)
    report = sf.fetch(
        make_client(server), watchlist([{"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]}])
    )
    assert server.paths() == ["/public/authors/discover", f"/public/authors/{SU}"]
    params = server.requests[0].url.params
    assert (params["q"], params["limit"]) == ("Zhaoyuan Su", "10")
    discovered = report.items[0].page.records["authors"]
    assert [a["author_id"] for a in discovered] == [SU]  # not "Z. Su", not "Zhaoyuan Sun"
    assert report.items[1].page.records["authors"][0]["from_profile"] is True
    assert report.errors == []


def discover_answers(edit: Callable[[dict[str, Any]], None]) -> Server:
    """The standard server, with the discover listing edited."""
    listing = json.loads(body("discover_zhaoyuan_su.json"))
    edit(listing)

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/discover"):
            return httpx.Response(200, json=listing)
        return standard(request)

    return Server(route)


@pytest.mark.parametrize("listed", ["Su, Zhaoyuan", "ZHAOYUAN  SÚ", "Su Zhaoyuan", "Zhaoyuan Su."])
def test_discover_matches_names_up_to_order_case_accents_and_punctuation(
    no_key: None, make_client: Callable[..., HttpClient], listed: str
) -> None:
    def rename(listing: dict[str, Any]) -> None:
        (su,) = [a for a in listing["authors"] if str(a["id"]) == SU]
        su["name"] = listed

    server = discover_answers(rename)
    report = sf.fetch(make_client(server), watchlist([{"name": "Zhaoyuan Su"}]))
    assert report.errors == []
    assert server.paths() == ["/public/authors/discover", f"/public/authors/{SU}"]


def test_discover_matches_an_alias(no_key: None, make_client: Callable[..., HttpClient]) -> None:
    server = Server(standard)
    report = sf.fetch(
        make_client(server), watchlist([{"name": "Zhao Y. Su", "aliases": ["Su, Zhaoyuan"]}])
    )
    assert report.errors == []
    assert server.paths()[1] == f"/public/authors/{SU}"


def test_several_matching_candidates_are_an_error_listing_their_ids(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    twin = {"id": 777, "name": "zhaoyuan  su", "h_index": 3, "total_papers": 2}
    server = discover_answers(lambda listing: listing["authors"].append(twin))
    report = sf.fetch(
        make_client(server),
        watchlist([{"name": "Su Zhaoyuan", "aliases": ["Zhaoyuan Su"]}, ZUO_BY_ID]),
    )
    (err,) = report.errors
    assert str(err).startswith(
        "[scholar_feed] 2 Scholar Feed authors are named 'Su Zhaoyuan' (or an alias): "
        f"{SU}, 777; set scholar_feed_id"
    )
    assert "/public/authors/discover?" in err.where
    # no guess between namesakes: no profile of either, and the next researcher runs
    assert server.paths() == ["/public/authors/discover", f"/public/authors/{ZUO}"]


def test_no_matching_candidate_names_the_researcher_and_the_next_one_runs(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(standard)
    report = sf.fetch(make_client(server), watchlist([{"name": "Nobody Here"}, ZUO_BY_ID]))
    (err,) = report.errors
    assert str(err).startswith(
        "[scholar_feed] no Scholar Feed author named 'Nobody Here' (or an alias) among 0 "
        "candidate(s); set scholar_feed_id"
    )
    assert "/public/authors/discover?" in err.where and "q=Nobody+Here" in err.where
    assert server.paths() == ["/public/authors/discover", f"/public/authors/{ZUO}"]


def test_unknown_id_is_a_clear_error_and_the_next_researcher_runs(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(standard)
    report = sf.fetch(
        make_client(server), watchlist([{"name": "Gone", "scholar_feed_id": "42"}, ZUO_BY_ID])
    )
    (err,) = report.errors
    assert "HTTP 404 from Scholar Feed: Author not found" in str(err)
    assert err.where == "GET https://api.scholarfeed.org/api/v1/public/authors/42"
    assert records(report, "authors")[0]["author_id"] == ZUO


def test_non_numeric_id_is_refused_without_a_request(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(standard)
    report = sf.fetch(
        make_client(server), watchlist([{"name": "Typo", "scholar_feed_id": "zuo"}, ZUO_BY_ID])
    )
    (err,) = report.errors
    assert "researcher 'Typo'" in str(err) and "numeric Scholar Feed author id" in str(err)
    assert server.paths() == [f"/public/authors/{ZUO}"]


def test_daily_quota_stops_the_source_without_more_requests(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(f"/{ZUO}"):
            return ok("error_429_daily.json", 429)
        return standard(request)

    server = Server(route)
    report = sf.fetch(
        make_client(server),
        watchlist([ZUO_BY_ID, {"name": "Zhaoyuan Su", "scholar_feed_id": SU}]),
    )
    assert isinstance(report.stopped, AllowanceExhausted)
    assert "daily quota" in report.stopped.reason
    assert server.paths() == [f"/public/authors/{ZUO}"]  # not retried, nothing after it
    assert report.items == []


def test_per_minute_throttle_is_retried_after_retry_after(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    answers = iter([ok("error_429_minute.json", 429, **{"Retry-After": "3"})])

    def route(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or standard(request)

    sleeps: list[float] = []
    server = Server(route)
    report = sf.fetch(make_client(server, sleep=sleeps.append), watchlist([ZUO_BY_ID]))
    assert server.paths() == [f"/public/authors/{ZUO}"] * 2
    assert 3.0 in sleeps
    assert report.errors == [] and report.stopped is None
    assert len(records(report, "papers")) == 10


def test_server_error_after_retries_is_recorded_with_the_request(
    no_key: None, make_client: Callable[..., HttpClient]
) -> None:
    server = Server(lambda r: ok("error_502.html", 502))
    report = sf.fetch(make_client(server, max_attempts=2), watchlist([ZUO_BY_ID]))
    (err,) = report.errors
    assert "HTTP 502 from Scholar Feed: HTML page" in str(err)
    assert len(server.requests) == 2


def test_max_papers_trims_the_profile_and_its_paper_ids(
    no_key: None, make_client: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="scholarflow"):
        report = sf.fetch(make_client(Server(standard)), watchlist([ZUO_BY_ID], max_papers=3))
    papers = records(report, "papers")
    (author,) = records(report, "authors")
    assert len(papers) == 3
    assert author["paper_ids"] == [p["paper_id"] for p in papers]
    (line,) = [
        r.getMessage() for r in caplog.records if r.name == "scholarflow.sources.scholar_feed"
    ]
    assert line.startswith(
        f"[scholar_feed] author {ZUO}: 7 of 10 paper(s) past max_papers=3 left out ("
    )
    assert line.endswith(", … (+2 more))")


@pytest.mark.parametrize("options", [{"discover_limit": 0}, {"max_papers": 51}, {"page": 2}])
def test_options_are_validated(options: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        watchlist([ZUO_BY_ID], **options)


def test_api_key_goes_in_the_bearer_header_never_the_url_or_logs(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    make_client: Callable[..., HttpClient],
) -> None:
    monkeypatch.setenv("SCHOLAR_FEED_API_KEY", SECRET)
    server = Server(standard)
    seen: list[str] = []
    client = make_client(server, on_response=lambda r: seen.append(r.url))
    with caplog.at_level(logging.DEBUG):
        report = sf.fetch(client, watchlist([ZUO_BY_ID]))
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(server.requests[0].url)
    assert report.errors == []
    assert seen and all(SECRET not in u for u in seen)
    assert SECRET not in caplog.text
    assert public_url(server.requests[0].url) == seen[0]


def test_api_key_is_dropped_on_a_redirect_to_another_host(
    monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., HttpClient]
) -> None:
    monkeypatch.setenv("SCHOLAR_FEED_API_KEY", SECRET)

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.scholarfeed.org":
            return httpx.Response(302, headers={"location": "https://elsewhere.example/p.json"})
        return ok("profile_pengfei_zuo.json")

    server = Server(route)
    report = sf.fetch(make_client(server), watchlist([ZUO_BY_ID]))
    assert [r.url.host for r in server.requests] == ["api.scholarfeed.org", "elsewhere.example"]
    assert "authorization" not in server.requests[1].headers
    assert report.errors == []


# ---------------------------------------------------------------- demo fake upstream


def test_fetch_against_the_demo_fake_upstream(no_key: None) -> None:
    facts = json.loads((settings.DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    demo = watchlist(
        [
            {"name": "Danyang Zhuo", "aliases": ["Zhuo, Danyang"], "scholar_feed_id": "1880342"},
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {"name": "Pengfei Zuo", "aliases": ["P. Zuo"], "scholar_feed_id": ZUO},
        ]
    )
    server = Server(FakeUpstream(facts))
    with HttpClient(
        "team@example.org", transport=httpx.MockTransport(server), intervals={}, max_attempts=1
    ) as client:
        report = sf.fetch(client, demo)
    assert report.errors == [] and report.stopped is None
    assert server.paths() == [
        "/public/authors/1880342",
        "/public/authors/discover",
        f"/public/authors/{SU}",
        f"/public/authors/{ZUO}",
    ]
    assert all(item.page.quarantined == [] for item in report)
    profiles = {a["name"]: a for a in records(report, "authors") if a["from_profile"]}
    su = profiles["Zhaoyuan Su"]
    assert (su["h_index"], su["paper_count"], su["citations"], su["novelty"], su["ai_score"]) == (
        22,
        6,
        8,
        0.53,
        45.0,
    )
    assert su["primary_category"] == "cs.DC" and len(su["paper_ids"]) == 6
    zuo = profiles["Pengfei Zuo"]
    assert (zuo["h_index"], zuo["citations"], len(zuo["paper_ids"])) == (25, 263, 10)
    assert len(profiles["Danyang Zhuo"]["paper_ids"]) == 9
    papers = by_id(records(report, "papers"))
    assert papers["2604.05352"]["impact_pct"] == 81.6
    assert papers["2604.05352"]["institutions"] == ["cmu"]
    assert papers["2605.11585"]["impact_pct"] == 93.8
    many = [p for p in papers.values() if p["authors_truncated"]]
    assert many and all(len(p["authors"]) == 3 < p["author_count"] for p in many)

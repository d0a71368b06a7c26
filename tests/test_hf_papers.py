"""Hugging Face Papers source: the genuine daily_papers capture (today's shape) and the project's
2024-shape fixture through the parser and the warehouse, error bodies, quarantine, listing
windows, paging, caps, retries, the optional token, and the demo fake."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
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
    fixture_bytes,
    needs_shared,
    shared_files,
    source_watchlist,
)

from flows import fetch, settings, steps
from flows.http import HttpClient
from flows.sources import SOURCES, hf_papers
from flows.sources.base import FetchReport, SourceError
from flows.watchlist import HfPapersOptions, Watchlist
from transforms.sources import hf_papers as staging

SLUG = "hf_papers"
FILES = shared_files(SLUG)
DAILY = "sotawhat__daily_papers_2026-06-12.json"
LEGACY = ROOT / "tests" / "fixtures" / SLUG / "daily_papers_2024-01-11_legacy_shape.json"
DATA_FILES = [*FILES, LEGACY]
API = "https://huggingface.co/api"
TOKEN = "hf_testtoken9f8e7d6c"
ClientFor = Callable[..., HttpClient]


def daily() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(fixture_bytes(SLUG, DAILY))
    return data


def legacy() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(LEGACY.read_bytes())
    return data


def parse(raw: Any, where: str = "GET list") -> Any:
    return hf_papers.parse_response(json.dumps(raw).encode(), where)


def by_id(page: Any) -> dict[str, dict[str, Any]]:
    return {p["arxiv_id"]: p for p in page.records.get("papers", [])}


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)


# ---------------------------------------------------------------- genuine capture (today's shape)


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert FILES, "no recorded Hugging Face payloads found"
    assert {p.name for p in FILES} <= set(documented(SLUG))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_recorded_payload_parses_with_its_key_facts(path: Path) -> None:
    items = json.loads(path.read_bytes())
    assert documented(SLUG)[path.name]["shape"] == f"array len={len(items)}"
    page = hf_papers.parse_response(path.read_bytes(), f"GET recorded:{path.name}")
    assert page.quarantined == [] and page.total is None and page.next_token is None
    records = by_id(page)
    assert list(records) == [it["paper"]["id"] for it in items]
    for it in items:
        p, r = it["paper"], records[it["paper"]["id"]]
        assert r["title"] == " ".join(p["title"].split())
        assert r["upvotes"] == p["upvotes"]
        assert r["num_comments"] == it["numComments"]
        assert r["github_repo"] == p.get("githubRepo")
        assert r["github_stars"] == p.get("githubStars")
        assert r["project_page"] == p.get("projectPage")
        assert r["organization"] == (it.get("organization") or {}).get("name")
        assert r["submitted_by"] == it["submittedBy"]["name"]
        assert r["ai_keywords"] == p["ai_keywords"]
        assert r["has_ai_summary"] is bool(p["ai_summary"])
        assert [a["name"] for a in r["authors"]] == [a["name"] for a in p["authors"]]
        assert r["submitted_on_daily_at"] == datetime(2026, 6, 12, tzinfo=UTC)


def test_daily_item_values() -> None:
    r = by_id(hf_papers.parse_response(fixture_bytes(SLUG, DAILY), "d"))["2606.13392"]
    assert r["title"] == "MiniMax Sparse Attention"
    assert (r["upvotes"], r["num_comments"], r["github_stars"]) == (103, 4, 251)
    assert r["github_repo"] == "https://github.com/MiniMax-AI/MSA"
    assert (r["organization"], r["published_at"]) == (
        "MiniMaxAI",
        datetime(2026, 6, 11, tzinfo=UTC),
    )
    assert r["ai_summary_model"] == "Qwen/Qwen2.5-Coder-32B-Instruct"
    assert r["is_author_participating"] is False and r["withdrawn_at"] is None
    assert r["discussion_id"] and r["summary"]
    assert len(r["authors"]) == 11


def test_claimed_and_hidden_authors_are_kept_with_their_hub_user() -> None:
    items = daily()
    records = by_id(hf_papers.parse_response(fixture_bytes(SLUG, DAILY), "d"))
    claimed = [
        (it["paper"]["id"], i, a)
        for it in items
        for i, a in enumerate(it["paper"]["authors"])
        if "user" in a
    ]
    assert len(claimed) == 21
    for aid, i, a in claimed:
        got = records[aid]["authors"][i]
        assert got == {
            "name": a["name"],
            "hf_user": a["user"]["user"],
            "status": a["status"],
            "hidden": a["hidden"],
        }
    assert sum(a["hidden"] for r in records.values() for a in r["authors"]) == 1
    plain = records["2606.00467"]["authors"][0]
    assert plain == {"name": "Etienne Casanova", "hf_user": None, "status": None, "hidden": False}


def test_organisation_only_at_item_level_still_counts() -> None:
    items = daily()[:1]
    org = items[0]["paper"].pop("organization")
    items[0]["organization"] = org
    (r,) = parse(items).records["papers"]
    assert (r["organization"], r["organization_name"]) == (
        "caltech",
        "California institute of technology",
    )


def test_single_paper_is_the_bare_paper_object() -> None:
    paper = copy.deepcopy(daily()[20]["paper"])  # /api/papers/{id} answers the paper alone
    assert paper["id"] == "2606.12575"
    (r,) = parse(paper, "GET https://huggingface.co/api/papers/2606.12575").records["papers"]
    assert r["arxiv_id"] == "2606.12575"
    assert r["num_comments"] is None and r["is_author_participating"] is None  # item-level only
    assert r["organization"] == "Tongyi-MAI" and r["upvotes"] == 7
    assert r["submitted_by"] == paper["submittedOnDailyBy"]["name"]


def test_empty_listing_is_no_records_and_no_error() -> None:
    page = hf_papers.parse_response(b"[]", "GET weekend")
    assert page.count() == 0 and page.quarantined == []


# ---------------------------------------------------------------- the 2024 shape


def test_legacy_2024_items_parse_without_the_newer_fields() -> None:
    page = hf_papers.parse_response(LEGACY.read_bytes(), "GET legacy")
    assert page.quarantined == []
    records = by_id(page)
    assert list(records) == ["2401.08671", "2401.05391", "2401.02669"]
    for r in records.values():
        assert r["ai_keywords"] is None and r["has_ai_summary"] is None
        assert r["github_repo"] is None and r["github_stars"] is None
        assert r["organization"] is None and r["project_page"] is None
        assert (r["submitted_by"], r["submitted_by_name"]) == ("akhaliq", "AK")
    fastgen = records["2401.08671"]
    assert (fastgen["upvotes"], fastgen["num_comments"]) == (13, 1)
    assert fastgen["published_at"] == datetime(2024, 1, 9, 18, 59, 23, tzinfo=UTC)
    # no submittedOnDailyAt in early 2024: the item's publishedAt is the submission time
    assert fastgen["submitted_on_daily_at"] == datetime(2024, 1, 11, 2, 17, 33, 181000, tzinfo=UTC)
    assert fastgen["is_author_participating"] is None
    assert len(fastgen["authors"]) == 11 and fastgen["authors"][0]["name"] == "Connor Holmes"
    intel = records["2401.05391"]
    assert (intel["upvotes"], intel["num_comments"]) == (0, 0)
    assert intel["summary"]  # from the paper: this item has no summary of its own
    infinite = records["2401.02669"]
    assert infinite["submitted_on_daily_at"] == datetime(2024, 1, 11, 3, 5, 12, 440000, tzinfo=UTC)
    assert infinite["is_author_participating"] is False


def test_num_comments_from_the_paper_when_the_item_has_none() -> None:
    items = legacy()[:1]
    items[0]["paper"]["numComments"] = items[0].pop("numComments")
    (r,) = parse(items).records["papers"]
    assert r["num_comments"] == 1


# ---------------------------------------------------------------- error bodies


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"error":"Paper not found"}', 404, "HTTP 404 from Hugging Face: Paper not found"),
        (
            b"<!DOCTYPE html><html><title>500</title></html>",
            500,
            "HTTP 500 from Hugging Face: HTML",
        ),
        (b"Too Many Requests", 429, "HTTP 429 from Hugging Face: Too Many Requests"),
        (b"<html><body>Bad gateway</body></html>", 200, "HTML error page"),
        (b'{"error":"Invalid date"}', 200, "Hugging Face error: Invalid date"),
        (b"Not Found", 200, "not JSON"),
        (b"", 200, "not JSON"),
        (b'{"papers": []}', 200, "neither a list of papers nor a paper"),
        (b"42", 200, "neither a list of papers nor a paper"),
    ],
)
def test_error_bodies_raise_naming_source_and_request(
    body: bytes, status: int, fragment: str
) -> None:
    where = "GET https://huggingface.co/api/papers/2401.99999"
    with pytest.raises(SourceError) as info:
        hf_papers.parse_response(body, where, status)
    assert info.value.source == SLUG
    assert str(info.value).startswith("[hf_papers] ") and str(info.value).endswith(f"({where})")
    assert fragment in str(info.value)


# ---------------------------------------------------------------- quarantine


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        (lambda it: it["paper"].pop("id"), "GET list [item 0]", "paper without an id"),
        (lambda it: it["paper"].update(id="not-an-id"), "not-an-id", "not an arXiv id"),
        (lambda it: it.update(title=None) or it["paper"].update(title=" "), "2606.00467", "title"),
        (lambda it: it["paper"].update(upvotes="many"), "2606.00467", "upvotes is not a count"),
        (lambda it: it.update(numComments=1.5), "2606.00467", "numComments is not a count"),
        (lambda it: it["paper"]["authors"].append(None), "2606.00467", "author is not an object"),
        (lambda it: it["paper"]["authors"][0].pop("name"), "2606.00467", "author without a name"),
        (lambda it: it["paper"].update(publishedAt="soon"), "2606.00467", "soon"),
        (lambda it: it["paper"].update(ai_keywords="llm"), "2606.00467", "ai_keywords"),
    ],
    ids=[
        "no-id",
        "not-arxiv",
        "no-title",
        "bad-upvotes",
        "fractional-comments",
        "null-author",
        "nameless-author",
        "bad-date",
        "keywords-not-list",
    ],
)
def test_malformed_paper_is_quarantined_and_the_rest_kept(
    mutate: Callable[[dict[str, Any]], Any], key: str, reason: str
) -> None:
    items = daily()[:3]
    mutate(items[0])
    page = parse(items)
    assert [r["arxiv_id"] for r in page.records["papers"]] == ["2606.12730", "2606.13594"]
    (q,) = page.quarantined
    assert (q.source, q.entity, q.record_key) == (SLUG, "papers", key)
    assert reason in q.reason
    assert json.loads(q.payload)["paper"]["authors"][0]["_id"] == "6a2c75a3a0d4daae4285f065"


def test_non_object_items_get_distinct_keys() -> None:
    page = parse([None, "x", *daily()[:1]])
    assert page.count() == 1
    assert [(q.record_key, q.reason) for q in page.quarantined] == [
        ("GET list [item 0]", "not a JSON object"),
        ("GET list [item 1]", "not a JSON object"),
    ]


def test_versioned_or_prefixed_ids_are_bare_arxiv_ids() -> None:
    items = daily()[:2]
    items[0]["paper"]["id"] = "2606.00467v3"
    items[1]["paper"]["id"] = "arXiv:2606.12730"
    assert [r["arxiv_id"] for r in parse(items).records["papers"]] == ["2606.00467", "2606.12730"]
    assert hf_papers.arxiv_id("hep-th/9901001v2") == "hep-th/9901001"


# ---------------------------------------------------------------- warehouse


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_import_and_build_each_data_file(tmp_path: Path, path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [path])
    summary = steps.load_and_build(demo_context(warehouse), [report], {})
    n = len(json.loads(path.read_bytes()))
    (src,) = summary.sources
    assert (src.source, src.records, src.new, src.quarantined) == (SLUG, n, n, 0)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from raw_hf_papers__papers").fetchone() == (n,)
        metrics = dict(
            con.execute(
                "select metric, count(*) from metric_snapshots where source = 'hf_papers' "
                "group by 1"
            ).fetchall()
        )
        papers = con.execute(
            "select count(*), count(venue) filter (venue = 'arXiv'), count(arxiv_id) from papers "
            "where list_contains(sources, 'hf_papers')"
        ).fetchone()
    finally:
        con.close()
    assert metrics["upvotes"] == n and metrics["num_comments"] == n
    stars = sum(1 for it in json.loads(path.read_bytes()) if it["paper"].get("githubStars"))
    assert metrics.get("github_stars", 0) == stars
    # Hugging Face Papers is not a venue: a paper it lists is on arXiv (it has an arXiv id)
    assert papers == (n, n, n)


def test_signals_are_declared_for_the_numeric_community_metrics() -> None:
    source = SOURCES[SLUG]
    assert source.signals == {"papers": ("arxiv_id", ("upvotes", "num_comments", "github_stars"))}
    assert source.keys == {"papers": "arxiv_id"} and source.citations is None


def test_staged_works_and_authorships() -> None:
    records = hf_papers.parse_response(LEGACY.read_bytes(), "legacy").records["papers"]
    frame = pl.DataFrame(
        [{**r, "_run_id": "r1", "_fetched_at": datetime(2026, 1, 1, tzinfo=UTC)} for r in records],
        schema={
            **staging.SCHEMAS["papers"],
            "_run_id": pl.String,
            "_fetched_at": pl.Datetime("us", "UTC"),
        },
        strict=True,
    )
    raw = {"raw_hf_papers__papers": frame.lazy()}
    works = staging.works(raw).collect()
    assert works["source_work_id"].to_list() == ["2401.08671", "2401.05391", "2401.02669"]
    assert works["arxiv_id"].to_list() == works["source_work_id"].to_list()
    assert works["venue"].to_list() == [None, None, None]
    assert set(works["work_type"]) == {"preprint"} and works["doi"].null_count() == 3
    assert works["year"].to_list() == [2024, 2024, 2024]
    assert works["publication_date"].to_list() == [
        date(2024, 1, 9),
        date(2024, 1, 10),
        date(2024, 1, 5),
    ]
    assert works["cited_by_count"].null_count() == 3
    authorships = staging.authorships(raw).collect()
    fastgen = authorships.filter(pl.col("source_work_id") == "2401.08671")
    assert fastgen["position"].to_list() == list(range(11))
    assert fastgen["raw_name"][0] == "Connor Holmes"
    assert set(authorships["source"]) == {SLUG}


def test_claimed_author_keeps_the_hub_user_as_source_author_id() -> None:
    records = hf_papers.parse_response(fixture_bytes(SLUG, DAILY), "d").records["papers"]
    frame = pl.DataFrame(
        [{**r, "_run_id": "r", "_fetched_at": datetime(2026, 1, 1, tzinfo=UTC)} for r in records],
        schema={
            **staging.SCHEMAS["papers"],
            "_run_id": pl.String,
            "_fetched_at": pl.Datetime("us", "UTC"),
        },
        strict=True,
    )
    a = staging.authorships({"raw_hf_papers__papers": frame.lazy()}).collect()
    claimed = a.filter(pl.col("source_author_id").is_not_null())
    assert claimed.height == 21
    assert "jayoohwang" in claimed["source_author_id"].to_list()


# ---------------------------------------------------------------- options and windows


def options(**kw: Any) -> HfPapersOptions:
    return HfPapersOptions.model_validate(kw)


def test_options_defaults_and_validation() -> None:
    o = options()
    assert (o.period, o.daily_days, o.until, o.max_daily_results, o.search_limit) == (
        "date",
        7,
        None,
        500,
        50,
    )
    o = options(until="2026-05-22", arxiv_ids=["arXiv:2309.06180v2", "hep-th/9901001"])
    assert o.until == date(2026, 5, 22)
    assert o.arxiv_ids == ["2309.06180", "hep-th/9901001"]
    assert options(until=date(2026, 5, 22)).until == date(2026, 5, 22)  # a TOML date
    for bad in (
        {"period": "day"},
        {"arxiv_ids": ["10.1145/1234"]},
        {"daily_days": -1},
        {"search_limit": 500},
        {"until": "yesterday"},
        {"dates": ["2026-05-01"]},
    ):
        with pytest.raises(ValueError):
            options(**bad)


def test_watchlist_toml_section(tmp_path: Path) -> None:
    from flows.watchlist import load_watchlist

    path = tmp_path / "w.toml"
    path.write_text(
        'contact_email = "a@b.org"\n[[researchers]]\nname = "X"\n'
        '[sources.hf_papers]\nperiod = "week"\ndaily_days = 14\nuntil = 2026-05-22\n',
        encoding="utf-8",
    )
    o = load_watchlist(path).sources.hf_papers
    assert (o.period, o.daily_days, o.until) == ("week", 14, date(2026, 5, 22))


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"daily_days": 3}, ["2026-01-02", "2026-01-01", "2025-12-31"]),
        (
            {"daily_days": 3, "until": "2025-06-30"},
            ["2025-06-30", "2025-06-29", "2025-06-28"],
        ),
        ({"daily_days": 10, "period": "week"}, ["2026-W01", "2025-W52"]),
        ({"daily_days": 4, "period": "week", "until": "2021-01-03"}, ["2020-W53"]),
        ({"daily_days": 3, "period": "month"}, ["2026-01", "2025-12"]),
        ({"daily_days": 0}, []),
    ],
)
def test_listing_periods(kw: dict[str, Any], expected: list[str]) -> None:
    o = options(**kw)
    assert hf_papers.periods(o, date(2026, 1, 2)) == [(o.period, v) for v in expected]


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: `route(request)` answers; every request is kept."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response | Any]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "huggingface.co"
        answer = self.route(request)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def calls(self) -> list[str]:
        out = []
        for r in self.requests:
            params = "&".join(f"{k}={v}" for k, v in sorted(r.url.params.items()))
            out.append(r.url.path.removeprefix("/api") + (f"?{params}" if params else ""))
        return out


def watchlist(topics: list[dict[str, object]] | None = None, **hf: object) -> Watchlist:
    return source_watchlist(SLUG, [{"name": "X"}], topics, hf_papers=hf)  # type: ignore[arg-type]


def items_for(n: int, start: int = 0) -> list[dict[str, Any]]:
    """n distinct daily items built from the genuine capture (ids renumbered)."""
    base = daily()
    out = []
    for i in range(start, start + n):
        it = copy.deepcopy(base[i % len(base)])
        it["paper"]["id"] = f"2606.{20000 + i}"
        out.append(it)
    return out


def ids(report: FetchReport) -> list[str]:
    return [p["arxiv_id"] for f in report for p in f.page.records.get("papers", [])]


def test_listing_pages_until_a_short_page(client_for: ClientFor) -> None:
    pages = {"0": items_for(100), "1": items_for(100, 100), "2": items_for(37, 200)}
    server = Server(lambda r: pages[r.url.params["p"]])
    report = hf_papers.fetch(
        client_for(server), watchlist(daily_days=1, until="2026-06-12", max_daily_results=1000)
    )
    assert report.errors == [] and report.stopped is None
    assert server.calls() == [f"/daily_papers?date=2026-06-12&limit=100&p={p}" for p in "012"]
    assert len(ids(report)) == 237


def test_listing_that_ends_on_a_full_page_asks_once_more(client_for: ClientFor) -> None:
    pages = {"0": items_for(100), "1": []}
    server = Server(lambda r: pages[r.url.params["p"]])
    report = hf_papers.fetch(client_for(server), watchlist(daily_days=1, until="2026-06-12"))
    assert [r.url.params["p"] for r in server.requests] == ["0", "1"]
    assert len(ids(report)) == 100 and report.errors == []


def listing_of(n: int) -> Callable[[httpx.Request], Any]:
    """A listing of n items served like the API: page `p` of `limit` items starts at p*limit."""
    everything = items_for(n)

    def route(r: httpx.Request) -> Any:
        limit, p = int(r.url.params["limit"]), int(r.url.params["p"])
        return everything[p * limit : (p + 1) * limit]

    return route


def test_listing_stops_at_the_cap(client_for: ClientFor, caplog: pytest.LogCaptureFixture) -> None:
    server = Server(listing_of(250))
    with caplog.at_level(logging.INFO, logger="scholarflow"):
        report = hf_papers.fetch(
            client_for(server),
            watchlist(daily_days=2, period="week", until="2026-06-12", max_daily_results=150),
        )
    assert server.calls() == [  # the page size never changes: `p` counts pages of `limit`
        "/daily_papers?limit=100&p=0&week=2026-W24",
        "/daily_papers?limit=100&p=1&week=2026-W24",
    ]
    assert ids(report) == [f"2606.{20000 + i}" for i in range(150)]  # 0-149, each once
    (line,) = [r.getMessage() for r in caplog.records if r.name == "scholarflow.sources.hf_papers"]
    assert line == (
        "[hf_papers] week=2026-W24: 50 paper(s) past max_daily_results=150 left out "
        "(2606.20150, 2606.20151, 2606.20152, 2606.20153, 2606.20154, … (+45 more))"
    )


def test_live_window_defaults_to_recent_days(client_for: ClientFor) -> None:
    server = Server(lambda r: [])
    hf_papers.fetch(client_for(server), watchlist(daily_days=2), today=date(2026, 3, 1))
    assert server.calls() == [
        "/daily_papers?date=2026-03-01&limit=100&p=0",
        "/daily_papers?date=2026-02-28&limit=100&p=0",
    ]


def test_requests_in_order_singles_searches_listings(client_for: ClientFor) -> None:
    single = daily()[0]["paper"]
    searched = daily()[:2]

    def route(r: httpx.Request) -> Any:
        if r.url.path == "/api/papers/2606.00467":
            return single
        if r.url.path == "/api/papers/search":
            return searched
        return daily()

    server = Server(route)
    topics = [
        {"name": "LLM serving", "keywords": ["LLM serving", "KV cache"]},
        {"name": "Caching", "keywords": ["KV cache"]},
    ]
    wl = source_watchlist(
        SLUG,
        [{"name": "X"}],
        topics,
        max_topic_results=20,
        hf_papers={"daily_days": 1, "until": "2026-06-12", "arxiv_ids": ["2606.00467"]},  # type: ignore[arg-type]
    )
    report = hf_papers.fetch(client_for(server), wl)
    assert report.errors == []
    assert server.calls() == [
        "/papers/2606.00467",
        "/papers/search?limit=20&q=LLM serving",
        "/papers/search?limit=20&q=KV cache",
        "/daily_papers?date=2026-06-12&limit=100&p=0",
    ]
    # the listing comes last, so its record (with numComments) is the one loaded
    assert ids(report)[-30:] == [it["paper"]["id"] for it in daily()]
    assert report.items[0].page.records["papers"][0]["num_comments"] is None


def test_unknown_paper_is_an_error_and_the_fetch_goes_on(client_for: ClientFor) -> None:
    def route(r: httpx.Request) -> Any:
        if r.url.path == "/api/papers/2401.99999":
            return httpx.Response(404, json={"error": "Paper not found"})
        return []

    server = Server(route)
    report = hf_papers.fetch(
        client_for(server), watchlist(daily_days=1, until="2026-06-12", arxiv_ids=["2401.99999"])
    )
    (err,) = report.errors
    assert str(err) == (
        "[hf_papers] HTTP 404 from Hugging Face: Paper not found "
        "(GET https://huggingface.co/api/papers/2401.99999)"
    )
    assert len(server.requests) == 2 and report.stopped is None


def test_server_error_is_retried_then_reported(client_for: ClientFor) -> None:
    server = Server(lambda r: httpx.Response(500, text="<html>oops</html>"))
    report = hf_papers.fetch(client_for(server), watchlist(daily_days=1, until="2026-06-12"))
    (err,) = report.errors
    assert "HTTP 500 from Hugging Face: HTML error page" in str(err)
    assert len(server.requests) == 5  # the shared client's attempts


def test_429_then_200_honours_retry_after() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"), daily()]
    sleeps: list[float] = []

    def route(r: httpx.Request) -> Any:
        return answers.pop(0)

    client = HttpClient(
        "a@b.org", transport=httpx.MockTransport(Server(route)), intervals={}, sleep=sleeps.append
    )
    with client:
        report = hf_papers.fetch(client, watchlist(daily_days=1, until="2026-06-12"))
    assert report.errors == [] and len(ids(report)) == 30
    assert 7.0 in sleeps


def test_token_is_sent_as_bearer_and_never_shown(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert settings.secret(SLUG) == TOKEN
    server = Server(lambda r: [])
    with caplog.at_level(logging.DEBUG):
        report = hf_papers.fetch(client_for(server), watchlist(daily_days=1, until="2026-06-12"))
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text
    assert all(TOKEN not in f.response.url for f in report)


def test_no_token_no_authorization_header(client_for: ClientFor) -> None:
    server = Server(lambda r: [])
    hf_papers.fetch(client_for(server), watchlist(daily_days=1, until="2026-06-12"))
    assert "authorization" not in server.requests[0].headers


# ---------------------------------------------------------------- demo fake


DEMO_DAILY = ["2605.11948", "2605.08314", "2605.12999", "2605.15238", "2605.11585", "2605.04263"]


def test_fetch_against_the_demo_fake() -> None:
    from flows.demo.generate import FakeUpstream

    facts = json.loads((settings.DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    wl = source_watchlist(
        SLUG,
        [{"name": "Danyang Zhuo"}, {"name": "Zhaoyuan Su"}, {"name": "Pengfei Zuo"}],
        [{"name": "LLM serving", "keywords": ["LLM serving", "LLM inference", "KV cache"]}],
        hf_papers={  # type: ignore[arg-type]
            "period": "week",
            "daily_days": 14,
            "until": "2026-05-22",
            "arxiv_ids": ["2309.06180"],
        },
    )
    client = HttpClient(
        "a@b.org", transport=httpx.MockTransport(FakeUpstream(facts)), intervals={}, max_attempts=1
    )
    with client:
        report = hf_papers.fetch(client, wl)
    assert report.errors == [] and report.stopped is None
    assert all(not f.page.quarantined for f in report)
    urls = [re.sub(r"^https://huggingface.co/api", "", f.response.url) for f in report]
    assert urls == [
        "/papers/2309.06180",
        "/papers/search?limit=50&q=LLM+serving",
        "/papers/search?limit=50&q=LLM+inference",
        "/papers/search?limit=50&q=KV+cache",
        "/daily_papers?limit=100&p=0&week=2026-W21",
        "/daily_papers?limit=100&p=0&week=2026-W20",
        "/daily_papers?limit=100&p=0&week=2026-W19",
    ]
    listed = [p["arxiv_id"] for f in report.items[-3:] for p in f.page.records["papers"]]
    assert listed == DEMO_DAILY
    records = {p["arxiv_id"]: p for f in report for p in f.page.records.get("papers", [])}
    assert len(records) == 16
    vllm = records["2309.06180"]
    assert vllm["github_repo"] == "https://github.com/vllm-project/vllm"
    assert vllm["authors"][0]["name"] == "Woosuk Kwon"
    flashsvd = records["2605.08314"]
    assert flashsvd["submitted_on_daily_at"] == datetime(2026, 5, 11, tzinfo=UTC)
    assert "Danyang Zhuo" in [a["name"] for a in flashsvd["authors"]]
    assert (flashsvd["upvotes"], flashsvd["num_comments"]) == (34, 3)
    assert records["2507.19427"]["organization"] == "stepfun-ai"
    assert records["2512.16229"]["submitted_on_daily_at"] is None  # indexed, never on the list

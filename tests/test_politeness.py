"""Politeness and budgets shared by every source: host policies (interval, window, concurrency,
host groups, limits read from headers), robots.txt, cost units, daily budgets, a source saying
its allowance is spent, the usage ledger, and scraper drift.

Time is a fake clock that moves only when the client sleeps: no test sleeps for real.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from flows import context, fetch, ledger_tables, steps, warehouse
from flows.http import (
    DEFAULT_LIMITS,
    AllowanceExhausted,
    BudgetSpent,
    FetchedResponse,
    HostPolicy,
    HttpClient,
    RateLimiter,
    RobotsDisallowed,
    advertised_interval,
)
from flows.sources import SOURCES, openalex
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    ScrapeDrift,
    check_drift,
)
from flows.watchlist import Watchlist
from tests.conftest import demo_context

EMAIL = "team@example.org"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def client(handler: Handler, fake: FakeTime, **kwargs: object) -> HttpClient:
    kwargs.setdefault("intervals", {})
    return HttpClient(
        EMAIL,
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,  # type: ignore[arg-type]
    )


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


# --- host policies ----------------------------------------------------------------------------


def test_documented_defaults() -> None:
    assert DEFAULT_LIMITS["export.arxiv.org"] == HostPolicy(3.0, 1, group="arxiv")
    assert DEFAULT_LIMITS["arxiv.org"].group == "arxiv"
    assert DEFAULT_LIMITS["dblp.org"].interval >= 1.0
    assert DEFAULT_LIMITS["par.nsf.gov"].interval >= 1.0
    assert DEFAULT_LIMITS["huggingface.co"].window == (500, 300.0)
    assert DEFAULT_LIMITS["api.semanticscholar.org"].interval >= 1.0


def test_window_quota_spreads_the_501st_request_to_the_next_window(fake: FakeTime) -> None:
    limiter = RateLimiter(
        {"huggingface.co": HostPolicy(0.0, 2, window=(500, 300.0))},
        clock=fake.clock,
        sleep=fake.sleep,
    )
    waits = [limiter.wait("huggingface.co") for _ in range(501)]
    assert waits[:500] == [0.0] * 500  # a burst within the allowance is not slowed down
    assert waits[500] == pytest.approx(300.0)  # ...but the 501st waits for the window to slide
    assert limiter.wait("huggingface.co") == 0.0  # the window slid by one request


def test_hosts_in_one_group_share_the_interval(fake: FakeTime) -> None:
    limiter = RateLimiter(DEFAULT_LIMITS, clock=fake.clock, sleep=fake.sleep)
    limiter.wait("export.arxiv.org")
    assert limiter.wait("arxiv.org") == pytest.approx(3.0)  # API and listing pages: one arXiv
    assert limiter.wait("api.openalex.org") == 0.0  # another host is independent


def test_concurrency_cap_per_host() -> None:
    """With concurrency 1 requests to a host never overlap; another host is not blocked."""
    limiter = RateLimiter({"a.org": HostPolicy(0.0, 1), "b.org": HostPolicy(0.0, 2)})
    active = {"a.org": 0, "b.org": 0}
    peak = {"a.org": 0, "b.org": 0}
    lock = threading.Lock()
    both_b_inside = threading.Barrier(2, timeout=5)

    def work(host: str) -> None:
        with limiter.slot(host):
            with lock:
                active[host] += 1
                peak[host] = max(peak[host], active[host])
            if host == "b.org":
                both_b_inside.wait()  # only passes if two b.org requests are open at once
            with lock:
                active[host] -= 1

    threads = [threading.Thread(target=work, args=(h,)) for h in ["a.org"] * 4 + ["b.org"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak == {"a.org": 1, "b.org": 2}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-limit": "50", "x-rate-limit-interval": "1s"}, 0.02),
        ({"x-rate-limit-limit": "5", "x-rate-limit-interval": "1s"}, 0.2),
        ({"x-rate-limit-limit": "10", "x-rate-limit-interval": "2m"}, 12.0),
        ({"x-rate-limit-limit": "0", "x-rate-limit-interval": "1s"}, None),
        ({"x-rate-limit-limit": "50"}, None),
        ({"x-rate-limit-limit": "fifty", "x-rate-limit-interval": "1s"}, None),
    ],
)
def test_advertised_interval(headers: dict[str, str], expected: float | None) -> None:
    assert advertised_interval(httpx.Headers(headers)) == (
        pytest.approx(expected) if expected is not None else None
    )


def test_client_follows_the_rate_limit_a_server_advertises(fake: FakeTime) -> None:
    def crossref(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"status": "ok"},
            headers={"X-Rate-Limit-Limit": "2", "X-Rate-Limit-Interval": "1s"},
        )

    with client(crossref, fake, intervals={"api.crossref.org": HostPolicy(0.1)}) as c:
        for _ in range(3):
            c.get("crossref", "https://api.crossref.org/works")
    # first gap: the configured 0.1 s; after the headers said 2 per second, 0.5 s
    assert fake.sleeps == [pytest.approx(0.1), pytest.approx(0.5)]


def test_watchlist_limits_override_defaults() -> None:
    wl = Watchlist.model_validate(
        {
            "contact_email": EMAIL,
            "researchers": [{"name": "A B"}],
            "limits": {
                "dblp.org": {"min_interval": 2.5},
                "huggingface.co": {"window_requests": 100},
                "new.example.org": {"concurrency": 3},
            },
        }
    )
    limits = fetch.host_limits(wl)
    assert limits["dblp.org"] == HostPolicy(2.5, 1)
    assert limits["huggingface.co"].window == (100, 300.0)
    assert limits["new.example.org"] == HostPolicy(1.0, 3)
    assert limits["export.arxiv.org"] == DEFAULT_LIMITS["export.arxiv.org"]


# --- robots.txt --------------------------------------------------------------------------------

ROBOTS = "User-agent: *\nDisallow: /private/\n\nUser-agent: scholarflow\nDisallow: /search/\n"


def site(robots_status: int = 200, robots: str = ROBOTS) -> tuple[Handler, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(robots_status, text=robots)
        return httpx.Response(200, text="<html></html>")

    return handler, seen


def test_robots_disallowed_path_is_skipped_and_logged(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    handler, seen = site()
    with client(handler, fake) as c:
        assert c.get("nsf_par", "https://par.example.gov/list/a", robots=True).status == 200
        with pytest.raises(RobotsDisallowed):
            c.get("nsf_par", "https://par.example.gov/search/x", robots=True)
        # a group naming our agent replaces the `*` group (RFC 9309 §2.2.1)
        c.get("nsf_par", "https://par.example.gov/private/y", robots=True)
    # robots.txt read once per host; the disallowed page was never requested
    assert seen == ["/robots.txt", "/list/a", "/private/y"]
    assert "robots.txt disallows GET https://par.example.gov/search/x" in caplog.text


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (503, False)])
def test_robots_status_semantics(fake: FakeTime, status: int, allowed: bool) -> None:
    """RFC 9309: an unavailable robots.txt (4xx) allows all, an unreachable one (5xx) none."""
    handler, seen = site(robots_status=status, robots="")
    with client(handler, fake, max_attempts=1) as c:
        if allowed:
            c.get("nsf_par", "https://par.example.gov/search/x", robots=True)
        else:
            with pytest.raises(RobotsDisallowed):
                c.get("nsf_par", "https://par.example.gov/search/x", robots=True)
    assert ("/search/x" in seen) is allowed


def test_api_requests_do_not_read_robots(fake: FakeTime) -> None:
    handler, seen = site()
    with client(handler, fake) as c:
        c.get("crossref", "https://api.example.org/search/works")
    assert seen == ["/search/works"]


def test_robots_skip_is_reported_not_an_error(fake: FakeTime) -> None:
    handler, _ = site()
    report = FetchReport("nsf_par")

    def pages(c: HttpClient) -> Iterator[Fetched]:
        resp = c.get("nsf_par", "https://par.example.gov/search/x", robots=True)
        yield Fetched(resp, Page())

    with client(handler, fake) as c:
        report.collect(pages(c))
    assert report.errors == [] and report.items == []
    assert report.skipped == ["https://par.example.gov/search/x"]


# --- cost units, budgets, allowance -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "units"),
    [
        ("/works/W123", {}, 0.0),
        ("/authors/A5023888391", {"mailto": "x"}, 0.0),
        ("/works", {"filter": "authorships.author.id:A1"}, 1.0),
        ("/works", {"filter": "title.search:kv cache"}, 10.0),
        ("/works", {"search": "llm serving", "filter": "from_publication_date:2018-01-01"}, 10.0),
        ("/authors", {"search": "Danyang Zhuo"}, 10.0),
    ],
)
def test_openalex_prices_singletons_lists_and_searches_differently(
    path: str, query: dict[str, str], units: float
) -> None:
    assert openalex.cost(path, query) == units
    assert SOURCES["openalex"].cost is openalex.cost


def test_budget_stops_the_source_and_keeps_what_it_got(fake: FakeTime) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"results": []})

    costs = {"openalex": openalex.cost}
    report = FetchReport("openalex")

    def page(c: HttpClient, n: int) -> Iterator[Fetched]:
        resp = c.get("openalex", "https://api.openalex.org/works", params={"search": f"q{n}"})
        yield Fetched(resp, Page())

    with client(handler, fake, costs=costs, budgets={"openalex": 25.0}) as c:
        for n in range(5):
            report.collect(page(c, n))
        assert c.usage["openalex"].requests == 2
        assert c.usage["openalex"].cost_units == 20.0
        with pytest.raises(BudgetSpent):  # every later request is refused without sending
            c.get("openalex", "https://api.openalex.org/works/W1")
    assert len(seen) == 2 and len(report.items) == 2
    assert isinstance(report.stopped, BudgetSpent)
    assert "daily budget spent" in str(report.stopped)
    assert report.errors == []


def test_source_saying_allowance_is_spent_stops_it_without_retrying(fake: FakeTime) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(200, json={"results": []})
        return httpx.Response(429, json={"error": "Daily budget exceeded", "message": "..."})

    exhaustion = {"openalex": openalex.exhausted}
    with client(handler, fake, exhaustion=exhaustion) as c:
        c.get("openalex", "https://api.openalex.org/works")
        with pytest.raises(AllowanceExhausted) as info:
            c.get("openalex", "https://api.openalex.org/works?page=2")
        with pytest.raises(AllowanceExhausted):
            c.get("openalex", "https://api.openalex.org/works?page=3")
    assert calls == 2  # no retries of a spent allowance, no further requests
    assert "daily allowance spent" in str(info.value)
    assert fake.sleeps == []


def test_short_throttle_is_retried_not_a_spent_allowance(fake: FakeTime) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, text="Too many requests", headers={"Retry-After": "2"})
        return httpx.Response(200, json={"results": []})

    with client(handler, fake, exhaustion={"openalex": openalex.exhausted}) as c:
        assert c.get("openalex", "https://api.openalex.org/works").status == 200
    assert calls == 2 and fake.sleeps == [2.0]


# --- usage ledger ---------------------------------------------------------------------------


def _usage_row(run_id: str, source: str, day: date, units: float) -> dict[str, object]:
    return {
        "run_id": run_id,
        "source": source,
        "usage_date": day,
        "mode": "live",
        "requests": 3,
        "cost_units": units,
        "daily_budget": 100.0,
        "stopped_reason": None,
        "recorded_at": datetime.now(UTC),
    }


def test_budget_left_subtracts_what_earlier_runs_spent_today(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    today = datetime.now(UTC).date()
    with warehouse.writer(path) as con:
        ledger_tables.record_usage(
            con,
            [
                _usage_row("r1", "openalex", today, 30.0),
                _usage_row("r2", "openalex", today, 45.0),
                _usage_row("r0", "openalex", today - timedelta(days=1), 90.0),  # yesterday's
                _usage_row("r1", "crossref", today, 5.0),
                {**_usage_row("r3", "openalex", today, 50.0), "mode": "replay"},  # free
            ],
        )
    wl = Watchlist.model_validate(
        {
            "contact_email": EMAIL,
            "researchers": [{"name": "A B"}],
            "budgets": {"openalex": 100.0, "semantic_scholar": 10.0},
        }
    )
    assert fetch.budgets_left(wl, path) == {"openalex": 25.0, "semantic_scholar": 10.0}
    assert fetch.budgets_left(wl, tmp_path / "missing.duckdb") == {
        "openalex": 100.0,
        "semantic_scholar": 10.0,
    }


def test_run_writes_the_ledger_with_the_stop_reason(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    ctx = demo_context(path)
    ctx.mode = "live"
    resp = FetchedResponse(
        "openalex",
        "GET",
        "https://api.openalex.org/authors/A1",
        200,
        "application/json",
        b"{}",
        datetime.now(UTC),
    )
    page = Page()
    page.add("authors", {"author_id": "A1", "display_name": "A B"})
    report = FetchReport("openalex", items=[Fetched(resp, page)])
    report.stopped = BudgetSpent("openalex", resp.url, "daily budget spent")
    from flows.http import Usage

    usage = {"openalex": Usage(requests=7, cost_units=61.0, budget_left=65.0)}
    steps.load_and_build(ctx, [report], usage)
    with warehouse.reader(path) as con:
        rows = con.execute(
            "select source, requests, cost_units, stopped_reason from usage_ledger"
        ).fetchall()
    assert rows == [("openalex", 7, 61.0, "daily budget spent")]


# --- scraper drift ----------------------------------------------------------------------------


def test_check_drift() -> None:
    body = b"<html>3 results</html>"
    check_drift("nsf_par", "GET u", body, [], lists_results=False)  # a genuinely empty page
    with pytest.raises(ScrapeDrift, match="lists results but none could be parsed"):
        check_drift("nsf_par", "GET u", body, [], lists_results=True)
    items = [{"title": "", "year": 2024}, {"title": None, "year": 2023}]
    with pytest.raises(ScrapeDrift, match="field 'title' is missing on all 2 items"):
        check_drift("nsf_par", "GET u", body, items, lists_results=True, required=("title",))
    check_drift(  # one item with the field is enough: the others are just incomplete records
        "nsf_par", "GET u", body, [*items, {"title": "T"}], lists_results=True, required=("title",)
    )


def test_drift_stops_the_source_and_saves_the_page(fake: FakeTime, tmp_path: Path) -> None:
    pages_served = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal pages_served
        pages_served += 1
        return httpx.Response(200, text="<html><p>12 results</p></html>")

    def listing(c: HttpClient, n: int) -> Iterator[Fetched]:
        resp = c.get("arxiv", f"https://example.org/list?p={n}")
        check_drift("arxiv", f"GET {resp.url}", resp.body, [], lists_results=True)
        yield Fetched(resp, Page())

    def fake_fetch(c: HttpClient, wl: Watchlist, plan: object = None) -> FetchReport:
        report = FetchReport("arxiv")
        for n in range(3):
            report.collect(listing(c, n))
        return report

    wl = Watchlist.model_validate({"contact_email": EMAIL, "researchers": [{"name": "A B"}]})
    source = SOURCES["arxiv"]
    original = source.fetch
    object.__setattr__(source, "fetch", fake_fetch)
    try:
        with client(handler, fake) as c:
            report = fetch.fetch_source("arxiv", wl, c, tmp_path / "drift")
    finally:
        object.__setattr__(source, "fetch", original)
    assert pages_served == 1  # stopped after the first drifted page
    assert isinstance(report.stopped, ScrapeDrift) and len(report.errors) == 1
    saved = list((tmp_path / "drift").iterdir())
    assert len(saved) == 1 and saved[0].read_bytes() == b"<html><p>12 results</p></html>"
    assert str(saved[0]) in str(report.errors[0])


# --- resume after a spent budget ---------------------------------------------------------------


def _openalex_upstream(pages: int) -> tuple[Handler, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path + "?" + request.url.params.get("cursor", ""))
        if request.url.path.startswith("/authors/"):
            return httpx.Response(
                200, json={"id": "https://openalex.org/A5000000001", "display_name": "Ada Byron"}
            )
        n = 1 if request.url.params["cursor"] == "*" else int(request.url.params["cursor"][1:])
        work = {
            "id": f"https://openalex.org/W{n:03d}",
            "display_name": f"Work number {n} about serving",
            "publication_year": 2024,
            "cited_by_count": n,
        }
        nxt = f"c{n + 1}" if n < pages else None
        return httpx.Response(
            200, json={"meta": {"count": pages, "next_cursor": nxt}, "results": [work]}
        )

    return handler, seen


def _live_run(
    monkeypatch: pytest.MonkeyPatch, path: Path, handler: Handler, budget: float
) -> context.RunSummary:
    wl = Watchlist.model_validate(
        {
            "contact_email": EMAIL,
            "researchers": [{"name": "Ada Byron", "openalex_id": "A5000000001"}],
            "sources": {"enabled": ["openalex"]},
            "budgets": {"openalex": budget},
        }
    )

    def offline_client(*args: object, **kwargs: object) -> HttpClient:
        kwargs.update(transport=httpx.MockTransport(handler), intervals={}, sleep=lambda s: None)
        return HttpClient(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch, "HttpClient", offline_client)
    ctx = context.RunContext("ingest", "live", wl, "sha", path)
    return steps.ingest(ctx, ["openalex"])


def test_next_run_resumes_where_the_spent_budget_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    handler, seen = _openalex_upstream(pages=4)

    first = _live_run(monkeypatch, path, handler, budget=3.0)
    assert seen == ["/authors/A5000000001?", "/works?*", "/works?c2", "/works?c3"]
    assert first.sources[0].stopped and "daily budget spent" in first.sources[0].stopped
    assert first.sources[0].errors == []
    assert first.tables["papers"] == 3  # what it got is loaded

    seen.clear()
    second = _live_run(monkeypatch, path, handler, budget=3.0)  # same day: nothing left
    assert seen == []  # the three pages come from the archive, nothing is requested twice
    assert second.sources[0].resumed == 4 and second.sources[0].stopped
    assert second.snapshots == 0  # those counts were observed (and snapshotted) by the first run
    assert second.tables["papers"] == 3

    seen.clear()
    third = _live_run(monkeypatch, path, handler, budget=4.0)  # one unit more: finishes
    assert seen == ["/works?c4"]
    assert third.tables["papers"] == 4 and third.error_count == 0
    assert third.sources[0].stopped is None and third.stopped_count == 0
    with warehouse.reader(path) as con:
        assert con.execute("select count(*) from source_state").fetchall() == [(0,)]
        ledger = con.execute(
            "select cost_units, stopped_reason is not null from usage_ledger order by recorded_at"
        ).fetchall()
    assert ledger == [(3.0, True), (0.0, True), (1.0, False)]


def test_robots_longest_match_wins_and_crawl_delay_is_honoured(fake: FakeTime) -> None:
    """Google Scholar's rules: /citations? is disallowed except profile pages (user= first),
    never their paging; the stdlib parser (first match, no wildcards) would refuse them all."""
    rules = (
        "User-agent: *\nDisallow: /citations?\nAllow: /citations?user=\n"
        "Disallow: /citations?*cstart=\nCrawl-delay: 7\n"
    )
    handler, seen = site(robots=rules)
    with client(handler, fake, intervals={"scholar.example.com": HostPolicy(2.0)}) as c:
        c.get("profiles", "https://scholar.example.com/citations?user=abc&hl=en", robots=True)
        for blocked in ("citations?hl=en&user=abc", "citations?user=abc&cstart=20"):
            with pytest.raises(RobotsDisallowed):
                c.get("profiles", f"https://scholar.example.com/{blocked}", robots=True)
        c.get("profiles", "https://scholar.example.com/citations?user=xyz", robots=True)
    assert seen == ["/robots.txt", "/citations", "/citations"]
    # robots.txt itself went at the configured 2 s pace, then Crawl-delay 7 s took over
    assert fake.sleeps == [pytest.approx(2.0), pytest.approx(7.0)]


def test_a_throttled_request_is_billed_once(fake: FakeTime) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return httpx.Response(429, text="slow down", headers={"Retry-After": "1"})
        return httpx.Response(200, json={"results": []})

    with client(handler, fake, costs={"openalex": openalex.cost}, budgets={"openalex": 25.0}) as c:
        c.get("openalex", "https://api.openalex.org/works", params={"search": "kv cache"})
        usage = c.usage["openalex"]
    assert (usage.requests, usage.cost_units) == (3, 10.0)  # three attempts, one search billed


def test_unreachable_robots_txt_disallows_the_host_once(fake: FakeTime) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text="<html></html>")

    with client(handler, fake) as c:
        for page in ("a", "b"):
            with pytest.raises(RobotsDisallowed):
                c.get("nsf_par", f"https://par.example.gov/{page}", robots=True)
    assert seen == ["/robots.txt", "/robots.txt"]  # two tries of one fetch, then cached


def test_advertised_limits_never_speed_us_up_past_the_configured_interval(
    fake: FakeTime,
) -> None:
    def generous(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={}, headers={"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Interval": "1s"}
        )

    with client(generous, fake, intervals={"api.crossref.org": HostPolicy(0.2)}) as c:
        for _ in range(3):
            c.get("crossref", "https://api.crossref.org/works")
    assert fake.sleeps == [pytest.approx(0.2), pytest.approx(0.2)]


def test_a_failed_run_still_books_what_it_spent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    good, _ = _openalex_upstream(pages=4)

    def network_drops(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c3":
            raise httpx.ConnectError("network is unreachable", request=request)
        return good(request)

    from flows.http import FetchError

    with pytest.raises(FetchError):
        _live_run(monkeypatch, path, network_drops, budget=100.0)
    with warehouse.reader(path) as con:
        ledger = con.execute(
            "select source, requests, cost_units, stopped_reason from usage_ledger"
        ).fetchall()
        # no data loaded; the failed run leaves its trace (issue 11)
        ((status, error),) = con.execute("select status, error from runs").fetchall()
        assert status == "failed" and error.startswith("FetchError")
        assert con.execute("select count(*) from raw_responses").fetchall() == [(0,)]
    # the author (free) and 2 list pages were served; the third page never reached the host
    assert ledger == [("openalex", 3, 2.0, "run failed: FetchError")]

"""flows.http: the one shared HTTP client (user agent, timeouts, rate limits, retries, redaction).

Everything goes through httpx.MockTransport; time is a fake clock that only moves when the
client sleeps, so no assertion depends on the wall clock.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from flows import __version__
from flows.http import (
    DEFAULT_LIMITS,
    RETRY_STATUSES,
    SECRET_HEADERS,
    SECRET_PARAMS,
    FetchedResponse,
    FetchError,
    HttpClient,
    RateLimiter,
    public_url,
    retry_after_seconds,
)

EMAIL = "research-office@example.org"
HOST = "api.example.org"
URL = f"https://{HOST}/works"
SECRET = "s3cr3t-K3Y-value"
HEADER_SECRET = "hdr-t0ken-4242"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """Monotonic clock that advances only by what is slept; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class FrozenTime(FakeTime):
    """Clock that never moves (sleeps are recorded only): makes reservations exact."""

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make(
    handler: Handler,
    fake: FakeTime,
    *,
    intervals: dict[str, float] | None = None,
    **kwargs: object,
) -> HttpClient:
    return HttpClient(
        EMAIL,
        transport=httpx.MockTransport(handler),
        intervals={} if intervals is None else intervals,
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,  # type: ignore[arg-type]
    )


def scripted(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """Handler serving the given responses in order (the last one repeats); logs requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def ok(body: bytes = b'{"ok": true}') -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


# --- identity: user agent, timeouts ---------------------------------------------------------


def test_user_agent_names_project_version_and_contact(fake: FakeTime) -> None:
    handler, seen = scripted(ok())
    with make(handler, fake) as client:
        client.get("openalex", URL)
    ua = seen[0].headers["user-agent"]
    assert ua.startswith(f"scholarflow/{__version__}")
    assert f"mailto:{EMAIL}" in ua
    assert client.user_agent == ua


def test_explicit_default_timeouts_reach_the_transport(fake: FakeTime) -> None:
    handler, seen = scripted(ok())
    with make(handler, fake) as client:
        client.get("openalex", URL)
    # No infinite waits anywhere: connect, read, write and pool all bounded.
    timeout = seen[0].extensions["timeout"]
    assert timeout == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_custom_timeout_is_used(fake: FakeTime) -> None:
    handler, seen = scripted(ok())
    with make(handler, fake, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        client.get("openalex", URL)
    assert seen[0].extensions["timeout"] == {"connect": 2.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_fetched_response_fields(fake: FakeTime) -> None:
    handler, _ = scripted(ok(b"payload"))
    hooked: list[FetchedResponse] = []
    with make(handler, fake, on_response=hooked.append) as client:
        resp = client.get("openalex", URL, params={"b": 2, "a": "x"})
    assert resp.source == "openalex"
    assert resp.method == "GET"
    assert resp.url == f"{URL}?a=x&b=2"
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert resp.body == b"payload"
    assert resp.sha256 == hashlib.sha256(b"payload").hexdigest()
    assert resp.fetched_at.tzinfo is UTC
    assert hooked == [resp]
    assert client.requests_made == {"openalex": 1}


def test_default_intervals_cover_the_documented_hosts() -> None:
    assert DEFAULT_LIMITS["export.arxiv.org"].interval >= 3.0
    assert DEFAULT_LIMITS["api.semanticscholar.org"].interval >= 1.0
    assert 0 < DEFAULT_LIMITS["api.openalex.org"].interval <= 1.0


# --- RateLimiter ----------------------------------------------------------------------------


def test_rate_limiter_spaces_requests_to_one_host(fake: FakeTime) -> None:
    limiter = RateLimiter({"a.org": 3.0}, clock=fake.clock, sleep=fake.sleep)
    delays = [limiter.wait("a.org") for _ in range(3)]
    assert delays == [0.0, 3.0, 3.0]
    assert fake.sleeps == [3.0, 3.0]


def test_rate_limiter_counts_time_already_elapsed(fake: FakeTime) -> None:
    limiter = RateLimiter({"a.org": 3.0}, clock=fake.clock, sleep=fake.sleep)
    limiter.wait("a.org")
    fake.now += 1.0  # work done between two requests
    assert limiter.wait("a.org") == pytest.approx(2.0)
    fake.now += 10.0
    assert limiter.wait("a.org") == 0.0
    assert fake.sleeps == [pytest.approx(2.0)]


def test_rate_limiter_hosts_do_not_wait_for_each_other(fake: FakeTime) -> None:
    limiter = RateLimiter({"a.org": 3.0, "b.org": 3.0}, clock=fake.clock, sleep=fake.sleep)
    assert limiter.wait("a.org") == 0.0
    assert limiter.wait("b.org") == 0.0
    assert limiter.wait("c.org") == 0.0  # unknown host: no limit
    assert limiter.wait("c.org") == 0.0
    assert fake.sleeps == []
    assert limiter.wait("a.org") == 3.0


def test_rate_limiter_push_back(fake: FakeTime) -> None:
    limiter = RateLimiter({"a.org": 1.0}, clock=fake.clock, sleep=fake.sleep)
    limiter.push_back("a.org", 30.0)
    assert limiter.wait("b.org") == 0.0
    assert limiter.wait("a.org") == 30.0
    # A shorter push-back never shortens an existing reservation.
    limiter.push_back("a.org", 0.5)
    assert limiter.wait("a.org") == 1.0


def test_rate_limiter_thread_safety() -> None:
    """Many threads on two hosts: every request gets its own slot, none is shared or lost."""
    frozen = FrozenTime()
    limiter = RateLimiter({"a.org": 1.0, "b.org": 0.5}, clock=frozen.clock, sleep=frozen.sleep)
    delays: dict[str, list[float]] = {"a.org": [], "b.org": []}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(host: str) -> None:
        barrier.wait()
        for _ in range(5):
            d = limiter.wait(host)
            with lock:
                delays[host].append(d)

    threads = [
        threading.Thread(target=worker, args=("a.org" if i % 2 else "b.org",)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The clock is frozen, so 20 requests per host get the slots 0, interval, 2*interval, ...
    assert sorted(delays["a.org"]) == [float(i) for i in range(20)]
    assert sorted(delays["b.org"]) == [i * 0.5 for i in range(20)]
    assert sorted(frozen.sleeps) == sorted(d for ds in delays.values() for d in ds if d > 0)
    assert sum(frozen.sleeps) == pytest.approx(sum(range(20)) * 1.5)


def test_client_applies_per_host_interval(fake: FakeTime) -> None:
    handler, seen = scripted(ok())
    with make(handler, fake, intervals={HOST: 3.0, "other.example.net": 3.0}) as client:
        for _ in range(3):
            client.get("openalex", URL)
        client.get("openalex", "https://other.example.net/x")  # clock is past 6 s: no wait
    assert fake.sleeps == [3.0, 3.0]
    assert len(seen) == 4


def test_client_hosts_independent(fake: FakeTime) -> None:
    handler, _ = scripted(ok())
    with make(handler, fake, intervals={HOST: 3.0, "other.example.net": 3.0}) as client:
        client.get("openalex", URL)
        client.get("openalex", "https://other.example.net/x")
    assert fake.sleeps == []


# --- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_status_then_success(fake: FakeTime, status: int) -> None:
    handler, seen = scripted(httpx.Response(status), ok())
    with make(handler, fake) as client:
        resp = client.get("openalex", URL)
    assert resp.status == 200
    assert len(seen) == 2
    assert client.requests_made == {"openalex": 2}
    assert len(fake.sleeps) == 1


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_exhausted_retries_return_the_final_error_response(fake: FakeTime, status: int) -> None:
    final = httpx.Response(
        status, content=b'{"error": "busy"}', headers={"content-type": "application/json"}
    )
    handler, seen = scripted(httpx.Response(status, content=b"first"), final)
    hooked: list[FetchedResponse] = []
    with make(handler, fake, max_attempts=3, on_response=hooked.append) as client:
        resp = client.get("openalex", URL)
    assert len(seen) == 3
    assert resp.status == status
    assert resp.body == b'{"error": "busy"}'
    assert resp.content_type == "application/json"
    assert hooked == [resp]  # only the final response, once
    assert len(fake.sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_not_retried(fake: FakeTime, status: int) -> None:
    handler, seen = scripted(httpx.Response(status, content=b"nope"))
    with make(handler, fake, max_attempts=5) as client:
        resp = client.get("openalex", URL)
    assert len(seen) == 1
    assert resp.status == status
    assert resp.body == b"nope"
    assert fake.sleeps == []


def test_retry_after_seconds_is_honoured(fake: FakeTime) -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    with make(handler, fake) as client:
        resp = client.get("openalex", URL)
    assert resp.status == 200
    assert fake.sleeps == [7.0]  # exactly once: the limiter does not wait a second time
    assert len(seen) == 2


def test_retry_after_is_capped(fake: FakeTime) -> None:
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": "3600"}), ok())
    with make(handler, fake, max_retry_wait=120.0) as client:
        client.get("openalex", URL)
    assert fake.sleeps == [120.0]


def test_retry_after_http_date_is_honoured_and_capped(fake: FakeTime) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": later}), ok())
    with make(handler, fake, max_retry_wait=90.0) as client:
        client.get("openalex", URL)
    assert fake.sleeps == [90.0]


def test_retry_after_http_date_in_the_past_retries_at_once(fake: FakeTime) -> None:
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), ok()
    )
    with make(handler, fake) as client:
        client.get("openalex", URL)
    assert fake.sleeps == [0.0]
    assert len(seen) == 2


def test_retry_after_with_interval_sleeps_once_then_keeps_spacing(fake: FakeTime) -> None:
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": "5"}), ok())
    with make(handler, fake, intervals={HOST: 1.0}) as client:
        client.get("openalex", URL)
        client.get("openalex", URL)
    assert fake.sleeps == [5.0, 1.0]


def test_retry_after_pushes_back_later_requests_to_that_host(fake: FakeTime) -> None:
    """Even when the 429 was the last attempt, the next request to the host waits it out."""
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "30"}), ok())
    with make(handler, fake, max_attempts=1) as client:
        assert client.get("openalex", URL).status == 429
        assert fake.sleeps == []
        client.get("openalex", "https://other.example.net/x")  # another host: no wait
        assert fake.sleeps == []
        assert client.get("openalex", URL).status == 200
    assert fake.sleeps == [30.0]
    assert len(seen) == 3


def test_retry_after_push_back_is_shared_by_concurrent_requests() -> None:
    """While one request waits out a Retry-After, another thread's request waits too."""
    frozen = FrozenTime()
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "20"}), ok())
    client = HttpClient(
        EMAIL,
        transport=httpx.MockTransport(handler),
        intervals={},
        max_attempts=1,
        sleep=frozen.sleep,
        clock=frozen.clock,
    )
    with client:
        client.get("openalex", URL)
        t = threading.Thread(target=client.get, args=("openalex", URL))
        t.start()
        t.join()
    assert frozen.sleeps == [20.0]


def test_exponential_backoff_without_retry_after(fake: FakeTime) -> None:
    handler, seen = scripted(httpx.Response(503))
    with make(handler, fake, max_attempts=5) as client:
        resp = client.get("openalex", URL)
    assert resp.status == 503
    assert len(seen) == 5
    assert len(fake.sleeps) == 4
    for attempt, slept in enumerate(fake.sleeps):
        base = 2.0**attempt  # 1, 2, 4, 8 (+ up to 1 s jitter)
        assert base <= slept <= base + 1.0


def test_exponential_backoff_is_bounded(fake: FakeTime) -> None:
    handler, _ = scripted(httpx.Response(502))
    with make(handler, fake, max_attempts=12) as client:
        client.get("openalex", URL)
    assert len(fake.sleeps) == 11
    assert max(fake.sleeps) <= 60.0
    assert fake.sleeps[-1] == 60.0  # 2**10 s capped


def test_exponential_backoff_respects_max_retry_wait(fake: FakeTime) -> None:
    handler, _ = scripted(httpx.Response(500))
    with make(handler, fake, max_attempts=6, max_retry_wait=3.0) as client:
        client.get("openalex", URL)
    assert len(fake.sleeps) == 5
    assert all(s <= 3.0 for s in fake.sleeps)


def test_retries_logged_as_warnings(fake: FakeTime, caplog: pytest.LogCaptureFixture) -> None:
    handler, _ = scripted(httpx.Response(503), httpx.Response(429), ok())
    caplog.set_level(logging.DEBUG)
    with make(handler, fake, max_attempts=4) as client:
        client.get("openalex", URL)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"[openalex] retry 1/4 after HTTP 503: GET {URL}",
        f"[openalex] retry 2/4 after HTTP 429: GET {URL}",
    ]


def test_transport_error_retried_then_fetch_error(fake: FakeTime) -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        # Some httpx errors carry the full URL, secrets included.
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    with make(handler, fake, max_attempts=3) as client, pytest.raises(FetchError) as info:
        client.get("openalex", URL, params={"q": "x", "api_key": SECRET})
    # an unreachable host is tried twice only: offline machines should hear about it quickly
    assert len(attempts) == 2
    assert len(fake.sleeps) == 1
    err = info.value
    assert err.source == "openalex"
    assert err.url == f"{URL}?q=x"
    message = str(err)
    assert message.startswith("[openalex] network error after 2 attempt(s)")
    assert "ConnectError" in message
    assert f"GET {URL}?q=x" in message
    assert SECRET not in message
    assert err.__cause__ is None and err.__suppress_context__


def test_other_transport_errors_use_every_attempt(fake: FakeTime) -> None:
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadError("connection reset", request=request)

    with (
        make(handler, fake, max_attempts=4) as client,
        pytest.raises(FetchError, match="ReadError"),
    ):
        client.get("openalex", URL)
    assert len(attempts) == 4
    assert len(fake.sleeps) == 3


def test_transport_error_then_success(fake: FakeTime) -> None:
    handler, seen = scripted(httpx.ReadTimeout("slow"), ok())
    with make(handler, fake) as client:
        assert client.get("openalex", URL).status == 200
    assert len(seen) == 2


def test_requests_made_counted_per_source(fake: FakeTime) -> None:
    handler, _ = scripted(httpx.Response(503), ok())
    with make(handler, fake) as client:
        client.get("openalex", URL)
        client.get("arxiv", URL)
    assert client.requests_made == {"openalex": 2, "arxiv": 1}


def test_retry_after_seconds_parsing() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds(" 12 ") == 12.0
    assert retry_after_seconds("Wed, 01 Jan 2025 12:01:30 GMT", now=now) == 90.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None
    assert retry_after_seconds("1.5") is None


# --- secrets --------------------------------------------------------------------------------


def secret_exchange(
    fake: FakeTime, param: str = "api_key"
) -> tuple[HttpClient, list[httpx.Request]]:
    """A client whose transport asserts the secrets are on the wire; first answer is a 503."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.params[param] == SECRET
        assert request.headers["x-api-key"] == HEADER_SECRET
        assert request.headers["authorization"] == f"Bearer {HEADER_SECRET}"
        if len(seen) == 1:
            return httpx.Response(503, headers={"Retry-After": "1"})
        return ok()

    return make(handler, fake), seen


@pytest.mark.parametrize("param", sorted(SECRET_PARAMS))
def test_secrets_on_the_wire_only(
    fake: FakeTime, caplog: pytest.LogCaptureFixture, param: str
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    client, seen = secret_exchange(fake, param)
    with client:
        resp = client.get(
            "semantic_scholar",
            URL,
            params={"query": "kv cache", param: SECRET},
            headers={"x-api-key": HEADER_SECRET, "Authorization": f"Bearer {HEADER_SECRET}"},
        )
    assert len(seen) == 2
    assert resp.status == 200
    assert resp.url == f"{URL}?query=kv+cache"
    # httpx's own request log and our retry warning are both there, and both redacted.
    assert any(r.name == "httpx" for r in caplog.records)
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET not in text
        assert HEADER_SECRET not in text
    assert SECRET not in caplog.text
    assert HEADER_SECRET not in caplog.text
    assert f"{URL}?query=kv+cache" in caplog.text


def test_secret_param_names_are_case_insensitive(fake: FakeTime) -> None:
    handler, seen = scripted(ok())
    with make(handler, fake) as client:
        resp = client.get("openalex", URL, params={"API_KEY": SECRET, "q": "x"})
    assert seen[0].url.params["API_KEY"] == SECRET
    assert resp.url == f"{URL}?q=x"


def test_secret_in_given_url_query_is_redacted(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, seen = scripted(ok())
    with make(handler, fake) as client:
        resp = client.get("openalex", f"{URL}?api_key={SECRET}&q=x")
    assert seen[0].url.params["api_key"] == SECRET
    assert resp.url == f"{URL}?q=x"
    assert SECRET not in caplog.text


def test_fetch_error_masks_header_secrets(fake: FakeTime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused; sent {dict(request.headers)} to {request.url}")

    with make(handler, fake, max_attempts=2) as client, pytest.raises(FetchError) as info:
        client.get(
            "semantic_scholar",
            URL,
            params={"apikey": SECRET},
            headers={"x-api-key": HEADER_SECRET, "Authorization": f"Bearer {HEADER_SECRET}"},
        )
    for text in (str(info.value), caplog.text):
        assert SECRET not in text
        assert HEADER_SECRET not in text
    assert "ConnectError" in caplog.text  # the retry warning says what went wrong


def test_secret_headers_dropped_on_cross_host_redirect(fake: FakeTime) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/start":
            return httpx.Response(302, headers={"Location": f"https://{HOST}/same"})
        if request.url.path == "/same":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example.net/x"})
        return ok()

    with make(handler, fake) as client:
        resp = client.get(
            "semantic_scholar",
            f"https://{HOST}/start",
            headers={"x-api-key": HEADER_SECRET, "Authorization": f"Bearer {HEADER_SECRET}"},
        )
    assert resp.status == 200
    assert [r.url.path for r in seen] == ["/start", "/same", "/x"]
    assert seen[1].headers["x-api-key"] == HEADER_SECRET  # same host keeps its key
    for name in SECRET_HEADERS:
        assert name not in seen[2].headers
    assert "user-agent" in seen[2].headers


# --- public_url -----------------------------------------------------------------------------


def test_public_url_sorts_query_and_drops_secrets() -> None:
    url = f"https://API.Example.ORG/Works?b=2&api_key={SECRET}&a=1&APIKEY=x&key=k&token_secret=t"
    assert public_url(url) == "https://api.example.org/Works?a=1&b=2"


def test_public_url_drops_credentials_and_fragment() -> None:
    assert (
        public_url("https://user:pw@Example.org:8443/p?x=1#frag")
        == "https://example.org:8443/p?x=1"
    )


def test_public_url_keeps_blank_and_repeated_values() -> None:
    assert public_url("https://e.org/p?b=&a=2&a=1") == "https://e.org/p?a=1&a=2&b="


def test_public_url_is_a_stable_replay_key() -> None:
    one = httpx.Request("GET", URL, params={"q": "KV cache", "page": 2, "api_key": "one"}).url
    two = httpx.Request("GET", URL, params={"page": "2", "api_key": "two", "q": "KV cache"}).url
    three = httpx.Request("GET", URL, params={"page": "2", "q": "KV cache"}).url
    key = public_url(one)
    assert key == public_url(two) == public_url(three) == f"{URL}?page=2&q=KV+cache"
    assert public_url(key) == key  # idempotent: a recorded URL is its own key
    assert public_url(httpx.URL(key)) == key


def test_public_url_without_query() -> None:
    assert public_url("https://E.org/a/B") == "https://e.org/a/B"
    assert public_url(f"https://e.org/?api_key={SECRET}") == "https://e.org/"


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() == before

"""The one HTTP entry point: user agent, timeouts, per-host rate limits, retries, redaction.

Every source module fetches through `HttpClient.get`. Secrets (API keys) travel as query
parameters or headers on the wire only; the URL that is logged, archived, recorded and used as
the replay key has them removed (`public_url`).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from flows import __version__

log = logging.getLogger("scholarflow.http")

# Query parameters and headers that carry secrets on any source.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token_secret"})
SECRET_HEADERS = frozenset({"x-api-key", "authorization"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Documented limits (seconds between requests to one host). arXiv asks for one request every
# 3 s on a single connection; Semantic Scholar allows 1 request/s with a key and a shared pool
# without; OpenAlex allows 10/s (we stay well below).
DEFAULT_INTERVALS: dict[str, float] = {
    "export.arxiv.org": 3.0,
    "arxiv.org": 3.0,
    "api.semanticscholar.org": 1.1,
    "api.openalex.org": 0.15,
}


class FetchError(RuntimeError):
    """A request failed for good (network down, retries exhausted); names source and URL."""

    def __init__(self, source: str, url: str, message: str) -> None:
        super().__init__(f"[{source}] {message} (request: GET {url})")
        self.source = source
        self.url = url


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def public_url(url: str | httpx.URL) -> str:
    """URL without secret parameters or credentials, query sorted, host lowercased, fragment
    dropped: safe to log and a stable replay key."""
    parts = urlsplit(str(url))
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SECRET_PARAMS
    )
    # netloc without any `user:password@` (credentials are secrets too); hostname is lowercased.
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


class _RedactHttpxLog(logging.Filter):
    """httpx logs every request's full URL (API keys included) at INFO: log the public URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                public_url(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _install_log_redaction() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxLog) for f in httpx_log.filters):
        httpx_log.addFilter(_RedactHttpxLog())


_install_log_redaction()


@dataclass(frozen=True)
class FetchedResponse:
    """One HTTP exchange as archived: redacted URL, status, body, when and by which source."""

    source: str
    method: str
    url: str
    status: int
    content_type: str
    body: bytes
    fetched_at: datetime
    sha256: str = field(default="")

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.body).hexdigest())


class RateLimiter:
    """Minimum interval between request starts, per host; thread-safe."""

    def __init__(
        self,
        intervals: Mapping[str, float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._intervals = dict(intervals)
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self, host: str) -> float:
        interval = self._intervals.get(host, 0.0)
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def push_back(self, host: str, seconds: float) -> None:
        """Honour a server's Retry-After for every later request to that host."""
        with self._lock:
            self._next[host] = max(self._next.get(host, 0.0), self._clock() + seconds)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


ResponseHook = Callable[[FetchedResponse], None]


class HttpClient:
    """Shared client. `transport` lets tests and replay serve recorded payloads."""

    def __init__(
        self,
        contact_email: str,
        *,
        transport: httpx.BaseTransport | None = None,
        intervals: Mapping[str, float] | None = None,
        max_attempts: int = 5,
        max_retry_wait: float = 120.0,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_response: ResponseHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.contact_email = contact_email
        self.user_agent = f"scholarflow/{__version__} (mailto:{contact_email})"
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout or httpx.Timeout(30.0, connect=10.0),
            headers={"User-Agent": self.user_agent},
            follow_redirects=True,
            event_hooks={"request": [_strip_secret_headers_off_host]},
        )
        self._limiter = RateLimiter(
            DEFAULT_INTERVALS if intervals is None else intervals, clock=clock, sleep=sleep
        )
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._max_retry_wait = max_retry_wait
        self._backoff = wait_exponential_jitter(max=60)
        self._on_response = on_response
        self._count_lock = threading.Lock()
        self.requests_made: dict[str, int] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        source: str,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchedResponse:
        """GET with rate limit and retries; returns the final response whatever its status."""
        request = self._client.build_request("GET", url, params=params, headers=headers)
        shown = public_url(request.url)
        host = request.url.host
        request.extensions = {**request.extensions, _ORIGIN_HOST: host}
        secrets = _secret_values(request)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RetryableStatus):
                after = self._retry_after(exc.response)
                if after is not None:
                    return after  # the limiter was pushed back by as much in _send_once
            return min(float(self._backoff(state)), self._max_retry_wait)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "[%s] retry %d/%d after %s: GET %s",
                source,
                state.attempt_number,
                self._max_attempts,
                _describe(exc, secrets),
                shown,
            )

        retrying = Retrying(
            # A host that cannot be reached at all (DNS failure, refused) is tried twice, not
            # five times: that is a machine without network far more often than a blip.
            stop=stop_any(stop_after_attempt(self._max_attempts), _UnreachableTwice()),
            wait=wait,
            retry=retry_if_exception_type((_RetryableStatus, httpx.TransportError)),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(self._send_once, source, request, host)
        except _RetryableStatus as exc:
            response = exc.response  # retries exhausted: hand the error payload to the parser
        except httpx.TransportError as exc:
            raise FetchError(
                source,
                shown,
                f"network error after {retrying.statistics.get('attempt_number', 1)} attempt(s): "
                f"{_describe(exc, secrets)}",
            ) from None
        fetched = FetchedResponse(
            source=source,
            method="GET",
            url=shown,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body=response.content,
            fetched_at=datetime.now(UTC),
        )
        log.info("[%s] GET %s -> %d (%d bytes)", source, shown, fetched.status, len(fetched.body))
        if self._on_response is not None:
            self._on_response(fetched)
        return fetched

    def _retry_after(self, response: httpx.Response) -> float | None:
        after = retry_after_seconds(response.headers.get("Retry-After"))
        return None if after is None else min(after, self._max_retry_wait)

    def _send_once(self, source: str, request: httpx.Request, host: str) -> httpx.Response:
        self._limiter.wait(host)
        with self._count_lock:
            self.requests_made[source] = self.requests_made.get(source, 0) + 1
        response = self._client.send(request)
        response.read()
        if response.status_code in RETRY_STATUSES:
            # Retry-After holds for every later request to the host, also when this was the
            # last attempt (the retry wait below is not reached then).
            after = self._retry_after(response)
            if after is not None:
                self._limiter.push_back(host, after)
            raise _RetryableStatus(response)
        return response


_ORIGIN_HOST = "scholarflow_origin_host"


def _strip_secret_headers_off_host(request: httpx.Request) -> None:
    """httpx drops Authorization on a cross-origin redirect but keeps x-api-key: drop every
    secret header once a redirect leaves the host the request was made for."""
    origin = request.extensions.get(_ORIGIN_HOST)
    if origin is not None and request.url.host != origin:
        for name in SECRET_HEADERS:
            request.headers.pop(name, None)


def _secret_values(request: httpx.Request) -> list[str]:
    """Secret query values and header values of a request, in the forms they may appear."""
    raw = [v for k, v in request.url.params.multi_items() if k.lower() in SECRET_PARAMS]
    for k, v in request.headers.multi_items():
        if k.lower() in SECRET_HEADERS:
            raw.append(v)
            raw.extend(v.split()[1:])  # "Bearer <token>": the token alone too
    forms = {f for v in raw if v for f in (v, quote(v, safe=""), quote_plus(v))}
    return sorted(forms, key=len, reverse=True)


class _UnreachableTwice(stop_base):
    """Stop after the second attempt when the host could not be connected to at all."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        return isinstance(exc, httpx.ConnectError) and retry_state.attempt_number >= 2


def _describe(exc: BaseException | None, secrets: list[str] | None = None) -> str:
    """Exception type and text with every secret value masked."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, _RetryableStatus):
        return str(exc)
    text = str(exc)
    for secret in secrets or ():
        text = text.replace(secret, "***")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

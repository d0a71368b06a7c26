"""The one HTTP entry point: user agent, timeouts, per-host rate limits, retries, redaction.

Every source module fetches through `HttpClient.get`. Secrets (API keys) travel as query
parameters or headers on the wire only; the URL that is logged, archived, recorded and used as
the replay key has them removed (`public_url`).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
from protego import Protego
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
from transforms.specs import HOST_LIMITS
from transforms.specs import HostPolicy as HostPolicy  # re-exported: the client's policy type

log = logging.getLogger("scholarflow.http")

# Query parameters and headers that carry secrets on any source.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token_secret"})
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "crossref-plus-api-token"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

ROBOTS_AGENT = "scholarflow"


# A host with no documented limit (a user's recipe site) is fetched live one request per
# second on one connection; the watchlist's [limits."<host>"] can change that.
UNKNOWN_HOST = HostPolicy(1.0, 1)
# A client built without `default_limit` (live runs pass UNKNOWN_HOST) leaves such hosts unspaced.
NO_DOCUMENTED_LIMIT = HostPolicy(0.0, 4)
# Documented defaults, declared by each source's SPEC (transforms/sources/<slug>.py); the
# watchlist's [limits."<host>"] tables override them.
DEFAULT_LIMITS: dict[str, HostPolicy] = HOST_LIMITS


class SourceStopped(Exception):
    """A source must not make more requests this run; what it fetched so far is kept."""

    def __init__(self, source: str, url: str, reason: str) -> None:
        super().__init__(mask_secrets(f"[{source}] stopped: {reason} (request: GET {url})"))
        self.source = source
        self.url = url
        self.reason = mask_secrets(reason)


class AllowanceExhausted(SourceStopped):
    """The source said its allowance (daily quota, credits) is spent: not a short throttle."""


class BudgetSpent(SourceStopped):
    """The configured daily budget of cost units for the source is used up."""


class RobotsDisallowed(Exception):
    """robots.txt of the host disallows the path for our user agent: the request is skipped."""

    def __init__(self, source: str, url: str) -> None:
        super().__init__(f"[{source}] skipped, disallowed by robots.txt: GET {url}")
        self.source = source
        self.url = url


class FetchError(RuntimeError):
    """A request failed for good (network down, retries exhausted); names source and URL."""

    def __init__(self, source: str, url: str, message: str) -> None:
        super().__init__(mask_secrets(f"[{source}] {message} (request: GET {url})"))
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


# Secret values seen on the wire this process (keys from a source's own configuration, not
# only the environment): masked wherever text leaves the program.
_seen_secrets: set[str] = set()
_MIN_SECRET = 8  # shorter "values" (test keys, "other") would mask ordinary words and data
# `key=VALUE` in a URL or form, `"api_key": "VALUE"`, `x-api-key: VALUE`, `Bearer VALUE`:
# how upstream error bodies and tracebacks quote a credential back.
_SECRET_TEXT = re.compile(
    r"(?i)(?P<lead>[?&;](?:api_?key|key|token|access_token|token_secret)="
    r"|\b(?:x-)?(?:api[-_]?key|api[-_]?token|access[-_]?token|plus-api-token|auth[-_]?token)"
    r"[\"']?\s*[:=]\s*[\"']?"
    # a bearer credential holds a digit: "Bearer tokens" in a sentence is not one
    r"|\bbearer\s+(?=[^\s\"']*\d))"
    r"(?P<value>[^\s\"'\\&,;<>()\[\]{}]+)"  # no backslash: JSON escapes stay whole
)
MASK = "***"


def remember_secret(value: str) -> None:
    """A credential this process sends: masked from then on in every message and stored text."""
    if len(value) >= _MIN_SECRET:
        _seen_secrets.add(value)


def _secret_forms() -> list[str]:
    """Every known secret (the environment's SECRET_ENV values, those sent so far) in the forms
    it may appear in: as is and URL-encoded; longest first, so a key is never half-masked."""
    from flows import settings

    values = set(_seen_secrets)
    for name in settings.SECRET_ENV.values():
        value = os.environ.get(name, "").strip()
        if len(value) >= _MIN_SECRET:
            values.add(value)
    forms = {f for v in values for f in (v, quote(v, safe=""), quote_plus(v))}
    return sorted(forms, key=len, reverse=True)


def mask_secrets(text: str) -> str:
    """`text` with every known secret value and every `api_key=…`/`Bearer …` value replaced by
    ***: for messages, logs, quarantine reasons, run stats."""
    for secret in _secret_forms():
        text = text.replace(secret, MASK)
    return _SECRET_TEXT.sub(lambda m: m.group("lead") + MASK, text)


def mask_secret_values(text: str) -> str:
    """`text` with every known secret value replaced (exact values only: for stored records)."""
    for secret in _secret_forms():
        text = text.replace(secret, MASK)
    return text


def mask_secret_bytes(body: bytes) -> bytes:
    """A response body with every known secret value replaced (exact values only: a body is
    data, patterns could eat real content)."""
    for secret in _secret_forms():
        body = body.replace(secret.encode(), MASK.encode())
    return body


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
    # served from an interrupted earlier run's archive, not requested now
    resumed: bool = False

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.body).hexdigest())


def default_sleep(seconds: float) -> None:
    """The real wait (looked up when a client is made, so tests can forbid it)."""
    time.sleep(seconds)


class RateLimiter:
    """Per host (or host group): minimum interval between request starts, a sliding window
    quota, and a cap on open requests. Thread-safe; clock and sleep are injectable so tests run
    on a fake clock."""

    def __init__(
        self,
        limits: Mapping[str, HostPolicy | float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        default: HostPolicy = NO_DOCUMENTED_LIMIT,
    ) -> None:
        self._policies = {
            h: p if isinstance(p, HostPolicy) else HostPolicy(float(p)) for h, p in limits.items()
        }
        # what was configured: a server may slow us down below it, never speed us up past it
        self._floors = {h: p.interval for h, p in self._policies.items()}
        self._default = default
        self._next: dict[str, float] = {}
        self._starts: dict[str, deque[float]] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep or default_sleep

    def policy(self, host: str) -> HostPolicy:
        return self._policies.get(host, self._default)

    def _key(self, host: str) -> str:
        return self.policy(host).group or host

    def wait(self, host: str) -> float:
        """Block until a request to `host` may start; returns the seconds waited."""
        policy, key = self.policy(host), self._key(host)
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(key, now))
            if policy.window is not None:
                count, span = policy.window
                starts = self._starts.setdefault(key, deque())
                while starts and starts[0] <= start - span:
                    starts.popleft()
                if len(starts) >= count:
                    start = max(start, starts[len(starts) - count] + span)
                starts.append(start)
            self._next[key] = start + policy.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's concurrent-request slots for the duration of a request."""
        key = self._key(host)
        with self._lock:
            sem = self._slots.get(key)
            if sem is None:
                sem = self._slots[key] = threading.BoundedSemaphore(
                    max(1, self.policy(host).concurrency)
                )
        with sem:
            yield

    def push_back(self, host: str, seconds: float) -> None:
        """Honour a server's Retry-After for every later request to that host."""
        key = self._key(host)
        with self._lock:
            self._next[key] = max(self._next.get(key, 0.0), self._clock() + seconds)

    def adapt(self, host: str, interval: float) -> None:
        """Follow the interval a server asks for (Crossref's X-Rate-Limit-* headers, robots.txt
        Crawl-delay), but never go faster than what was configured for the host."""
        with self._lock:
            current = self.policy(host)
            floor = self._floors.get(host, self._default.interval)
            wanted = max(floor, interval)
            if current.interval != wanted:
                log.info("rate limit for %s now %.3f s between requests", host, wanted)
                self._policies[host] = replace(current, interval=wanted)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def advertised_interval(headers: Mapping[str, str]) -> float | None:
    """Seconds per request from `X-Rate-Limit-Limit: 50` + `X-Rate-Limit-Interval: 1s`."""
    limit, interval = headers.get("x-rate-limit-limit"), headers.get("x-rate-limit-interval")
    if not limit or not interval or not limit.strip().isdigit() or int(limit) <= 0:
        return None
    m = _DURATION.match(interval)
    if not m:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale / int(limit)


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
# Cost units of one request to a source (OpenAlex prices list and search calls differently).
CostFn = Callable[[str, Mapping[str, str]], float]  # (path, query) -> units
# Reason text when a response says the source's allowance is spent (vs a short throttle).
ExhaustionFn = Callable[[int, Mapping[str, str], bytes], str | None]


@dataclass
class Usage:
    """Requests and cost units one source used in this run, against its daily budget."""

    requests: int = 0
    cost_units: float = 0.0
    budget_left: float | None = None  # units left today when the run started; None = no cap
    stopped: str | None = None  # why the source stopped early
    stop_kind: type[SourceStopped] = field(default_factory=lambda: SourceStopped)
    resumed: int = 0  # responses reused from an interrupted earlier run, not requested again


class HttpClient:
    """Shared client. `transport` lets tests and replay serve recorded payloads."""

    def __init__(
        self,
        contact_email: str,
        *,
        transport: httpx.BaseTransport | None = None,
        intervals: Mapping[str, HostPolicy | float] | None = None,
        max_attempts: int = 5,
        max_retry_wait: float = 120.0,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] | None = None,
        on_response: ResponseHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        costs: Mapping[str, CostFn] | None = None,
        budgets: Mapping[str, float] | None = None,
        exhaustion: Mapping[str, ExhaustionFn] | None = None,
        respect_robots: bool = True,
        adapt_to_headers: bool = True,  # X-Rate-Limit-* headers and robots.txt Crawl-delay
        resume: Mapping[str, Mapping[str, tuple[int, str, bytes, datetime]]] | None = None,
        default_limit: HostPolicy = NO_DOCUMENTED_LIMIT,
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
            DEFAULT_LIMITS if intervals is None else intervals,
            clock=clock,
            sleep=sleep,
            default=default_limit,
        )
        self._sleep = sleep or default_sleep
        self._max_attempts = max_attempts
        self._max_retry_wait = max_retry_wait
        self._backoff = wait_exponential_jitter(max=60)
        self._on_response = on_response
        self._count_lock = threading.Lock()
        self._costs = dict(costs or {})
        self._exhaustion = dict(exhaustion or {})
        self._respect_robots = respect_robots
        self._adapt = adapt_to_headers
        self._resume = {s: dict(r) for s, r in (resume or {}).items()}
        self._robots: dict[str, Protego] = {}
        self._robots_lock = threading.Lock()
        self.usage: dict[str, Usage] = {
            s: Usage(budget_left=float(b)) for s, b in (budgets or {}).items()
        }

    @property
    def requests_made(self) -> dict[str, int]:
        """Requests answered per source (each answered attempt counts, retries included)."""
        return {s: u.requests for s, u in self.usage.items() if u.requests}

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
        *,
        robots: bool = False,
    ) -> FetchedResponse:
        """GET with rate limit and retries; returns the final response whatever its status.

        `robots=True` (scraped pages) first checks the host's robots.txt and raises
        RobotsDisallowed for a disallowed path. Raises SourceStopped subclasses once the
        source's budget or allowance is spent.
        """
        request = self._client.build_request("GET", url, params=params, headers=headers)
        shown = public_url(request.url)
        host = request.url.host
        request.extensions = {**request.extensions, _ORIGIN_HOST: host}
        secrets = _secret_values(request)
        for value in secrets:
            remember_secret(value)
        usage = self._usage(source)
        if usage.stopped:
            raise usage.stop_kind(source, shown, usage.stopped)
        reused = self._resume.get(source, {}).pop(shown, None)
        if reused is not None:
            status, content_type, body, fetched_at = reused
            with self._count_lock:
                usage.resumed += 1
            log.info(
                "[%s] GET %s -> %d (resumed from the interrupted run)",
                source,
                shown,
                status,
                extra={"sf_event": "request", "sf_source": source},
            )
            fetched = FetchedResponse(
                source, "GET", shown, status, content_type, body, fetched_at, resumed=True
            )
            if self._on_response is not None:
                self._on_response(fetched)
            return fetched
        if robots and self._respect_robots and not self._allowed(source, request.url):
            log.warning("[%s] robots.txt disallows GET %s: skipped", source, shown)
            raise RobotsDisallowed(source, shown)
        cost = self._charge(source, request.url, shown)

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
            response = retrying(self._send_once, source, request, host, shown)
        except _RetryableStatus as exc:
            response = exc.response  # retries exhausted: hand the error payload to the parser
        except httpx.TransportError as exc:
            with self._count_lock:  # no answer ever came: nothing was served, nothing is owed
                usage.cost_units -= cost
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
            # an error body may quote the key back: it is archived, recorded and parsed into
            # messages, so it never carries the key
            body=mask_secret_bytes(response.content),
            fetched_at=datetime.now(UTC),
        )
        log.info(
            "[%s] GET %s -> %d (%d bytes)",
            source,
            shown,
            fetched.status,
            len(fetched.body),
            extra={"sf_event": "request", "sf_source": source},  # -v only; counted by progress
        )
        if self._on_response is not None:
            self._on_response(fetched)
        return fetched

    def _usage(self, source: str) -> Usage:
        with self._count_lock:
            return self.usage.setdefault(source, Usage())

    def _charge(self, source: str, url: httpx.URL, shown: str) -> float:
        """Book the cost of one request (once, however many attempts it takes: a throttled
        retry is not billed twice); refuse it when the day's budget would be exceeded."""
        cost_fn = self._costs.get(source)
        cost = float(cost_fn(url.path, dict(url.params))) if cost_fn else 1.0
        with self._count_lock:
            usage = self.usage[source]
            if usage.budget_left is not None and usage.cost_units + cost > usage.budget_left:
                usage.stopped = (
                    f"daily budget spent ({usage.cost_units:g} of {usage.budget_left:g} units "
                    "left today used); the next run resumes"
                )
                usage.stop_kind = BudgetSpent
                raise BudgetSpent(source, shown, usage.stopped)
            usage.cost_units += cost
        return cost

    def _allowed(self, source: str, url: httpx.URL) -> bool:
        """robots.txt check (RFC 9309: the longest matching rule wins, `*` and `$` patterns),
        fetched once per host through this same client (rate limited, and recorded with
        --record). A 4xx robots.txt allows everything; a 5xx or unreachable one disallows
        everything for this run. A `Crawl-delay` longer than the host's interval becomes it."""
        origin = f"{url.scheme}://{url.netloc.decode()}"
        with self._robots_lock:  # one fetch per origin, even when sources share a host
            parser = self._robots.get(origin)
            if parser is None:
                parser = self._robots[origin] = self._read_robots(source, origin, url.host)
        return bool(parser.can_fetch(str(url), ROBOTS_AGENT))

    def _read_robots(self, source: str, origin: str, host: str) -> Protego:
        try:
            resp = self.get(source, origin + "/robots.txt")
        except FetchError as exc:
            log.warning("[%s] %s/robots.txt unreachable (%s): host disallowed", source, origin, exc)
            return Protego.parse("User-agent: *\nDisallow: /\n")
        if resp.status >= 500:
            log.warning(
                "[%s] %s/robots.txt answered %d: host disallowed", source, origin, resp.status
            )
            return Protego.parse("User-agent: *\nDisallow: /\n")
        if resp.status >= 400:
            return Protego.parse("")
        parser = Protego.parse(resp.body.decode("utf-8", errors="replace"))
        delay = parser.crawl_delay(ROBOTS_AGENT) if self._adapt else None
        if delay is not None:
            self._limiter.adapt(host, float(delay))
        return parser

    def _retry_after(self, response: httpx.Response) -> float | None:
        after = retry_after_seconds(response.headers.get("Retry-After"))
        return None if after is None else min(after, self._max_retry_wait)

    def _send_once(
        self, source: str, request: httpx.Request, host: str, shown: str
    ) -> httpx.Response:
        with self._limiter.slot(host):
            self._limiter.wait(host)
            response = self._client.send(request)
            response.read()
        with self._count_lock:
            self.usage[source].requests += 1  # every answered attempt is a request served
        if self._adapt:
            advertised = advertised_interval(response.headers)
            if advertised is not None:
                self._limiter.adapt(host, advertised)
        check = self._exhaustion.get(source)
        reason = check(response.status_code, response.headers, response.content) if check else None
        if reason:
            with self._count_lock:
                self.usage[source].stopped = reason
                self.usage[source].stop_kind = AllowanceExhausted
            raise AllowanceExhausted(source, shown, reason)
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
        text = text.replace(secret, MASK)
    text = mask_secrets(text)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""Types shared by the source modules: parsed pages, quarantined records, source errors.

Source modules import only this, `flows.http` and parsing libraries: no prefect, duckdb, polars.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bs4.dammit import EncodingDetector

from flows.http import FetchedResponse, RobotsDisallowed, SourceStopped, mask_secrets

Record = dict[str, Any]


class SourceError(ValueError):
    """A payload that is not valid data of its source (error page, malformed body).

    The message names the source and the request (or file) it came from.
    """

    def __init__(self, source: str, where: str, message: str) -> None:
        # an upstream error body may quote the API key back: never let it into a message
        message, where = mask_secrets(message), mask_secrets(where)
        super().__init__(f"[{source}] {message} ({where})")
        self.source = source
        self.where = where
        self.reason = message


class ScrapeDrift(SourceError):
    """A scraped page that no longer matches its parser (or recipe): it visibly lists results
    but parses to none, or a required field is missing on every item.

    Stops the source for this run (never a silent empty load); the page body travels with the
    error so the run can save it for inspection.
    """

    def __init__(self, source: str, where: str, message: str, body: bytes) -> None:
        super().__init__(source, where, f"scraper drift: {message}")
        self.body = body


def check_drift(
    source: str,
    where: str,
    body: bytes,
    items: list[Record],
    *,
    lists_results: bool,
    required: tuple[str, ...] = (),
) -> None:
    """Raise ScrapeDrift when a page that shows results parsed to no items, or when one of the
    `required` fields is empty on every item. `lists_results` is the page's own evidence that it
    has results (a result count, an entry anchor), judged independently of the item selectors."""
    if not items:
        if lists_results:
            raise ScrapeDrift(
                source, where, "the page lists results but none could be parsed", body
            )
        return
    for name in required:
        if all(item.get(name) in (None, "", [], ()) for item in items):
            raise ScrapeDrift(
                source, where, f"field {name!r} is missing on all {len(items)} items", body
            )


@dataclass(frozen=True)
class Quarantined:
    """One record that could not be parsed: kept with its reason, never dropped silently."""

    source: str
    entity: str
    record_key: str
    reason: str
    payload: str

    @classmethod
    def of(cls, source: str, entity: str, key: str, reason: str, raw: Any) -> Quarantined:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        return cls(source, entity, key, reason, text[:20_000])


@dataclass
class Page:
    """What one response holds: records by entity, quarantined records, paging hints."""

    records: dict[str, list[Record]] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    # Records that are not what the source is read for (Crossref's journals, book sets,
    # components): not errors; kept in the quarantine table with a "skipped: " reason, counted
    # apart in the run summary, never loaded.
    skipped: list[Quarantined] = field(default_factory=list)
    total: int | None = None
    next_token: str | None = None
    # Records already checked against their raw table, as one Arrow table per entity (an
    # import lands each file so, instead of holding every file's dicts until the load).
    landed: dict[str, Any] = field(default_factory=dict)

    def add(self, entity: str, record: Record) -> None:
        self.records.setdefault(entity, []).append(record)

    def count(self) -> int:
        landed: int = sum(t.num_rows for t in self.landed.values())
        return sum(len(v) for v in self.records.values()) + landed


@dataclass(frozen=True)
class Fetched:
    """A response together with what was parsed from it."""

    response: FetchedResponse
    page: Page
    # (size, gzip) of the body once `response.body` was let go; gzip b"" = the warehouse
    # already archives that body (it is not stored again).
    packed: tuple[int, bytes] | None = None


@dataclass(frozen=True)
class FetchPlan:
    """What a source already holds, so a live run asks only for what changed.

    `watermarks` maps a watchlist entry (`researcher:<id>`, `topic:<slug>`) to the UTC day its
    last complete fetch started; `full` lists entries due for a periodic full refresh; `refresh`
    holds ids of known works whose citation counts are due to be fetched again. The empty plan
    (the default, and every demo/replay/import run) means: fetch everything, as before.
    """

    watermarks: Mapping[str, date] = field(default_factory=dict)
    full: frozenset[str] = frozenset()
    overlap_days: int = 3
    refresh: tuple[str, ...] = ()
    today: date | None = None

    def since(self, entry: str) -> date | None:
        """The day to ask from (watermark minus the overlap window), or None for a full fetch."""
        mark = self.watermarks.get(entry)
        if mark is None or entry in self.full:
            return None
        return mark - timedelta(days=self.overlap_days)


FULL_PLAN = FetchPlan()


@dataclass
class FetchReport:
    """Everything one source fetch produced, including per-request errors."""

    source: str
    items: list[Fetched] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    # Why the source stopped early (allowance or budget spent, scraper drift), if it did.
    stopped: Exception | None = None
    # Requests not made because robots.txt disallows them (logged, not errors).
    skipped: list[str] = field(default_factory=list)
    # Entry -> (watermark day, was it a full fetch): entries fetched completely this run.
    completed: dict[str, tuple[date, bool]] = field(default_factory=dict)

    def collect_entry(
        self, entry: str, plan: FetchPlan, pages: Iterator[Fetched], *, full: bool
    ) -> None:
        """`collect` one watchlist entry's listing; when it ends without an error, a stop or a
        skipped page, the entry's watermark advances to the day this run started."""
        before = (len(self.errors), len(self.skipped))
        self.collect(pages)
        clean = (len(self.errors), len(self.skipped)) == before and self.stopped is None
        if clean and plan.today is not None:
            self.completed[entry] = (plan.today, full)

    def __iter__(self) -> Iterator[Fetched]:
        return iter(self.items)

    def collect(self, pages: Iterator[Fetched]) -> None:
        """Keep every page a listing yields; a failing request is recorded, not fatal.

        Allowance/budget exhaustion and scraper drift stop the whole source: what was fetched so
        far is kept and every later `collect` is a no-op (its generator is never started, so no
        request is made). A page robots.txt disallows is recorded as skipped; it ends that
        generator (a listing whose next page is disallowed stops there).
        """
        if self.stopped is not None:
            return
        try:
            for item in pages:
                self.items.append(item)
        except SourceStopped as exc:
            self.stopped = exc
        except ScrapeDrift as exc:
            self.stopped = exc
            self.errors.append(exc)
        except RobotsDisallowed as exc:
            self.skipped.append(exc.url)
        except SourceError as exc:
            self.errors.append(exc)

    def collect_one(self, pages: Iterator[Fetched], entity: str, key: str) -> str | None:
        """Collect a lookup (e.g. an author by id or name); the id of the record it found."""
        before = len(self.items)
        self.collect(pages)
        if len(self.items) == before:
            return None
        found = self.items[-1].page.records.get(entity, [])
        return str(found[0][key]) if found else None


def whole(value: Any, name: str) -> int | None:
    """A JSON count: an int (or an integral float, 12.0) as int; None when absent. 12.5, true and
    "12" raise ValueError naming the field: the record is quarantined, never coerced."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{name} is not a whole number: {value!r}")
    return int(value)


def text(value: Any, name: str) -> str | None:
    """A JSON string, stripped (None when absent or blank). An array, object or number where text
    belongs raises ValueError naming the field, never stored as its Python repr."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not text: {value!r}"[:300])
    return value.strip() or None


def item_key(where: str, index: int) -> str:
    """Quarantine key of a record that has no usable id of its own.

    Unique per response and position, so two id-less records never share a key (the quarantine
    table's primary key would otherwise keep only the first), and stable when the same response
    is parsed again.
    """
    return f"{where} [item {index}]"


def load_json(source: str, body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        snippet = body[:120].decode("utf-8", errors="replace").strip().replace("\n", " ")
        raise SourceError(source, where, f"response is not JSON: {snippet!r}") from None


def error_summary(body: bytes, message: Callable[[Any], str | None]) -> str:
    """What an HTTP error body says, for an error naming the request: "HTML error page", the
    message the source's JSON carries (`message(data)`, None when it has none), else the start
    of the text."""
    head = body.lstrip()[:1]
    if head == b"<":
        return "HTML error page"
    if head == b"{":
        try:
            said = message(json.loads(body))
        except (ValueError, AttributeError, TypeError):
            said = None
        if said:
            return said[:200]
    return body[:200].decode("utf-8", "replace").strip() or "empty body"


# ---------------------------------------------------------------- decoding scraped pages

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# WHATWG encoding: these labels mean windows-1252 in HTML.
_AS_CP1252 = {"latin_1", "iso8859_1", "ascii", "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    if name.replace("-", "_") in _AS_CP1252:
        return "cp1252"
    if name.startswith("utf-16"):  # a byte page that claims UTF-16 in a meta tag is UTF-8
        return "utf-8"
    return name


def decode_html(body: bytes, content_type: str = "") -> str:
    """Bytes -> text the way browsers do, never by statistical guessing: BOM, then the
    Content-Type charset, then the page's own <meta charset> / http-equiv, then UTF-8, then
    windows-1252. Latin-1 and ASCII labels decode as windows-1252 (smart quotes, dashes), as
    HTML specifies; a label the bytes contradict (a "utf-8" page in windows-1252) is skipped."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(enc, errors="replace")
    header = _CHARSET.search(content_type or "")
    labels = (
        header.group(1) if header else None,
        EncodingDetector.find_declared_encoding(body, is_html=True),
        "utf-8",
    )
    for codec in dict.fromkeys(filter(None, map(_codec, labels))):
        try:
            return body.decode(codec)
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # a page cut inside a character
                return body.decode(codec, errors="replace")
    return body.decode("cp1252", errors="replace")

"""Fetch only what changed: per watchlist entry watermarks, overlap window, periodic full refresh
and citation refresh of known works, on live code paths served by an httpx MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import httpx
import pytest

from flows import context, fetch, steps
from flows.http import HttpClient
from flows.sources import arxiv, crossref, openalex
from flows.sources.base import FULL_PLAN, FetchPlan
from flows.watchlist import Watchlist

EMAIL = "team@example.org"
ORCID = "0000-0002-1825-0097"


def _atom(entries: list[tuple[str, str]], total: int) -> bytes:
    """A minimal arXiv Atom page: (arXiv id, updated timestamp) per entry."""
    items = "".join(
        f"""<entry><id>http://arxiv.org/abs/{aid}v1</id><updated>{upd}</updated>
        <published>2020-01-01T00:00:00Z</published><title>Paper {aid}</title>
        <summary>placeholder</summary><author><name>Ada Byron</name></author>
        <arxiv:primary_category term="cs.DC"/><category term="cs.DC"/></entry>"""
        for aid, upd in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"
 xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>q</title>
<id>http://arxiv.org/api/q</id><updated>2026-12-01T00:00:00Z</updated>
<opensearch:totalResults>{total}</opensearch:totalResults>
<opensearch:startIndex>0</opensearch:startIndex>
<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>{items}</feed>""".encode()


def _crossref(n: int) -> dict[str, object]:
    items = [
        {
            "DOI": f"10.1234/x{i}",
            "title": [f"Work {i}"],
            "type": "journal-article",
            "author": [{"given": "Ada", "family": "Byron", "ORCID": f"https://orcid.org/{ORCID}"}],
            "issued": {"date-parts": [[2024, 1, 1]]},
            "is-referenced-by-count": i,
        }
        for i in range(n)
    ]
    return {
        "status": "ok",
        "message-type": "work-list",
        "message": {"items": items, "total-results": n, "next-cursor": "c"},
    }


class Upstream:
    """arXiv and Crossref answering every query; records what was asked."""

    def __init__(self) -> None:
        self.seen: list[httpx.URL] = []
        self.fail_crossref = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url)
        if request.url.host == "export.arxiv.org":
            start = int(request.url.params.get("start", "0"))
            if start == 0:
                page = [
                    ("2401.00001", "2026-12-01T00:00:00Z"),
                    ("2401.00002", "2026-06-01T00:00:00Z"),
                ]
            else:
                page = [("2401.00003", "2025-01-01T00:00:00Z")]
            return httpx.Response(200, content=_atom(page, total=3))
        if request.url.host == "api.crossref.org":
            if self.fail_crossref:
                return httpx.Response(
                    400, json={"status": "failed", "message-type": "x", "message": "no"}
                )
            return httpx.Response(200, json=_crossref(2))
        return httpx.Response(404, text="not found")

    def asked(self, host: str) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(str(u)).query) for u in self.seen if u.host == host]


def _watchlist(**incremental: object) -> Watchlist:
    return Watchlist.model_validate(
        {
            "contact_email": EMAIL,
            "researchers": [{"name": "Ada Byron", "orcid": ORCID}],
            "sources": {
                "enabled": ["arxiv", "crossref"],
                "incremental": incremental,
            },
        }
    )


def _live(
    monkeypatch: pytest.MonkeyPatch,
    path: Path,
    upstream: Upstream,
    wl: Watchlist,
    mode: str = "live",
    days_later: int = 0,
) -> context.RunContext:
    def offline_client(*args: object, **kwargs: object) -> HttpClient:
        kwargs.update(transport=httpx.MockTransport(upstream), intervals={}, sleep=lambda s: None)
        return HttpClient(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch, "HttpClient", offline_client)
    ctx = context.RunContext("ingest", mode, wl, "sha", path)  # type: ignore[arg-type]
    # a run some days later (the plan counts days from the run's start)
    ctx.started_at += timedelta(days=days_later)
    steps.ingest(ctx, ["arxiv", "crossref"])
    return ctx


def _state(path: Path) -> dict[tuple[str, str], tuple[date, date | None]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select source, entry, watermark, full_fetch_on from fetch_state"
        ).fetchall()
    return {(s, e): (w, f) for s, e, w, f in rows}


def test_plan_since_applies_the_overlap_and_full_refresh() -> None:
    plan = FetchPlan(
        watermarks={"researcher:a": date(2026, 12, 1), "topic:t": date(2026, 11, 1)},
        full=frozenset({"topic:t"}),
        overlap_days=3,
    )
    assert plan.since("researcher:a") == date(2026, 11, 28)
    assert plan.since("topic:t") is None  # due a full refresh
    assert plan.since("researcher:new") is None  # never fetched: everything
    assert FULL_PLAN.since("researcher:a") is None


def test_second_live_run_asks_only_for_what_changed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, upstream = tmp_path / "w.duckdb", Upstream()
    first = _live(monkeypatch, path, upstream, _watchlist())
    # first run: whole listings, submission order, no index-date filter
    assert all(q["sortBy"] == ["submittedDate"] for q in upstream.asked("export.arxiv.org"))
    assert len(upstream.asked("export.arxiv.org")) == 2  # both pages
    assert all("from-index-date" not in q["filter"][0] for q in upstream.asked("api.crossref.org"))
    day = first.started_at.date()
    assert _state(path) == {
        ("arxiv", "researcher:ada-byron"): (day, day),
        ("crossref", "researcher:ada-byron"): (day, day),
    }

    upstream.seen.clear()
    _live(monkeypatch, path, upstream, _watchlist(overlap_days=3))
    arxiv_asked = upstream.asked("export.arxiv.org")
    # newest-updated first, and the second page (older than the watermark) is never asked for
    assert [q["sortBy"] for q in arxiv_asked] == [["lastUpdatedDate"]]
    since = (day - timedelta(days=3)).isoformat()
    assert [q["filter"] for q in upstream.asked("api.crossref.org")] == [
        [f"orcid:{ORCID},from-index-date:{since}"]
    ]
    # an incremental fetch moves the watermark, not the day of the last full fetch
    assert _state(path)[("arxiv", "researcher:ada-byron")] == (day, day)


def test_entries_due_a_full_refresh_are_fetched_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, upstream = tmp_path / "w.duckdb", Upstream()
    _live(monkeypatch, path, upstream, _watchlist())
    upstream.seen.clear()
    # 40 days on, with a full refresh every 30: both entries are fetched whole again
    later = _live(monkeypatch, path, upstream, _watchlist(full_refresh_days=30), days_later=40)
    assert {q["sortBy"][0] for q in upstream.asked("export.arxiv.org")} == {"submittedDate"}
    assert all("from-index-date" not in q["filter"][0] for q in upstream.asked("api.crossref.org"))
    day = later.started_at.date()
    assert _state(path)[("arxiv", "researcher:ada-byron")] == (day, day)
    # 20 days after that full fetch, the run is incremental again
    upstream.seen.clear()
    _live(monkeypatch, path, upstream, _watchlist(full_refresh_days=30), days_later=60)
    assert {q["sortBy"][0] for q in upstream.asked("export.arxiv.org")} == {"lastUpdatedDate"}


def test_a_failed_entry_keeps_its_watermark(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, upstream = tmp_path / "w.duckdb", Upstream()
    first = _live(monkeypatch, path, upstream, _watchlist())
    upstream.fail_crossref = True
    later = _live(monkeypatch, path, upstream, _watchlist(), days_later=10)
    after = _state(path)
    # crossref answered with an error: its next run must ask from the old day again
    assert after[("crossref", "researcher:ada-byron")][0] == first.started_at.date()
    assert after[("arxiv", "researcher:ada-byron")][0] == later.started_at.date()


def test_disabled_or_replayed_runs_fetch_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, upstream = tmp_path / "w.duckdb", Upstream()
    _live(monkeypatch, path, upstream, _watchlist())
    upstream.seen.clear()
    ctx = _live(monkeypatch, path, upstream, _watchlist(enabled=False))
    assert ctx.plans == {}
    assert {q["sortBy"][0] for q in upstream.asked("export.arxiv.org")} == {"submittedDate"}
    replay = context.RunContext("ingest", "replay", _watchlist(), "sha", path)
    fetch.plan_fetches(replay)
    assert replay.plans == {}


def _openalex_client(seen: list[httpx.URL]) -> Callable[[], HttpClient]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path.startswith("/authors/"):
            return httpx.Response(
                200, json={"id": "https://openalex.org/A5000000001", "display_name": "Ada Byron"}
            )
        return httpx.Response(200, json={"meta": {"count": 0, "next_cursor": None}, "results": []})

    def make() -> HttpClient:
        return HttpClient(
            EMAIL, transport=httpx.MockTransport(handler), intervals={}, sleep=lambda s: None
        )

    return make


def test_openalex_asks_by_update_date_with_a_key_and_refreshes_known_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wl = Watchlist.model_validate(
        {
            "contact_email": EMAIL,
            "researchers": [{"name": "Ada Byron", "openalex_id": "A5000000001"}],
            "topics": [{"name": "LLM serving", "keywords": ["LLM serving"]}],
            "sources": {"enabled": ["openalex"], "since_year": 2018},
        }
    )
    plan = FetchPlan(
        watermarks={
            "researcher:ada-byron": date(2026, 12, 1),
            "topic:LLM serving": date(2026, 12, 1),
        },
        overlap_days=2,
        refresh=tuple(f"W{i}" for i in range(60)),
        today=date(2026, 12, 3),
    )
    seen: list[httpx.URL] = []
    monkeypatch.setenv("OPENALEX_API_KEY", "k-secret")
    with _openalex_client(seen)() as client:
        report = openalex.fetch(client, wl, plan)
    filters = [u.params.get("filter", "") for u in seen if u.path == "/works"]
    assert filters[0] == "authorships.author.id:A5000000001,from_updated_date:2026-11-29"
    assert filters[1] == "from_publication_date:2026-11-29"
    # 60 known works: two id batches of 50 and 10
    assert [f.count("|") + 1 for f in filters[2:]] == [50, 10]
    assert filters[2].startswith("openalex:W0|W1|")
    assert set(report.completed) == {"researcher:ada-byron", "topic:LLM serving"}

    seen.clear()
    monkeypatch.delenv("OPENALEX_API_KEY")
    with _openalex_client(seen)() as client:
        openalex.fetch(client, wl, plan)
    # keyless: OpenAlex serves from_updated_date only to key holders, so the list stays whole
    assert next(u.params.get("filter") for u in seen if u.path == "/works") == (
        "authorships.author.id:A5000000001"
    )


def test_sources_without_a_plan_parameter_are_called_as_before() -> None:
    assert {s for s in ("arxiv", "openalex", "crossref")} == {
        m.SLUG for m in (arxiv, openalex, crossref) if m.INCREMENTAL
    }

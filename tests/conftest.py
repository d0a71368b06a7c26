"""Shared test fixtures: paths to the recorded upstream payloads and small helpers."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from flows.http import HttpClient
from flows.watchlist import Watchlist

ROOT = Path(__file__).resolve().parents[1]
Handler = Callable[[httpx.Request], httpx.Response]
SHARED_FIXTURES = ROOT.parent / "shared" / "source-fixtures"
# Set by .ci/run: tests that need ../shared fail instead of skipping when it is absent.
REQUIRE_SHARED = os.environ.get("SCHOLARFLOW_REQUIRE_SHARED") == "1"
SHARED_REASON = (
    f"needs the recorded upstream payloads in {SHARED_FIXTURES} (the shared/ folder beside "
    "the repo), absent here"
)
# Marks a test that reads module-level lists of ../shared files (empty when it is absent).
needs_shared = pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason=SHARED_REASON)


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SHARED and not SHARED_FIXTURES.is_dir():
        raise pytest.UsageError(
            f"SCHOLARFLOW_REQUIRE_SHARED=1 but {SHARED_FIXTURES} is missing: the tests on "
            "recorded upstream payloads cannot run"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared, a test parametrized over its files has an empty parameter set: say
    why it is skipped."""
    if SHARED_FIXTURES.is_dir():
        return
    for item in items:
        for mark in item.iter_markers("skip"):
            reason = str(mark.kwargs.get("reason", ""))
            if reason.startswith("got empty parameter set"):
                item.add_marker(pytest.mark.skip(reason=f"{SHARED_REASON} ({reason})"), False)
                break


def _in_test() -> bool:
    """pytest sets PYTEST_CURRENT_TEST while a test runs, not while modules are collected."""
    return "PYTEST_CURRENT_TEST" in os.environ


def _absent(path: Path) -> NoReturn:
    if _in_test():
        pytest.skip(SHARED_REASON)
    raise FileNotFoundError(
        f"recorded upstream payloads missing: {path} (the shared/ folder beside the repo)"
    )


def shared_fixture_dir(slug: str) -> Path:
    """../shared/source-fixtures/<slug>: genuine API responses (not project files). Inside a
    test, its absence skips the test (with the reason)."""
    path = SHARED_FIXTURES / slug
    if not path.is_dir():
        _absent(path)
    return path


def shared_files(slug: str) -> list[Path]:
    """The recorded files of `slug`; none at import time when ../shared is absent (their
    parametrized tests then skip as an empty parameter set)."""
    if not (SHARED_FIXTURES / slug).is_dir() and not _in_test():
        return []
    return sorted(p for p in shared_fixture_dir(slug).iterdir() if p.name != "SOURCES.md")


def fixture_bytes(slug: str, name: str) -> bytes:
    return (shared_fixture_dir(slug) / name).read_bytes()


def documented(slug: str) -> dict[str, dict[str, str]]:
    """Per file, the `- key: value` lines of its section in the folder's SOURCES.md (none at
    import time when ../shared is absent)."""
    if not (SHARED_FIXTURES / slug).is_dir() and not _in_test():
        return {}
    docs: dict[str, dict[str, str]] = {}
    section: dict[str, str] | None = None
    text = (shared_fixture_dir(slug) / "SOURCES.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        if m := re.match(r"## `([^`]+)`", line):
            section = docs.setdefault(m.group(1), {})
        elif section is not None and (m := re.match(r"- (\w+): (.*)", line.strip())):
            section[m.group(1)] = m.group(2).strip()
    return docs


def documented_status(docs: dict[str, dict[str, str]], name: str) -> int:
    """The HTTP status SOURCES.md records for a file's request (200 when it names none)."""
    m = re.search(r"-> HTTP (\d{3})", docs[name].get("request", ""))
    return int(m.group(1)) if m else 200


def source_watchlist(
    slug: str,
    researchers: list[dict[str, object]],
    topics: list[dict[str, object]] | None = None,
    **sources: int,
) -> Watchlist:
    """A watchlist with only `slug` enabled (source options such as max_topic_results as kwargs)."""
    return Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": researchers,
            "topics": topics or [],
            "sources": {"enabled": [slug], **sources},
        }
    )


@pytest.fixture
def client_for() -> Iterator[Callable[..., HttpClient]]:
    """Factory of shared clients answering through a MockTransport handler: no rate limit waits,
    no retry sleeps. Closed at the end of the test."""
    clients: list[HttpClient] = []

    def make(server: Handler, robots: str | None = None) -> HttpClient:
        """`robots`: the robots.txt body every host serves (None: hosts have none, a 404)."""

        def serve(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/robots.txt":
                if robots is None:
                    return httpx.Response(404, text="not found")
                return httpx.Response(200, text=robots)
            return server(request)

        client = HttpClient(
            "team@example.org",
            transport=httpx.MockTransport(serve),
            intervals={},
            sleep=lambda s: None,
        )
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture(autouse=True)
def no_real_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test waits for real: a client made without an injected sleep fails the test when it
    would wait (rate limits, Retry-After, Crawl-delay are tested on fake clocks)."""

    def forbidden(seconds: float) -> None:
        raise AssertionError(
            f"a test slept {seconds:.2f} s for real: inject sleep= or a fake clock"
        )

    monkeypatch.setattr("flows.http.default_sleep", forbidden)


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENALEX_API_KEY", raising=False)
    monkeypatch.delenv("S2_API_KEY", raising=False)


def demo_context(warehouse: Path, command: str = "test"):  # type: ignore[no-untyped-def]
    from flows import context
    from flows.watchlist import load_watchlist

    wl_path = ROOT / "watchlist.toml"
    return context.RunContext(
        command=command,
        mode="demo",
        watchlist=load_watchlist(wl_path),
        watchlist_sha256=context.watchlist_digest(wl_path),
        warehouse_path=warehouse,
    )


def run_demo(warehouse: Path):  # type: ignore[no-untyped-def]
    """Ingest every source from the bundled recording and build (no Prefect server)."""
    from flows import steps

    ctx = demo_context(warehouse)
    return steps.ingest(ctx, list(ctx.watchlist.sources.enabled))


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built once from the demo recording; treat as read-only."""
    path = tmp_path_factory.mktemp("demo") / "warehouse" / "scholarflow.duckdb"
    run_demo(path)
    return path

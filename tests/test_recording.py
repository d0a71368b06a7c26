"""flows.recording: record exchanges with Recorder, serve them offline with ReplayTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from flows import settings
from flows.http import SECRET_PARAMS, FetchedResponse, HttpClient, public_url
from flows.recording import MANIFEST, Recorder, ReplayMiss, ReplayTransport, load_manifest

EMAIL = "research-office@example.org"
SECRET = "s3cr3t-K3Y-value"
HEADER_SECRET = "hdr-t0ken-4242"

OPENALEX = "https://api.openalex.org/works"
ARXIV = "https://export.arxiv.org/api/query"
S2 = "https://api.semanticscholar.org/graph/v1/paper/search"

ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query</title>
<entry><id>http://arxiv.org/abs/2401.00001v1</id><title>KV cache</title></entry></feed>
"""
JSON_BODY = b'{"results": [{"id": "W1", "title": "LLM serving"}], "meta": {"count": 1}}'
NOT_FOUND = b'{"error": "Paper not found"}'


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep({seconds}) during replay")


def live_handler(request: httpx.Request) -> httpx.Response:
    """Stands in for the three live APIs; insists on receiving the secrets."""
    host = request.url.host
    if host == "api.openalex.org":
        assert request.url.params["api_key"] == SECRET
        return httpx.Response(200, content=JSON_BODY, headers={"content-type": "application/json"})
    if host == "export.arxiv.org":
        return httpx.Response(
            200, content=ATOM, headers={"content-type": "application/atom+xml; charset=utf-8"}
        )
    assert request.headers["x-api-key"] == HEADER_SECRET
    return httpx.Response(404, content=NOT_FOUND, headers={"content-type": "application/json"})


def record(
    directory: Path, handler: Callable[[httpx.Request], httpx.Response] = live_handler
) -> None:
    with HttpClient(
        EMAIL,
        transport=httpx.MockTransport(handler),
        intervals={},
        max_attempts=1,
        on_response=Recorder(directory),
    ) as client:
        client.get(
            "openalex", OPENALEX, params={"search": "kv cache", "api_key": SECRET, "page": 1}
        )
        client.get("arxiv", ARXIV, params={"search_query": 'all:"LLM serving"', "start": 0})
        client.get(
            "semantic_scholar",
            S2,
            params={"query": "missing"},
            headers={"x-api-key": HEADER_SECRET, "Authorization": f"Bearer {HEADER_SECRET}"},
        )


def replay_client(directory: Path, max_attempts: int = 1) -> HttpClient:
    return HttpClient(
        EMAIL,
        transport=ReplayTransport(directory),
        intervals={},
        max_attempts=max_attempts,
        sleep=_no_sleep,
    )


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    directory = tmp_path / "rec"
    record(directory)
    return directory


def test_recording_layout(recording: Path) -> None:
    exchanges = load_manifest(recording)
    assert [(e.source, e.status, e.file) for e in exchanges] == [
        ("openalex", 200, "openalex/0001.json"),
        ("arxiv", 200, "arxiv/0002.xml"),
        ("semantic_scholar", 404, "semantic_scholar/0003.json"),
    ]
    assert exchanges[0].url == "https://api.openalex.org/works?page=1&search=kv+cache"
    assert exchanges[1].content_type == "application/atom+xml; charset=utf-8"
    assert (recording / "arxiv/0002.xml").read_bytes() == ATOM
    for line in (recording / MANIFEST).read_text(encoding="utf-8").splitlines():
        assert sorted(json.loads(line)) == [
            "content_type",
            "file",
            "method",
            "source",
            "status",
            "url",
        ]


def test_recording_holds_no_secrets(recording: Path) -> None:
    files = [p for p in recording.rglob("*") if p.is_file()]
    assert len(files) == 4  # manifest + 3 bodies
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert HEADER_SECRET.encode() not in data, path
        assert b"api_key" not in data, path


def test_round_trip_serves_same_status_body_content_type(recording: Path) -> None:
    with replay_client(recording) as client:
        # Other key, other parameter order, no key at all: the replay key ignores them.
        oa = client.get(
            "openalex", OPENALEX, params={"page": 1, "api_key": "other", "search": "kv cache"}
        )
        ax = client.get("arxiv", ARXIV, params={"start": 0, "search_query": 'all:"LLM serving"'})
        s2 = client.get("semantic_scholar", S2, params={"query": "missing"})
    assert (oa.status, oa.body, oa.content_type) == (200, JSON_BODY, "application/json")
    assert (ax.status, ax.body, ax.content_type) == (
        200,
        ATOM,
        "application/atom+xml; charset=utf-8",
    )
    assert (s2.status, s2.body, s2.content_type) == (404, NOT_FOUND, "application/json")
    assert oa.url == "https://api.openalex.org/works?page=1&search=kv+cache"
    assert client.requests_made == {"openalex": 1, "arxiv": 1, "semantic_scholar": 1}


def test_replay_of_recorded_retryable_error_is_returned(tmp_path: Path) -> None:
    directory = tmp_path / "rec"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=b"down", headers={"content-type": "text/plain"})

    with HttpClient(
        EMAIL,
        transport=httpx.MockTransport(handler),
        intervals={},
        max_attempts=1,
        on_response=Recorder(directory),
    ) as client:
        client.get("openalex", OPENALEX)
    assert load_manifest(directory)[0].file == "openalex/0001.bin"
    with replay_client(directory) as client:
        resp = client.get("openalex", OPENALEX)
    assert (resp.status, resp.body) == (503, b"down")


def test_same_url_recorded_twice_served_in_order_then_last_repeats(tmp_path: Path) -> None:
    directory = tmp_path / "rec"
    bodies = iter([b'{"n": 1}', b'{"n": 2}'])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=next(bodies), headers={"content-type": "application/json"}
        )

    with HttpClient(
        EMAIL, transport=httpx.MockTransport(handler), intervals={}, on_response=Recorder(directory)
    ) as client:
        client.get("openalex", OPENALEX, params={"q": "x"})
        client.get("openalex", OPENALEX, params={"q": "x"})
    with replay_client(directory) as client:
        served = [client.get("openalex", OPENALEX, params={"q": "x"}).body for _ in range(4)]
    assert served == [b'{"n": 1}', b'{"n": 2}', b'{"n": 2}', b'{"n": 2}']


def test_replay_miss_through_transport(recording: Path) -> None:
    with (
        httpx.Client(transport=ReplayTransport(recording)) as client,
        pytest.raises(ReplayMiss) as info,
    ):
        client.get(OPENALEX, params={"search": "other", "api_key": SECRET})
    url = "https://api.openalex.org/works?search=other"
    assert info.value.method == "GET"
    assert info.value.url == url
    assert f"GET {url}" in str(info.value)
    assert str(recording) in str(info.value)
    assert SECRET not in str(info.value)


def test_replay_miss_through_client_is_not_retried(
    recording: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with replay_client(recording, max_attempts=5) as client, pytest.raises(ReplayMiss) as info:
        client.get("arxiv", ARXIV, params={"search_query": "nothing", "start": 0})
    assert isinstance(info.value, LookupError)
    assert "GET https://export.arxiv.org/api/query?search_query=nothing&start=0" in str(info.value)
    # one attempt (no back-off: a sleep would raise), and nothing was answered to count
    assert client.requests_made == {}
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_replay_method_is_part_of_the_key(recording: Path) -> None:
    with (
        httpx.Client(transport=ReplayTransport(recording)) as client,
        pytest.raises(ReplayMiss) as info,
    ):
        client.post(OPENALEX, params={"search": "kv cache", "page": 1})
    assert "POST https://api.openalex.org/works?page=1&search=kv+cache" in str(info.value)


def test_recorder_appends_without_overwriting(recording: Path) -> None:
    before = {p: p.read_bytes() for p in recording.rglob("*") if p.is_file() and p.name != MANIFEST}
    record(recording)
    exchanges = load_manifest(recording)
    assert len(exchanges) == 6
    assert len({e.file for e in exchanges}) == 6
    assert exchanges[3].file == "openalex/0004.json"
    for path, data in before.items():
        assert path.read_bytes() == data


def test_recorder_never_writes_a_secret_url(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec(
        FetchedResponse(
            "openalex",
            "GET",
            f"{OPENALEX}?api_key={SECRET}&q=1",
            200,
            "application/json",
            b"{}",
            datetime.now(UTC),
        )
    )
    assert SECRET not in (tmp_path / MANIFEST).read_text(encoding="utf-8")
    assert load_manifest(tmp_path)[0].url == f"{OPENALEX}?q=1"


# --- manifest errors ------------------------------------------------------------------------


def test_load_manifest_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"is not a recording: manifest\.jsonl is missing"):
        load_manifest(tmp_path)
    with pytest.raises(FileNotFoundError):
        ReplayTransport(tmp_path)


GOOD = {
    "source": "openalex",
    "method": "GET",
    "url": "https://api.openalex.org/works",
    "status": 200,
    "content_type": "application/json",
    "file": "openalex/0001.json",
}


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        "[1, 2]",
        '"a string"',
        json.dumps({k: v for k, v in GOOD.items() if k != "status"}),
        json.dumps({**GOOD, "extra": 1}),
        json.dumps({**GOOD, "status": "200"}),
        json.dumps({**GOOD, "status": True}),
        json.dumps({**GOOD, "url": None}),
        json.dumps({**GOOD, "file": "../outside.json"}),
        json.dumps({**GOOD, "file": "/etc/passwd"}),
    ],
)
def test_malformed_manifest_line_names_file_and_line(tmp_path: Path, bad: str) -> None:
    (tmp_path / "openalex").mkdir()
    (tmp_path / "openalex/0001.json").write_bytes(b"{}")
    (tmp_path / MANIFEST).write_text(json.dumps(GOOD) + "\n\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{MANIFEST}:3: bad manifest line"):
        load_manifest(tmp_path)


def test_manifest_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_bytes(b'{"source": "\xff"}\n')
    with pytest.raises(ValueError, match=rf"{MANIFEST}:1: bad manifest line"):
        load_manifest(tmp_path)


def test_manifest_entry_with_missing_body_file(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    with pytest.raises(
        FileNotFoundError, match=rf"{MANIFEST}:1: body file openalex/0001.json is missing"
    ):
        load_manifest(tmp_path)


# --- the committed demo recording -----------------------------------------------------------


def test_demo_recording_loads_and_is_complete() -> None:
    directory = settings.DEMO_RECORDING
    exchanges = load_manifest(directory)
    assert exchanges
    assert {e.source for e in exchanges} >= {"arxiv", "openalex", "semantic_scholar"}
    for e in exchanges:
        assert (directory / e.file).is_file(), e.file
        assert e.file.startswith(f"{e.source}/")
        assert e.method == "GET"


def test_demo_recording_urls_are_free_of_secrets() -> None:
    for e in load_manifest(settings.DEMO_RECORDING):
        parts = urlsplit(e.url)
        assert parts.scheme == "https"
        assert "@" not in parts.netloc
        keys = {k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
        assert not keys & SECRET_PARAMS, e.url
        assert public_url(e.url) == e.url  # already in replay-key form


def test_demo_recording_replays_every_exchange() -> None:
    directory = settings.DEMO_RECORDING
    exchanges = load_manifest(directory)
    with replay_client(directory) as client:
        for e in exchanges:
            resp = client.get(e.source, e.url)
            assert resp.status == e.status
            assert resp.content_type == e.content_type
            assert resp.body == (directory / e.file).read_bytes()

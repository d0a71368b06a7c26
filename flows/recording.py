"""Record and replay HTTP exchanges so a whole run can work offline.

A recording is a folder: `manifest.jsonl` (one line per exchange: source, method, redacted URL,
status, content type, body file) and the bodies under `<source>/`. Replay looks requests up by
method + redacted URL, so API keys never matter to, or appear in, a recording.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

from flows.http import FetchedResponse, public_url

MANIFEST = "manifest.jsonl"
_EXT = {"json": ".json", "xml": ".xml", "atom": ".xml", "html": ".html"}


class ReplayMiss(LookupError):
    """A request that the recording does not hold."""

    def __init__(self, method: str, url: str, recording: Path) -> None:
        super().__init__(
            f"request not in recording {recording}: {method} {url} "
            "(record it with --record DIR against the live API, or fix the watchlist)"
        )
        self.url = url


@dataclass(frozen=True)
class Exchange:
    source: str
    method: str
    url: str
    status: int
    content_type: str
    file: str


def _extension(content_type: str) -> str:
    for key, ext in _EXT.items():
        if key in content_type:
            return ext
    return ".bin"


class Recorder:
    """Appends every response the client gets to a recording folder (`--record DIR`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = sum(1 for _ in (directory / MANIFEST).open()) if (directory / MANIFEST).exists() else 0

    def __call__(self, response: FetchedResponse) -> None:
        with self._lock:
            self._count += 1
            rel = f"{response.source}/{self._count:04d}{_extension(response.content_type)}"
            path = self.directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(response.body)
            entry = Exchange(
                response.source, response.method, response.url, response.status,
                response.content_type, rel,
            )
            with (self.directory / MANIFEST).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry.__dict__, sort_keys=True) + "\n")


def load_manifest(directory: Path) -> list[Exchange]:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{directory} is not a recording: {MANIFEST} is missing")
    exchanges = []
    for lineno, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            exchanges.append(Exchange(**json.loads(line)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{manifest}:{lineno}: bad manifest line ({exc})") from None
    return exchanges


class ReplayTransport(httpx.BaseTransport):
    """Serves recorded bodies by request; several recordings of one URL are served in order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_key: dict[tuple[str, str], list[Exchange]] = {}
        for ex in load_manifest(directory):
            self._by_key.setdefault((ex.method, public_url(ex.url)), []).append(ex)
        self._served: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, public_url(request.url))
        with self._lock:
            options = self._by_key.get(key)
            if not options:
                raise ReplayMiss(request.method, key[1], self.directory)
            index = min(self._served.get(key, 0), len(options) - 1)
            self._served[key] = index + 1
        ex = options[index]
        body = (self.directory / ex.file).read_bytes()
        return httpx.Response(
            ex.status, headers={"content-type": ex.content_type}, content=body, request=request
        )

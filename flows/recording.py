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

from flows.http import FetchedResponse, mask_secret_bytes, public_url

MANIFEST = "manifest.jsonl"
_EXT = {"json": ".json", "xml": ".xml", "atom": ".xml", "html": ".html"}


class ReplayMiss(LookupError):
    """A request that the recording does not hold."""

    def __init__(self, method: str, url: str, recording: Path) -> None:
        from flows.settings import DEMO_RECORDING

        if recording.resolve() == DEMO_RECORDING.resolve():
            hint = (
                "--demo replays a recording of the example watchlist only (the watchlist.toml "
                "shipped with scholarflow): a researcher, topic or option you added or changed "
                "is not in it. Run live, or record your own with --record DIR and --replay DIR"
            )
        else:
            hint = "record it with --record DIR against the live API, or fix the watchlist"
        super().__init__(f"request not in recording {recording}: {method} {url} ({hint})")
        self.method = method
        self.url = url
        self.recording = recording


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
        manifest = directory / MANIFEST
        # Continue numbering after an earlier recording in the same folder.
        self._count = len(load_manifest(directory)) if manifest.exists() else 0

    def __call__(self, response: FetchedResponse) -> None:
        with self._lock:
            ext = _extension(response.content_type)
            while True:  # never overwrite a body file already in the folder
                self._count += 1
                rel = f"{response.source}/{self._count:04d}{ext}"
                path = self.directory / rel
                if not path.exists():
                    break
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mask_secret_bytes(response.body))  # a key quoted back in a body
            entry = Exchange(
                response.source,
                response.method,
                public_url(response.url),  # already public from HttpClient; never trust it
                response.status,
                response.content_type,
                rel,
            )
            with (self.directory / MANIFEST).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry.__dict__, sort_keys=True) + "\n")


_FIELD_TYPES = {
    "source": str,
    "method": str,
    "url": str,
    "status": int,
    "content_type": str,
    "file": str,
}


def _exchange(data: object, directory: Path) -> Exchange:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    missing = sorted(set(_FIELD_TYPES) - set(data))
    extra = sorted(set(data) - set(_FIELD_TYPES))
    if missing or extra:
        raise TypeError(f"missing fields {missing}, unknown fields {extra}")
    for name, kind in _FIELD_TYPES.items():
        value = data[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TypeError(f"{name} must be {kind.__name__}, got {value!r}")
    rel = Path(data["file"])
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"file must be a path inside the recording, got {data['file']!r}")
    if not (directory / rel).is_file():
        raise FileNotFoundError(f"body file {data['file']} is missing")
    return Exchange(**data)


def load_manifest(directory: Path) -> list[Exchange]:
    """Every exchange of a recording; raises naming `manifest.jsonl:LINE` on any bad entry."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{directory} is not a recording: {MANIFEST} is missing")
    exchanges = []
    lines = manifest.read_bytes().splitlines()
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            exchanges.append(_exchange(json.loads(raw.decode("utf-8")), directory))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{manifest}:{lineno}: {exc}") from None
        except (TypeError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError included
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

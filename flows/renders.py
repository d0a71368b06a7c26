"""Charts and export files reused from the previous report set when nothing they are drawn
from changed: per unit (a chart, a publication list) a digest of its input rows and of the code
and library versions that draw it, kept with each file's sha256 in the set's manifest."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows import __version__

# In each report set, beside the files: per rendered unit (a chart, a publication list), the
# digest of its inputs and the sha256 of each file it wrote. Hidden: not linked into reports/.
MANIFEST = ".renders.json"
MANIFEST_VERSION = 1

# Distributions whose code draws or formats an output file (matplotlib's own dependencies
# included: Pillow encodes the PNGs, fonttools subsets nothing today but reads the fonts).
RENDER_DISTRIBUTIONS = (
    "matplotlib",
    "numpy",
    "pillow",
    "fonttools",
    "kiwisolver",
    "contourpy",
    "pyparsing",
    "cycler",
    "python-dateutil",
    "networkx",
    "bibtexparser",
    "pylatexenc",
    "rispy",
    "anyascii",
    "duckdb",
)


def _version(dist: str) -> str:
    from importlib import metadata  # 80 ms of imports: only when outputs are written

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _font_cache() -> bytes:
    """matplotlib's font list (which font file each family resolves to). matplotlib reads it
    from its cache directory and does not rescan the system's fonts while it exists, so its
    content is what decides the fonts; located the way matplotlib does, without importing it."""
    base = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    return b"".join(p.read_bytes() for p in sorted(Path(base).glob("fontlist-*.json")))


@lru_cache(maxsize=1)
def renderer_version() -> str:
    """Everything a renderer reads besides its input rows: this package's code (all of it: a
    helper may move between modules), Python, and the versions of the libraries that draw and
    format the files. Charts reset matplotlib to its defaults (no user matplotlibrc), so its
    settings are code here."""
    h = hashlib.sha256(f"{__version__} {sys.version}\n".encode())
    for dist in RENDER_DISTRIBUTIONS:
        h.update(f"{dist} {_version(dist)}\n".encode())
    root = Path(__file__).resolve().parents[1]
    for package in ("flows", "transforms"):
        for path in sorted((root / package).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(_font_cache())
    return h.hexdigest()


@dataclass
class Rendered:
    """One renderer call's files (path relative to the report set -> bytes) and the strings
    the page needs from it (`meta`: JSON-safe)."""

    files: dict[str, bytes]
    meta: dict[str, Any] = field(default_factory=dict)


class Renders:
    """Rendered units of the previous report set, reused when the digest of their inputs is
    the same (a file is taken only if its bytes still have the recorded sha256); every other
    unit is rendered. `manifest()` describes this run's units for the next run."""

    def __init__(self, previous: Path | None = None) -> None:
        self.previous = previous
        self.units: dict[str, dict[str, Any]] = {}
        self.reused: list[str] = []
        self.rendered: list[str] = []
        self._old: dict[str, Any] = {}
        if previous is not None:
            try:
                raw = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = None
            if isinstance(raw, dict) and raw.get("version") == MANIFEST_VERSION:
                units = raw.get("units")
                self._old = units if isinstance(units, dict) else {}

    @staticmethod
    def digest(unit: str, inputs: object) -> str:
        """Of the renderer's code and settings, the unit's name and its input values (rows as
        the warehouse returned them: repr is exact for str, int, float, date and Decimal)."""
        text = f"{renderer_version()}\n{unit}\n{inputs!r}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _take(self, unit: str, digest: str, names: list[str]) -> Rendered | None:
        old = self._old.get(unit)
        if self.previous is None or not isinstance(old, dict) or old.get("digest") != digest:
            return None
        recorded = old.get("files")
        if not isinstance(recorded, dict) or sorted(recorded) != sorted(names):
            return None
        files: dict[str, bytes] = {}
        for rel, sha in recorded.items():
            try:
                data = (self.previous / rel).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != sha:  # changed on disk since: draw again
                return None
            files[rel] = data
        return Rendered(files, dict(old.get("meta") or {}))

    def get(
        self, unit: str, inputs: object, render: Callable[[], Rendered], names: list[str]
    ) -> Rendered:
        """The unit's files (`names`, relative to the report set), from the previous set when
        its inputs are unchanged, else drawn."""
        if unit in self.units:  # one name, one renderer: else a hit could hand over another's
            raise ValueError(f"two outputs are named {unit!r}")
        digest = self.digest(unit, inputs)
        got = self._take(unit, digest, names)
        if got is None:
            got = render()
            self.rendered.append(unit)
        else:
            self.reused.append(unit)
        self.units[unit] = {
            "digest": digest,
            "files": {rel: hashlib.sha256(b).hexdigest() for rel, b in got.files.items()},
            "meta": got.meta,
        }
        return got

    def manifest(self) -> str:
        units = dict(sorted(self.units.items()))
        return json.dumps({"version": MANIFEST_VERSION, "units": units}, indent=1) + "\n"

"""Curated corrections (`overrides.toml`, under version control): read, validate, resolve.

Four kinds of entry, each an array of tables and each with a required `reason`:

    [[not_author]]   researcher, works   this work is not by this researcher
    [[merge]]        works (>= 2)        these records/papers are one work
    [[keep_apart]]   works (>= 2)        never one work, however alike
    [[alias]]        researcher, names and/or ids   more names / source ids of a researcher

A work reference is `doi:<doi>`, `arxiv:<id>`, `<source slug>:<source_work_id>` or a canonical
paper id (`t:<hash>` and the `doi:`/`arxiv:` forms above). Only the syntax is checked here:
whether a reference names anything is found at build time and reported in `resolution_flags`.
A researcher is named by researcher_id or by any name or alias from the watchlist.

Validated strictly, like the watchlist: an unknown key, a wrong type, a bad reference or an
unknown researcher fails with `overrides.toml:LINE: field: problem`, every problem at once.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from flows import settings
from flows.sources import SOURCES
from flows.watchlist import Watchlist, problem_text, slugify
from transforms import ids
from transforms.overrides import overrides_frame

KINDS = ("not_author", "merge", "keep_apart", "alias")

_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_PAPER_HASH = re.compile(r"^[0-9A-Za-z_\-]+$")
_REF = re.compile(r"^([a-z_0-9]+):(.+)$")


class OverridesError(ValueError):
    """An overrides file that cannot be used; the message names file, line and field."""


class OverridesMissing(OverridesError):
    """An overrides file given explicitly (--overrides) does not exist: a usage error."""


def _known_slugs() -> str:
    return ", ".join(sorted(SOURCES))


def check_work_ref(raw: str) -> str:
    """Syntax of one work reference; returns it stripped (values are normalised at build)."""
    ref = raw.strip()
    m = _REF.match(ref)
    if not m:
        if ids.doi(ref) or ref.lower().startswith(("https://doi.org/", "http://dx.")):
            raise ValueError(f"{raw!r}: write a DOI as doi:10.xxxx/...")
        if ids.arxiv_id(ref):
            raise ValueError(f"{raw!r}: write an arXiv id as arxiv:{ref}")
        raise ValueError(
            f"{raw!r} is not a work reference (doi:..., arxiv:..., <source>:<id> or a paper id)"
        )
    scheme, body = m.group(1), m.group(2).strip()
    if scheme == "doi":
        if not ids.doi(body):
            raise ValueError(f"{raw!r}: expected a DOI like doi:10.1145/3600006.3613165")
    elif scheme == "arxiv":
        if not ids.arxiv_id(body):
            raise ValueError(f"{raw!r}: expected an arXiv id like arxiv:2309.06180")
    elif scheme == "t":
        if not _PAPER_HASH.match(body):
            raise ValueError(f"{raw!r}: expected a paper id like t:3f2a9c0d1e4b5a6c")
    elif scheme not in SOURCES:
        raise ValueError(
            f"{raw!r}: unknown source {scheme!r} (doi, arxiv, t, or one of {_known_slugs()})"
        )
    return f"{scheme}:{body}"


def check_author_ref(raw: str) -> str:
    """`<source slug>:<source_author_id>` or `orcid:<orcid>`."""
    ref = raw.strip()
    m = _REF.match(ref)
    if not m:
        raise ValueError(
            f"{raw!r} is not an author id (orcid:0000-..., openalex:A..., "
            "semantic_scholar:..., dblp:<pid>, ...)"
        )
    scheme, body = m.group(1), m.group(2).strip()
    if scheme == "orcid":
        body = body.removeprefix("https://orcid.org/")
        if not _ORCID.match(body):
            raise ValueError(f"{raw!r}: expected an ORCID like orcid:0000-0002-1825-0097")
    elif scheme == "openalex":
        body = body.removeprefix("https://openalex.org/").upper()
        if not re.match(r"^A\d{4,}$", body):
            raise ValueError(f"{raw!r}: expected an OpenAlex author id like openalex:A5023888391")
    elif scheme == "semantic_scholar":
        if not body.isdigit():
            raise ValueError(f"{raw!r}: expected a numeric Semantic Scholar author id")
    elif scheme not in SOURCES:
        raise ValueError(f"{raw!r}: unknown source {scheme!r} (orcid or one of {_known_slugs()})")
    return f"{scheme}:{body}"


NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
WorkRef = Annotated[str, AfterValidator(check_work_ref)]
AuthorRef = Annotated[str, AfterValidator(check_author_ref)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _distinct(refs: Sequence[str]) -> None:
    seen: set[str] = set()
    for r in refs:
        if r.lower() in seen:
            raise ValueError(f"{r!r} is listed twice")
        seen.add(r.lower())


class NotAuthor(_Strict):
    researcher: NonEmpty
    works: list[WorkRef] = Field(min_length=1)
    reason: NonEmpty

    @model_validator(mode="after")
    def _unique(self) -> NotAuthor:
        _distinct(self.works)
        return self


class Merge(_Strict):
    works: list[WorkRef] = Field(min_length=2)
    reason: NonEmpty

    @model_validator(mode="after")
    def _unique(self) -> Merge:
        _distinct(self.works)
        return self


class KeepApart(Merge):
    pass


class Alias(_Strict):
    researcher: NonEmpty
    names: list[NonEmpty] = []
    ids: list[AuthorRef] = []
    reason: NonEmpty

    @model_validator(mode="after")
    def _something(self) -> Alias:
        if not self.names and not self.ids:
            raise ValueError("an alias needs names or ids")
        return self


class OverridesFile(_Strict):
    not_author: list[NotAuthor] = []
    merge: list[Merge] = []
    keep_apart: list[KeepApart] = []
    alias: list[Alias] = []


@dataclass(frozen=True)
class Overrides:
    """Validated entries as OVERRIDE_SCHEMA rows, and the file they came from."""

    path: Path | None = None
    sha256: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def frame(self) -> pl.LazyFrame:
        return overrides_frame(self.rows)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(KINDS, 0)
        for r in self.rows:
            out[r["kind"]] += 1
        return out


def default_path(watchlist: Path) -> Path:
    """overrides.toml beside the watchlist file."""
    return watchlist.parent / settings.OVERRIDES_FILENAME


# ---------------------------------------------------------------- line numbers


def _entry_spans(text: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(kind, index) -> (first line, last line) of every [[kind]] table in the file."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    counters: dict[str, int] = {}
    current: tuple[str, int] | None = None
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        s = line.strip()
        m = re.match(r"^\[\[\s*([\w.\-]+)\s*\]\]", s) or re.match(r"^\[\s*([\w.\-]+)\s*\]", s)
        if m:
            if current:
                spans[current] = (spans[current][0], n - 1)
            if s.startswith("[["):
                counters[m.group(1)] = counters.get(m.group(1), -1) + 1
                current = (m.group(1), counters[m.group(1)])
            else:
                current = (m.group(1), -1)
            spans[current] = (n, n)
    if current:
        spans[current] = (spans[current][0], len(lines))
    return spans


def _locate(text: str, loc: tuple[int | str, ...], value: object = None) -> int | None:
    """Best-effort line of a validation error at `loc` (kind, index, key, item...)."""
    if not loc:
        return None
    lines = text.splitlines()
    kind = str(loc[0])
    index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1
    spans = _entry_spans(text)
    span = spans.get((kind, index)) or (spans.get((kind, 0)) if index == -1 else None)
    if span is None:
        # a top-level key (not a table): find `kind =`
        for n, line in enumerate(lines, 1):
            if re.match(rf"^\s*{re.escape(kind)}\s*=", line):
                return n
        return None
    first, last = span
    key = next((str(p) for p in loc[2:] if not isinstance(p, int)), None)
    if key is None:
        return first
    key_line = None
    for n in range(first, last + 1):
        if re.match(rf"^\s*{re.escape(key)}\s*=", lines[n - 1]):
            key_line = n
            break
    if key_line is None:
        return first
    if isinstance(value, str) and value:
        # an item of a (possibly multi-line) array: the line that holds the value
        for n in range(key_line, last + 1):
            if value in lines[n - 1]:
                return n
    return key_line


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


# ---------------------------------------------------------------- researchers


def _fold(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


def resolve_researcher(watchlist: Watchlist, wanted: str) -> list[str]:
    """researcher_ids a researcher_id or a name/alias (case- and diacritic-insensitive) names."""
    ids = {r.researcher_id for r in watchlist.researchers}
    if wanted in ids:
        return [wanted]
    key = _fold(wanted)
    found = [
        r.researcher_id
        for r in watchlist.researchers
        if key in {_fold(n) for n in r.all_names} or key == _fold(r.researcher_id)
    ]
    return found or [r for r in ids if r == slugify(wanted)]


# ---------------------------------------------------------------- loading


def parse_overrides(text: str, path: Path, watchlist: Watchlist) -> list[dict[str, Any]]:
    """Validated rows (OVERRIDE_SCHEMA) from the file's text; raises OverridesError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OverridesError(f"{path}: invalid TOML: {exc}") from None
    problems: list[str] = []

    def problem(loc: tuple[int | str, ...], msg: str, value: object = None) -> None:
        line = _locate(text, loc, value)
        where = f"{path}:{line}" if line else str(path)
        problems.append(f"{where}: {_field(loc) or '(top level)'}: {msg}")

    try:
        parsed = OverridesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problem(loc, problem_text(err, OverridesFile), err.get("input"))
        raise OverridesError("invalid overrides\n  " + "\n  ".join(problems)) from None

    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        for i, entry in enumerate(getattr(parsed, kind)):
            line = _locate(text, (kind, i)) or 0
            researcher_id = None
            if isinstance(entry, NotAuthor | Alias):
                found = resolve_researcher(watchlist, entry.researcher)
                if not found:
                    problem(
                        (kind, i, "researcher"),
                        f"{entry.researcher!r} is not a watchlist researcher (name, alias or id)",
                    )
                    continue
                if len(found) > 1:
                    problem(
                        (kind, i, "researcher"),
                        f"{entry.researcher!r} names several researchers "
                        f"({', '.join(sorted(found))}): use the researcher_id",
                    )
                    continue
                researcher_id = found[0]
            rows.append(
                {
                    "kind": kind,
                    "researcher_id": researcher_id,
                    "works": list(getattr(entry, "works", [])),
                    "names": list(getattr(entry, "names", [])),
                    "ids": list(getattr(entry, "ids", [])),
                    "reason": entry.reason,
                    "line": line,
                }
            )
    # a pair both merged and kept apart cannot be honoured
    merged = [(r["line"], {w.lower() for w in r["works"]}) for r in rows if r["kind"] == "merge"]
    for i, r in enumerate(x for x in rows if x["kind"] == "keep_apart"):
        apart = {w.lower() for w in r["works"]}
        for merge_line, works in merged:
            if len(apart & works) >= 2:
                problem(
                    ("keep_apart", i, "works"),
                    f"contradicts the [[merge]] at line {merge_line} (same works)",
                )
    if problems:
        raise OverridesError("invalid overrides\n  " + "\n  ".join(problems))
    return rows


def load_overrides(path: Path | None, watchlist: Watchlist, *, explicit: bool) -> Overrides:
    """The overrides at `path`. A missing default file means none; a missing file the user
    named (--overrides) raises OverridesMissing."""
    if path is None or not path.exists():
        if explicit:
            raise OverridesMissing(f"{path}: no such overrides file")
        return Overrides()
    try:
        blob = path.read_bytes()
        text = blob.decode("utf-8")
    except OSError as exc:
        raise OverridesError(f"{path}: cannot read overrides ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise OverridesError(f"{path}: not UTF-8 text") from None
    rows = parse_overrides(text, path, watchlist)
    return Overrides(path=path, sha256=hashlib.sha256(blob).hexdigest(), rows=rows)


def for_cli(cli_value: Path | None, watchlist_path: Path, watchlist: Watchlist) -> Overrides:
    """--overrides PATH if given (must exist), else overrides.toml beside the watchlist."""
    if cli_value is not None:
        return load_overrides(cli_value, watchlist, explicit=True)
    return load_overrides(default_path(watchlist_path), watchlist, explicit=False)

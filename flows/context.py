"""A run's context (what it was asked to do, with what) and its summaries."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from flows.overrides import Overrides
from flows.sources.base import (
    FetchPlan,
)
from flows.watchlist import Watchlist

Mode = Literal["live", "demo", "replay", "import", "build"]


@dataclass
class RunContext:
    command: str
    mode: Mode
    watchlist: Watchlist
    watchlist_sha256: str
    warehouse_path: Path
    run_id: str = field(default_factory=lambda: new_run_id())
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    wait_seconds: float = 0.0
    # overrides.toml, validated (no entries when the file is absent)
    overrides: Overrides = field(default_factory=Overrides)
    # Per source, what it already holds (live runs; see plan_fetches). Absent: fetch everything.
    plans: dict[str, FetchPlan] = field(default_factory=dict)
    # set once this run's `runs` row (succeeded, partial or failed) is committed
    recorded: bool = False
    # how the model was built: path (unchanged, incremental, full), the reason of a full build
    model_build: dict[str, Any] = field(default_factory=dict)


class AfterCommitError(RuntimeError):
    """The run was committed, but a later step (publishing the warehouse or the reports)
    failed or was interrupted: the message says what was committed and what was not."""

    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


@dataclass
class SourceSummary:
    source: str
    requests: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the source stopped early (budget, allowance, drift)
    skipped: int = 0  # requests not made: robots.txt disallows them
    not_works: int = 0  # records skipped as not works (Crossref journals, components...)
    resumed: int = 0  # responses reused from an interrupted earlier run


@dataclass
class RunSummary:
    run_id: str
    warehouse: Path
    sources: list[SourceSummary]
    reports: list[Path]
    tables: dict[str, int]
    snapshots: int
    overrides: dict[str, Any] = field(default_factory=dict)  # see override_stats

    @property
    def error_count(self) -> int:
        return sum(len(s.errors) for s in self.sources)

    @property
    def stopped_count(self) -> int:
        return sum(1 for s in self.sources if s.stopped)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def watchlist_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

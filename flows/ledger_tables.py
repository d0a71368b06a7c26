"""The ledger's tables: runs, usage per source and day, metric snapshots, fetch and resume
state, read before a run and written at its end.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flows.http import mask_secrets
from flows.warehouse import (
    Connection,
    has_table,
    insert_new,
    rows_before_run,
)


def append_metrics(con: Connection, rows: list[dict[str, Any]]) -> int:
    """Append this run's metric observations (idempotent per run: a key is written once)."""
    if not rows:
        return 0
    frame = pl.DataFrame(
        rows,
        schema={
            "run_id": pl.String,
            "observed_at": pl.Datetime("us", "UTC"),
            "source": pl.String,
            "entity": pl.String,
            "record_id": pl.String,
            "metric": pl.String,
            "value": pl.Float64,
        },
    )
    insert_new(con, "metric_snapshots", frame.to_arrow())
    return frame.height


def record_usage(con: Connection, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        con.execute(
            """insert or replace into usage_ledger by name select
                 ? as run_id, ? as source, ? as usage_date, ? as mode, ? as requests,
                 ? as cost_units, ? as daily_budget, ? as stopped_reason, ? as recorded_at""",
            [
                r["run_id"],
                r["source"],
                r["usage_date"],
                r["mode"],
                r["requests"],
                r["cost_units"],
                r["daily_budget"],
                r["stopped_reason"],
                r["recorded_at"],
            ],
        )


def save_source_state(
    con: Connection,
    source: str,
    run_id: str,
    reason: str | None,
    responses: Sequence[tuple[str, str]],
) -> None:
    """Remember what a stopped source fetched (reason set), or forget it once it completed."""
    con.execute("delete from source_state where source = ?", [source])
    if reason is not None:
        con.execute(
            "insert into source_state values (?, ?, ?, ?, ?)",
            [source, run_id, reason, json.dumps(sorted(set(responses))), datetime.now(UTC)],
        )


def resume_responses(path: Path) -> dict[str, dict[str, tuple[int, str, bytes, datetime]]]:
    """Per stopped source: url -> (status, content type, body, fetched_at) of the responses its
    interrupted run got, from the archive. Empty when nothing is pending."""
    rows = rows_before_run(
        path,
        "source_state",
        """select s.source, r.url, r.status, r.content_type, r.body_gzip, r.fetched_at
               from source_state s,
                    unnest(cast(s.responses as varchar[][])) as t(pair)
               join raw_responses r
                 on r.source = s.source and r.url = pair[1] and r.sha256 = pair[2]
               -- a stop older than that is stale: start the source afresh
               where s.updated_at > now() - interval '3 days'""",
    )
    out: dict[str, dict[str, tuple[int, str, bytes, datetime]]] = {}
    for source, url, status, ctype, body, fetched_at in rows:
        out.setdefault(source, {})[url] = (
            int(status),
            ctype or "",
            gzip.decompress(body),
            fetched_at,
        )
    return out


def used_today(path: Path, day: date) -> dict[str, float]:
    """Cost units each source has spent on `day` (UTC) in earlier runs; empty when the
    warehouse does not exist yet. Opens the file read-only for one query."""
    rows = rows_before_run(
        path,
        "usage_ledger",
        "select source, sum(cost_units) from usage_ledger "
        "where usage_date = ? and mode = 'live' group by 1",
        [day],
    )
    return {str(s): float(u) for s, u in rows}


def record_run(con: Connection, run: dict[str, Any]) -> None:
    con.execute(
        """insert into runs by name select
             ? as run_id, ? as command, ? as mode, ? as started_at, ? as finished_at, ? as status,
             ? as sources, ? as watchlist_sha256, ? as stats, ? as scholarflow_version,
             ? as overrides_sha256, ? as error""",
        [
            run["run_id"],
            run["command"],
            run["mode"],
            run["started_at"],
            run["finished_at"],
            run["status"],
            run["sources"],
            run.get("watchlist_sha256"),
            mask_secrets(json.dumps(run.get("stats", {}), sort_keys=True, default=str)),
            run.get("version"),
            run.get("overrides_sha256"),
            run.get("error"),
        ],
    )


def override_lines_flagged(con: Connection, kind: str) -> set[int]:
    """overrides.toml lines the last build flagged with `kind` (e.g. override_unmatched)."""
    if not has_table(con, "resolution_flags"):
        return set()
    have = {r[0] for r in con.execute("describe resolution_flags").fetchall()}
    if not {"kind", "line"} <= have:
        return set()
    rows = con.execute(
        "select distinct line from resolution_flags where kind = ? and line is not null", [kind]
    ).fetchall()
    return {int(r[0]) for r in rows}


def read_fetch_state(path: Path) -> dict[str, dict[str, tuple[date, date | None]]]:
    """source -> entry -> (watermark, last full fetch day); empty for a new warehouse."""
    rows = rows_before_run(
        path, "fetch_state", "select source, entry, watermark, full_fetch_on from fetch_state"
    )
    out: dict[str, dict[str, tuple[date, date | None]]] = {}
    for source, entry, mark, full in rows:
        out.setdefault(str(source), {})[str(entry)] = (mark, full)
    return out


def stale_citation_ids(path: Path, source: str, older_than: datetime, limit: int) -> list[str]:
    """Ids of a source's known works whose newest citation snapshot is older than `older_than`,
    oldest first (the citation refresh of an incremental run)."""
    if limit <= 0:
        return []
    rows = rows_before_run(
        path,
        "citation_snapshots",
        """select source_work_id from citation_snapshots where source = ?
           group by 1 having max(observed_at) < ? order by max(observed_at), 1 limit ?""",
        [source, older_than, limit],
    )
    return [str(r[0]) for r in rows]


def save_fetch_state(
    con: Connection, run_id: str, rows: Sequence[tuple[str, str, date, bool]]
) -> None:
    """(source, entry, day, full) for every entry fetched completely: its watermark moves to
    `day`; its full-fetch day too when the fetch was a full one."""
    if not rows:
        return
    now = datetime.now(UTC)
    con.executemany(
        """insert into fetch_state values (?, ?, ?, case when ? then ?::date end, ?, ?)
           on conflict (source, entry) do update set
             watermark = greatest(fetch_state.watermark, excluded.watermark),
             full_fetch_on = coalesce(excluded.full_fetch_on, fetch_state.full_fetch_on),
             _run_id = excluded._run_id, updated_at = excluded.updated_at""",
        [(s, e, d, full, d, run_id, now) for s, e, d, full in rows],
    )

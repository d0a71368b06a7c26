"""The DuckDB boundary: the only module that talks to the warehouse file.

Writes happen inside one transaction per command (archive responses, upsert raw tables, rebuild
the model, append snapshots, record the run), committed in two steps where a failure can still
undo the first (`Writer.commit_load`), in a private copy of the warehouse that only
scholarflow opens; `Writer` then publishes it over `warehouse/scholarflow.duckdb` in one rename
(`flows.publish`). Clients holding the published file (read-only or read-write) never block a
run and keep the snapshot they opened; new connections see the new one.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from flows import catalog, publish, reports
from flows.http import mask_secret_values, mask_secrets
from flows.publish import WarehouseBusy as WarehouseBusy
from flows.publish import exclusive as exclusive
from flows.sources import ENTITY_KEYS, raw_table
from flows.sources.base import Fetched, Quarantined, SourceError
from transforms.schemas import record_checker
from transforms.sources import raw_schema

log = logging.getLogger("scholarflow")

VIEW_SCHEMA = "metrics"

CORE_DDL = """
create table if not exists raw_responses (
    source varchar not null,
    method varchar not null,
    url varchar not null,            -- secrets removed
    status integer not null,
    content_type varchar,
    sha256 varchar not null,
    size_bytes bigint not null,
    body_gzip blob not null,
    fetched_at timestamptz not null,
    _run_id varchar not null,
    primary key (source, url, sha256)
);
create table if not exists quarantine (
    source varchar not null,
    entity varchar not null,
    record_key varchar not null,
    reason varchar not null,
    payload varchar,
    first_run_id varchar not null,
    quarantined_at timestamptz not null,
    primary key (source, entity, record_key, reason)
);
create table if not exists citation_snapshots (
    run_id varchar not null,
    observed_at timestamptz not null,
    paper_id varchar,
    source varchar not null,
    source_work_id varchar not null,
    cited_by_count bigint,
    primary key (run_id, source, source_work_id)
);
create table if not exists runs (
    run_id varchar primary key,
    command varchar not null,
    mode varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    status varchar not null,
    sources varchar[],
    watchlist_sha256 varchar,
    stats json,
    scholarflow_version varchar
);
-- sha256 of the overrides.toml a run applied (null: none); added after the first release
alter table runs add column if not exists overrides_sha256 varchar;
-- Requests and cost units per source and run, against the configured daily budget.
create table if not exists usage_ledger (
    run_id varchar not null,
    source varchar not null,
    usage_date date not null,          -- UTC day the units count against
    mode varchar not null,             -- live runs spend budget; demo/replay ones cost nothing
    requests bigint not null,
    cost_units double not null,
    daily_budget double,               -- configured units per day; null = no budget
    stopped_reason varchar,            -- allowance/budget spent, scraper drift; null = finished
    recorded_at timestamptz not null,
    primary key (run_id, source)
);
-- A source stopped early (budget or allowance spent): the responses it got, which the next
-- live run reuses from raw_responses instead of requesting them again.
create table if not exists source_state (
    source varchar primary key,
    stopped_run_id varchar not null,
    stopped_reason varchar not null,
    responses json not null,           -- [[url, sha256], ...]
    updated_at timestamptz not null
);
-- Per-run source metrics that change over time (upvotes, stars, scores, profile indices).
create table if not exists metric_snapshots (
    run_id varchar not null,
    observed_at timestamptz not null,
    source varchar not null,
    entity varchar not null,
    record_id varchar not null,
    metric varchar not null,
    value double,
    primary key (run_id, source, entity, record_id, metric)
);
-- Incremental fetching: per source and watchlist entry, the UTC day its last complete fetch
-- started (the next live run asks from there, minus an overlap) and of its last full fetch.
create table if not exists fetch_state (
    source varchar not null,
    entry varchar not null,            -- researcher:<researcher_id> | topic:<topic name>
    watermark date not null,
    full_fetch_on date,
    _run_id varchar not null,
    updated_at timestamptz not null,
    primary key (source, entry)
);
-- why a failed run failed (null for runs that finished); added with failed-run records
alter table runs add column if not exists error varchar;
create schema if not exists metrics;
"""


class WarehouseEmpty(RuntimeError):
    """The warehouse holds no data yet (build before any ingest)."""


@dataclass
class LoadStats:
    responses: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    return con


class Writer:
    """Write access: the run lock, then a connection to the private writer copy, which no user
    opens (so a client holding the published file never blocks a run). Leaving publishes what
    was committed, also after a failure (a failed run's trace); uncommitted work is rolled
    back by DuckDB and never published."""

    def __init__(self, path: Path, wait_seconds: float = 0.0, run_id: str | None = None):
        self.path = path
        self.layout = publish.Layout(path)
        self.wait_seconds = wait_seconds
        self.run_id = run_id
        self.published = False  # this writer replaced the published file
        self.kept: Path | None = None  # where a file changed by another program was kept
        self._stack = contextlib.ExitStack()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.fresh = False  # no warehouse existed: a failure leaves none behind...
        self.keep = False  # ...unless it recorded something that must stay (spent budget)
        self.restorable = False  # a failure can bring the private copy back (see commit_load)
        self.half = False  # the run committed its load, not yet its build

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("the warehouse writer is closed")
        return self._con

    def __enter__(self) -> Writer:
        self._stack.enter_context(exclusive(self.path, self.wait_seconds))
        try:
            if self.layout.half_run.exists():
                log.warning(
                    "an earlier run stopped between committing its load and its build; its "
                    "half is discarded and %s is taken as it was published",
                    self.path,
                )
                self._discard_half_run()
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _open(self) -> None:
        self.fresh = not self.exists(self.path)
        self._prepare()
        self.restorable = self.fresh or publish.restorable(self.layout)
        try:
            self._con = _connect(self.layout.private)
        except duckdb.IOException as exc:
            raise WarehouseBusy(
                f"cannot open {self.layout.private} for writing: another program has it "
                f"open ({exc}); it is scholarflow's private copy, open {self.path} instead"
            ) from None
        self._con.execute(CORE_DDL)

    def commit_load(self) -> bool:
        """Inside the run's transaction: commit what it did so far and go on in a new one, when
        a failure can still undo it (the published file holds all the private copy held before
        the run, or there was no warehouse). DuckDB then lets go of the landed rows, which it
        would otherwise hold uncommitted through the model build. Until `finish`, a marker says
        the private copy holds half a run: it is never published nor read, and a failure (or
        the next run, after a crash) brings it back to the published file. Whether it
        committed."""
        if not self.restorable:
            return False
        publish.mark_half_run(self.layout, self.run_id)
        self.half = True
        self.con.execute("commit")
        try:
            self.con.execute("checkpoint")  # into the file: the rows leave memory
        except duckdb.Error as exc:  # e.g. another connection's transaction: they stay a while
            log.debug("no checkpoint after the load: %s", exc)
        self.con.execute("begin transaction")
        return True

    def finish(self) -> None:
        """The run's last commit is done: the private copy holds a whole run again."""
        if self.half:
            publish.clear_half_run(self.layout)
            self.half = False

    def undo_half_run(self) -> None:
        """After a failure past `commit_load`: back to the published file (or to none)."""
        if not self.half:
            return
        if self._con is not None:
            self._con.close()
            self._con = None
        self._discard_half_run()
        self.half = False
        self._open()

    def _discard_half_run(self) -> None:
        """The private copy as the last publish left it: its bytes again from the published
        file, else (that file changed meanwhile, or there is none) a fresh start that takes the
        published file over as an earlier version's."""
        if not self.layout.published.exists() or not publish.restore_private(self.layout):
            publish.reset_private(self.layout)

    @staticmethod
    def exists(path: Path) -> bool:
        """A warehouse is there: published, or committed in the writer copy only."""
        lay = publish.Layout(path)
        return path.exists() or (lay.private.exists() and not lay.half_run.exists())

    def _prepare(self) -> None:
        """Bring the private copy in line with the published file before writing."""
        lay = self.layout
        state = publish.State.read(lay)
        if state is not None and not lay.published.exists():
            publish.reset_private(lay)  # the user removed the warehouse: start afresh
        lay.private_dir.mkdir(parents=True, exist_ok=True)
        if lay.published.exists() and not lay.private.exists():
            self._adopt()

    def _adopt(self) -> None:
        """First write since the private copy existed (an earlier version's warehouse): take
        the published file as it is. A read-only connection held meanwhile keeps writers out,
        so the copy cannot be torn."""
        lay = self.layout
        try:
            held = _connect(lay.published, read_only=True)
        except duckdb.IOException as exc:
            raise WarehouseBusy(
                f"cannot take over {lay.published} for the first time: another program has it "
                f"open for writing ({exc}); close it once and run again"
            ) from None
        try:
            tmp = lay.private.with_name(lay.private.name + ".adopt")
            publish.copy_durably(lay.published, tmp)
            if lay.wal(lay.published).exists():  # changes a crashed client never checkpointed
                publish.copy_durably(lay.wal(lay.published), lay.wal(tmp))
            os.replace(tmp, lay.private)
            if lay.wal(tmp).exists():
                os.replace(lay.wal(tmp), lay.wal(lay.private))
        finally:
            held.close()
        publish.State(published=publish.identity(lay.published)).write(lay)

    def _foreign_objects(self) -> str:
        """Why the published file counts as changed by another program, naming the tables and
        views in it that the private copy does not have."""
        lay = self.layout
        if lay.wal(lay.published).exists():
            opened = "holds unsaved changes (a .wal file)"
        else:
            opened = "was changed by another program since the last run"
        try:
            con = _connect(lay.published, read_only=True)
        except duckdb.Error:
            return f"{opened} and is open for writing there"
        try:
            theirs = set(_catalog(con))
        finally:
            con.close()
        mine = set(_catalog(self.con)) if self._con is not None else set()
        extra = sorted(theirs - mine)
        return f"{opened}; objects scholarflow did not create: {', '.join(extra) or 'none'}"

    def publish(self) -> bool:
        """Checkpoint and close the private copy, then publish it if it changed since the last
        publish. Idempotent; returns whether the published file was replaced."""
        lay = self.layout
        if lay.half_run.exists():
            raise RuntimeError(f"{lay.private} holds half a run: not published")
        if self._con is not None:
            reason = None
            state = publish.State.read(lay)
            if publish.changed_outside(lay, state):
                reason = self._foreign_objects()
            self._con.execute("checkpoint")  # no stray .wal: the copy is the whole database
            self._con.close()
            self._con = None
            if publish.private_changed(lay, state) or not lay.published.exists():
                self.kept = publish.publish_file(lay, self.run_id, reason)
                self.published = True
        return self.published

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.publish()
            elif self.half:  # not undone yet: back to the published file, recording nothing
                if self._con is not None:
                    self._con.close()
                    self._con = None
                self._discard_half_run()
                self.half = False
            elif self.fresh and not self.keep:  # a failed first run leaves no empty warehouse
                if self._con is not None:
                    self._con.close()
                    self._con = None
                publish.reset_private(self.layout)
            elif self._con is not None:
                try:
                    self.publish()
                except Exception as inner:  # never hide the error that got us here
                    log.error("could not publish %s: %s", self.path, inner)
        finally:
            if self._con is not None:
                self._con.close()
                self._con = None
            self._stack.close()


def _catalog(con: duckdb.DuckDBPyConnection) -> list[str]:
    """User-visible tables and views of the connection's own database."""
    rows = con.execute(
        """select schema_name || '.' || table_name from duckdb_tables()
           where database_name = current_database() and not internal and not temporary
           union all
           select schema_name || '.' || view_name from duckdb_views()
           where database_name = current_database() and not internal and not temporary"""
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


@contextlib.contextmanager
def writer(path: Path, wait_seconds: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for writing; what it commits is published when the block ends."""
    with Writer(path, wait_seconds) as w:
        yield w.con


@contextlib.contextmanager
def reader(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The published warehouse, read-only: the snapshot published when it was opened."""
    if not path.exists():
        raise WarehouseEmpty(f"no warehouse at {path}: run `scholarflow run` first")
    con = _connect(path, read_only=True)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _table_exists(con: duckdb.DuckDBPyConnection, name: str, schema: str = "main") -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def pack_body(body: bytes) -> bytes:
    """A response body as archived. zlib's default level: level 9 took 3x as long for 6 %
    less space."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def archived_bodies(path: Path, source: str) -> set[tuple[str, str]]:
    """(url, sha256) of `source`'s bodies the warehouse at `path` archives (empty when there is
    none or it cannot be read now: every body is then packed; the load checks again)."""
    if not Writer.exists(path):
        return set()
    try:
        con = _read_only(path)
    except (WarehouseBusy, duckdb.Error):
        return set()
    try:
        if not _table_exists(con, "raw_responses"):
            return set()
        rows = con.execute(
            "select url, sha256 from raw_responses where source = ?", [source]
        ).fetchall()
        return {(str(u), str(h)) for u, h in rows}
    finally:
        con.close()


def archive_responses(con: duckdb.DuckDBPyConnection, run_id: str, items: Sequence[Fetched]) -> int:
    """Content-addressed: a body already archived for that URL is not stored (nor compressed)
    again. An item whose body was let go brings it packed (`Fetched.packed`)."""
    if not items:
        return 0
    con.execute(
        "create or replace temp table _archive_keys (source varchar, url varchar, sha256 varchar)"
    )
    try:
        con.executemany(
            "insert into _archive_keys values (?, ?, ?)",
            [(f.response.source, f.response.url, f.response.sha256) for f in items],
        )
        have = set(
            con.execute(
                """select k.source, k.url, k.sha256 from _archive_keys k
                   semi join raw_responses r using (source, url, sha256)"""
            ).fetchall()
        )
    finally:
        con.execute("drop table if exists _archive_keys")
    rows = {}
    for f in items:
        r = f.response
        key = (r.source, r.url, r.sha256)
        if key in have or key in rows:
            continue
        size, packed = f.packed if f.packed is not None else (len(r.body), pack_body(r.body))
        if not packed:  # let go as archived, and no longer is: never store an empty body
            raise RuntimeError(f"[{r.source}] the body of {r.url} is no longer archived; rerun")
        rows[key] = (
            r.source,
            r.method,
            r.url,
            r.status,
            r.content_type,
            r.sha256,
            size,
            packed,
            r.fetched_at,
            run_id,
        )
    if rows:
        con.executemany(
            "insert into raw_responses values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing",
            list(rows.values()),
        )
    return len(rows)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


def quarantine(
    con: duckdb.DuckDBPyConnection, run_id: str, items: Sequence[Quarantined | SourceError]
) -> int:
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    for q in items:
        # masked here, whatever built the message: an error body may quote a key back
        if isinstance(q, SourceError):
            where, reason = mask_secrets(q.where), mask_secrets(q.reason)
            rows.append((q.source, "response", where, reason, None, run_id, now))
        else:
            reason, payload = mask_secrets(q.reason), mask_secret_values(q.payload)
            rows.append((q.source, q.entity, q.record_key, reason, payload, run_id, now))
    if rows:
        con.executemany(
            "insert into quarantine values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing", rows
        )
    return len(rows)


def upsert_raw(
    con: duckdb.DuckDBPyConnection, run_id: str, source: str, items: Sequence[Fetched]
) -> LoadStats:
    """Upsert parsed records into raw_<source>__<entity>. A record whose content is unchanged
    keeps its row (and the run that first loaded it), so replaying a run changes nothing.

    The records go to DuckDB as Arrow tables (records as they were landed, or made from the
    parsed dicts), the last copy of a key wins; the record hash and the upsert are in SQL."""
    stats = LoadStats(responses=len(items))
    parts: dict[str, list[pa.Table]] = {}
    for item in items:
        for entity, records in item.page.records.items():
            table, mistyped = records_table(source, entity, records)
            stats.quarantined += quarantine(con, run_id, mistyped)
            parts.setdefault(entity, []).append(_with_lineage(table, item, run_id))
        for entity, table in item.page.landed.items():
            parts.setdefault(entity, []).append(_with_lineage(table, item, run_id))
        stats.records += item.page.count()
    for entity, tables in sorted(parts.items()):
        table, key = raw_table(source, entity), ENTITY_KEYS[(source, entity)]
        stage = pa.concat_tables(tables)
        stage = stage.append_column("_seq", pa.array(range(stage.num_rows), pa.int64()))
        total, new, updated = _merge_stage(con, table, key, stage, list(stage.schema.names[:-4]))
        stats.new += new
        stats.updated += updated
        stats.unchanged += total - new - updated
    return stats


def _merge_stage(
    con: duckdb.DuckDBPyConnection, table: str, key: str, stage: pa.Table, fields: list[str]
) -> tuple[int, int, int]:
    """Upsert the staged rows (the last by `_seq` of each key) into `table` by `key`;
    (distinct keys, new, updated). `_record_hash` is the md5
    of the record's source fields as JSON: equal for equal records in every run. A stored row
    is compared by the same hash of its own fields, not by the hash stored with it, so rows an
    earlier version hashed another way are not taken for changed ones."""
    packed = ", ".join(f'"{c}" := "{c}"' for c in fields)
    stored = "md5(to_json(struct_pack(" + ", ".join(f'"{c}" := t."{c}"' for c in fields) + ")))"
    # The stage stays Arrow, outside DuckDB: a temp table made inside the run's transaction
    # keeps its memory until the commit (DuckDB frees a dropped table's storage only then),
    # which held a second copy of every landed record through the model build.
    con.register("_stage_arrow", stage)
    try:
        staged = con.execute(
            f"""select * exclude (_seq), md5(to_json(struct_pack({packed}))) as _record_hash
                from _stage_arrow
                qualify row_number() over (partition by {key} order by _seq desc) = 1"""
        ).to_arrow_table()
    finally:
        con.unregister("_stage_arrow")
    total = staged.num_rows
    con.register("_stage", staged)
    try:
        if not _table_exists(con, table):
            con.execute(f"create table {table} as select * from _stage where false")
        else:
            _add_new_columns(con, table)
        row = con.execute(
            f"""select count(*) filter (where t.{key} is null),
                       count(*) filter (where t.{key} is not null and {stored} <> s._record_hash)
                from _stage s left join {table} t on t.{key} = s.{key}"""
        ).fetchone()
        new, updated = (int(row[0]), int(row[1])) if row else (0, 0)
        if updated:
            con.execute(
                f"""delete from {table} t using _stage s
                    where t.{key} = s.{key} and {stored} <> s._record_hash"""
            )
        if new or updated:
            con.execute(
                f"""insert into {table} by name select * from _stage s
                    where not exists (select 1 from {table} t where t.{key} = s.{key})"""
            )
    finally:
        con.unregister("_stage")
    return total, new, updated


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A source that gained a column (a new field in its SCHEMAS) adds it to its existing raw
    table, null for the rows loaded before; nothing is dropped or retyped."""
    have = {r[0] for r in con.execute(f"describe {table}").fetchall()}
    for name, dtype, *_ in con.execute("describe _stage").fetchall():
        if name not in have:
            con.execute(f'alter table {table} add column "{name}" {dtype}')


def records_table(
    source: str, entity: str, records: Sequence[dict[str, Any]], checked: bool = False
) -> tuple[pa.Table, list[Quarantined]]:
    """Parsed records as an Arrow table of their raw table's fixed schema, without lineage
    (`_record_hash` is computed in SQL). A record whose values do not fit is quarantined with
    the reason (`flows.validate` already moved such records aside on the run's path; this keeps
    direct callers to the same rule). `checked`: the caller just ran `flows.validate` on them,
    so the same check is not run twice."""
    if checked:
        return pa.Table.from_pylist(list(records), schema=_arrow_schema(source, entity)), []
    key = ENTITY_KEYS[(source, entity)]
    schema = raw_schema(source, entity)
    problem_of = record_checker(schema, key)
    good: list[dict[str, Any]] = []
    bad = []
    for rec in records:
        problem = problem_of(rec)
        if problem is None:
            good.append(rec)
        else:
            reason = f"value does not fit raw_{source}__{entity}: {problem}"
            bad.append(Quarantined.of(source, entity, str(rec.get(key)), reason, rec))
    return pa.Table.from_pylist(good, schema=_arrow_schema(source, entity)), bad


_ARROW: dict[tuple[str, str], pa.Schema] = {}


def _arrow_schema(source: str, entity: str) -> pa.Schema:
    """The raw table's Arrow schema without its `_` (lineage) columns."""
    hit = _ARROW.get((source, entity))
    if hit is None:
        full = pl.DataFrame(schema=raw_schema(source, entity)).to_arrow().schema
        hit = _ARROW[(source, entity)] = pa.schema([f for f in full if f.name[:1] != "_"])
    return hit


def _with_lineage(table: pa.Table, item: Fetched, run_id: str) -> pa.Table:
    """`table` (rows of one response) with `_run_id`, `_fetched_at`, `_response_sha256`."""
    n = table.num_rows
    table = table.append_column("_run_id", pa.array([run_id] * n, pa.large_string()))
    table = table.append_column(
        "_fetched_at", pa.array([item.response.fetched_at] * n, pa.timestamp("us", "UTC"))
    )
    return table.append_column(
        "_response_sha256", pa.array([item.response.sha256] * n, pa.large_string())
    )


def _raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The raw_<source>__<entity> tables (raw_responses, the archive, has no `__`)."""
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'main' and table_name like 'raw\\_%\\_\\_%' escape '\\' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def read_raw(con: duckdb.DuckDBPyConnection) -> dict[str, pl.LazyFrame]:
    """Every raw table, with the columns its source declares today: a table loaded before a
    field was added (and not reloaded since) reads that field as null."""
    out: dict[str, pl.LazyFrame] = {}
    for name in _raw_tables(con):
        frame = con.execute(f"select * from {name}").pl().lazy()
        slug, entity = name.removeprefix("raw_").split("__", 1)
        try:
            schema = raw_schema(slug, entity)
        except KeyError:  # a table of a source this version no longer has
            out[name] = frame
            continue
        have = set(frame.collect_schema().names())
        missing = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in have]
        out[name] = frame.with_columns(missing) if missing else frame
    return out


_LINEAGE_COLS = ("_record_hash", "_run_id", "_fetched_at", "_response_sha256")


def _table_digest(con: duckdb.DuckDBPyConnection, name: str, key: str | None) -> str:
    """Order-independent digest of a table's rows: by key and lineage for a raw table (its
    `_record_hash` covers the record), else of every row as JSON."""
    cols = {r[0] for r in con.execute(f"describe {name}").fetchall()}
    if key and key in cols and cols.issuperset(_LINEAGE_COLS):
        row_text = (
            f"concat_ws('|', {key}, " + ", ".join(f"{c}::varchar" for c in _LINEAGE_COLS) + ")"
        )
    else:
        row_text = "to_json(t)::varchar"
    row = con.execute(
        f"""select count(*), md5(coalesce(string_agg(h, '' order by h), ''))
            from (select md5({row_text}) as h from {name} t)"""
    ).fetchone()
    return f"{name}:{row[0] if row else 0}:{row[1] if row else ''}"


def raw_digest(con: duckdb.DuckDBPyConnection) -> str:
    """What the model reads from the warehouse, as one text: every raw table's rows."""
    parts = []
    for name in _raw_tables(con):
        slug, entity = name.removeprefix("raw_").split("__", 1)
        parts.append(_table_digest(con, name, ENTITY_KEYS.get((slug, entity))))
    return "\n".join(parts)


def registry_digest(con: duckdb.DuckDBPyConnection) -> str:
    return _table_digest(con, "work_ids", None) if _table_exists(con, "work_ids") else "-"


def built_from(con: duckdb.DuckDBPyConnection, digest: str) -> list[str] | None:
    """The model tables, when the last build left them from inputs with this digest (and they
    are all still there); else None."""
    if not _table_exists(con, "model_state"):
        return None
    row = con.execute("select digest, tables from model_state").fetchone()
    if row is None or row[0] != digest:
        return None
    tables = list(row[1])
    return tables if all(_table_exists(con, t) for t in tables) else None


def save_model_state(
    con: duckdb.DuckDBPyConnection, digest: str, tables: Sequence[str], run_id: str
) -> None:
    con.execute(
        """create table if not exists model_state (
               digest varchar not null, tables varchar[] not null, run_id varchar not null,
               built_at timestamptz not null)"""
    )
    con.execute("delete from model_state")
    con.execute(
        "insert into model_state values (?, ?, ?, ?)",
        [digest, list(tables), run_id, datetime.now(UTC)],
    )


def engine_version() -> str:
    return duckdb.__version__


def table_heights(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> dict[str, int]:
    return {t: _count(con, t) for t in tables}


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.execute(f"select * from {name}").pl()


def read_registry(con: duckdb.DuckDBPyConnection) -> dict[str, pl.LazyFrame]:
    """What the model needs from the previous build: the work id registry, when there is one."""
    if not _table_exists(con, "work_ids"):
        return {}
    return {"work_ids": con.execute("select * from work_ids").pl().lazy()}


def has_data(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(_raw_tables(con))


@dataclass(frozen=True)
class TableWrite:
    """What `replace_tables` did to one table: rewrote it whole (`replaced`), or deleted the
    rows the new content lacks and inserted the rows it adds (both 0: left as it was)."""

    replaced: bool
    deleted: int = 0
    inserted: int = 0


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in con.execute(f"describe {relation}").fetchall()]


def replace_tables(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]
) -> dict[str, TableWrite]:
    """Make each table hold exactly the rows of its frame (as a multiset: tables have no row
    order, and every reader that needs one says ORDER BY). A table whose columns (names, order,
    types) are the frame's is changed in place, only where its rows differ, so a build that
    changed a few rows writes a few rows; comments and dependent views stay. Any other table is
    created anew from the frame."""
    done: dict[str, TableWrite] = {}
    for name, frame in tables.items():
        con.register("_model", frame.to_arrow())
        try:
            done[name] = _write_table(con, name)
        finally:
            con.unregister("_model")
            con.execute("drop table if exists temp._model_diff")
    return done


def _write_table(con: duckdb.DuckDBPyConnection, name: str) -> TableWrite:
    """Table `name` as the registered `_model`: see `replace_tables`."""
    columns = _columns(con, name) if _table_exists(con, name) else None
    if columns is None or columns != _columns(con, "_model"):
        con.execute(f"create or replace table {name} as select * from _model")
        return TableWrite(replaced=True)
    cols = ", ".join(reports.ident(c) for c, _t in columns)
    # one pass over both: per distinct row, its copies in the frame (new) and the table (old);
    # GROUP BY compares NULLs as equal. Rows whose counts differ are the whole difference.
    con.execute(
        f"""create temp table _model_diff as
            select {cols}, count(*) filter (where side) as new, count(*) filter (where not side) as old
            from (select {cols}, true as side from _model
                  union all select {cols}, false as side from {name})
            group by all having new <> old"""
    )
    row = con.execute(
        "select coalesce(sum(old), 0), coalesce(sum(new), 0), coalesce(max(greatest(old, new)), 0) "
        "from temp._model_diff"
    ).fetchone()
    gone, added, most = (int(v) for v in row) if row else (0, 0, 0)
    if most > 1:  # a row held twice: multiset arithmetic in place is not worth it, rewrite
        con.execute(f"create or replace table {name} as select * from _model")
        return TableWrite(replaced=True)
    if gone:
        same = " and ".join(
            f"t.{reports.ident(c)} is not distinct from d.{reports.ident(c)}" for c, _t in columns
        )
        con.execute(
            f"delete from {name} as t using temp._model_diff as d where d.old = 1 and {same}"
        )
    if added:
        con.execute(f"insert into {name} select {cols} from temp._model_diff where new = 1")
    return TableWrite(replaced=False, deleted=gone, inserted=added)


def append_snapshots(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> int:
    if frame.is_empty():
        return 0
    con.register("_snap", frame.to_arrow())
    try:
        con.execute(
            "insert into citation_snapshots by name select * from _snap on conflict do nothing"
        )
    finally:
        con.unregister("_snap")
    return frame.height


def append_metrics(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
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
    con.register("_metrics", frame.to_arrow())
    try:
        con.execute(
            "insert into metric_snapshots by name select * from _metrics on conflict do nothing"
        )
    finally:
        con.unregister("_metrics")
    return frame.height


def record_usage(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
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


def _read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open for one read before a run, under the run lock: the private copy when there is one
    (it holds every commit, published or not, and no other program opens it), else the
    published file. Fail closed: a run must not believe nothing was spent today."""
    lay = publish.Layout(path)
    target = lay.private if lay.private.exists() and not lay.half_run.exists() else path
    try:
        return duckdb.connect(str(target), read_only=True)
    except duckdb.IOException as exc:
        raise WarehouseBusy(
            f"cannot read {target}: another program has it open for writing ({exc})"
        ) from None


def save_source_state(
    con: duckdb.DuckDBPyConnection,
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
    if not path.exists():
        return {}
    con = _read_only(path)
    try:
        if not _table_exists(con, "source_state"):
            return {}
        rows = con.execute(
            """select s.source, r.url, r.status, r.content_type, r.body_gzip, r.fetched_at
               from source_state s,
                    unnest(cast(s.responses as varchar[][])) as t(pair)
               join raw_responses r
                 on r.source = s.source and r.url = pair[1] and r.sha256 = pair[2]
               -- a stop older than that is stale: start the source afresh
               where s.updated_at > now() - interval '3 days'"""
        ).fetchall()
    finally:
        con.close()
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
    if not path.exists():
        return {}
    con = _read_only(path)
    try:
        if not _table_exists(con, "usage_ledger"):
            return {}
        rows = con.execute(
            "select source, sum(cost_units) from usage_ledger "
            "where usage_date = ? and mode = 'live' group by 1",
            [day],
        ).fetchall()
    finally:
        con.close()
    return {str(s): float(u) for s, u in rows}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> int:
    """COMMENT ON every table, view and column from flows/catalog.toml and the views' grain
    lines; returns how many objects are left without a description (0 is the goal)."""
    missing = 0
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' and not internal"
    ).fetchall()
    for (table,) in tables:
        text = catalog.table_comment(table)
        if text:
            con.execute(f"comment on table main.{table} is {_quote(text)}")
        else:
            missing += 1
    views = con.execute(
        "select view_name from duckdb_views() where schema_name = ? and not internal", [VIEW_SCHEMA]
    ).fetchall()
    for (view,) in views:
        sql_file = sql_dir / f"{view}.sql"
        text = (
            catalog.view_comment(sql_file.read_text(encoding="utf-8"))
            if sql_file.exists()
            else None
        )
        if text:
            con.execute(f"comment on view {VIEW_SCHEMA}.{view} is {_quote(text)}")
        else:
            missing += 1
    columns = con.execute(
        """select schema_name, table_name, column_name,
                  case when table_name in (select view_name from duckdb_views() where schema_name = c.schema_name)
                       then 'view' else 'table' end
           from duckdb_columns() c
           where not internal and schema_name in ('main', ?)""",
        [VIEW_SCHEMA],
    ).fetchall()
    for schema, relation, column, kind in columns:
        text = catalog.column_comment(kind, relation, column)
        if text:
            con.execute(f'comment on column {schema}.{relation}."{column}" is {_quote(text)}')
        else:
            missing += 1
    return missing


def create_views(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> list[str]:
    """(Re)create one view per sql/*.sql file, in dependency order (a view that fails because
    another is not there yet is retried after the others)."""
    pending = {p.stem: p.read_text(encoding="utf-8") for p in sorted(sql_dir.glob("*.sql"))}
    for name in list(pending):
        con.execute(f"drop view if exists {VIEW_SCHEMA}.{name}")
    created: list[str] = []
    while pending:
        progress, errors = False, {}
        for name, body in list(pending.items()):
            try:
                con.execute(f"create view {VIEW_SCHEMA}.{name} as\n{body.strip().rstrip(';')}")
            except duckdb.CatalogException as exc:
                errors[name] = exc
                continue
            created.append(name)
            del pending[name]
            progress = True
        if not progress:
            detail = "; ".join(f"sql/{n}.sql: {e}" for n, e in errors.items())
            raise RuntimeError(f"cannot create views: {detail}")
    return created


def record_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> None:
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


# Views read more than once per report set: by other views (paper_best_citations alone by 12)
# or by the HTML report, the digest and the exports besides their own CSV. DuckDB inlines a
# view into every query that names it, so each reader would compute it again. Dependencies
# first. Not topic_trends: its report reads a few topics, which DuckDB filters early.
SHARED_VIEWS = (
    "citation_source_precedence",
    "paper_best_citations",
    "citations_per_author",
    "author_citations_by_year",
    "h_index_by_year",
    "watched_topic_activity",
    "source_discrepancies",
    "coauthorships",
    "new_collaborators",
    "citations_per_author_as_of",
    "emerging_topics",
)


@contextlib.contextmanager
def shared_views_once(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """For writing one report set: each of SHARED_VIEWS computed once into a temporary table
    and the view pointed at it, inside a transaction that is rolled back when the block ends
    (also on success), so the warehouse keeps its views. Reports read the same rows either way:
    the block sees one snapshot and the views are deterministic."""
    con.execute("begin transaction")
    try:
        for view in SHARED_VIEWS:
            if not _table_exists(con, view, VIEW_SCHEMA):
                continue
            cache = reports.ident(f"_shared_{view}")
            name = f"{VIEW_SCHEMA}.{reports.ident(view)}"
            con.execute(f"create temp table {cache} as select * from {name}")
            con.execute(f"create or replace view {name} as select * from temp.main.{cache}")
        yield
    finally:
        con.execute("rollback")
        for view in SHARED_VIEWS:
            con.execute(f"drop table if exists temp.main.{reports.ident(f'_shared_{view}')}")


def write_report_files(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    options: reports.ReportOptions = reports.DEFAULT_OPTIONS,
) -> list[Path]:
    """Every metrics view as `<view>.csv` in out_dir, written by DuckDB's COPY (see
    flows/reports.py for the format and the safety rules). Each file is written under a
    temporary name and renamed, so a reader sees the old file or the new one, never half."""
    out_dir.mkdir(parents=True, exist_ok=True)
    views = [
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where schema_name = ? order by view_name",
            [VIEW_SCHEMA],
        ).fetchall()
    ]
    written = []
    for view in views:
        columns = [
            (str(r[0]), str(r[1]))
            for r in con.execute(f"describe {VIEW_SCHEMA}.{reports.ident(view)}").fetchall()
        ]
        topics: list[tuple[str, str]] | None = None
        if view == "topic_trends" and "topic_totals" in views:
            rows = con.execute(reports.topics_query(options)).fetchall()
            topics = sorted({(str(k), str(t)) for k, t in rows} | set(options.pinned_topics))
        select = reports.report_query(view, columns, options, topics)
        path = out_dir / f"{view}.csv"
        tmp = out_dir / f".{view}.csv.{os.getpid()}.tmp"
        try:
            con.execute(f"copy ({select}) to {reports.literal(str(tmp))} ({reports.COPY_OPTIONS})")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(path)
    return written


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def has_table(con: duckdb.DuckDBPyConnection, name: str, schema: str = "main") -> bool:
    """A table or view `schema.name` exists (read-only tools degrade without it)."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def query_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name."""
    cur = con.execute(sql, list(params))
    columns = [d[0] for d in cur.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def override_lines_flagged(con: duckdb.DuckDBPyConnection, kind: str) -> set[int]:
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
    if not path.exists():
        return {}
    con = _read_only(path)
    try:
        if not _table_exists(con, "fetch_state"):
            return {}
        rows = con.execute(
            "select source, entry, watermark, full_fetch_on from fetch_state"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, tuple[date, date | None]]] = {}
    for source, entry, mark, full in rows:
        out.setdefault(str(source), {})[str(entry)] = (mark, full)
    return out


def stale_citation_ids(path: Path, source: str, older_than: datetime, limit: int) -> list[str]:
    """Ids of a source's known works whose newest citation snapshot is older than `older_than`,
    oldest first (the citation refresh of an incremental run)."""
    if not path.exists() or limit <= 0:
        return []
    con = _read_only(path)
    try:
        if not _table_exists(con, "citation_snapshots"):
            return []
        rows = con.execute(
            """select source_work_id from citation_snapshots where source = ?
               group by 1 having max(observed_at) < ? order by max(observed_at), 1 limit ?""",
            [source, older_than, limit],
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def save_fetch_state(
    con: duckdb.DuckDBPyConnection, run_id: str, rows: Sequence[tuple[str, str, date, bool]]
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


def model_digest(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest the last model build saved (see `save_model_state`), if any."""
    if not _table_exists(con, "model_state"):
        return None
    row = con.execute("select digest from model_state").fetchone()
    return None if row is None else str(row[0])


INCREMENTAL_TABLES = ("work_ids", "work_xref", "work_nodes", "resolution_flags", "name_parts")


def read_previous_model(con: duckdb.DuckDBPyConnection) -> dict[str, pl.LazyFrame]:
    """The previous build's tables an incremental build starts from (those that exist)."""
    return {
        name: con.execute(f"select * from {name}").pl().lazy()
        for name in INCREMENTAL_TABLES
        if _table_exists(con, name)
    }

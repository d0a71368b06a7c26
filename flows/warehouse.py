"""The DuckDB boundary: the only module that imports DuckDB. It opens the warehouse (`Writer`,
`reader`, `transaction`) and runs queries; the tables' SQL lives with the step that writes them
(`flows.land`, `flows.model_tables`, `flows.ledger_tables`, `flows.views`), which reach DuckDB
only through the connections opened here, so another engine (DuckLake with a PostgreSQL
catalog) starts in this module.

Writes happen inside one transaction per command (archive responses, upsert raw tables, rebuild
the model, append snapshots, record the run), committed in two steps where a failure can still
undo the first (`Writer.commit_load`), in a private copy of the warehouse that only
scholarflow opens; `Writer` then publishes it over `warehouse/scholarflow.duckdb` in one rename
(`flows.publish`). Clients holding the published file (read-only or read-write) never block a
run and keep the snapshot they opened; new connections see the new one.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from flows import publish
from flows.publish import WarehouseBusy as WarehouseBusy
from flows.publish import exclusive as exclusive

log = logging.getLogger("scholarflow")

# What the other warehouse modules type connections and errors as (they do not import duckdb).
Connection = duckdb.DuckDBPyConnection
DatabaseError = duckdb.Error
CatalogError = duckdb.CatalogException

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


def _connect(path: Path, read_only: bool = False) -> Connection:
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
        self._con: Connection | None = None
        self.fresh = False  # no warehouse existed: a failure leaves none behind...
        self.keep = False  # ...unless it recorded something that must stay (spent budget)
        self.restorable = False  # a failure can bring the private copy back (see commit_load)
        self.half = False  # the run committed its load, not yet its build

    @property
    def con(self) -> Connection:
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


def _catalog(con: Connection) -> list[str]:
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
def writer(path: Path, wait_seconds: float = 0.0) -> Iterator[Connection]:
    """A connection for writing; what it commits is published when the block ends."""
    with Writer(path, wait_seconds) as w:
        yield w.con


@contextlib.contextmanager
def reader(path: Path) -> Iterator[Connection]:
    """The published warehouse, read-only: the snapshot published when it was opened."""
    if not path.exists():
        raise WarehouseEmpty(f"no warehouse at {path}: run `scholarflow run` first")
    con = _connect(path, read_only=True)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: Connection) -> Iterator[None]:
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def count_rows(con: Connection, table: str) -> int:
    row = con.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


def engine_version() -> str:
    return duckdb.__version__


def read_only_before_run(path: Path) -> Connection:
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


def rows_before_run(
    path: Path, table: str, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """One read before a run (`read_only_before_run`): the rows of `sql`, none when the
    warehouse or `table` does not exist yet."""
    if not path.exists():
        return []
    con = read_only_before_run(path)
    try:
        if not has_table(con, table):
            return []
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def insert_new(con: Connection, table: str, rows: Any) -> None:
    """`rows` (an Arrow table) appended to `table` by column name; a row whose key the table
    holds already stays as it was."""
    con.register("_insert_new", rows)
    try:
        con.execute(f"insert into {table} by name select * from _insert_new on conflict do nothing")
    finally:
        con.unregister("_insert_new")


def query(con: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def has_table(con: Connection, name: str, schema: str = "main") -> bool:
    """A table or view `schema.name` exists (read-only tools degrade without it)."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def query_dicts(con: Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name."""
    cur = con.execute(sql, list(params))
    columns = [d[0] for d in cur.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

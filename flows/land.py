"""Land: responses archived, records upserted into their raw tables (Arrow, keyed, hashed),
bad records quarantined; the raw tables read back for the model build.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from flows.http import mask_secret_values, mask_secrets
from flows.publish import WarehouseBusy
from flows.sources import ENTITY_KEYS, raw_table
from flows.sources.base import Fetched, Quarantined, SourceError
from flows.warehouse import (
    Connection,
    DatabaseError,
    Writer,
    has_table,
    read_only_before_run,
)
from transforms.schemas import record_checker
from transforms.sources import raw_schema


@dataclass
class LoadStats:
    responses: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


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
        con = read_only_before_run(path)
    except (WarehouseBusy, DatabaseError):
        return set()
    try:
        if not has_table(con, "raw_responses"):
            return set()
        rows = con.execute(
            "select url, sha256 from raw_responses where source = ?", [source]
        ).fetchall()
        return {(str(u), str(h)) for u, h in rows}
    finally:
        con.close()


def archive_responses(con: Connection, run_id: str, items: Sequence[Fetched]) -> int:
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


def quarantine(con: Connection, run_id: str, items: Sequence[Quarantined | SourceError]) -> int:
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


def upsert_raw(con: Connection, run_id: str, source: str, items: Sequence[Fetched]) -> LoadStats:
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
    con: Connection, table: str, key: str, stage: pa.Table, fields: list[str]
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
        if not has_table(con, table):
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


def _add_new_columns(con: Connection, table: str) -> None:
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


def raw_tables(con: Connection) -> list[str]:
    """The raw_<source>__<entity> tables (raw_responses, the archive, has no `__`)."""
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'main' and table_name like 'raw\\_%\\_\\_%' escape '\\' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def read_raw(con: Connection) -> dict[str, pl.LazyFrame]:
    """Every raw table, with the columns its source declares today: a table loaded before a
    field was added (and not reloaded since) reads that field as null."""
    out: dict[str, pl.LazyFrame] = {}
    for name in raw_tables(con):
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

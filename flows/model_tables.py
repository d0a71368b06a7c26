"""The model's tables in the warehouse: replaced after a build, read back for the next
(incremental) one, and the digests that say what a build was made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from flows import reports
from flows.land import raw_tables
from flows.sources import ENTITY_KEYS
from flows.warehouse import (
    Connection,
    count_rows,
    has_table,
    insert_new,
)

_LINEAGE_COLS = ("_record_hash", "_run_id", "_fetched_at", "_response_sha256")


def _table_digest(con: Connection, name: str, key: str | None) -> str:
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


def raw_digest(con: Connection) -> str:
    """What the model reads from the warehouse, as one text: every raw table's rows."""
    parts = []
    for name in raw_tables(con):
        slug, entity = name.removeprefix("raw_").split("__", 1)
        parts.append(_table_digest(con, name, ENTITY_KEYS.get((slug, entity))))
    return "\n".join(parts)


def registry_digest(con: Connection) -> str:
    return _table_digest(con, "work_ids", None) if has_table(con, "work_ids") else "-"


def built_from(con: Connection, digest: str) -> list[str] | None:
    """The model tables, when the last build left them from inputs with this digest (and they
    are all still there); else None."""
    if not has_table(con, "model_state"):
        return None
    row = con.execute("select digest, tables from model_state").fetchone()
    if row is None or row[0] != digest:
        return None
    tables = list(row[1])
    return tables if all(has_table(con, t) for t in tables) else None


def save_model_state(con: Connection, digest: str, tables: Sequence[str], run_id: str) -> None:
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


def table_heights(con: Connection, tables: Sequence[str]) -> dict[str, int]:
    return {t: count_rows(con, t) for t in tables}


def read_table(con: Connection, name: str) -> pl.DataFrame:
    return con.execute(f"select * from {name}").pl()


def read_registry(con: Connection) -> dict[str, pl.LazyFrame]:
    """What the model needs from the previous build: the work id registry, when there is one."""
    if not has_table(con, "work_ids"):
        return {}
    return {"work_ids": con.execute("select * from work_ids").pl().lazy()}


def has_data(con: Connection) -> bool:
    return bool(raw_tables(con))


@dataclass(frozen=True)
class TableWrite:
    """What `replace_tables` did to one table: rewrote it whole (`replaced`), or deleted the
    rows the new content lacks and inserted the rows it adds (both 0: left as it was)."""

    replaced: bool
    deleted: int = 0
    inserted: int = 0


def _columns(con: Connection, relation: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in con.execute(f"describe {relation}").fetchall()]


def replace_tables(con: Connection, tables: dict[str, pl.DataFrame]) -> dict[str, TableWrite]:
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


def _write_table(con: Connection, name: str) -> TableWrite:
    """Table `name` as the registered `_model`: see `replace_tables`."""
    columns = _columns(con, name) if has_table(con, name) else None
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


def append_snapshots(con: Connection, frame: pl.DataFrame) -> int:
    if frame.is_empty():
        return 0
    insert_new(con, "citation_snapshots", frame.to_arrow())
    return frame.height


def model_digest(con: Connection) -> str | None:
    """The digest the last model build saved (see `save_model_state`), if any."""
    if not has_table(con, "model_state"):
        return None
    row = con.execute("select digest from model_state").fetchone()
    return None if row is None else str(row[0])


INCREMENTAL_TABLES = ("work_ids", "work_xref", "work_nodes", "resolution_flags", "name_parts")


def read_previous_model(con: Connection) -> dict[str, pl.LazyFrame]:
    """The previous build's tables an incremental build starts from (those that exist)."""
    return {
        name: con.execute(f"select * from {name}").pl().lazy()
        for name in INCREMENTAL_TABLES
        if has_table(con, name)
    }

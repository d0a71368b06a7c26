"""A build writes only the model rows that changed: `model_tables.replace_tables` leaves a table
with the frame's rows, as a full rewrite would, but in place (same table, comments and views
kept), touching only the rows that differ."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows import model_tables, warehouse
from flows.model_tables import TableWrite

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _frame(rows: list[tuple[str, int | None, list[str] | None, datetime | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "paper_id": pl.String,
            "year": pl.Int32,
            "sources": pl.List(pl.String),
            "_fetched_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


BEFORE = _frame(
    [
        ("p1", 2020, ["openalex"], T0),
        ("p2", None, None, None),  # NULLs in every column but the key
        ("p3", 2021, ["openalex", "arxiv"], T0),
        ("p4", 2022, [], T0),
    ]
)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("set TimeZone = 'UTC'")
    return con


def _oid(con: duckdb.DuckDBPyConnection, name: str) -> int:
    row = con.execute(
        "select table_oid from duckdb_tables() where table_name = ?", [name]
    ).fetchone()
    assert row is not None
    return int(row[0])


def _rows(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return con.execute(f"select * from {name}").pl().sort("paper_id")


def _written(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> TableWrite:
    with warehouse.transaction(con):
        done = model_tables.replace_tables(con, {"papers": frame})
    assert_frame_equal(_rows(con, "papers"), frame.sort("paper_id"))
    return done["papers"]


def test_changed_removed_and_added_rows_land_in_place(con: duckdb.DuckDBPyConnection) -> None:
    assert _written(con, BEFORE) == TableWrite(replaced=True)
    con.execute("comment on table papers is 'canonical papers'")
    con.execute("create schema metrics")
    con.execute("create view metrics.recent as select paper_id from main.papers where year > 2020")
    oid = _oid(con, "papers")
    after = _frame(
        [
            ("p1", 2020, ["openalex"], T0),
            ("p2", None, None, None),
            ("p3", 2021, ["openalex", "arxiv", "s2"], T0),  # changed
            # p4 removed
            ("p5", 2024, ["arxiv"], T0),  # added
        ]
    )
    # p3's old row and p4 go, p3's new row and p5 come; p1 and p2 (NULLs) are left alone
    assert _written(con, after) == TableWrite(replaced=False, deleted=2, inserted=2)
    assert _oid(con, "papers") == oid
    comment = con.execute("select comment from duckdb_tables() where table_name = 'papers'")
    assert comment.fetchone() == ("canonical papers",)
    assert con.execute("select paper_id from metrics.recent order by 1").fetchall() == [
        ("p3",),
        ("p5",),
    ]


def test_an_unchanged_table_is_not_written(con: duckdb.DuckDBPyConnection) -> None:
    _written(con, BEFORE)
    oid = _oid(con, "papers")
    reordered = BEFORE.reverse()  # a frame in another row order holds the same rows
    assert _written(con, reordered) == TableWrite(replaced=False, deleted=0, inserted=0)
    assert _oid(con, "papers") == oid


def test_a_new_column_or_type_rewrites_the_table(con: duckdb.DuckDBPyConnection) -> None:
    _written(con, BEFORE)
    wider = BEFORE.with_columns(pl.lit("x").alias("venue"))
    assert _written(con, wider) == TableWrite(replaced=True)
    retyped = BEFORE.with_columns(pl.col("year").cast(pl.Int64))
    assert _written(con, retyped) == TableWrite(replaced=True)
    kind = con.execute("select data_type from duckdb_columns() where column_name = 'year'")
    assert kind.fetchone() == ("BIGINT",)
    assert _written(con, BEFORE) == TableWrite(replaced=True)  # and back


def test_duplicate_rows_keep_their_number(con: duckdb.DuckDBPyConnection) -> None:
    twice = pl.concat([BEFORE, BEFORE.head(1)])
    _written(con, BEFORE)
    assert _written(con, twice).replaced  # multiset arithmetic in place is not attempted
    assert _written(con, BEFORE).replaced
    assert con.execute("select count(*) from papers").fetchone() == (4,)

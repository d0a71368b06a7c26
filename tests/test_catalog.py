"""A documented warehouse: every table, view and column carries a COMMENT (grain, units, source)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows import catalog
from flows.settings import SQL_DIR


@pytest.fixture(scope="module")
def con(demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(demo_warehouse), read_only=True)
    yield c
    c.close()


def test_every_table_and_view_says_its_grain(con: duckdb.DuckDBPyConnection) -> None:
    tables = con.execute(
        "select table_name, comment from duckdb_tables() where not internal"
    ).fetchall()
    views = con.execute(
        "select view_name, comment from duckdb_views() where schema_name = 'metrics'"
    ).fetchall()
    assert len(tables) > 20 and len(views) > 15
    undocumented = [name for name, comment in tables + views if not comment]
    assert undocumented == []
    assert all(str(c).startswith("grain: one ") for _, c in tables + views)


def test_every_column_is_described(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        "where not internal"
    ).fetchall()
    missing = [f"{s}.{t}.{c}" for s, t, c, comment in rows if not comment]
    assert missing == []
    # outside the raw tables, every column has words of its own, not the raw fallback
    generic = [
        f"{s}.{t}.{c}"
        for s, t, c, comment in rows
        if not t.startswith("raw_") and "as the source gives it" in str(comment)
    ]
    assert generic == []


def test_comments_come_from_the_catalog_and_the_sql_grain_lines(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (comment,) = con.execute(
        "select comment from duckdb_views() where view_name = 'citation_velocity'"
    ).fetchone()  # type: ignore[misc]
    first = (SQL_DIR / "citation_velocity.sql").read_text(encoding="utf-8").splitlines()[0]
    assert first == f"-- {comment}"
    (col,) = con.execute(
        "select comment from duckdb_columns() where table_name = 'citation_velocity' "
        "and column_name = 'citations_gained'"
    ).fetchone()  # type: ignore[misc]
    assert col == catalog.column_comment("view", "citation_velocity", "citations_gained")
    assert "never negative" in col


def test_every_sql_view_starts_with_a_grain_line() -> None:
    for path in sorted(SQL_DIR.glob("*.sql")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("-- grain: one row per "), path.name

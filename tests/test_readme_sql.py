"""The README's SQL examples run on the demo warehouse and return rows (users copy them first)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def statements() -> list[str]:
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    for block in re.findall(r"```sql\n(.*?)```", text, flags=re.S):
        # the README's SQL blocks are ';'-separated statements with '--' comment lines
        lines = [line for line in block.splitlines() if not line.strip().startswith("--")]
        found += [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
    for quoted in re.findall(r'\.sql\(\s*\\"(.*?)\\"\)', text, flags=re.S):
        found.append(quoted.strip())
    return found


@pytest.fixture(scope="module")
def con(demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(demo_warehouse), read_only=True)
    yield c
    c.close()


def test_readme_has_sql_examples() -> None:
    assert len(statements()) >= 6


def _own_file_block(sql: str) -> bool:
    return sql.lower().startswith(("attach ", "create table "))


@pytest.mark.parametrize(
    "sql",
    [s for s in statements() if not _own_file_block(s)],
    ids=lambda s: " ".join(s.split())[:60],
)
def test_readme_sql_returns_rows(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert con.execute(sql).fetchall(), sql


def test_readme_own_database_example_works(demo_warehouse: Path, tmp_path: Path) -> None:
    """The README's "your own file that attaches the warehouse" example, as a user runs it
    (from the folder that holds warehouse/), leaves a table of theirs with rows."""
    own = [s for s in statements() if _own_file_block(s)]
    assert own and own[0].lower().startswith("attach ")
    mine = duckdb.connect(str(tmp_path / "mine.duckdb"))
    for sql in own:
        mine.execute(sql.replace("'warehouse/scholarflow.duckdb'", f"'{demo_warehouse}'"))
    created = [s.split()[2] for s in own if s.lower().startswith("create table ")]
    assert created
    for table in created:
        assert mine.execute(f"select count(*) from {table}").fetchone()[0] > 0  # type: ignore[index]
    mine.close()

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


@pytest.mark.parametrize("sql", statements(), ids=lambda s: " ".join(s.split())[:60])
def test_readme_sql_returns_rows(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert con.execute(sql).fetchall(), sql

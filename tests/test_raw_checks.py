"""The quick per-field checks accept exactly what the explaining checks accept: a record the
gate lets through never has a value that `value_problem` refuses, and every refusal is the
same message as before."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest

from flows import land, warehouse
from flows.http import FetchedResponse
from flows.sources import openalex
from flows.sources.base import Fetched
from transforms.schemas import record_checker, value_problem
from transforms.sources import raw_schema


class Flag(enum.IntEnum):
    ONE = 1


def explained(record: dict[str, object], schema: pl.Schema, key: str) -> str | None:
    """The gate as it was: every field through `value_problem`."""
    if record.get(key) in (None, ""):
        return f"{key}: the record has no {key}"
    for name, dtype in schema.items():
        if problem := value_problem(record.get(name), dtype):
            return f"{name}: {problem}"
    return None


GOOD = {
    "work_id": "W1",
    "title": "A title",
    "publication_year": 2024,
    "publication_date": date(2024, 5, 1),
    "cited_by_count": 3,
    "counts_by_year": [{"year": 2024, "cited_by_count": 3}],
    "authorships": [
        {"position": 0, "author_id": "A1", "display_name": "Ada", "institutions": ["MIT"]}
    ],
    "topics": [{"topic_id": "T1", "display_name": "Graphs", "score": 0.9}],
    "is_retracted": False,
    "fwci": 1,
    "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
}

CHANGES: list[dict[str, object]] = [
    {},
    {"work_id": ""},
    {"cited_by_count": True},
    {"cited_by_count": 12.5},
    {"cited_by_count": "12"},
    {"cited_by_count": 2**63},
    {"cited_by_count": Flag.ONE},  # an int subclass: fine, only slower
    {"publication_year": 2**31},
    {"publication_date": datetime(2024, 5, 1)},
    {"publication_date": "2024-05-01"},
    {"updated_at": datetime(2026, 1, 1)},
    {"updated_at": date(2026, 1, 1)},
    {"fwci": True},
    {"fwci": "1.5"},
    {"is_retracted": 0},
    {"title": 7},
    {"counts_by_year": ({"year": 2024, "cited_by_count": 3},)},  # a tuple is a list too
    {"counts_by_year": [{"year": "2024", "cited_by_count": 3}]},
    {"counts_by_year": [None]},
    {"counts_by_year": "2024"},
    {"authorships": [{"position": 0, "institutions": "MIT"}]},
    {"authorships": [{"position": 0, "institutions": ["MIT", 3]}]},
    {"authorships": [["A1"]]},
    {"topics": [{"topic_id": "T1", "score": "high"}]},
]


@pytest.mark.parametrize("change", CHANGES, ids=[repr(c)[:50] for c in CHANGES])
def test_quick_checks_agree_with_the_explaining_ones(change: dict[str, object]) -> None:
    schema = raw_schema("openalex", "works")
    record = {**GOOD, **change}
    assert record_checker(schema, "work_id")(record) == explained(record, schema, "work_id")


def test_bad_values_are_refused() -> None:
    schema = raw_schema("openalex", "works")
    check = record_checker(schema, "work_id")
    assert check(GOOD) is None
    assert check({**GOOD, "cited_by_count": 12.5}) == (
        "cited_by_count: expected an integer, got float 12.5"
    )
    assert "item 0: year" in (check({**GOOD, "counts_by_year": [{"year": "x"}]}) or "")


def _items(works: list[dict[str, object]]) -> list[Fetched]:
    body = json.dumps({"meta": {"count": len(works)}, "results": works}).encode()
    response = FetchedResponse(
        "openalex", "FILE", "file:///p.json", 200, "application/json", body, datetime.now(UTC)
    )
    return [Fetched(response, openalex.parse_response(body, "p.json"))]


def _hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select work_id, _record_hash from raw_openalex__works").fetchall())


def test_record_hash_is_stable_and_follows_each_change() -> None:
    """Hash and upsert are computed in SQL: the same records hash the same in any warehouse
    and run; one changed field changes that record's hash only."""
    works = [
        {"id": f"https://openalex.org/W{i}", "display_name": f"Paper {i}", "cited_by_count": i}
        for i in range(1, 4)
    ]
    hashes = []
    for run in ("r1", "r2"):
        con = duckdb.connect()
        con.execute(warehouse.CORE_DDL)
        stats = land.upsert_raw(con, run, "openalex", _items(works))
        assert (stats.new, stats.updated) == (3, 0)
        hashes.append(_hashes(con))
    assert hashes[0] == hashes[1] and len(set(hashes[0].values())) == 3

    works[1] = {**works[1], "cited_by_count": 99}
    again = land.upsert_raw(con, "r3", "openalex", _items(works))
    assert (again.new, again.updated, again.unchanged) == (0, 1, 2)
    after = _hashes(con)
    assert {k for k in after if after[k] != hashes[1][k]} == {"W2"}
    assert con.execute(
        "select _run_id, cited_by_count from raw_openalex__works where work_id = 'W2'"
    ).fetchone() == ("r3", 99)


def test_rows_hashed_by_an_earlier_version_are_not_taken_for_changed() -> None:
    """Warehouses loaded before the hash moved into SQL hold other hashes: a rerun compares the
    stored rows' fields, so unchanged records keep their row and their first run."""
    works = [
        {"id": f"https://openalex.org/W{i}", "display_name": f"Paper {i}", "cited_by_count": i}
        for i in range(1, 4)
    ]
    con = duckdb.connect()
    con.execute(warehouse.CORE_DDL)
    land.upsert_raw(con, "r1", "openalex", _items(works))
    con.execute("update raw_openalex__works set _record_hash = 'hashed-the-old-way'")
    works[2] = {**works[2], "cited_by_count": 7}
    again = land.upsert_raw(con, "r2", "openalex", _items(works))
    assert (again.new, again.updated, again.unchanged) == (0, 1, 2)
    runs = dict(con.execute("select work_id, _run_id from raw_openalex__works").fetchall())
    assert runs == {"W1": "r1", "W2": "r1", "W3": "r2"}

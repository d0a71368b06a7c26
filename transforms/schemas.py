"""Fixed polars schemas of the raw landing tables, so table shapes never depend on one page.

Each source declares its columns in its spec (`transforms/sources/<slug>.py`); every raw table
also carries LINEAGE. This module imports no other part of the project.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

UTC_TS = pl.Datetime("us", "UTC")
S = pl.String

LINEAGE: dict[str, pl.DataType] = {
    "_run_id": S(),
    "_fetched_at": UTC_TS,
    "_response_sha256": S(),
    "_record_hash": S(),
}


# resolution_flags: what entity resolution refused to decide alone (works and authors alike)
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "entity": S(),
    "kind": S(),
    "entity_id": S(),
    "source": S(),
    "source_id": S(),
    "detail": S(),
    "line": pl.Int32(),
}


def flag_rows(
    lf: pl.LazyFrame, entity: str, keep: tuple[str, ...] = (), **cols: pl.Expr
) -> pl.LazyFrame:
    """Rows in FLAG_SCHEMA for one entity kind, then the `keep` columns; missing ones are null."""
    exprs = {c: pl.lit(None, t) for c, t in FLAG_SCHEMA.items()}
    exprs["entity"] = pl.lit(entity)
    exprs.update(cols)
    return lf.select(
        *[exprs[c].cast(t).alias(c) for c, t in FLAG_SCHEMA.items()], *[pl.col(c) for c in keep]
    )


_INT_BITS = {
    pl.Int8: (True, 8),
    pl.Int16: (True, 16),
    pl.Int32: (True, 32),
    pl.Int64: (True, 64),
    pl.UInt8: (False, 8),
    pl.UInt16: (False, 16),
    pl.UInt32: (False, 32),
    pl.UInt64: (False, 64),
}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def value_problem(value: object, dtype: PolarsDataType) -> str | None:
    """Why `value` is not a value of `dtype`, or None when it is. Stricter than polars, which
    turns 12.5, "12" and True into the integer 12, 12 and 1 when building a frame from rows:
    a count that is not an integer is bad data, never silently coerced."""
    if value is None:
        return None
    base = dtype.base_type()
    if base in _INT_BITS:
        signed, bits = _INT_BITS[base]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer, got {type(value).__name__} {_shown(value)}"
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return None if low <= value <= high else f"integer {value} out of range for {dtype}"
    if base in (pl.Float32, pl.Float64):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number, got {type(value).__name__} {_shown(value)}"
        return None
    if base == pl.String:
        ok = isinstance(value, str)
        return None if ok else f"expected text, got {type(value).__name__} {_shown(value)}"
    if base == pl.Boolean:
        ok = isinstance(value, bool)
        return None if ok else f"expected true/false, got {type(value).__name__} {_shown(value)}"
    if base == pl.Datetime:
        ok = isinstance(value, datetime)
        return None if ok else f"expected a timestamp, got {type(value).__name__} {_shown(value)}"
    if base == pl.Date:
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else f"expected a date, got {type(value).__name__} {_shown(value)}"
    if isinstance(dtype, pl.List):
        if not isinstance(value, list | tuple):
            return f"expected a list, got {type(value).__name__} {_shown(value)}"
        for i, item in enumerate(value):
            if problem := value_problem(item, dtype.inner):
                return f"item {i}: {problem}"
        return None
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, dict):
            return f"expected an object, got {type(value).__name__} {_shown(value)}"
        for f in dtype.fields:
            if problem := value_problem(value.get(f.name), f.dtype):
                return f"{f.name}: {problem}"
        return None
    try:  # any other type: let polars judge
        pl.Series([value], dtype=dtype, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError) as exc:
        return str(exc).splitlines()[0]
    return None


Fits = Callable[[object], bool]


_EXACT: dict[object, tuple[type, ...]] = {
    pl.Float32: (float, int),
    pl.Float64: (float, int),
    pl.String: (str,),
    pl.Boolean: (bool,),
    pl.Date: (date,),
    pl.Datetime: (datetime,),
}


def _fits(dtype: PolarsDataType) -> Fits:
    """A quick yes for values that surely fit `dtype` (exact types, no messages). A no only
    sends the value to `value_problem`, which decides and explains; so this never accepts
    what `value_problem` refuses."""
    base = dtype.base_type()
    if base in _INT_BITS:
        signed, bits = _INT_BITS[base]
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return lambda v: v is None or (type(v) is int and low <= v <= high)
    exact = _EXACT.get(base)
    if exact is not None:
        return lambda v: v is None or type(v) in exact
    if isinstance(dtype, pl.List):
        inner = _fits(dtype.inner)
        return lambda v: v is None or (type(v) is list and all(map(inner, v)))
    if isinstance(dtype, pl.Struct):
        return _fits_struct([(f.name, _fits(f.dtype)) for f in dtype.fields])
    return lambda v: v is None


def _fits_struct(fields: list[tuple[str, Fits]]) -> Fits:
    def fits(v: object) -> bool:
        if v is None:
            return True
        if type(v) is not dict:
            return False
        for name, ok in fields:  # noqa: SIM110 (all() over a generator is slower here)
            if not ok(v.get(name)):
                return False
        return True

    return fits


_CHECKERS: dict[tuple[tuple[str, PolarsDataType], ...], list[tuple[str, PolarsDataType, Fits]]] = {}


def _checker(schema: pl.Schema) -> list[tuple[str, PolarsDataType, Fits]]:
    key = tuple(schema.items())
    hit = _CHECKERS.get(key)
    if hit is None:
        hit = _CHECKERS[key] = [(name, dtype, _fits(dtype)) for name, dtype in key]
    return hit


def record_checker(schema: pl.Schema, key: str) -> Callable[[dict[str, object]], str | None]:
    """For many records of one schema (the per-field checks built once): the first field of a
    record that does not fit (`"field: why"`), or None."""
    fields = _checker(schema)

    def problem_of(record: dict[str, object]) -> str | None:
        if record.get(key) in (None, ""):
            return f"{key}: the record has no {key}"
        for name, dtype, fits in fields:
            value = record.get(name)
            if not fits(value) and (problem := value_problem(value, dtype)):
                return f"{name}: {problem}"
        return None

    return problem_of

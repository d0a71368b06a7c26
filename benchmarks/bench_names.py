"""Benchmark: the name work of one model build, on many distinct names.

    python benchmarks/bench_names.py [--names 100000] [--rows-per-name 2] [--repeat 2]

A build parses author names twice: `model.parse_author_names` (display name, co-author key)
and the resolver's matching keys (`authors._name_keys`). Both run Python per distinct spelling
and share one cached analysis per raw string (`transforms.names`). Figures:

1. both steps on N distinct names (rows-per-name authorship rows each), caches cleared first;
2. baseline in the same run: the same two steps over every authorship row, no dedupe, no cache.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

from transforms import authors, model
from transforms import normalize as norm

try:
    from transforms import names as shared_names
except ImportError:  # the code before transforms.names (for before/after figures)
    shared_names = None  # type: ignore[assignment]

GIVEN = [
    "Wing", "Mahdi", "Md Rafiqul", "Danyang", "Pengfei", "José", "Jürgen", "María José", "Pál",
    "Nguyen Van", "Ji-hoon", "Abd al-Rahman", "Olga", "Sheikh", "Prince", "Judge", "Ana", "Li",
]  # fmt: skip
FAMILY = [
    "Lam", "Cheraghchi", "Islam Rabin", "Zhuo", "Zuo", "García Márquez", "Müller", "van der Waals",
    "von Neumann", "Kim", "Erdős", "Ivanova", "Hasina", "Kumar", "Chen", "O'Neil", "Nguyen",
]  # fmt: skip
SCRIPTS = ["卓丹阳", "김정은", "Пётр Ёлкин", "عبد الرحمن", "山田太郎"]


def synthetic_names(n: int, seed: int = 11) -> list[str]:
    """n distinct names in the shapes sources write them (a counter keeps them distinct)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        given, family = (
            rng.choice(GIVEN),
            rng.choice(FAMILY)
            + f"{i:x}".translate(str.maketrans("0123456789abcdef", "qwrtypsdfghjklzx")),
        )
        shape = rng.random()
        if shape < 0.5:
            out.append(f"{given} {family}")
        elif shape < 0.7:
            out.append(f"{family}, {given}")
        elif shape < 0.85:
            out.append(f"{given[0]}. {family}")
        elif shape < 0.95:
            out.append(f"{family} {given}")
        else:
            out.append(f"{rng.choice(SCRIPTS)}{i}")
    return out


def _clear_caches() -> None:
    for owner in (norm, shared_names):
        for attr in ("parse_name", "match_keys", "analyse", "clean", "_clean_title"):
            fn = getattr(owner, attr, None)
            if fn is not None and hasattr(fn, "cache_clear"):
                fn.cache_clear()


@contextlib.contextmanager
def _no_cache() -> Iterator[None]:
    """Every call parses again (the per-row baseline)."""
    shared = shared_names
    cached = getattr(shared, "analyse", None)
    if shared is not None and cached is not None:
        shared.analyse = cached.__wrapped__
    try:
        yield
    finally:
        if shared is not None and cached is not None:
            shared.analyse = cached


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        _clear_caches()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=100_000)
    ap.add_argument("--rows-per-name", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    names = synthetic_names(args.names)
    raw = [n for n in names for _ in range(args.rows_per_name)]
    rows = pl.LazyFrame(
        {
            "source": "openalex",
            "source_work_id": [f"W{i}" for i in range(len(raw))],
            "position": pl.Series([0] * len(raw), dtype=pl.Int32),
            "source_author_id": pl.Series([None] * len(raw), dtype=pl.String),
            "raw_name": raw,
            "orcid": pl.Series([None] * len(raw), dtype=pl.String),
        }
    )

    def distinct() -> None:  # what a build does
        parsed = model.parse_author_names(rows).collect()
        authors._name_keys(parsed.lazy(), "raw_name").collect()

    def per_row() -> None:  # baseline: both steps parse every row, no dedupe, no cache
        frame = rows.collect()
        with _no_cache():
            for fn in (norm.parse_name, norm.match_keys):
                inner = getattr(fn, "__wrapped__", fn)
                frame.select(pl.col("raw_name").map_elements(lambda s, f=inner: str(f(s))))

    t_distinct = best_of(distinct, args.repeat)
    t_rows = best_of(per_row, args.repeat)
    n_rows = len(raw)
    print(f"{args.names:,} distinct names, {n_rows:,} authorship rows")
    print(f"names of one build (distinct + cache): {t_distinct:7.2f} s")
    print(
        f"every row through both parsers:        {t_rows:7.2f} s  "
        f"ratio = {t_distinct / t_rows:.2f}x"
    )


if __name__ == "__main__":
    main()

"""Benchmarks: figures and ratios against baselines measured in the same run.

    python benchmarks/bench_pipeline.py [--records N] [--quick]

1. Identifier stage of paper resolution: polars min-label propagation (transforms.works) vs a
   plain Python union-find over the same identifier edges (baseline); both must give the same
   partition. (Whole resolution, title matching included, is in bench_resolution.py.)
2. Whole model build (all derived tables) at the same scale, records/second.
3. Author names: parsed once per distinct spelling (stage_authorships) vs once per authorship
   row (baseline); name parsing runs in Python, so this is the model build's largest cost. And
   a next build that has the previous build's `name_parts` (1 % new spellings).
4. CSV reports: the report writer (DuckDB COPY with SQL neutralisation) vs a plain COPY and
   polars' write_csv (baselines, unsafe).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows import views
from transforms import model, normalize
from transforms import names as names_module
from transforms import works as resolution
from transforms.sources import raw_schema

AT = datetime(2026, 11, 1, tzinfo=UTC)
WORDS = [
    "serving",
    "cache",
    "inference",
    "memory",
    "graph",
    "vector",
    "kernel",
    "scheduling",
    "sparse",
    "attention",
    "tensor",
    "batch",
]


def synthetic_raw(n_papers: int, seed: int = 7) -> dict[str, pl.LazyFrame]:
    """n_papers papers, each seen by 1-3 sources with overlapping ids, as raw landing tables."""
    rng = random.Random(seed)
    lineage = {"_run_id": "bench", "_fetched_at": AT, "_response_sha256": "x", "_record_hash": "h"}
    arxiv, oa, s2 = [], [], []
    for i in range(n_papers):
        title = " ".join(rng.choice(WORDS) for _ in range(6)) + f" {i}"
        year = rng.randint(2015, 2026)
        aid = f"{year % 100:02d}{rng.randint(1, 12):02d}.{i:05d}"
        doi = f"10.9999/bench.{i}" if rng.random() < 0.5 else None
        authors = [
            f"Author{rng.randint(0, n_papers // 3)} Surname{rng.randint(0, 50)}"
            for _ in range(rng.randint(1, 6))
        ]
        if rng.random() < 0.7:
            arxiv.append(
                {
                    "arxiv_id": aid,
                    "title": title,
                    "authors": [{"name": a} for a in authors],
                    "categories": ["cs.DC"],
                    "published_at": datetime(year, 6, 1, tzinfo=UTC),
                    **lineage,
                }
            )
        if rng.random() < 0.8:
            oa.append(
                {
                    "work_id": f"W{i}",
                    "title": title.upper() if i % 5 == 0 else title,
                    "publication_year": year,
                    "doi": f"https://doi.org/{doi}"
                    if doi
                    else f"https://doi.org/10.48550/arxiv.{aid}",
                    "cited_by_count": rng.randint(0, 500),
                    "authorships": [
                        {"author_id": f"A{hash(a) % 10**8}", "display_name": a} for a in authors
                    ],
                    **lineage,
                }
            )
        if rng.random() < 0.6:
            s2.append(
                {
                    "paper_id": f"S{i}",
                    "title": title,
                    "year": year,
                    "doi": doi,
                    "arxiv_id": aid if rng.random() < 0.5 else None,
                    "citation_count": rng.randint(0, 600),
                    "authors": [{"author_id": str(j), "name": a} for j, a in enumerate(authors)],
                    **lineage,
                }
            )
    frames = {
        ("arxiv", "entries"): arxiv,
        ("openalex", "works"): oa,
        ("semantic_scholar", "papers"): s2,
    }
    return {
        f"raw_{s}__{e}": pl.DataFrame(rows, schema=raw_schema(s, e), strict=False).lazy()
        for (s, e), rows in frames.items()
    }


def union_find_baseline(edges: pl.DataFrame) -> dict[str, str]:
    """Plain Python union-find over the same (node, key) identifier edges."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for node, key in edges.iter_rows():
        a, b = find(node), find("key|" + key)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {n: find(n) for n in parent if not n.startswith("key|")}


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000, help="papers to synthesise")
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = ap.parse_args()
    n = 2_000 if args.quick else args.records
    repeat = 1 if args.quick else 3
    raw = synthetic_raw(n)
    works = model.stage_works(raw).collect()
    print(f"synthetic input: {n} papers -> {works.height} source records")

    nodes = resolution._nodes(works.lazy())
    edges = pl.concat(
        [
            resolution._id_keys(nodes).select("node", "key"),
            nodes.select("node", key="self:" + pl.col("node")),
        ]
    )
    t_polars, labels = best_of(lambda: resolution._components(edges), repeat)
    t_python, uf = best_of(lambda: union_find_baseline(edges), repeat)
    groups_polars = labels.group_by("label").agg(pl.col("node").sort())
    part_polars = sorted(tuple(g) for g in groups_polars["node"].to_list())
    by_root: dict[str, list[str]] = {}
    for node, root in uf.items():
        by_root.setdefault(root, []).append(node)
    part_python = sorted(tuple(sorted(v)) for v in by_root.values())
    assert part_polars == part_python, "resolution differs from the union-find baseline"
    print(
        f"id components (polars label propagation):  {t_polars * 1000:8.1f} ms "
        f"({works.height / t_polars:,.0f} records/s); {labels['label'].n_unique()} groups"
    )
    print(
        f"baseline union-find (pure Python):         {t_python * 1000:8.1f} ms  "
        f"ratio polars/baseline = {t_polars / t_python:.2f}x (same partition)"
    )

    researchers = model.researchers_frame([])
    topics = model.topics_frame(
        [{"topic_id": "t", "topic_name": "T", "keywords": ["cache"], "openalex_topic_ids": []}]
    )

    def build() -> dict[str, pl.DataFrame]:
        lazy = model.build_model(raw, researchers, topics)
        return dict(zip(lazy, pl.collect_all(list(lazy.values())), strict=True))

    t_build, tables = best_of(build, repeat)
    stage_only, _ = best_of(lambda: model.stage_works(raw).collect(), repeat)
    print(
        f"build_model (all tables):                  {t_build * 1000:8.1f} ms "
        f"({works.height / t_build:,.0f} records/s); staging alone {stage_only * 1000:.1f} ms "
        f"= {stage_only / t_build:.0%} of it"
    )

    names = model.stage_authorships(raw).select("raw_name").collect()

    def per_row() -> pl.DataFrame:  # what stage_authorships did first: map every row
        names_module.analyse.cache_clear()
        return names.select(normalize.name_parts(pl.col("raw_name")))

    def per_name() -> pl.DataFrame:  # what it does now: map distinct spellings, join back
        names_module.analyse.cache_clear()
        parsed = names.unique().with_columns(n=normalize.name_parts(pl.col("raw_name")))
        return names.join(parsed, on="raw_name", how="left", maintain_order="left")

    def next_build() -> pl.DataFrame:  # the previous build's name_parts, 1 % new spellings
        names_module.analyse.cache_clear()
        return model.parse_author_names(grown.lazy(), known.lazy()).collect()

    t_rows, _ = best_of(per_row, repeat)
    t_unique, _ = best_of(per_name, repeat)
    known = model.name_parts(names.lazy()).collect()
    fresh = names.select("raw_name").unique().head(max(1, known.height // 100))
    grown = pl.concat([names, fresh.with_columns(pl.col("raw_name") + " Jr")])
    t_next, _ = best_of(next_build, repeat)
    print(
        f"author names, once per distinct spelling:  {t_unique * 1000:8.1f} ms for {names.height} "
        f"authorships ({names['raw_name'].n_unique()} distinct names)"
    )
    print(
        f"author names, once per row (baseline):     {t_rows * 1000:8.1f} ms  "
        f"ratio = {t_unique / t_rows:.2f}x"
    )
    print(
        f"author names, next build (name_parts kept): {t_next * 1000:8.1f} ms  "
        f"ratio to parsing every spelling = {t_next / t_unique:.2f}x"
    )

    papers = tables["papers"]
    con = duckdb.connect()
    con.execute("create schema metrics")
    con.register("_papers", papers.to_arrow())
    con.execute("create table papers as select * from _papers")
    con.execute("create view metrics.papers as select * from main.papers")
    with tempfile.TemporaryDirectory() as tmp:
        t_safe, _ = best_of(lambda: views.write_report_files(con, Path(tmp) / "a"), repeat)
        plain = f"copy (select * from papers) to '{Path(tmp) / 'b.csv'}' (format csv, header)"
        t_copy, _ = best_of(lambda: con.execute(plain), repeat)
        flat = papers.with_columns(pl.col("sources").list.join("; "))
        t_polars_csv, _ = best_of(lambda: flat.write_csv(Path(tmp) / "c.csv"), repeat)
    con.close()
    print(
        f"CSV, report writer (COPY, neutralised):    {t_safe * 1000:8.1f} ms for {papers.height} rows"
    )
    print(
        f"CSV, plain COPY baseline (unsafe):         {t_copy * 1000:8.1f} ms  "
        f"ratio = {t_safe / max(t_copy, 1e-9):.1f}x"
    )
    print(
        f"CSV, polars write_csv baseline (unsafe):   {t_polars_csv * 1000:8.1f} ms  "
        f"ratio = {t_safe / max(t_polars_csv, 1e-9):.1f}x"
    )


if __name__ == "__main__":
    main()

"""Benchmark: the reader-facing outputs (digest.md, index.html + charts, exports) of a run whose
inputs did not change, against drawing everything (the always-render path, baseline, same run).

    python benchmarks/bench_outputs.py [--papers N] [--watched W] [--demo PATH] [--warehouse PATH]

Per warehouse (the demo, a synthetic one with N papers, and `--warehouse`, e.g. one that
`benchmarks/build.py --works 10000 --keep DIR` left in DIR/warehouse/):
- full: `write_outputs` into an empty directory, no previous report set: every chart and export
  drawn (what every run did before charts were reused);
- unchanged: the same with the full set as the previous one (a rerun where nothing changed);
- one new work: on a copy of the warehouse, one work added for one watched researcher with one
  co-author (that researcher's chart and lists and the network are drawn again).
Also the import time of the drawing libraries, which a run with nothing to draw does not pay.

The synthetic warehouse: table schemas copied (empty) from a demo warehouse (built first when
--demo is not given), then W watched researchers, N papers with four co-authors each from a pool
of people, two runs of citation snapshots, yearly citation counts and five topics.
Prints one line per warehouse, then ONE JSON line. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import outputs, renders, views
from flows.settings import SQL_DIR


def synthetic(path: Path, demo: Path, papers: int, watched: int) -> None:
    pool = max(papers // 2, 50)
    con = duckdb.connect(str(path))
    con.execute(f"attach '{demo}' as demo (read_only)")
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'demo' "
        "and table_schema = 'main' and table_type = 'BASE TABLE'"
    ).fetchall():
        con.execute(f"create table main.{table} as select * from demo.main.{table} limit 0")
    con.execute("detach demo")
    con.execute("create schema metrics")
    con.execute(
        """insert into runs (run_id, command, mode, started_at, finished_at, status, stats)
           values ('r1', 'run', 'live', '2026-01-01 09:00:00+00', '2026-01-01 09:30:00+00', 'succeeded', '{}'),
                  ('r2', 'run', 'live', '2026-01-08 09:00:00+00', '2026-01-08 09:30:00+00', 'succeeded', '{}')"""
    )
    con.execute(
        f"""insert into authors (author_id, display_name, is_watched)
            select 'w' || i, 'Watched Person ' || i, true from range({watched}) t(i)
            union all select 'c' || i, 'Co Author ' || i, false from range({pool}) t(i)"""
    )
    con.execute(
        f"""insert into papers (paper_id, title, year, publication_date, venue, is_preprint_only,
                doi, arxiv_id, first_run_id, is_retracted)
            select 'p' || i, 'A study of things number ' || i, 2010 + i % 17,
                make_date(2010 + i % 17, 1 + i % 12, 1), case when i % 3 = 0 then 'arXiv' else 'Conf' end,
                i % 3 = 0, '10.1000/' || i, null, case when i % 10 = 0 then 'r2' else 'r1' end, false
            from range({papers}) t(i)"""
    )
    con.execute(
        f"""insert into authorships (paper_id, author_id, position, author_name, is_watched, source)
            select 'p' || i, 'w' || (i % {watched}), 0, 'Watched Person ' || (i % {watched}), true, 'openalex'
            from range({papers}) t(i)
            union all
            select 'p' || i, 'c' || ((i * 7 + k * 131) % {pool}), k, 'Co Author ' || ((i * 7 + k * 131) % {pool}), false, 'openalex'
            from range({papers}) t(i), range(1, 5) s(k)"""
    )
    con.execute(
        """insert into work_xref (paper_id, source, source_work_id)
           select paper_id, 'openalex', 'W' || paper_id from papers"""
    )
    con.execute(
        """insert into citation_snapshots
           select r.run_id, r.started_at + interval 10 minute, p.paper_id, 'openalex', 'W' || p.paper_id,
                  (hash(p.paper_id) % 200) + case when r.run_id = 'r2' then hash(p.paper_id) % 7 else 0 end
           from papers p, runs r
           where r.run_id = 'r2' or p.first_run_id = 'r1'"""
    )
    con.execute(
        """insert into paper_citations (paper_id, source, cited_by_count, source_work_id)
           select paper_id, 'openalex', (hash(paper_id) % 200) + hash(paper_id) % 7, 'W' || paper_id from papers"""
    )
    con.execute(
        """insert into paper_citations_by_year (paper_id, source, year, cited_by_count)
           select paper_id, 'openalex', y, hash(paper_id || y) % 20 from papers, range(2020, 2026) t(y)"""
    )
    con.execute(
        """insert into paper_topics (paper_id, topic_id, topic_name, topic_kind)
           select paper_id, 'topic' || (hash(paper_id) % 5), 'Topic ' || (hash(paper_id) % 5), 'watchlist'
           from papers"""
    )
    views.create_views(con, SQL_DIR)
    con.close()


def add_one_work(path: Path) -> None:
    """One new work by the first watched researcher and a co-author of theirs."""
    con = duckdb.connect(str(path))
    watched, other = con.execute(
        """select a.author_id, any_value(b.author_id order by b.author_id)
           from main.authorships a join main.authorships b
             on b.paper_id = a.paper_id and b.author_id <> a.author_id
           where a.is_watched group by a.author_id order by a.author_id limit 1"""
    ).fetchone() or ("", "")
    con.execute(
        """insert into papers (paper_id, title, year, publication_date, venue, is_preprint_only,
               doi, arxiv_id, first_run_id, is_retracted)
           select 'bench-new', 'A new work', 2025, date '2025-06-01', 'Conf', false,
               '10.1000/bench-new', null, max(run_id), false from runs"""
    )
    for pos, author in enumerate((watched, other)):
        con.execute(
            """insert into authorships (paper_id, author_id, position, author_name, is_watched,
                   source)
               select 'bench-new', author_id, ?, display_name, is_watched, 'openalex'
               from authors where author_id = ?""",
            [pos, author],
        )
    con.close()


def timed(con: Any, out: Path, run_id: str, previous: Path | None) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    outputs.write_outputs(con, out, run_id, previous)
    return time.perf_counter() - t0, time.process_time() - c0


def units_redrawn(before: Path, after: Path) -> int:
    def digests(d: Path) -> dict[str, str]:
        raw = json.loads((d / renders.MANIFEST).read_text(encoding="utf-8"))
        return {k: v["digest"] for k, v in raw["units"].items()}

    old = digests(before)
    return sum(1 for k, v in digests(after).items() if old.get(k) != v)


def measure(label: str, db: Path, root: Path) -> dict[str, Any]:
    base = root / label.replace(" ", "_")
    con = duckdb.connect(str(db), read_only=True)
    run_id = str(con.execute("select max(run_id) from runs").fetchone()[0])  # type: ignore[index]
    t_full, c_full = timed(con, base / "full", run_id, None)
    t_hit, c_hit = timed(con, base / "unchanged", run_id, base / "full")
    units = len(json.loads((base / "full" / renders.MANIFEST).read_text())["units"])
    con.close()
    copy = base / "changed.duckdb"
    shutil.copy(db, copy)
    add_one_work(copy)
    con = duckdb.connect(str(copy), read_only=True)
    t_one, c_one = timed(con, base / "one_new_work", run_id, base / "unchanged")
    con.close()
    redrawn = units_redrawn(base / "unchanged", base / "one_new_work")
    print(
        f"{label}: {units} charts/exports; full render {t_full:.2f} s wall / {c_full:.2f} s CPU "
        f"(baseline); unchanged {t_hit:.2f} s / {c_hit:.2f} s (ratio {t_full / t_hit:.1f}x); "
        f"one new work {t_one:.2f} s / {c_one:.2f} s ({redrawn} redrawn, ratio "
        f"{t_full / t_one:.1f}x)"
    )
    return {
        "warehouse": label,
        "units": units,
        "full_seconds": round(t_full, 3),
        "unchanged_seconds": round(t_hit, 3),
        "one_new_work_seconds": round(t_one, 3),
        "units_redrawn_one_new_work": redrawn,
        "ratio_unchanged": round(t_full / t_hit, 2),
        "ratio_one_new_work": round(t_full / t_one, 2),
    }


def drawing_import_seconds() -> float:
    """What a process that draws pays to import the drawing libraries (a run that draws
    nothing does not import them)."""
    code = (
        "import time; t = time.perf_counter(); import matplotlib.figure, networkx, "
        "bibtexparser, rispy; print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=os.environ
    )
    return float(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--papers", type=int, default=5000, help="synthetic papers (0: none)")
    ap.add_argument("--watched", type=int, default=20)
    ap.add_argument("--demo", type=Path, help="an existing demo warehouse (else one is built)")
    ap.add_argument("--warehouse", type=Path, help="another warehouse to measure (read only)")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = args.demo
        if demo is None:
            from tests.conftest import run_demo

            demo = root / "demo" / "w.duckdb"
            run_demo(demo)
        imports = drawing_import_seconds()
        # warm up: the first render in a process imports matplotlib & co (measured apart)
        with duckdb.connect(str(demo), read_only=True) as con:
            outputs.write_outputs(con, root / "warm", "r")
        results.append(measure("demo", demo, root))
        if args.papers:
            path = root / "synthetic.duckdb"
            synthetic(path, demo, args.papers, args.watched)
            results.append(measure(f"synthetic {args.papers} papers", path, root))
        if args.warehouse:
            results.append(measure(args.warehouse.name, args.warehouse, root))
    print(f"importing the drawing libraries: {imports:.2f} s (not paid when nothing is drawn)")
    print(json.dumps({"drawing_import_seconds": round(imports, 3), "warehouses": results}))


if __name__ == "__main__":
    main()

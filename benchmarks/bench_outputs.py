"""Benchmark: time to write the reader-facing outputs (digest.md, index.html + charts, exports)
against the CSV export of every metrics view on the same warehouse (baseline, same run).

    python benchmarks/bench_outputs.py [--papers N] [--watched W] [--demo PATH]

The warehouse is synthetic: table schemas copied (empty) from a demo warehouse (built first
when --demo is not given), then W watched researchers, N papers with four co-authors each from
a pool of people, two runs of citation snapshots, yearly citation counts and five topics.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import outputs, warehouse
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
    warehouse.create_views(con, SQL_DIR)
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--papers", type=int, default=5000)
    ap.add_argument("--watched", type=int, default=20)
    ap.add_argument("--demo", type=Path, help="an existing demo warehouse (else one is built)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = args.demo
        if demo is None:
            from tests.conftest import run_demo

            demo = root / "demo" / "w.duckdb"
            run_demo(demo)
        path = root / "synthetic.duckdb"
        synthetic(path, demo, args.papers, args.watched)
        outputs.write_outputs(duckdb.connect(str(demo), read_only=True), root / "warm", "r")
        for label, db in (("demo", demo), (f"synthetic {args.papers} papers", path)):
            con = duckdb.connect(str(db), read_only=True)
            run_id = con.execute("select max(run_id) from runs").fetchone()[0]  # type: ignore[index]
            t0, c0 = time.perf_counter(), time.process_time()
            warehouse.write_report_files(con, root / label / "csv")
            t_csv, c_csv = time.perf_counter() - t0, time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            written = outputs.write_outputs(con, root / label / "out", run_id)
            t_out, c_out = time.perf_counter() - t0, time.process_time() - c0
            nodes = con.execute(
                "select count(*) from (select author_id_a from metrics.coauthorships "
                "union select author_id_b from metrics.coauthorships)"
            ).fetchone()[0]  # type: ignore[index]
            con.close()
            print(
                f"{label}: outputs {t_out:.2f} s wall / {c_out:.2f} s Python CPU ({len(written)} "
                f"files, {nodes} people in the network) vs CSV export {t_csv:.2f} s wall / "
                f"{c_csv:.2f} s (baseline): ratio {t_out / t_csv:.1f}x wall"
            )


if __name__ == "__main__":
    main()

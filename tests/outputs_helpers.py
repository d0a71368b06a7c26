"""A tiny hand-made warehouse for the digest, HTML report and export tests.

Table schemas are copied (empty) from the demo warehouse, so the tiny one has exactly the
columns a real build makes; the rows are written here by hand, two runs a week apart:

run r1 (2026-01-01): Ada Lovelace (watched) has p1 (with Charles Babbage) and p2.
    snapshots: p1 10 citations, p2 3.
run r2 (2026-01-08, partial): p3 and p4 arrive (p3 with Grace Hopper: a new collaborator);
    p1 now 15, p2 2 (OpenAlex lowered it), p3 1. OpenAlex had an error, Semantic Scholar
    stopped on its budget, one DBLP record was quarantined.

Best counts (OpenAlex only here) as of r1: [10, 3] -> citations 13, h 2, g 2, i10 1.
As of r2: [15, 2, 1, 0] -> citations 18, h 2, g 4 (15+2+1+0 = 18 >= 16), i10 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from flows import views
from flows.settings import SQL_DIR

R1, R2 = "20260101T090000Z-aaaaaa", "20260108T090000Z-bbbbbb"
TRICKY_TITLE = "Fast <b>Serving</b> of *LLMs* [50% & $x_1$] {braces} #1 \\ end"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    marks = ", ".join("?" for _ in cols)
    con.executemany(
        f"insert into {table} ({', '.join(cols)}) values ({marks})",
        [[r[c] for c in cols] for r in rows],
    )


def _run(run_id: str, day: int, status: str, stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "command": "run",
        "mode": "live",
        "started_at": f"2026-01-{day:02d} 09:00:00+00",
        "finished_at": f"2026-01-{day:02d} 09:30:00+00",
        "status": status,
        "stats": json.dumps(stats),
    }


def build_tiny(
    path: Path, demo: Path, *, runs: int = 2, watched_name: str = "Ada Lovelace"
) -> Path:
    """The tiny warehouse at `path` (with only run r1 when runs=1)."""
    con = duckdb.connect(str(path))
    try:
        con.execute(f"attach '{demo}' as demo (read_only)")
        tables = con.execute(
            "select table_name from information_schema.tables where table_catalog = 'demo' "
            "and table_schema = 'main' and table_type = 'BASE TABLE' order by table_name"
        ).fetchall()
        for (table,) in tables:
            con.execute(f"create table main.{table} as select * from demo.main.{table} limit 0")
        con.execute("detach demo")
        con.execute("create schema metrics")
        ok = {"source": "arxiv", "errors": [], "stopped": None}
        run_rows = [_run(R1, 1, "succeeded", {"sources": [ok]})]
        if runs == 2:
            run_rows.append(
                _run(
                    R2,
                    8,
                    "partial",
                    {
                        "sources": [
                            ok,
                            {
                                "source": "openalex",
                                "errors": ["openalex: HTTP 500 for /works?filter=author.id:A1"],
                                "stopped": None,
                            },
                            {
                                "source": "semantic_scholar",
                                "errors": [],
                                "stopped": "daily budget spent",
                            },
                        ]
                    },
                )
            )
        _insert(con, "runs", run_rows)
        people = [
            ("ada-lovelace", watched_name, True),
            ("charles-babbage", "Charles Babbage", False),
            ("grace-hopper", "Grace Hopper", False),
        ]
        _insert(
            con,
            "authors",
            [{"author_id": a, "display_name": n, "is_watched": w} for a, n, w in people],
        )
        papers = [
            (
                "p1",
                "Analytical Engines",
                2020,
                R1,
                "10.1000/ae_1",
                "2001.00001",
                "Journal of Engines",
            ),
            ("p2", "Notes on Bernoulli Numbers", 2021, R1, None, None, "arXiv"),
            ("p3", TRICKY_TITLE, 2025, R2, "10.1000/fast_serving", "2501.00003", "OSDI"),
            ("p4", "Loops", 2025, R2, None, None, "SOSP"),
        ][: 2 if runs == 1 else 4]
        _insert(
            con,
            "papers",
            [
                {
                    "paper_id": pid,
                    "title": title,
                    "year": year,
                    "publication_date": f"{year}-03-01",
                    "venue": venue,
                    "is_preprint_only": venue == "arXiv",
                    "doi": doi,
                    "arxiv_id": arxiv,
                    "first_run_id": run,
                    "is_retracted": False,
                }
                for pid, title, year, run, doi, arxiv, venue in papers
            ],
        )
        credits = [
            ("p1", "ada-lovelace", 0),
            ("p1", "charles-babbage", 1),
            ("p2", "ada-lovelace", 0),
            ("p3", "grace-hopper", 0),
            ("p3", "ada-lovelace", 1),
            ("p4", "ada-lovelace", 0),
        ]
        names = dict((a, n) for a, n, _w in people)
        held = {p[0] for p in papers}
        _insert(
            con,
            "authorships",
            [
                {
                    "paper_id": p,
                    "author_id": a,
                    "position": pos,
                    "author_name": names[a],
                    "is_watched": a == "ada-lovelace",
                    "source": "openalex",
                }
                for p, a, pos in credits
                if p in held
            ],
        )
        _insert(
            con,
            "work_xref",
            [{"paper_id": p, "source": "openalex", "source_work_id": f"W{p}"} for p in held],
        )
        snaps = [(R1, 1, "p1", 10), (R1, 1, "p2", 3)]
        if runs == 2:
            snaps += [(R2, 8, "p1", 15), (R2, 8, "p2", 2), (R2, 8, "p3", 1)]
        _insert(
            con,
            "citation_snapshots",
            [
                {
                    "run_id": run,
                    "observed_at": f"2026-01-{day:02d} 09:10:00+00",
                    "paper_id": p,
                    "source": "openalex",
                    "source_work_id": f"W{p}",
                    "cited_by_count": n,
                }
                for run, day, p, n in snaps
            ],
        )
        latest: dict[str, int] = {p: n for _r, _d, p, n in snaps}
        _insert(
            con,
            "paper_citations",
            [
                {
                    "paper_id": p,
                    "source": "openalex",
                    "cited_by_count": n,
                    "source_work_id": f"W{p}",
                }
                for p, n in latest.items()
            ],
        )
        _insert(
            con,
            "paper_citations_by_year",
            [
                {"paper_id": "p1", "source": "openalex", "year": 2024, "cited_by_count": 6},
                {"paper_id": "p1", "source": "openalex", "year": 2025, "cited_by_count": 9},
            ],
        )
        _insert(
            con,
            "paper_topics",
            [
                {
                    "paper_id": p,
                    "topic_id": "engines",
                    "topic_name": "Engines",
                    "topic_kind": "watchlist",
                }
                for p in sorted(held)
            ],
        )
        if runs == 2:
            _insert(
                con,
                "usage_ledger",
                [
                    {
                        "run_id": R2,
                        "source": "semantic_scholar",
                        "usage_date": "2026-01-08",
                        "mode": "live",
                        "requests": 100,
                        "cost_units": 100.0,
                        "daily_budget": 100.0,
                        "stopped_reason": "daily budget spent",
                        "recorded_at": "2026-01-08 09:30:00+00",
                    }
                ],
            )
            _insert(
                con,
                "quarantine",
                [
                    {
                        "source": "dblp",
                        "entity": "publications",
                        "record_key": "conf/x/1",
                        "reason": "missing title",
                        "first_run_id": R2,
                        "quarantined_at": "2026-01-08 09:20:00+00",
                    }
                ],
            )
        views.create_views(con, SQL_DIR)
    finally:
        con.close()
    return path

"""The metrics views (sql/, one per file), their column comments, and their CSV reports
(COPY ... TO through the SQL of `flows.reports`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from flows import catalog, reports
from flows.warehouse import (
    VIEW_SCHEMA,
    CatalogError,
    Connection,
    has_table,
)

log = logging.getLogger("scholarflow")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(con: Connection, sql_dir: Path) -> int:
    """COMMENT ON every table, view and column from flows/catalog.toml and the views' grain
    lines; returns how many objects are left without a description (0 is the goal)."""
    missing = 0
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'main' and not internal"
    ).fetchall()
    for (table,) in tables:
        text = catalog.table_comment(table)
        if text:
            con.execute(f"comment on table main.{table} is {_quote(text)}")
        else:
            missing += 1
    views = con.execute(
        "select view_name from duckdb_views() where schema_name = ? and not internal", [VIEW_SCHEMA]
    ).fetchall()
    for (view,) in views:
        sql_file = sql_dir / f"{view}.sql"
        text = (
            catalog.view_comment(sql_file.read_text(encoding="utf-8"))
            if sql_file.exists()
            else None
        )
        if text:
            con.execute(f"comment on view {VIEW_SCHEMA}.{view} is {_quote(text)}")
        else:
            missing += 1
    columns = con.execute(
        """select schema_name, table_name, column_name,
                  case when table_name in (select view_name from duckdb_views() where schema_name = c.schema_name)
                       then 'view' else 'table' end
           from duckdb_columns() c
           where not internal and schema_name in ('main', ?)""",
        [VIEW_SCHEMA],
    ).fetchall()
    for schema, relation, column, kind in columns:
        text = catalog.column_comment(kind, relation, column)
        if text:
            con.execute(f'comment on column {schema}.{relation}."{column}" is {_quote(text)}')
        else:
            missing += 1
    return missing


def create_views(con: Connection, sql_dir: Path) -> list[str]:
    """(Re)create one view per sql/*.sql file, in dependency order (a view that fails because
    another is not there yet is retried after the others)."""
    pending = {p.stem: p.read_text(encoding="utf-8") for p in sorted(sql_dir.glob("*.sql"))}
    for name in list(pending):
        con.execute(f"drop view if exists {VIEW_SCHEMA}.{name}")
    created: list[str] = []
    while pending:
        progress, errors = False, {}
        for name, body in list(pending.items()):
            try:
                con.execute(f"create view {VIEW_SCHEMA}.{name} as\n{body.strip().rstrip(';')}")
            except CatalogError as exc:
                errors[name] = exc
                continue
            created.append(name)
            del pending[name]
            progress = True
        if not progress:
            detail = "; ".join(f"sql/{n}.sql: {e}" for n, e in errors.items())
            raise RuntimeError(f"cannot create views: {detail}")
    return created


# Views read more than once per report set: by other views (paper_best_citations alone by 12)
# or by the HTML report, the digest and the exports besides their own CSV. DuckDB inlines a
# view into every query that names it, so each reader would compute it again. Dependencies
# first. Not topic_trends: its report reads a few topics, which DuckDB filters early.
SHARED_VIEWS = (
    "citation_source_precedence",
    "paper_best_citations",
    "citations_per_author",
    "author_citations_by_year",
    "h_index_by_year",
    "watched_topic_activity",
    "source_discrepancies",
    "coauthorships",
    "new_collaborators",
    "citations_per_author_as_of",
    "emerging_topics",
)


@contextlib.contextmanager
def shared_views_once(con: Connection) -> Iterator[None]:
    """For writing one report set: each of SHARED_VIEWS computed once into a temporary table
    and the view pointed at it, inside a transaction that is rolled back when the block ends
    (also on success), so the warehouse keeps its views. Reports read the same rows either way:
    the block sees one snapshot and the views are deterministic."""
    con.execute("begin transaction")
    try:
        for view in SHARED_VIEWS:
            if not has_table(con, view, VIEW_SCHEMA):
                continue
            cache = reports.ident(f"_shared_{view}")
            name = f"{VIEW_SCHEMA}.{reports.ident(view)}"
            con.execute(f"create temp table {cache} as select * from {name}")
            con.execute(f"create or replace view {name} as select * from temp.main.{cache}")
        yield
    finally:
        con.execute("rollback")
        for view in SHARED_VIEWS:
            con.execute(f"drop table if exists temp.main.{reports.ident(f'_shared_{view}')}")


def write_report_files(
    con: Connection,
    out_dir: Path,
    options: reports.ReportOptions = reports.DEFAULT_OPTIONS,
) -> list[Path]:
    """Every metrics view as `<view>.csv` in out_dir, written by DuckDB's COPY (see
    flows/reports.py for the format and the safety rules). Each file is written under a
    temporary name and renamed, so a reader sees the old file or the new one, never half."""
    out_dir.mkdir(parents=True, exist_ok=True)
    views = [
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where schema_name = ? order by view_name",
            [VIEW_SCHEMA],
        ).fetchall()
    ]
    written = []
    for view in views:
        columns = [
            (str(r[0]), str(r[1]))
            for r in con.execute(f"describe {VIEW_SCHEMA}.{reports.ident(view)}").fetchall()
        ]
        topics: list[tuple[str, str]] | None = None
        if view == "topic_trends" and "topic_totals" in views:
            rows = con.execute(reports.topics_query(options)).fetchall()
            topics = sorted({(str(k), str(t)) for k, t in rows} | set(options.pinned_topics))
        select = reports.report_query(view, columns, options, topics)
        path = out_dir / f"{view}.csv"
        tmp = out_dir / f".{view}.csv.{os.getpid()}.tmp"
        try:
            con.execute(f"copy ({select}) to {reports.literal(str(tmp))} ({reports.COPY_OPTIONS})")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(path)
    return written

"""CSV reports as SQL: the query DuckDB's `COPY … TO` runs for each metrics view.

Output: UTF-8, header row, RFC 4180 quoting, CRLF line ends, NULL as an empty field (an empty
string is written `""`). DuckDB's CSV writer does not guard against spreadsheet formula
injection, so every text cell goes through `text_cell`: control characters (NUL, C0/C1, ANSI
escape sequences) are removed, then a cell starting with = + - @ tab or CR (spreadsheets strip
tab/CR before evaluating) gets a leading apostrophe. Numbers stay numbers; timestamps are written
to the second in UTC (`2026-05-01T12:00:00Z`).

Excel flavour (opt-in, `[reports] excel = true`): a UTF-8 BOM (else Excel reads the file as
ANSI), and new-style arXiv ids in id columns written `arXiv:2306.06000` (arXiv's own citation
form), which Excel cannot turn into the number 2306.06. The default files keep raw ids, so
machine readers are not changed behind their back.

Pure: builds SQL strings; flows/warehouse.py runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.watchlist import Watchlist

VIEW_SCHEMA = "metrics"
BOM = "\ufeff"
# Leading characters that make a spreadsheet evaluate a cell (tab and CR: some strip them first).
FORMULA_START = r"^([=+\-@\t\r])"
# ANSI CSI sequences (colours, cursor moves), removed whole so no "[31m" is left behind.
ANSI_CSI = r"\x1b\[[0-?]*[ -/]*[@-~]"
# C0 controls except tab/LF/CR (text whitespace a quoted CSV field carries), DEL, C1 controls.
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
ARXIV_NEW_ID = r"^([0-9]{4}\.[0-9]{4,5}(v[0-9]+)?)$"
# COPY options: header, RFC 4180 quoting (DuckDB's defaults: '"' doubled), CRLF, NULL empty.
COPY_OPTIONS = "format csv, header true, delimiter ',', quote '\"', new_line '\\r\\n', nullstr ''"
WATCHLIST_TOPIC_KIND = "watchlist"


@dataclass(frozen=True)
class ReportOptions:
    """How the report files are written (watchlist `[reports]`)."""

    top_topics: int = 20  # per topic kind (OpenAlex topic, arXiv category, S2 field)
    excel: bool = False
    # (topic_kind, topic_id) always listed: the source topics the watchlist names
    pinned_topics: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_watchlist(cls, wl: Watchlist) -> ReportOptions:
        pinned = {("openalex", t) for topic in wl.topics for t in topic.openalex_topic_ids}
        pinned |= {("arxiv_category", c) for topic in wl.topics for c in topic.arxiv_categories}
        return cls(wl.reports.top_topics, wl.reports.excel, tuple(sorted(pinned)))


DEFAULT_OPTIONS = ReportOptions()


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def text_cell(expr: str, *, arxiv_prefix: bool = False) -> str:
    """A text expression made safe: control characters removed, formula starts neutralised
    (nested regexp_replace: one pass over the value each, no correlated subquery per cell).
    Most cells need none of it, so one match test picks the cells the passes run on: ANSI
    sequences start with ESC, itself a control character."""
    out = f"regexp_replace({expr}, {literal(ANSI_CSI)}, '', 'g')"
    out = f"regexp_replace({out}, {literal(CONTROL)}, '', 'g')"
    guard = f"{CONTROL}|{FORMULA_START}"
    if arxiv_prefix:
        out = f"regexp_replace({out}, {literal(ARXIV_NEW_ID)}, 'arXiv:\\1')"
        guard += f"|{ARXIV_NEW_ID}"
    out = f"regexp_replace({out}, {literal(FORMULA_START)}, '''\\1')"
    return f"case when regexp_matches({expr}, {literal(guard)}) then {out} else {expr} end"


def cell(name: str, dtype: str, *, excel: bool = False) -> str:
    """The SQL expression writing column `name` of DuckDB type `dtype` as a CSV cell."""
    col = f"v.{ident(name)}"
    t = dtype.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"strftime(timezone('UTC', {col}), '%Y-%m-%dT%H:%M:%SZ')"
    if t.startswith("TIMESTAMP"):  # naive timestamps hold UTC (the project's `_at` rule)
        return f"strftime(cast({col} as timestamp), '%Y-%m-%dT%H:%M:%SZ')"
    if t in {"DOUBLE", "FLOAT", "REAL"}:
        return f"round({col}, 6)"
    if t in {"DATE", "BOOLEAN"} or t.startswith("DECIMAL") or t in _INTEGER_TYPES:
        return col
    if t.endswith("[]"):
        text = f"array_to_string(list_transform({col}, x -> cast(x as varchar)), '; ')"
    else:
        text = f"cast({col} as varchar)"
    return text_cell(text, arxiv_prefix=excel and name.endswith("_id"))


_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}


def topics_query(options: ReportOptions) -> str:
    """The (topic_kind, topic_id) pairs the topic_trends report lists: every watchlist topic and
    the top-K of each other kind by papers (metrics.topic_totals is one row per topic, cheap)."""
    return (
        f"select topic_kind, topic_id from {VIEW_SCHEMA}.topic_totals "
        f"where topic_kind = {literal(WATCHLIST_TOPIC_KIND)} "
        f"or rank_in_kind <= {int(options.top_topics)}"
    )


# Views whose work-level rows grow with the warehouse: their reports list what a person reads
# (the views stay complete for SQL). A report not listed here has every row of its view.
REPORT_ROWS: dict[str, str] = {
    # researchers and topics, and per source and window the 100 works that gained most
    "citation_velocity": "qualify level <> 'work' or row_number() over (partition by level, source, "
    "window_days order by citations_gained desc, entity_id) <= 100 "
    "order by level, entity_id, source, window_days",
    # researchers, and the 500 works whose sources disagree most
    "source_discrepancies": "qualify level <> 'work' or row_number() over (partition by level "
    "order by relative_difference desc, entity_id, source_b) <= 500 "
    "order by level, relative_difference desc, entity_id, source_b",
    # the last 24 runs
    "citations_per_author_as_of": "qualify dense_rank() over (order by as_of_at desc) <= 24 "
    "order by as_of_at, author_id, source",
}


def _source(view: str, topics: Sequence[tuple[str, str]] | None) -> str:
    """The rows a report lists: the whole view, or for topic_trends only the given topics (the
    view keeps every tag). The filter names topic ids as literals so DuckDB pushes it below
    the view's zero-filling and window functions, instead of computing every topic's months."""
    if topics is None and view in REPORT_ROWS:
        return f"(select * from {VIEW_SCHEMA}.{ident(view)} {REPORT_ROWS[view]})"
    if topics is None:
        return f"{VIEW_SCHEMA}.{ident(view)}"
    by_kind: dict[str, set[str]] = {}
    for kind, tid in topics:
        by_kind.setdefault(kind, set()).add(tid)
    if not by_kind:
        return f"(select * from {VIEW_SCHEMA}.{ident(view)} where false)"
    ids = ", ".join(literal(t) for t in sorted(set().union(*by_kind.values())))
    pairs = " or ".join(
        f"(topic_kind = {literal(kind)} and topic_id in ({', '.join(map(literal, sorted(tids)))}))"
        for kind, tids in sorted(by_kind.items())
    )
    return (
        f"(select * from {VIEW_SCHEMA}.{ident(view)} where topic_id in ({ids}) and ({pairs}) "
        "order by topic_kind, topic_id, month)"
    )


def report_query(
    view: str,
    columns: Sequence[tuple[str, str]],
    options: ReportOptions = DEFAULT_OPTIONS,
    topics: Sequence[tuple[str, str]] | None = None,
) -> str:
    """`select` of one report: one safe cell per (column, type), header names as the view's;
    `topics` restricts a topic_trends report to those (topic_kind, topic_id) pairs."""
    cells = []
    for i, (name, dtype) in enumerate(columns):
        header = text_header(name, bom=options.excel and i == 0)
        cells.append(f"{cell(name, dtype, excel=options.excel)} as {ident(header)}")
    return f"select {', '.join(cells)} from {_source(view, topics)} as v"


def text_header(name: str, *, bom: bool = False) -> str:
    """A header name, neutralised like a cell; the BOM rides on the first header name, so
    COPY writes it as the file's first bytes."""
    if name.startswith(("=", "+", "-", "@", "\t", "\r")):
        name = "'" + name
    return BOM + name if bom else name

"""The run digest (reports/digest.md): what changed in this run, each line naming the warehouse
rows it rests on (paper ids, author ids, run ids), with the SQL that reproduces each section.

`render_digest` returns Markdown, so the Prefect flow can publish the same text as an artifact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flows import warehouse

MAX_ITEMS = 15  # per list; the rest is summed up as "… and N more"

RUN_SQL = """
select run_id, command, mode, status, started_at, finished_at, cast(stats as varchar) as stats
from main.runs
where run_id = ?
"""

PREVIOUS_RUN_SQL = """
select run_id, finished_at
from main.runs
where status <> 'failed' and run_id <> ?
    and finished_at <= (select finished_at from main.runs where run_id = ?)
order by finished_at desc, run_id desc
limit 1
"""

NEW_WORKS_SQL = """
select
    papers.paper_id, papers.title, papers.year, papers.venue,
    string_agg(distinct authorships.author_id, ', ' order by authorships.author_id) as watched_author_ids
from main.papers
inner join main.authorships on authorships.paper_id = papers.paper_id and authorships.is_watched
where papers.first_run_id = ?
group by all
order by papers.year desc nulls last, papers.paper_id
"""

WORK_GAINS_SQL = """
with ends as (
    select
        (select finished_at from main.runs where run_id = ?) as now_at,
        (select finished_at from main.runs where run_id = ?) as base_at
),
snaps as (
    select x.paper_id, s.source, s.observed_at, max(s.cited_by_count) as citations
    from main.citation_snapshots as s
    inner join main.work_xref as x on x.source = s.source and x.source_work_id = s.source_work_id
    where s.cited_by_count is not null
    group by all
),
counts as (
    -- per paper and source: the newest count known at the end of each of the two runs
    select
        snaps.paper_id, snaps.source,
        arg_max(snaps.citations, snaps.observed_at) filter (where snaps.observed_at <= ends.base_at) as citations_before,
        arg_max(snaps.citations, snaps.observed_at) filter (where snaps.observed_at <= ends.now_at) as citations_now
    from snaps cross join ends
    group by snaps.paper_id, snaps.source
),
ranked as (
    -- the source metrics.citation_source_precedence ranks first among those counted both times
    select counts.*, row_number() over (partition by counts.paper_id order by p.precedence) as pick
    from counts
    inner join metrics.citation_source_precedence as p on p.source = counts.source
    where counts.citations_before is not null and counts.citations_now is not null
),
watched_works as (
    select paper_id, string_agg(distinct author_id, ', ' order by author_id) as watched_author_ids
    from main.authorships
    where is_watched
    group by paper_id
)
select
    ranked.paper_id, papers.title, ranked.source, ranked.citations_before, ranked.citations_now,
    ranked.citations_now - ranked.citations_before as change, watched_works.watched_author_ids
from ranked
inner join watched_works on watched_works.paper_id = ranked.paper_id
inner join main.papers on papers.paper_id = ranked.paper_id
where ranked.pick = 1 and ranked.citations_now <> ranked.citations_before
order by change desc, ranked.paper_id
"""

INDEX_SQL = """
select
    now.author_id, now.display_name, now.source,
    before.works as works_before, now.works as works_now,
    before.citations as citations_before, now.citations as citations_now,
    before.h_index as h_before, now.h_index as h_now,
    before.g_index as g_before, now.g_index as g_now,
    before.i10_index as i10_before, now.i10_index as i10_now
from metrics.citations_per_author_as_of as now
left join metrics.citations_per_author_as_of as before
    on before.as_of_run_id = ? and before.author_id = now.author_id and before.source = now.source
where now.as_of_run_id = ? and now.source = 'best'
order by now.author_id
"""

NEW_COLLABORATORS_SQL = """
select
    author_id_a, display_name_a, is_watched_a, author_id_b, display_name_b, is_watched_b,
    works, first_year_together, paper_ids
from metrics.new_collaborators
where first_run_id = ?
order by works desc, author_id_a, author_id_b
"""

EMERGING_SQL = """
select topic_kind, topic_id, topic_name, works, median_year, works_last_2y, works_prev_2y, growth, hf_upvotes
from metrics.emerging_topics
where is_emerging
order by growth desc nulls last, works desc, topic_kind, topic_id
"""

WATCHED_TOPICS_SQL = """
select topic_id, topic_name, period_start, works, works_previous, works_growth, citations
from metrics.watched_topic_activity
where period_kind = 'year' and period_start >= date_trunc('year', current_date) - interval 1 year
order by topic_id, period_start
"""

USAGE_SQL = """
select source, requests, cost_units, daily_budget, stopped_reason
from main.usage_ledger
where run_id = ? and stopped_reason is not null
order by source
"""

QUARANTINE_SQL = """
select source, entity, count(*) as records, min(reason) as example_reason
from main.quarantine
where first_run_id = ?
group by source, entity
order by source, entity
"""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")


def md(text: Any) -> str:
    """Upstream text (titles, names) as inert Markdown: one line, punctuation escaped, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text if text is not None else "").split()))


def code(text: Any) -> str:
    """An id as a code span (backticks inside get a longer fence)."""
    s = " ".join(str(text).split())
    fence = "``" if "`" in s else "`"
    return f"{fence}{s}{fence}" if fence == "`" else f"{fence} {s} {fence}"


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def inline_params(sql: str, params: Sequence[Any]) -> str:
    """The SQL with its `?` placeholders filled in, to paste into `duckdb warehouse.duckdb`."""
    parts = sql.strip().split("?")
    if len(parts) != len(params) + 1:
        raise ValueError("placeholder count differs from the parameters")
    out = parts[0]
    for value, rest in zip(params, parts[1:], strict=True):
        out += _literal(value) + rest
    return out


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def _capped(lines: list[str], limit: int | None = None) -> list[str]:
    limit = MAX_ITEMS if limit is None else limit
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"- … and {len(lines) - limit} more"]


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    queries: list[tuple[str, Sequence[Any]]] = field(default_factory=list)


class Digest:
    """Collects the sections of one run's digest from the warehouse."""

    def __init__(self, con: Any, run_id: str) -> None:
        self.con = con
        self.run_id = run_id
        self.sections: list[Section] = []

    def rows(self, section: Section, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        section.queries.append((sql, params))
        return warehouse.query_dicts(self.con, sql, params)

    def render(self) -> str:
        runs = warehouse.query_dicts(self.con, RUN_SQL, [self.run_id])
        if not runs:
            return f"# Run digest\n\nRun {code(self.run_id)} is not recorded in the warehouse.\n"
        run = runs[0]
        prev_rows = warehouse.query_dicts(self.con, PREVIOUS_RUN_SQL, [self.run_id, self.run_id])
        prev = prev_rows[0]["run_id"] if prev_rows else None
        head = [
            f"# Run digest: {code(self.run_id)}",
            "",
            f"- command: {code(run['command'])}, mode: {code(run['mode'])}, status: **{md(run['status'])}**",
            f"- started {_when(run['started_at'])}, finished {_when(run['finished_at'])}",
            (
                f"- compared with the previous run {code(prev)}"
                if prev
                else "- first run: no previous run to compare"
            ),
        ]
        self.new_works(prev)
        self.citations(prev)
        self.indices(prev)
        self.collaborators(prev)
        self.topics()
        self.sources(run)
        out = head
        for s in self.sections:
            out += ["", f"## {s.title}", "", *s.lines]
        out += [
            "",
            "## Reproduce",
            "",
            "Each section's rows, from the warehouse (`duckdb <warehouse>.duckdb`):",
        ]
        for s in self.sections:
            for sql, params in s.queries:
                out += ["", f"{s.title}:", "", "```sql", inline_params(sql, params), "```"]
        return "\n".join(out) + "\n"

    def new_works(self, prev: str | None) -> None:
        s = Section("New works by watched researchers")
        self.sections.append(s)
        works = self.rows(s, NEW_WORKS_SQL, [self.run_id])
        if prev is None:
            s.lines.append(
                f"First run: no previous run to compare. {len(works)} works by watched "
                "researchers were loaded (all of them in `papers.csv`)."
            )
            return
        if not works:
            s.lines.append("None: this run loaded no new work credited to a watched researcher.")
            return
        s.lines += _capped(
            [
                f"- {code(w['paper_id'])} {md(w['title'])} ({w['year'] or 'n.d.'}"
                f"{', ' + md(w['venue']) if w['venue'] else ''}); by {code(w['watched_author_ids'])}"
                for w in works
            ]
        )

    def citations(self, prev: str | None) -> None:
        s = Section("New citations to their works")
        self.sections.append(s)
        if prev is None:
            s.lines.append(
                "First run: no previous run to compare (today's counts: `citations_per_author.csv`)."
            )
            return
        totals = self.rows(s, INDEX_SQL, [prev, self.run_id])
        for t in totals:
            before, now = t["citations_before"], t["citations_now"]
            if before is None:
                s.lines.append(
                    f"- {md(t['display_name'])} ({code(t['author_id'])}): {now} citations "
                    f"(not watched in run {code(prev)})"
                )
            elif now != before:
                s.lines.append(
                    f"- {md(t['display_name'])} ({code(t['author_id'])}): {before} → {now} "
                    f"citations ({_signed(now - before)}, best counts over "
                    f"{t['works_now']} works)"
                )
        gains = self.rows(s, WORK_GAINS_SQL, [self.run_id, prev])
        up = [g for g in gains if g["change"] > 0]
        down = [g for g in gains if g["change"] < 0]
        if up:
            s.lines += ["", "Works that gained citations:", ""]
            s.lines += _capped(
                [
                    f"- {code(g['paper_id'])} {md(g['title'])}: {g['citations_before']} → "
                    f"{g['citations_now']} ({_signed(g['change'])}, {g['source']}); by "
                    f"{code(g['watched_author_ids'])}"
                    for g in up
                ]
            )
        if down:
            s.lines += [
                "",
                "Counts a source lowered (a source revising its count, not lost impact):",
                "",
            ]
            s.lines += _capped(
                [
                    f"- {code(g['paper_id'])}: {g['citations_before']} → {g['citations_now']} "
                    f"({g['source']})"
                    for g in down
                ]
            )
        if not s.lines:
            s.lines.append(f"No citation count changed since run {code(prev)}.")

    def indices(self, prev: str | None) -> None:
        s = Section("Index changes")
        self.sections.append(s)
        rows = self.rows(s, INDEX_SQL, [prev, self.run_id])
        if prev is None:
            s.lines.append("First run: no previous run to compare. Indices now (best counts):")
            s.lines.append("")
            s.lines += _capped(
                [
                    f"- {md(r['display_name'])} ({code(r['author_id'])}): h {r['h_now']}, "
                    f"g {r['g_now']}, i10 {r['i10_now']}"
                    for r in rows
                ]
            )
            return
        for r in rows:
            parts = [
                f"{name} {r[f'{key}_before']} → {r[f'{key}_now']}"
                for name, key in (("h", "h"), ("g", "g"), ("i10", "i10"))
                if r[f"{key}_before"] is not None and r[f"{key}_before"] != r[f"{key}_now"]
            ]
            if parts:
                s.lines.append(
                    f"- {md(r['display_name'])} ({code(r['author_id'])}): {', '.join(parts)}"
                )
        s.lines = _capped(s.lines)
        if not s.lines:
            s.lines.append(f"No h, g or i10 index changed since run {code(prev)}.")

    def collaborators(self, prev: str | None) -> None:
        s = Section("New collaborators")
        self.sections.append(s)
        pairs = self.rows(s, NEW_COLLABORATORS_SQL, [self.run_id])
        if prev is None:
            s.lines.append(
                f"First run: no previous run to compare ({len(pairs)} co-author pairs known; "
                "all of them in `coauthorships.csv`)."
            )
            return
        if not pairs:
            s.lines.append("None: no pair of co-authors first worked together in this run's data.")
            return
        lines = []
        for p in pairs:
            a = (p["display_name_a"], p["author_id_a"], p["is_watched_a"])
            b = (p["display_name_b"], p["author_id_b"], p["is_watched_b"])
            if b[2] and not a[2]:
                a, b = b, a  # the watched researcher first
            lines.append(
                f"- {md(a[0])} ({code(a[1])}) with {md(b[0])} ({code(b[1])}): "
                f"{p['works']} shared works since {p['first_year_together']} ({code(p['paper_ids'])})"
            )
        s.lines += _capped(lines)

    def topics(self) -> None:
        s = Section("Rising topics")
        self.sections.append(s)
        watched = self.rows(s, WATCHED_TOPICS_SQL)
        this_year = date.today().year
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for t in watched:
            by_topic.setdefault(t["topic_id"], []).append(t)
        for topic_id, periods in by_topic.items():
            parts = []
            for t in periods:
                year = t["period_start"].year
                if year < this_year:  # the last complete year, against the one before it
                    change = (
                        f" ({_signed(t['works'] - t['works_previous'])} vs {year - 1})"
                        if t["works_previous"] is not None
                        else ""
                    )
                    parts.append(f"{t['works']} works in {year}{change}")
                else:
                    parts.append(f"{t['works']} so far in {year}")
            s.lines.append(
                f"- watched topic {md(periods[0]['topic_name'])} ({code(topic_id)}): "
                + "; ".join(parts)
            )
        emerging = self.rows(s, EMERGING_SQL)
        if emerging:
            if s.lines:
                s.lines.append("")
            s.lines += [
                "Emerging (young and growing: median year ≥ last year, more works in the "
                "last two years than the two before):",
                "",
            ]
            s.lines += _capped(
                [
                    f"- {md(t['topic_name'])} ({code(t['topic_kind'] + ':' + t['topic_id'])}): "
                    f"{t['works']} works, median year {t['median_year']}, "
                    f"{t['works_prev_2y']} → {t['works_last_2y']} works"
                    + (f" (growth {t['growth']:+.0%})" if t["growth"] is not None else "")
                    + (f", {t['hf_upvotes']} Hugging Face upvotes" if t["hf_upvotes"] else "")
                    for t in emerging
                ]
            )
        if not s.lines:
            s.lines.append("No watched topic has works yet, and no topic is emerging.")

    def sources(self, run: dict[str, Any]) -> None:
        s = Section("Sources that failed or stopped early")
        self.sections.append(s)
        s.queries.append((RUN_SQL, [self.run_id]))
        stats = json.loads(run["stats"]) if run["stats"] else {}
        per_source = stats.get("sources") or []
        for src in per_source:
            errors = src.get("errors") or []
            if errors:
                first = md(errors[0])[:300]
                s.lines.append(
                    f"- {code(src.get('source'))}: {len(errors)} error(s); first: {first}"
                )
            if src.get("stopped"):
                s.lines.append(f"- {code(src.get('source'))}: stopped early: {md(src['stopped'])}")
        stopped = self.rows(s, USAGE_SQL, [self.run_id])
        named = {line for line in s.lines}
        for u in stopped:
            line = f"- {code(u['source'])}: stopped early: {md(u['stopped_reason'])}"
            if line not in named:
                s.lines.append(line + f" ({u['requests']} requests, usage_ledger)")
        quarantined = self.rows(s, QUARANTINE_SQL, [self.run_id])
        for q in quarantined:
            s.lines.append(
                f"- {code(q['source'])}: {q['records']} {md(q['entity'])} record(s) newly quarantined "
                f"(e.g. {md(q['example_reason'])})"
            )
        if not s.lines:
            if per_source:
                s.lines.append(
                    f"None: all {len(per_source)} sources finished, no record quarantined."
                )
            else:
                s.lines.append("None: this run fetched nothing (a rebuild from stored data).")


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return md(value)


def render_digest(con: Any, run_id: str) -> str:
    """Markdown digest of run `run_id`, compared with the run before it."""
    return Digest(con, run_id).render()

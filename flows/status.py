"""`scholarflow status`: the last runs, each source's freshness, today's budget use and what sits
in quarantine, read from the warehouse without changing it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flows import warehouse
from flows.sources import SOURCES, raw_table
from flows.watchlist import Watchlist

Row = dict[str, Any]


def _freshness(con: Any) -> list[Row]:
    """Per source: records held, when one last arrived, and the watermarks incremental
    fetching keeps."""
    rows: dict[str, Row] = {}
    for slug, source in sorted(SOURCES.items()):
        held, newest = 0, None
        for entity in source.entities:
            table = raw_table(slug, entity)
            if not warehouse.has_table(con, table):
                continue
            n, last = warehouse.query(con, f"select count(*), max(_fetched_at) from {table}")[0]
            held += int(n)
            newest = max((t for t in (newest, last) if t is not None), default=None)
        rows[slug] = {"source": slug, "records": held, "last_fetched_at": newest}
    if warehouse.has_table(con, "runs"):
        # the last run that fetched the source completely, and how its most recent attempt went
        recent = warehouse.query_dicts(
            con,
            "select started_at, stats from runs where stats is not null "
            "order by started_at desc limit 500",
        )
        for run in recent:
            stats = json.loads(run["stats"]) if isinstance(run["stats"], str) else run["stats"]
            for src in (stats or {}).get("sources", []):
                row = rows.setdefault(src["source"], {"source": src["source"], "records": 0})
                ok = not src.get("errors") and not src.get("stopped")
                row.setdefault("last_attempt", "ok" if ok else (src.get("stopped") or "errors"))
                if ok:
                    row.setdefault("last_complete_at", run["started_at"])
    if warehouse.has_table(con, "fetch_state"):
        for r in warehouse.query_dicts(
            con,
            "select source, count(*) as entries, min(watermark) as oldest_watermark, "
            "min(full_fetch_on) as oldest_full_fetch from fetch_state group by source",
        ):
            rows.setdefault(r["source"], {"source": r["source"], "records": 0}).update(r)
    return list(rows.values())


def status_report(con: Any, watchlist: Watchlist | None, runs: int = 10) -> Row:
    today = datetime.now(UTC).date()
    report: Row = {"runs": [], "sources": _freshness(con), "budgets": [], "quarantine": []}
    if warehouse.has_table(con, "runs"):
        report["runs"] = warehouse.query_dicts(
            con,
            "select run_id, command, mode, status, started_at, "
            "round(epoch(finished_at - started_at), 1) as seconds, sources "
            "from runs order by started_at desc, run_id desc limit ?",
            [runs],
        )
    if warehouse.has_table(con, "usage_ledger"):
        spent = {
            r["source"]: r
            for r in warehouse.query_dicts(
                con,
                "select source, sum(requests) as requests, sum(cost_units) as cost_units "
                "from usage_ledger where usage_date = ? and mode = 'live' group by source",
                [today],
            )
        }
        budgets = dict(watchlist.budgets) if watchlist else {}
        for slug in sorted(set(spent) | set(budgets)):
            used = float(spent.get(slug, {}).get("cost_units") or 0.0)
            budget = budgets.get(slug)
            report["budgets"].append(
                {
                    "source": slug,
                    "day": today.isoformat(),
                    "requests": int(spent.get(slug, {}).get("requests") or 0),
                    "cost_units": used,
                    # what one unit is (the source's SPEC.cost_unit): a request unless priced
                    "unit": SOURCES[slug].spec.cost_unit if slug in SOURCES else "request",
                    "daily_budget": budget,
                    "pct_used": round(100 * used / budget, 1) if budget else None,
                }
            )
    if warehouse.has_table(con, "quarantine"):
        report["quarantine"] = warehouse.query_dicts(
            con,
            "select source, entity, count(*) as records, max(quarantined_at) as last_at, "
            "arg_max(reason, quarantined_at) as last_reason "
            "from quarantine group by source, entity order by records desc, source, entity",
        )
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


def _table(rows: list[Row], columns: list[tuple[str, str]]) -> list[str]:
    cells = [[_fmt(r.get(k)) for k, _ in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (_, h) in enumerate(columns)]
    line = "  ".join(h.ljust(w) for (_, h), w in zip(columns, widths, strict=True))
    out = ["  " + line.rstrip()]
    for c in cells:
        out.append("  " + "  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    return out


def render_status(report: Row) -> str:
    out = ["last runs"]
    out += (
        _table(
            report["runs"],
            [("run_id", "run"), ("command", "command"), ("mode", "mode"), ("status", "status"),
             ("started_at", "started"), ("seconds", "seconds")],
        )
        if report["runs"]
        else ["  none yet"]
    )  # fmt: skip
    out += ["", "sources (freshness)"]
    out += _table(
        report["sources"],
        [("source", "source"), ("records", "records"), ("last_complete_at", "last complete fetch"),
         ("last_attempt", "last attempt"), ("last_fetched_at", "last changed record"),
         ("entries", "watched entries"), ("oldest_watermark", "oldest watermark"),
         ("oldest_full_fetch", "oldest full fetch")],
    )  # fmt: skip
    out += ["", "budgets today (UTC, live runs)"]
    out += (
        _table(
            report["budgets"],
            [("source", "source"), ("requests", "requests"), ("cost_units", "units"),
             ("unit", "unit"), ("daily_budget", "budget"), ("pct_used", "% used")],
        )
        if report["budgets"]
        else ["  nothing spent today and no budgets set"]
    )  # fmt: skip
    out += ["", "quarantine"]
    out += (
        _table(
            report["quarantine"],
            [("source", "source"), ("entity", "entity"), ("records", "records"),
             ("last_at", "last"), ("last_reason", "last reason")],
        )
        if report["quarantine"]
        else ["  empty"]
    )  # fmt: skip
    return "\n".join(out) + "\n"


def to_json(report: Row) -> str:
    return json.dumps(report, default=_fmt, indent=2, ensure_ascii=False)

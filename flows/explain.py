"""`scholarflow explain paper ID` / `explain author NAME|ID`: why the warehouse says what it says.

Read-only: opens the warehouse with `warehouse.reader` and queries it through
`flows.warehouse` (the DuckDB boundary). Each explanation is first a plain dict (printed as JSON
with --json) and then rendered as text. A table the warehouse does not hold yet (an older build)
makes its section say "not built yet" instead of failing.

explain paper: the canonical id, which source won each field and why (work_fields), the versions
(work_versions), every merged source record with the rule, score and record it matched
(work_xref), citations per source (never summed), the watched authors credited and how
(authorships), flags, and the overrides.toml entries that name the paper.

explain author: the crosswalk of source ids (rule, confidence, supporting works), the name
variants seen, flags, and why each h-index has its value: per citation source the papers ranked
by citations, which of them are in the h-core (cited >= rank), h/g/i10 recomputed and checked
against metrics.citations_per_author, and the works overrides.toml excludes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flows import warehouse
from flows.overrides import Overrides
from flows.sources import SOURCES
from flows.watchlist import Watchlist
from transforms import ids
from transforms import names as person_names

Con = Any  # a read-only warehouse connection (flows.warehouse.reader)
Row = dict[str, Any]

CITATION_SOURCES = ("openalex", "semantic_scholar", "best")
_ORCID = re.compile(r"^(?:https://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
NOT_BUILT = "not built yet"


class NotFound(LookupError):
    """Nothing in the warehouse answers to the query."""


@dataclass
class Ambiguous(LookupError):
    """Several papers or authors answer to the query."""

    query: str
    what: str
    candidates: list[Row]

    def __str__(self) -> str:
        return f"{self.query!r} names {len(self.candidates)} {self.what}s: give one of their ids"


# ---------------------------------------------------------------- small helpers


def _has(con: Con, table: str, schema: str = "main") -> bool:
    return warehouse.has_table(con, table, schema)


def _rows(con: Con, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return warehouse.query_dicts(con, sql, params)


def _columns(con: Con, table: str) -> set[str]:
    return {r["column_name"] for r in _rows(con, f"describe {table}")}


def _records_table(con: Con) -> str | None:
    """work_xref (entity resolution) or, in a warehouse built before it, paper_xref."""
    return next((t for t in ("work_xref", "paper_xref") if _has(con, t)), None)


def _crosswalk_table(con: Con) -> str | None:
    return next((t for t in ("author_crosswalk", "author_xref") if _has(con, t)), None)


def parse_work_ref(text: str) -> tuple[str, str]:
    """-> (kind, value): ("doi", d), ("arxiv", id), ("record", "slug:id"), ("paper", id) or
    ("text", q) for anything else (searched in titles)."""
    q = text.strip()
    doi = ids.doi(q)
    if doi:
        # arXiv's DataCite DOI names the arXiv id
        aid = ids.arxiv_id_from_doi(doi)
        return ("arxiv", aid) if aid else ("doi", doi)
    aid = ids.arxiv_id(q)
    if aid:
        return "arxiv", aid
    slug, sep, rest = q.partition(":")
    if sep and slug in SOURCES and rest:
        return "record", f"{slug}:{rest}"
    if sep and slug == "t":
        return "paper", q
    if re.match(r"^W\d{4,}$", q, re.I):
        return "record", f"openalex:{q.upper()}"
    return "text", q


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def to_json(report: Row) -> str:
    return json.dumps(_jsonable(report), indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- papers


def find_papers(con: Con, query: str) -> list[Row]:
    """Candidate papers (paper_id, title, year, matched_by) for an id, ref or title words."""
    if not _has(con, "papers"):
        raise NotFound("the warehouse holds no papers yet: run `scholarflow run` or `build`")
    exact = _rows(con, "select paper_id from papers where paper_id = ?", [query.strip()])
    if exact:
        return _paper_candidates(con, [r["paper_id"] for r in exact], "paper_id")
    kind, value = parse_work_ref(query)
    records = _records_table(con)
    ids: list[str] = []
    if kind in ("doi", "arxiv"):
        col = "doi" if kind == "doi" else "arxiv_id"
        ids += [
            r["paper_id"]
            for r in _rows(con, f"select paper_id from papers where {col} = ?", [value])
        ]
        for table in (records, "work_versions" if _has(con, "work_versions") else None):
            if table:
                ids += [
                    r["paper_id"]
                    for r in _rows(
                        con, f"select distinct paper_id from {table} where {col} = ?", [value]
                    )
                ]
    elif kind == "record" and records:
        slug, _, rid = value.partition(":")
        ids += [
            r["paper_id"]
            for r in _rows(
                con,
                f"select distinct paper_id from {records} where source = ? "
                "and lower(source_work_id) = lower(?)",
                [slug, rid],
            )
        ]
    elif kind == "text" and len(value) >= 4:
        ids += [
            r["paper_id"]
            for r in _rows(
                con,
                "select paper_id from papers where strip_accents(lower(title)) like ? "
                "order by paper_id limit 50",
                ["%" + _fold(value) + "%"],
            )
        ]
    return _paper_candidates(con, list(dict.fromkeys(ids)), kind)


def _paper_candidates(con: Con, ids: list[str], matched_by: str) -> list[Row]:
    if not ids:
        return []
    rows = _rows(
        con,
        "select paper_id, title, year, venue from papers where list_contains(?, paper_id) "
        "order by paper_id",
        [ids],
    )
    return [{**r, "matched_by": matched_by} for r in rows]


def resolve_paper(con: Con, query: str) -> str:
    found = find_papers(con, query)
    if not found:
        raise NotFound(f"no paper matches {query!r} (paper id, doi:, arxiv:, <source>:<id>)")
    if len(found) > 1:
        raise Ambiguous(query, "paper", found)
    return str(found[0]["paper_id"])


def _paper_keys(paper: Row, records: list[Row]) -> set[str]:
    """Every reference form that names this paper (for matching overrides entries)."""
    keys = {str(paper["paper_id"]).lower()}
    for r in [paper, *records]:
        if r.get("doi"):
            keys.add("doi:" + str(r["doi"]).lower())
        if r.get("arxiv_id"):
            keys.add("arxiv:" + str(r["arxiv_id"]).lower())
    for r in records:
        keys.add(f"{r['source']}:{r['source_work_id']}".lower())
    return keys


def _ref_key(ref: str) -> str:
    kind, value = parse_work_ref(ref)
    if kind in ("doi", "arxiv"):
        return f"{kind}:{value}".lower()
    return (value if kind != "text" else ref).lower()


def explain_paper(con: Con, query: str, overrides: Overrides | None = None) -> Row:
    paper_id = resolve_paper(con, query)
    paper = _rows(con, "select * from papers where paper_id = ?", [paper_id])[0]
    report: Row = {"kind": "paper", "query": query, "paper_id": paper_id, "paper": paper}
    missing: list[str] = []

    def section(table: str, sql: str, params: Sequence[Any]) -> list[Row] | None:
        if not _has(con, table):
            missing.append(table)
            return None
        return _rows(con, sql, params)

    report["fields"] = section(
        "work_fields",
        "select field, value, source, source_work_id, rule from work_fields "
        "where paper_id = ? order by field",
        [paper_id],
    )
    report["versions"] = section(
        "work_versions",
        "select * from work_versions where paper_id = ? "
        "order by version_kind desc, year nulls last, version_id",
        [paper_id],
    )
    records_table = _records_table(con)
    if records_table is None:
        missing.append("work_xref")
        records: list[Row] = []
        report["records"] = None
    else:
        if records_table != "work_xref":
            missing.append("work_xref")
        records = _rows(
            con,
            f"select * from {records_table} where paper_id = ? order by source, source_work_id",
            [paper_id],
        )
        keep = (
            "source",
            "source_work_id",
            "rule",
            "score",
            "matched_source",
            "matched_source_work_id",
            "doi",
            "arxiv_id",
            "title",
            "year",
            "venue",
            "cited_by_count",
            "_run_id",
        )
        report["records"] = [{k: r.get(k) for k in keep} for r in records]
    report["citations"] = section(
        "paper_citations",
        "select source, cited_by_count, source_work_id, observed_at from paper_citations "
        "where paper_id = ? order by source",
        [paper_id],
    )
    if _has(con, "authorships"):
        have = _columns(con, "authorships")
        extra = [c for c in ("match_rule", "match_confidence") if c in have]
        report["authors"] = _rows(
            con,
            "select position, author_name, author_id, is_watched, source, source_author_id"
            + "".join(f", {c}" for c in extra)
            + " from authorships where paper_id = ? "
            "order by position nulls last, author_id",
            [paper_id],
        )
    else:
        missing.append("authorships")
        report["authors"] = None
    report["flags"] = _flags(con, missing, "work", paper_id, records_table)
    keys = _paper_keys(paper, records)
    report["overrides"] = [
        {k: e[k] for k in ("kind", "researcher_id", "works", "reason", "line")}
        for e in (overrides.rows if overrides else [])
        if any(_ref_key(w) in keys for w in e["works"])
    ]
    report["overrides_file"] = str(overrides.path) if overrides and overrides.path else None
    report["not_built"] = sorted(set(missing))
    return report


def _flags(
    con: Con, missing: list[str], entity: str, entity_id: str, via: str | None
) -> list[Row] | None:
    """resolution_flags about the entity itself or about one of its source records/ids."""
    if not _has(con, "resolution_flags"):
        missing.append("resolution_flags")
        return None
    if via is None:
        return _rows(
            con,
            "select * from resolution_flags where entity = ? and entity_id = ? order by kind",
            [entity, entity_id],
        )
    key = "author_id" if entity == "author" else "paper_id"
    rid = "source_author_id" if entity == "author" else "source_work_id"
    return _rows(
        con,
        f"""select distinct f.* from resolution_flags f
            where f.entity = ? and (f.entity_id = ? or exists (
                select 1 from {via} x
                where x.{key} = ? and x.source = f.source and x.{rid} = f.source_id))
            order by f.kind, f.source, f.source_id""",
        [entity, entity_id, entity_id],
    )


# ---------------------------------------------------------------- authors


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(sorted(_fold(text).split()))


def find_authors(
    con: Con,
    query: str,
    watchlist: Watchlist | None = None,
    overrides: Overrides | None = None,
) -> list[Row]:
    """Candidate authors (author_id, display_name, is_watched, matched_by)."""
    if not _has(con, "authors"):
        raise NotFound("the warehouse holds no authors yet: run `scholarflow run` or `build`")
    q = query.strip()
    found: dict[str, str] = {}
    for r in _rows(con, "select author_id from authors where author_id = ?", [q]):
        found[r["author_id"]] = "author_id"
    crosswalk = _crosswalk_table(con)
    orcid = _ORCID.match(q.removeprefix("orcid:"))
    slug, sep, rest = q.partition(":")
    if not found and orcid:
        for r in _rows(con, "select author_id from authors where orcid = ?", [orcid.group(1)]):
            found[r["author_id"]] = "orcid"
    elif not found and sep and slug in SOURCES and rest and crosswalk:
        for r in _rows(
            con,
            f"select distinct author_id from {crosswalk} where source = ? "
            "and lower(source_author_id) = lower(?)",
            [slug, rest],
        ):
            found[r["author_id"]] = f"{slug} id"
    if not found:
        found = _authors_by_name(con, q, crosswalk, watchlist, overrides)
    if not found:
        return []
    rows = _rows(
        con,
        "select author_id, display_name, is_watched from authors "
        "where list_contains(?, author_id) order by is_watched desc, author_id",
        [list(found)],
    )
    return [{**r, "matched_by": found[r["author_id"]]} for r in rows]


def _authors_by_name(
    con: Con,
    q: str,
    crosswalk: str | None,
    watchlist: Watchlist | None,
    overrides: Overrides | None,
) -> dict[str, str]:
    """Names matched by name key ("Zhuo, Danyang" = "Danyang Zhuo" = "DANYANG ZHUO"), any
    alias of the watchlist or overrides.toml, diacritics ignored; then by the same words in
    any order."""
    words = _fold(q).split()
    if not words:
        return {}
    longest = max(words, key=len)
    pattern = f"%{longest}%"
    names: list[tuple[str, str]] = [
        (r["author_id"], r["name"])
        for r in _rows(
            con,
            "select author_id, display_name as name from authors "
            "where strip_accents(lower(display_name)) like ?",
            [pattern],
        )
    ]
    if _has(con, "authorships"):
        names += [
            (r["author_id"], r["name"])
            for r in _rows(
                con,
                "select distinct author_id, author_name as name from authorships "
                "where strip_accents(lower(author_name)) like ?",
                [pattern],
            )
        ]
    if crosswalk and "source_name" in _columns(con, crosswalk):
        names += [
            (r["author_id"], r["name"])
            for r in _rows(
                con,
                f"select distinct author_id, source_name as name from {crosswalk} "
                "where strip_accents(lower(source_name)) like ?",
                [pattern],
            )
        ]
    for r in watchlist.researchers if watchlist else []:
        names += [(r.researcher_id, n) for n in r.all_names]
    for e in overrides.rows if overrides else []:
        if e["kind"] == "alias" and e["researcher_id"]:
            names += [(e["researcher_id"], n) for n in e["names"]]
    wanted = person_names.wanted_keys([q])
    by_key = {a: "name" for a, n in names if n and person_names.matches(n, wanted)}
    if by_key:
        return by_key
    tokens = _tokens(q)
    return {a: "name words" for a, n in names if n and _tokens(n) == tokens}


def resolve_author(
    con: Con, query: str, watchlist: Watchlist | None = None, overrides: Overrides | None = None
) -> tuple[str, list[Row]]:
    """-> (author_id, the other candidates). Several matches where exactly one is a watched
    researcher resolve to that researcher (the others are listed); otherwise Ambiguous."""
    found = find_authors(con, query, watchlist, overrides)
    if not found:
        raise NotFound(f"no author matches {query!r} (author id, name, alias, orcid:, <source>:id)")
    if len(found) == 1:
        return str(found[0]["author_id"]), []
    watched = [r for r in found if r["is_watched"]]
    if len(watched) == 1:
        return str(watched[0]["author_id"]), [r for r in found if not r["is_watched"]]
    raise Ambiguous(query, "author", found)


def rank_citations(papers: list[Row]) -> dict[str, Any]:
    """Papers (paper_id, cited_by_count, ...) ranked by count desc then paper_id (the order of
    metrics.citations_per_author), with rank, cumulative count and h-core membership; and the
    h, g and i10 indices that ranking gives."""
    ranked = sorted(papers, key=lambda p: (-int(p["cited_by_count"]), str(p["paper_id"])))
    out, total, h, g = [], 0, 0, 0
    for rank, p in enumerate(ranked, 1):
        count = int(p["cited_by_count"])
        total += count
        in_core = count >= rank
        if in_core:
            h = rank
        if total >= rank * rank:
            g = rank
        out.append({**p, "rank": rank, "cumulative": total, "in_h_core": in_core})
    i10 = sum(1 for p in ranked if int(p["cited_by_count"]) >= 10)
    return {
        "works": len(ranked),
        "citations": total,
        "h_index": h,
        "g_index": g,
        "i10_index": i10,
        "papers": out,
    }


def explain_author(
    con: Con,
    query: str,
    watchlist: Watchlist | None = None,
    overrides: Overrides | None = None,
) -> Row:
    author_id, others = resolve_author(con, query, watchlist, overrides)
    author = _rows(con, "select * from authors where author_id = ?", [author_id])[0]
    report: Row = {"kind": "author", "query": query, "author_id": author_id, "author": author}
    if others:
        report["also_matches"] = others
    missing: list[str] = []
    crosswalk = _crosswalk_table(con)
    if crosswalk is None or crosswalk != "author_crosswalk":
        missing.append("author_crosswalk")
    report["crosswalk"] = (
        _rows(
            con,
            f"select * from {crosswalk} where author_id = ? order by source, source_author_id",
            [author_id],
        )
        if crosswalk
        else None
    )
    have_authorships = _has(con, "authorships")
    if not have_authorships:
        missing.append("authorships")
    report["names"] = (
        _rows(
            con,
            "select author_name as name, count(distinct paper_id) as papers, "
            "list(distinct source order by source) as sources from authorships "
            "where author_id = ? group by author_name order by papers desc, name",
            [author_id],
        )
        if have_authorships
        else None
    )
    report["flags"] = _flags(con, missing, "author", author_id, crosswalk)
    entries = [e for e in (overrides.rows if overrides else []) if e["researcher_id"] == author_id]
    report["overrides"] = [
        {k: e[k] for k in ("kind", "works", "names", "ids", "reason", "line")} for e in entries
    ]
    report["overrides_file"] = str(overrides.path) if overrides and overrides.path else None
    report["metrics"] = (
        _metrics(con, author_id, missing) if have_authorships and _has(con, "papers") else None
    )
    if report["metrics"] is not None and not report["author"].get("is_watched"):
        # indices of someone the watchlist does not follow rest on the few works met by chance
        report["metrics"]["partial"] = True
    report["excluded_by_overrides"] = _excluded(con, author_id, entries)
    report["not_built"] = sorted(set(missing))
    return report


def _metrics(con: Con, author_id: str, missing: list[str]) -> Row | None:
    if not _has(con, "paper_citations"):
        missing.append("paper_citations")
        return None
    if not _has(con, "paper_best_citations", warehouse.VIEW_SCHEMA):
        # "best" has one definition, the view's precedence rule: no view, no best figures
        missing.append(f"{warehouse.VIEW_SCHEMA}.paper_best_citations")
        return None
    rows = _rows(
        con,
        f"""with mine as (select distinct paper_id from authorships where author_id = ?)
           select mine.paper_id, p.title, p.year, c.source, c.cited_by_count,
                  b.best_citations, b.best_source, b.counts_in_indices
           from mine left join papers p on p.paper_id = mine.paper_id
           left join paper_citations c on c.paper_id = mine.paper_id
           left join {warehouse.VIEW_SCHEMA}.paper_best_citations b on b.paper_id = mine.paper_id
           order by mine.paper_id, c.source""",
        [author_id],
    )
    papers: dict[str, Row] = {}
    per_source: dict[str, list[Row]] = {s: [] for s in CITATION_SOURCES}
    for r in rows:
        base = papers.setdefault(
            r["paper_id"],
            {
                "paper_id": r["paper_id"],
                "title": r["title"],
                "year": r["year"],
                "counts": {},
                "best": (int(r["best_citations"] or 0), r["best_source"]),
                "counted": r["counts_in_indices"] is not False,
            },
        )
        if r["source"] is not None and r["cited_by_count"] is not None:
            base["counts"][r["source"]] = max(
                int(r["cited_by_count"]), base["counts"].get(r["source"], 0)
            )
    retracted: list[Row] = []
    for p in papers.values():
        short = {"paper_id": p["paper_id"], "title": p["title"], "year": p["year"]}
        if not p["counted"]:
            retracted.append(short)  # retracted works are listed, never ranked
            continue
        for source in ("openalex", "semantic_scholar"):
            if source in p["counts"]:
                per_source[source].append({**short, "cited_by_count": p["counts"][source]})
        count, source = p["best"]
        per_source["best"].append({**short, "cited_by_count": count, "best_source": source})
    view: dict[str, Row] = {}
    if _has(con, "citations_per_author", warehouse.VIEW_SCHEMA):
        view = {
            r["source"]: r
            for r in _rows(
                con,
                f"select * from {warehouse.VIEW_SCHEMA}.citations_per_author where author_id = ?",
                [author_id],
            )
        }
    else:
        missing.append(f"{warehouse.VIEW_SCHEMA}.citations_per_author")
    out: Row = {}
    for source in CITATION_SOURCES:
        ranked = rank_citations(per_source[source])
        reported = view.get(source)
        if reported is not None:
            ranked["view"] = {k: reported.get(k) for k in ("h_index", "g_index", "i10_index")}
            ranked["agrees_with_view"] = all(
                reported.get(k) == ranked[k] for k in ("h_index", "g_index", "i10_index")
            )
            ranked["source_reported_h_index"] = reported.get("source_reported_h_index")
        out[source] = ranked
    out["retracted"] = retracted
    if _has(con, "h_index_by_year", warehouse.VIEW_SCHEMA):
        out["h_index_by_year"] = _rows(
            con,
            f"select year, works_to_date, citations_to_date, h_index from "
            f"{warehouse.VIEW_SCHEMA}.h_index_by_year where author_id = ? order by year",
            [author_id],
        )
    return out


def _excluded(con: Con, author_id: str, entries: list[Row]) -> list[Row]:
    """The works not_author entries take away from this researcher, and whether the last build
    honoured them (the paper is no longer credited to the author)."""
    out: list[Row] = []
    credited: set[str] = set()
    if _has(con, "authorships"):
        credited = {
            r["paper_id"]
            for r in _rows(
                con, "select distinct paper_id from authorships where author_id = ?", [author_id]
            )
        }
    for e in entries:
        if e["kind"] != "not_author":
            continue
        for ref in e["works"]:
            try:
                papers = find_papers(con, ref)
            except NotFound:
                papers = []
            out.append(
                {
                    "ref": ref,
                    "line": e["line"],
                    "reason": e["reason"],
                    "papers": [
                        {
                            "paper_id": p["paper_id"],
                            "title": p["title"],
                            "still_credited": p["paper_id"] in credited,
                        }
                        for p in papers
                    ],
                }
            )
    return out


# ---------------------------------------------------------------- text


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _cut(text: Any, width: int) -> str:
    s = _fmt(text)
    return s if len(s) <= width else s[: width - 1] + "…"


def _table(rows: list[Row], columns: list[tuple[str, str, int]]) -> list[str]:
    """Rows as aligned text; columns: (key, header, max width)."""
    cells = [[_cut(r.get(k), w) for k, _, w in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (_, h, _w) in enumerate(columns)]
    head = "  ".join(h.ljust(widths[i]) for i, (_, h, _w) in enumerate(columns)).rstrip()
    lines = ["    " + head]
    lines += [
        "    " + "  ".join(c[i].ljust(widths[i]) for i in range(len(c))).rstrip() for c in cells
    ]
    return lines


def _section(
    out: list[str], title: str, rows: list[Row] | None, render: Callable[[list[Row]], list[str]]
) -> None:
    out.append("")
    out.append(title)
    if rows is None:
        out.append(f"  {NOT_BUILT}")
    elif not rows:
        out.append("  (none)")
    else:
        out.extend(render(rows))


def render_paper(report: Row) -> str:
    p = report["paper"]
    out = [f"paper {report['paper_id']}"]
    out.append(f"  {p.get('title')}")
    out.append(
        f"  {_fmt(p.get('year'))} · {_fmt(p.get('venue'))} · doi {_fmt(p.get('doi'))} · "
        f"arXiv {_fmt(p.get('arxiv_id'))}"
    )
    _section(
        out,
        "fields (the source that won each, and why)",
        report["fields"],
        lambda rows: _table(
            rows,
            [
                ("field", "field", 16),
                ("value", "value", 48),
                ("source", "source", 16),
                ("source_work_id", "record", 28),
                ("rule", "why", 48),
            ],
        ),
    )
    _section(
        out,
        "versions",
        report["versions"],
        lambda rows: _table(
            rows,
            [
                ("version_kind", "kind", 10),
                ("version_id", "version", 30),
                ("venue", "venue", 24),
                ("year", "year", 4),
                ("sources", "sources", 40),
                ("n_records", "records", 7),
            ],
        ),
    )
    _section(
        out,
        "source records merged into it",
        report["records"],
        lambda rows: _table(
            [
                {
                    **r,
                    "matched": f"{r['matched_source']}:{r['matched_source_work_id']}"
                    if r.get("matched_source")
                    else None,
                }
                for r in rows
            ],
            [
                ("source", "source", 16),
                ("source_work_id", "record", 30),
                ("rule", "rule", 14),
                ("score", "score", 5),
                ("matched", "matched", 36),
                ("year", "year", 4),
                ("title", "title", 40),
            ],
        ),
    )
    _section(
        out,
        "citations per source (never summed)",
        report["citations"],
        lambda rows: _table(
            rows,
            [
                ("source", "source", 16),
                ("cited_by_count", "cited by", 8),
                ("source_work_id", "record", 30),
                ("observed_at", "observed", 25),
            ],
        ),
    )
    watched = (
        None if report["authors"] is None else [a for a in report["authors"] if a["is_watched"]]
    )
    _section(
        out,
        "watched authors credited",
        watched,
        lambda rows: _table(
            rows,
            [
                ("author_id", "author", 20),
                ("author_name", "as listed", 24),
                ("position", "pos", 3),
                ("match_rule", "rule", 14),
                ("match_confidence", "confidence", 10),
                ("source", "source", 16),
                ("source_author_id", "source id", 24),
            ],
        ),
    )
    if report["authors"]:
        out.append(f"  ({len(report['authors'])} authors in all)")
    _flags_text(out, report["flags"])
    _overrides_text(out, report)
    _not_built_text(out, report)
    return "\n".join(out) + "\n"


def _flags_text(out: list[str], flags: list[Row] | None) -> None:
    _section(
        out,
        "flags",
        flags,
        lambda rows: _table(
            rows,
            [
                ("kind", "kind", 22),
                ("source", "source", 16),
                ("source_id", "source id", 28),
                ("line", "line", 5),
                ("detail", "detail", 70),
            ],
        ),
    )


def _overrides_text(out: list[str], report: Row) -> None:
    where = report.get("overrides_file") or "overrides.toml"
    entries = report["overrides"]
    if not entries:
        return
    out.append("")
    out.append(f"overrides ({where})")
    for e in entries:
        target = e.get("works") or [*e.get("names", []), *e.get("ids", [])]
        who = f" {e['researcher_id']}" if e.get("researcher_id") else ""
        out.append(f"  line {e['line']}: [[{e['kind']}]]{who} {_fmt(target)} — {e['reason']}")


def _not_built_text(out: list[str], report: Row) -> None:
    if report["not_built"]:
        out.append("")
        out.append(f"not built yet in this warehouse: {', '.join(report['not_built'])}")


def render_author(report: Row, top: int = 5) -> str:
    a = report["author"]
    watched = "watched researcher" if a.get("is_watched") else "not on the watchlist"
    out = [f"author {report['author_id']}  ({a.get('display_name')}; {watched})"]
    if a.get("orcid"):
        out.append(f"  ORCID {a['orcid']}")
    for o in report.get("also_matches", []):
        out.append(f"  also matches {o['author_id']} ({o['display_name']}): not watched")
    _section(
        out,
        "crosswalk (source ids linked to this author)",
        report["crosswalk"],
        lambda rows: _table(
            rows,
            [
                ("source", "source", 16),
                ("source_author_id", "source id", 30),
                ("source_name", "name there", 24),
                ("rule", "rule", 16),
                ("confidence", "confidence", 10),
                ("n_works", "works", 5),
            ],
        ),
    )
    _section(
        out,
        "name variants seen",
        report["names"],
        lambda rows: _table(
            rows, [("name", "name", 32), ("papers", "papers", 6), ("sources", "sources", 60)]
        ),
    )
    _flags_text(out, report["flags"])
    _overrides_text(out, report)
    if report["excluded_by_overrides"]:
        out.append("")
        out.append("works excluded by overrides (not_author)")
        for x in report["excluded_by_overrides"]:
            papers = x["papers"]
            if not papers:
                out.append(f"  line {x['line']}: {x['ref']}: names no paper in this warehouse")
            for p in papers:
                state = "STILL CREDITED" if p["still_credited"] else "excluded"
                out.append(
                    f"  line {x['line']}: {x['ref']} -> {p['paper_id']} ({_cut(p['title'], 50)}): "
                    f"{state} — {x['reason']}"
                )
    metrics = report["metrics"]
    out.append("")
    out.append("why the h-index has its value (a paper is in the h-core when cited >= its rank)")
    if metrics is not None and not a.get("is_watched"):
        # the warehouse holds only the works it met through watched researchers and topics:
        # an index from those would look like this person's and is not
        out.append(
            f"  partial: not on the watchlist, so only the {len(metrics['best']['papers'])} "
            "work(s) this warehouse happens to hold are known; no index is computed"
        )
    elif metrics is None:
        out.append(f"  {NOT_BUILT}")
    else:
        out.append(
            "  best: per work the count of the first source in metrics.citation_source_precedence"
        )
        for source in CITATION_SOURCES:
            m = metrics[source]
            check = ""
            if "agrees_with_view" in m:
                check = (
                    "  = metrics.citations_per_author"
                    if m["agrees_with_view"]
                    else f"  != metrics.citations_per_author {m['view']}"
                )
            reported = m.get("source_reported_h_index")
            said = f"; the source itself reports h {reported}" if reported is not None else ""
            out.append(
                f"  {source}: h {m['h_index']}, g {m['g_index']}, i10 {m['i10_index']} over "
                f"{m['works']} works, {m['citations']} citations{check}{said}"
            )
            shown = [p for p in m["papers"] if p["in_h_core"] or p["rank"] <= m["h_index"] + top]
            if shown:
                out.extend(
                    _table(
                        [{**p, "core": "yes" if p["in_h_core"] else "no"} for p in shown],
                        [
                            ("rank", "rank", 4),
                            ("cited_by_count", "cited", 6),
                            ("core", "h-core", 6),
                            ("paper_id", "paper", 28),
                            ("year", "year", 4),
                            ("title", "title", 50),
                        ],
                    )
                )
            rest = len(m["papers"]) - len(shown)
            if rest:
                out.append(f"    … {rest} more with fewer citations")
        for p in metrics.get("retracted", []):
            out.append(f"  retracted, not counted: {p['paper_id']} ({_cut(p['title'], 50)})")
        by_year = metrics.get("h_index_by_year")
        if by_year:
            out.append(
                "  h by year (best counts less OpenAlex counts_by_year of later years): "
                + ", ".join(f"{r['year']} {r['h_index']}" for r in by_year)
            )
    _not_built_text(out, report)
    return "\n".join(out) + "\n"


def render_candidates(exc: Ambiguous) -> str:
    lines = [str(exc)]
    for c in exc.candidates:
        if exc.what == "paper":
            lines.append(f"  {c['paper_id']}  {_fmt(c.get('year'))}  {_cut(c.get('title'), 70)}")
        else:
            watched = " (watched)" if c.get("is_watched") else ""
            lines.append(f"  {c['author_id']}  {c.get('display_name')}{watched}")
    return "\n".join(lines)

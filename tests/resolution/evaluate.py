"""Score the warehouse model's entity resolution against the evaluation set's truth.

    python -m tests.resolution.evaluate            # prints figures and every error by case

`evaluate()` parses every payload under `payloads/<slug>/` with the source's own parser (the
`where` is the file's path), lands the records as `raw_<slug>__<entity>` frames of the raw
schemas (lineage columns included, as the warehouse stores them), runs
`transforms.model.build_model` with the set's watchlist, and compares:

- works: pairwise precision / recall / F1 over source-record pairs (same true work vs same
  predicted paper_id, read from `work_xref`, or `paper_xref` on older code);
- watched authors: the set of (true work, researcher id) pairs from `authorships` rows with
  is_watched (a paper_id stands for the true work most of its records belong to) vs the truth
  mentions' pairs.

Every false or missed pair is kept with the hard cases of the works involved, so a failure names
its case. Works without a case count under "baseline".
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

import polars as pl

from flows.sources import ENTITY_KEYS, SOURCES
from flows.sources.base import Quarantined
from flows.watchlist import load_watchlist
from transforms import model
from transforms.sources import raw_schema

HERE = Path(__file__).resolve().parent
PAYLOADS = HERE / "payloads"
TRUTH = HERE / "truth.json"
WATCHLIST = HERE / "watchlist.toml"
FETCHED_AT = datetime(2026, 6, 1, tzinfo=UTC)
RUN_ID = "evalset"
BASELINE = "baseline"

Record = tuple[str, str]  # (source, source_work_id)


@dataclass
class Scores:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, what: str) -> str:
        return (
            f"{what}: P {self.precision:.4f}  R {self.recall:.4f}  F1 {self.f1:.4f}  "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )


@dataclass
class Evaluation:
    works: Scores
    authors: Scores
    n_records: int
    n_works: int
    n_mentions: int
    # (record a, record b, true work a, true work b, cases)
    false_merges: list[tuple[Record, Record, str, str, tuple[str, ...]]] = field(
        default_factory=list
    )
    missed_merges: list[tuple[Record, Record, str, str, tuple[str, ...]]] = field(
        default_factory=list
    )
    # (true work, researcher id, cases)
    false_authors: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    missed_authors: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    unresolved: list[Record] = field(default_factory=list)  # truth records missing from the xref
    xref_table: str = ""
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def errors_by_case(self) -> dict[str, dict[str, list[Any]]]:
        out: dict[str, dict[str, list[Any]]] = defaultdict(
            lambda: {
                "false_merges": [],
                "missed_merges": [],
                "false_authors": [],
                "missed_authors": [],
            }
        )
        for kind in ("false_merges", "missed_merges", "false_authors", "missed_authors"):
            for err in getattr(self, kind):
                for case in err[-1]:
                    out[case][kind].append(err)
        return dict(out)

    def report(self) -> str:
        lines = [
            f"evaluation set: {self.n_records} source records, {self.n_works} true works, "
            f"{self.n_mentions} watched-author mentions (xref from {self.xref_table})",
            self.works.line("works (pairwise)"),
            self.authors.line("watched authors (work, researcher)"),
        ]
        if self.quarantined:
            lines.append(f"quarantined while parsing: {len(self.quarantined)}")
            lines += [f"  {q}" for q in self.quarantined]
        if self.unresolved:
            lines.append(f"records missing from the xref: {self.unresolved}")
        for case, errs in sorted(self.errors_by_case().items()):
            counts = ", ".join(f"{k} {len(v)}" for k, v in errs.items() if v)
            lines.append(f"[{case}] {counts}")
            for a, b, wa, wb, _ in errs["false_merges"]:
                lines.append(f"  false merge  {a[0]}:{a[1]} ({wa})  +  {b[0]}:{b[1]} ({wb})")
            for a, b, wa, _, _ in errs["missed_merges"]:
                lines.append(f"  missed merge {a[0]}:{a[1]}  /  {b[0]}:{b[1]}  ({wa})")
            for w, rid, _ in errs["false_authors"]:
                lines.append(f"  false author {rid} on {w}")
            for w, rid, _ in errs["missed_authors"]:
                lines.append(f"  missed author {rid} on {w}")
        return "\n".join(lines)


# ------------------------------------------------------------------ loading


def payload_files(payloads: Path = PAYLOADS) -> list[Path]:
    return sorted(p for p in payloads.rglob("*") if p.is_file())


def load_raw(payloads: Path = PAYLOADS) -> tuple[dict[str, pl.LazyFrame], list[Quarantined]]:
    """Every payload through its source's parser -> raw landing frames (one per entity, keyed
    like the warehouse: a later record with the same primary key replaces the earlier one)."""
    buckets: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    quarantined: list[Quarantined] = []
    for path in payload_files(payloads):
        slug = path.parent.name
        where = path.relative_to(payloads).as_posix()
        page = SOURCES[slug].parse(path.read_bytes(), where, 200)
        quarantined += page.quarantined
        lineage = {"_run_id": RUN_ID, "_fetched_at": FETCHED_AT, "_response_sha256": where}
        for entity, records in page.records.items():
            key = ENTITY_KEYS[(slug, entity)]
            for rec in records:
                buckets[(slug, entity)][str(rec[key])] = {**rec, **lineage, "_record_hash": "-"}
    raw = {
        f"raw_{slug}__{entity}": pl.DataFrame(
            list(rows.values()), schema=raw_schema(slug, entity), strict=True
        ).lazy()
        for (slug, entity), rows in sorted(buckets.items())
    }
    return raw, quarantined


def researchers_frame(watchlist: Path = WATCHLIST) -> pl.LazyFrame:
    from flows.steps import _researcher_rows  # the pipeline's own watchlist -> researchers rows

    return model.researchers_frame(_researcher_rows(load_watchlist(watchlist)))


def build_tables(
    raw: dict[str, pl.LazyFrame], researchers: pl.LazyFrame
) -> dict[str, pl.DataFrame]:
    lazy = model.build_model(raw, researchers, model.topics_frame([]))
    names = list(lazy)
    return dict(zip(names, pl.collect_all([lazy[n] for n in names]), strict=True))


# ------------------------------------------------------------------ scoring


def _pairs(groups: Iterable[list[Record]]) -> set[tuple[Record, Record]]:
    return {(a, b) for g in groups for a, b in combinations(sorted(g), 2)}


def score(tables: dict[str, pl.DataFrame], truth: dict[str, Any]) -> Evaluation:
    works_meta = truth["works"]
    true_of: dict[Record, str] = {
        (r["source"], r["source_work_id"]): r["work"] for r in truth["records"]
    }

    def cases(*labels: str) -> tuple[str, ...]:
        found = sorted({c for w in labels for c in (works_meta[w]["cases"] or [BASELINE])})
        return tuple(found)

    xref_name = "work_xref" if "work_xref" in tables else "paper_xref"
    xref = tables[xref_name].select("paper_id", "source", "source_work_id").unique()
    pred_of: dict[Record, str] = {(s, i): p for p, s, i in xref.iter_rows() if (s, i) in true_of}
    unresolved = sorted(r for r in true_of if r not in pred_of)
    for r in unresolved:  # a record the model lost is its own (wrong) singleton
        pred_of[r] = f"<missing {r[0]}:{r[1]}>"

    by_true: dict[str, list[Record]] = defaultdict(list)
    by_pred: dict[str, list[Record]] = defaultdict(list)
    for r, w in true_of.items():
        by_true[w].append(r)
        by_pred[pred_of[r]].append(r)
    true_pairs, pred_pairs = _pairs(by_true.values()), _pairs(by_pred.values())
    works = Scores(
        tp=len(true_pairs & pred_pairs),
        fp=len(pred_pairs - true_pairs),
        fn=len(true_pairs - pred_pairs),
    )
    false_merges = [
        (a, b, true_of[a], true_of[b], cases(true_of[a], true_of[b]))
        for a, b in sorted(pred_pairs - true_pairs)
    ]
    missed = [
        (a, b, true_of[a], true_of[b], cases(true_of[a]))
        for a, b in sorted(true_pairs - pred_pairs)
    ]

    # a predicted paper stands for the true work most of its records belong to
    label_of: dict[str, str] = {
        p: Counter(true_of[r] for r in recs).most_common(1)[0][0] for p, recs in by_pred.items()
    }
    truth_authors = {
        (m_work, m["researcher_id"])
        for m in truth["mentions"]
        for m_work in [true_of[(m["source"], m["source_work_id"])]]
    }
    watched = tables["authorships"].filter(pl.col("is_watched")).select("paper_id", "author_id")
    pred_authors = {(label_of[p], a) for p, a in watched.unique().iter_rows() if p in label_of}
    authors = Scores(
        tp=len(truth_authors & pred_authors),
        fp=len(pred_authors - truth_authors),
        fn=len(truth_authors - pred_authors),
    )
    return Evaluation(
        works=works,
        authors=authors,
        n_records=len(true_of),
        n_works=len(by_true),
        n_mentions=len(truth["mentions"]),
        false_merges=false_merges,
        missed_merges=missed,
        false_authors=[(w, a, cases(w)) for w, a in sorted(pred_authors - truth_authors)],
        missed_authors=[(w, a, cases(w)) for w, a in sorted(truth_authors - pred_authors)],
        unresolved=unresolved,
        xref_table=xref_name,
        tables=tables,
    )


def load_truth(path: Path = TRUTH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def evaluate(
    payloads: Path = PAYLOADS, truth: Path = TRUTH, watchlist: Path = WATCHLIST
) -> Evaluation:
    raw, quarantined = load_raw(payloads)
    result = score(build_tables(raw, researchers_frame(watchlist)), load_truth(truth))
    result.quarantined = [f"{q.source}/{q.entity} {q.record_key}: {q.reason}" for q in quarantined]
    return result


def main() -> None:
    print(evaluate().report())


if __name__ == "__main__":
    main()

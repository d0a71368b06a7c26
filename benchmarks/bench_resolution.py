"""Entity-resolution benchmark: quality on the evaluation set, time and memory at scale.

    python benchmarks/bench_resolution.py [--works N] [--quick]

1. Evaluation set (tests/resolution/): pairwise precision / recall / F1 for works and for
   watched-author assignment, with counts and the hard cases that still fail.
2. Scale: synthetic staged works (transforms.staging.WORK_COLUMNS + AUTHORSHIP_COLUMNS), each
   true work seen by 1-4 sources with perturbed titles (case, punctuation, subtitle dropped,
   "The"/"A" dropped, British spelling, a typo), preprints a year early, shared DOIs / arXiv ids /
   DBLP keys, 3-8 authors, Zipf-distributed title words and many same-title collisions (generic
   short titles, reused titles by other authors). The resolver —
   `transforms.works.resolve_works(works, authorships)["work_xref"]` when that exists, else
   `transforms.model.resolve_papers(works)` — runs in a fresh subprocess per size; wall time and
   peak RSS (VmHWM, reset after the inputs are loaded where the kernel allows) are printed with
   the time per work relative to the smallest size (the baseline of the same run: ~1.0 means
   linear growth). Pairwise P/R/F1 against the synthetic truth is printed for each size.
   In the same subprocess, after the works: names parsed and `transforms.authors.resolve_authors`
   run with 120 watched researchers (by OpenAlex id, ORCID / S2 id, or name only), with time,
   peak RSS and (paper, watched researcher) precision / recall.
3. Thresholds: works P/R on both sets at other title-similarity / author-overlap values.
No timed assertions: figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from transforms import normalize as norm  # noqa: E402
from transforms.staging import AUTHORSHIP_COLUMNS, WORK_COLUMNS  # noqa: E402

SOURCES = ("openalex", "semantic_scholar", "arxiv", "crossref", "dblp")
GENERIC = (
    "Introduction",
    "Editorial",
    "Message from the Chairs",
    "Message from the Program Chairs",
    "Preface",
    "Keynote",
    "Efficient Memory Management",
    "Attention Is All You Need",
)
FIRST = [
    f"{a}{b}"
    for a in ("Al", "Be", "Ca", "Da", "El", "Fa", "Gi", "Ha", "Ji", "Ka")
    for b in ("ex", "na", "ro", "li", "an", "to", "mi", "ya")
]
LAST = [
    f"{a}{b}"
    for a in ("Zh", "Mu", "Al", "Sm", "Ng", "Ko", "Pa", "Ro", "Wa", "Li", "Su", "Ta")
    for b in ("uo", "ller", "varez", "ith", "uyen", "wal", "tel", "ssi", "ng", "u", "zuki", "naka")
]


def _words(n_vocab: int = 6000) -> tuple[list[str], list[float]]:
    vocab = [
        f"w{i}" + "".join(chr(97 + (i * 7 + k) % 26) for k in range(3 + i % 5))
        for i in range(n_vocab)
    ]
    cum, total = [], 0.0
    for rank in range(1, n_vocab + 1):
        total += 1.0 / rank
        cum.append(total)
    return vocab, cum


def _perturb(rng: random.Random, title: str) -> str:
    r = rng.random()
    if r < 0.08:
        return title.lower()
    if r < 0.14:
        return title + "."
    if r < 0.20 and ": " in title:
        return title.split(": ", 1)[1]
    if r < 0.24 and title.startswith(("The ", "A ")):
        return title.split(" ", 1)[1]
    if r < 0.28:
        return title.replace("iz", "is")
    if r < 0.32 and len(title) > 12:
        i = rng.randrange(1, len(title) - 2)
        return title[:i] + title[i + 1] + title[i] + title[i + 2 :]
    return title


def synthetic(
    n_records: int, seed: int = 11
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(works, authorships, truth(source, source_work_id, true_work), people(source,
    source_work_id, person, name): who each record lists) with about n_records works. People are drawn from a small name pool, so namesakes are
    common; OpenAlex and Semantic Scholar records carry author ids, and three in ten people have
    an ORCID that OpenAlex and Crossref records show."""
    rng = random.Random(seed)
    vocab, cum = _words()
    n_people = max(50, n_records // 3)
    people = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n_people)]
    titles: list[str] = []
    works: dict[str, list[Any]] = {c: [] for c in WORK_COLUMNS}
    auth: dict[str, list[Any]] = {c: [] for c in AUTHORSHIP_COLUMNS}
    truth: dict[str, list[Any]] = {"source": [], "source_work_id": [], "true_work": []}
    listed_by: dict[str, list[Any]] = {
        "source": [],
        "source_work_id": [],
        "position": [],
        "person": [],
        "name": [],
    }
    t = 0
    n = 0
    while n < n_records:
        r = rng.random()
        if r < 0.02:
            title = rng.choice(GENERIC)
        elif r < 0.05 and titles:
            title = rng.choice(titles)  # reused by another work
        else:
            words = rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 10))
            title = " ".join(w.capitalize() for w in words)
            if rng.random() < 0.3:
                title = f"{words[0].upper()}: {title}"
            if rng.random() < 0.1:
                title = "The " + title
            titles.append(title)
        year = rng.randint(2000, 2025)
        doi = f"10.{1000 + t % 9000}/syn.{t}" if rng.random() < 0.6 else None
        arxiv = (
            f"{year % 100:02d}{rng.randint(1, 12):02d}.{t % 100000:05d}"
            if rng.random() < 0.5
            else None
        )
        authors = rng.sample(range(n_people), rng.randint(3, 8))
        k = rng.choices((1, 2, 3, 4), weights=(30, 35, 25, 10))[0]
        sources = rng.sample(SOURCES, k)
        dblp_key = f"conf/syn/K{t}"
        for s in sources:
            if s == "arxiv" and not arxiv:
                continue
            if s == "crossref" and not doi:
                continue
            sid = {
                "openalex": f"W{t}{n % 10}",
                "semantic_scholar": f"{t:032x}{n % 10}",
                "arxiv": arxiv,
                "crossref": doi,
                "dblp": dblp_key,
            }[s]
            preprint = s == "arxiv" or (s == "dblp" and arxiv is not None and rng.random() < 0.3)
            ext = []
            if s == "openalex":
                ext.append(f"openalex:{sid}")
            elif s == "semantic_scholar":
                ext += [f"s2:{sid}", f"corpus:{t}"]
                if "dblp" in sources and rng.random() < 0.5:
                    ext.append(f"dblp:{dblp_key}")
            elif s == "dblp":
                ext.append(f"dblp:{sid}")
            rec_title = _perturb(rng, title)
            works["source"].append(s)
            works["source_work_id"].append(sid)
            works["doi"].append(None if preprint or rng.random() < 0.1 else doi)
            works["arxiv_id"].append(arxiv if preprint or (arxiv and rng.random() < 0.5) else None)
            works["title"].append(rec_title)
            works["title_key"].append(None)
            works["year"].append(
                None
                if rng.random() < 0.02
                else year - (1 if preprint and rng.random() < 0.3 else 0)
            )
            works["publication_date"].append(None)
            works["venue"].append("arXiv" if preprint else f"Venue{t % 500}")
            works["work_type"].append("preprint" if preprint else "proceedings-article")
            works["cited_by_count"].append(rng.randint(0, 500))
            works["abstract"].append(None)
            works["ext_ids"].append(ext)
            works["_run_id"].append("bench")
            works["_fetched_at"].append(None)
            listed = authors[: rng.randint(2, 3)] if rng.random() < 0.1 else authors
            for pos, person in enumerate(listed):
                name = people[person]
                if s == "semantic_scholar" and rng.random() < 0.3:
                    first, last = name.split(" ", 1)
                    name = f"{first[0]}. {last}"
                auth["source"].append(s)
                auth["source_work_id"].append(sid)
                auth["position"].append(pos)
                auth["source_author_id"].append(_author_id(s, person))
                auth["raw_name"].append(name)
                auth["orcid"].append(_orcid(person) if s in ("openalex", "crossref") else None)
                listed_by["source"].append(s)
                listed_by["source_work_id"].append(sid)
                listed_by["position"].append(pos)
                listed_by["person"].append(person)
                listed_by["name"].append(people[person])
            truth["source"].append(s)
            truth["source_work_id"].append(sid)
            truth["true_work"].append(f"t{t}")
            n += 1
        t += 1
    for values in works.values():  # columns the generator has no opinion on stay null
        values.extend([None] * (n - len(values)))
    wf = pl.DataFrame(works, schema=WORK_COLUMNS).with_columns(
        title_key=norm.title_key(pl.col("title"))
    )
    af = pl.DataFrame(auth, schema=AUTHORSHIP_COLUMNS)
    tf = pl.DataFrame(
        truth, schema={"source": pl.String, "source_work_id": pl.String, "true_work": pl.String}
    )
    pf = pl.DataFrame(
        listed_by,
        schema={
            "source": pl.String,
            "source_work_id": pl.String,
            "position": pl.Int32,
            "person": pl.Int64,
            "name": pl.String,
        },
    ).unique(["source", "source_work_id", "person"], maintain_order=True)
    # one record per (source, source_work_id), as the raw tables guarantee
    return (
        wf.unique(["source", "source_work_id"], keep="first", maintain_order=True),
        af.unique(["source", "source_work_id", "position"], keep="first", maintain_order=True),
        tf.unique(["source", "source_work_id"], keep="first", maintain_order=True),
        pf,
    )


def _author_id(source: str, person: int) -> str | None:
    return {"openalex": f"A{person}", "semantic_scholar": str(10_000_000 + person)}.get(source)


def _orcid(person: int) -> str | None:
    if person % 10 >= 3:
        return None
    digits = f"{person:015d}"
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:15]}X"


def watched(people: pl.DataFrame, n: int = 120) -> list[dict[str, object]]:
    """`n` watched researchers among people with at least two works and a name no one else in
    the population has (a namesake's papers are indistinguishable by name alone, here as in the
    real sources), identified like watchlist entries are: a third by OpenAlex id, a third by
    ORCID (or S2 id when they have none), a third by name only."""
    names = people.unique(["person", "name"]).group_by("name").agg(pl.len().alias("holders"))
    pool = (
        people.group_by("person", "name")
        .agg(pl.len().alias("works"))  # records, a proxy of works
        .join(names, on="name")
        .filter((pl.col("holders") == 1) & (pl.col("works") >= 2))
        .sort("person")
        .head(n)
    )
    rows: list[dict[str, object]] = []
    for i, (person, name) in enumerate(pool.select("person", "name").iter_rows()):
        row: dict[str, object] = {"researcher_id": f"r{person}", "display_name": name}
        if i % 3 == 0:
            row["openalex_ids"] = [_author_id("openalex", person)]
        elif i % 3 == 1:
            if _orcid(person):
                row["orcid"] = _orcid(person)
            else:
                row["s2_ids"] = [_author_id("semantic_scholar", person)]
        rows.append(row)
    return rows


def watched_namesakes(people: pl.DataFrame, n: int = 30) -> list[dict[str, object]]:
    """`n` watched researchers who share their name with someone else in the population,
    identified by OpenAlex id (half) or by ORCID (S2 id when they have none): their namesakes'
    papers must not be credited to them."""
    names = people.unique(["person", "name"]).group_by("name").agg(pl.len().alias("holders"))
    pool = (
        people.group_by("person", "name")
        .agg(pl.len().alias("works"))
        .join(names, on="name")
        .filter((pl.col("holders") > 1) & (pl.col("works") >= 2))
        .sort("person")
        .head(n)
    )
    rows: list[dict[str, object]] = []
    for i, (person, name) in enumerate(pool.select("person", "name").iter_rows()):
        row: dict[str, object] = {"researcher_id": f"r{person}", "display_name": name}
        if i % 2 == 0:
            row["openalex_ids"] = [_author_id("openalex", person)]
        elif _orcid(person):
            row["orcid"] = _orcid(person)
        else:
            row["s2_ids"] = [_author_id("semantic_scholar", person)]
        rows.append(row)
    return rows


def coauthor_pairs(
    author_xref: pl.DataFrame, people: pl.DataFrame, watched_ids: list[str]
) -> dict[str, float]:
    """Pairwise precision and recall over every author entry of every record: two entries are
    a true pair when they are the same synthetic person, a predicted pair when they got the
    same author_id (watched researchers included, as the warehouse shows them). The
    "unwatched" figures leave out entries of watched people and entries credited to one: the
    clustering of everyone else on its own."""
    joined = author_xref.join(
        people.select("source", "source_work_id", "position", "person"),
        on=["source", "source_work_id", "position"],
    )
    watched = pl.Series(watched_ids, dtype=pl.String)
    unwatched = joined.filter(
        ~pl.col("author_id").is_in(watched)
        & ~("r" + pl.col("person").cast(pl.String)).is_in(watched)
    )
    out: dict[str, float] = {
        "coauthor_entries": joined.height,
        "true_people": joined["person"].n_unique(),
        "assigned_people": joined["author_id"].n_unique(),
    }
    for prefix, frame in (("coauthor", joined), ("unwatched", unwatched)):
        tp = _pairs(frame, "person", "author_id")
        pred, true = _pairs(frame, "author_id"), _pairs(frame, "person")
        out[f"{prefix}_precision"] = tp / pred if pred else 1.0
        out[f"{prefix}_recall"] = tp / true if true else 1.0
    return out


def author_pairs(
    authorships: pl.DataFrame,
    xref: pl.DataFrame,
    people: pl.DataFrame,
    researchers: list[dict[str, object]],
) -> dict[str, float]:
    """Pairwise (paper, watched researcher) precision and recall of the credited authorships.
    A researcher belongs on a paper when some record of the paper lists them (in full or by
    initials): a name every source left off (a truncated list) is not the resolver's to find."""
    ids = pl.DataFrame(
        {"author_id": [str(r["researcher_id"]) for r in researchers]},
        schema={"author_id": pl.String},
    )
    true = (
        people.with_columns(author_id="r" + pl.col("person").cast(pl.String))
        .join(ids, on="author_id")
        .join(xref.select("source", "source_work_id", "paper_id"), on=["source", "source_work_id"])
        .select("paper_id", "author_id")
        .unique()
    )
    pred = (
        authorships.filter(pl.col("is_watched"))
        .join(ids, on="author_id")
        .select("paper_id", "author_id")
        .unique()
    )
    tp = pred.join(true, on=["paper_id", "author_id"]).height
    p = tp / pred.height if pred.height else 1.0
    r = tp / true.height if true.height else 1.0
    return {"author_precision": p, "author_recall": r, "author_pairs": true.height}


def _pairs(frame: pl.DataFrame, *cols: str) -> int:
    sizes = frame.group_by(*cols).len()["len"].cast(pl.Int64)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise(xref: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    joined = truth.join(
        xref.select("source", "source_work_id", "paper_id"),
        on=["source", "source_work_id"],
        how="left",
    ).with_columns(
        paper_id=pl.coalesce(
            "paper_id", pl.lit("missing:") + pl.col("source") + pl.col("source_work_id")
        )
    )
    tp = _pairs(joined, "true_work", "paper_id")
    pred, true = _pairs(joined, "paper_id"), _pairs(joined, "true_work")
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "true_pairs": true,
        "pred_pairs": pred,
    }


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    return 0


def resolver_name(choice: str = "auto") -> str:
    if choice == "papers":
        return "transforms.model.resolve_papers"
    try:
        from transforms import works as _w

        return (
            "transforms.works.resolve_works"
            if hasattr(_w, "resolve_works")
            else "transforms.model.resolve_papers"
        )
    except ImportError:
        return "transforms.model.resolve_papers"


def child(directory: Path, choice: str, authors: bool) -> None:
    """Measured step, in its own process: load inputs, reset the peak RSS, resolve, report."""
    works = pl.read_parquet(directory / "works.parquet")
    authorships = pl.read_parquet(directory / "authorships.parquet")
    truth = pl.read_parquet(directory / "truth.parquet")
    people = pl.read_parquet(directory / "people.parquet")
    researchers = json.loads((directory / "researchers.json").read_text())
    namesakes = set(json.loads((directory / "namesakes.json").read_text()))
    base = _vm("VmRSS")
    reset = False
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        pass
    started = time.perf_counter()
    if resolver_name(choice).startswith("transforms.works"):
        from transforms.works import resolve_works

        xref = resolve_works(works.lazy(), authorships.lazy())["work_xref"].collect()
    else:
        from transforms.model import resolve_papers

        xref = resolve_papers(works.lazy()).collect()
    seconds = time.perf_counter() - started
    peak = _vm("VmHWM")
    out = {
        "seconds": seconds,
        "peak_kb": peak,
        "base_kb": base,
        "reset": reset,
        "papers": xref["paper_id"].n_unique(),
    }
    out |= pairwise(xref, truth)
    if authors:
        from transforms.authors import researchers_frame, resolve_authors
        from transforms.model import parse_author_names

        started = time.perf_counter()
        staged = parse_author_names(authorships.lazy()).collect()
        named = time.perf_counter()
        people_side = resolve_authors(
            {},
            staged.lazy(),
            xref.select("paper_id", "source", "source_work_id").lazy(),
            researchers_frame(researchers),
            None,
            works.lazy(),
        )
        collected = {k: v.collect() for k, v in people_side.items()}
        out |= {
            "name_seconds": named - started,
            "author_seconds": time.perf_counter() - named,
            "author_peak_kb": _vm("VmHWM"),
            "crosswalk": collected["author_crosswalk"].height,
            "author_flags": collected["resolution_flags"].height,
            "authors_rows": collected["authors"].height,
        }
        unique = [r for r in researchers if r["researcher_id"] not in namesakes]
        shared = [r for r in researchers if r["researcher_id"] in namesakes]
        out |= author_pairs(collected["authorships"], xref, people, unique)
        out |= {
            f"namesake_{k}": v
            for k, v in author_pairs(collected["authorships"], xref, people, shared).items()
        }
        out |= coauthor_pairs(
            collected["author_xref"], people, [str(r["researcher_id"]) for r in researchers]
        )
    print(json.dumps(out))


def measure(n: int, choice: str) -> dict[str, Any]:
    works, authorships, truth, people = synthetic(n)
    researchers = watched(people)
    namesakes = watched_namesakes(people)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        works.write_parquet(d / "works.parquet")
        authorships.write_parquet(d / "authorships.parquet")
        truth.write_parquet(d / "truth.parquet")
        people.write_parquet(d / "people.parquet")
        (d / "researchers.json").write_text(json.dumps(researchers + namesakes))
        (d / "namesakes.json").write_text(json.dumps([r["researcher_id"] for r in namesakes]))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        authors = ["--authors"] if resolver_name(choice).startswith("transforms.works") else []
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(d), "--resolver", choice, *authors],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result |= {
        "works": works.height,
        "authorships": authorships.height,
        "true_works": truth["true_work"].n_unique(),
        "watched": len(researchers),
        "watched_namesakes": len(namesakes),
    }
    return result


def eval_set() -> None:
    from tests.resolution import evaluate

    started = time.perf_counter()
    res = evaluate.evaluate()
    print("1. evaluation set")
    print("  " + res.report().replace("\n", "\n  ").split("\n  [", 1)[0])
    failing = sorted(res.errors_by_case())
    print(f"  hard cases with errors ({len(failing)}): {', '.join(failing) or 'none'}")
    print(f"  (parse + model build: {time.perf_counter() - started:.1f} s)")


def authors_at_scale(results: list[dict[str, Any]]) -> None:
    """The author side on the same synthetic sets, after the works: name parsing (once per
    distinct spelling) and transforms.authors.resolve_authors with the watched researchers."""
    print("\n  authors: transforms.authors.resolve_authors on the same sets (after the works)")
    print(
        f"  {'works':>8} {'authorships':>11} {'watched':>7} {'names s':>8} {'resolve s':>9} "
        f"{'us/ship':>8} {'ratio':>6} {'peak MB':>8} {'crosswalk':>9} {'flags':>6}  watched P / R (pairs)"
    )
    base = None
    for r in results:
        per = r["author_seconds"] / r["authorships"]
        base = base or per
        print(
            f"  {r['works']:>8} {r['authorships']:>11} {r['watched']:>7} {r['name_seconds']:>8.2f} "
            f"{r['author_seconds']:>9.2f} {per * 1e6:>8.1f} {per / base:>6.2f} "
            f"{r['author_peak_kb'] / 1024:>8.0f} {r['crosswalk']:>9} {r['author_flags']:>6}  "
            f"{r['author_precision']:.4f} / {r['author_recall']:.4f} ({r['author_pairs']})"
        )
    print(
        "  peak MB: whole child process, works and authors; P / R over (paper, watched researcher)"
    )
    print("\n  quality side by side (pairwise precision / recall)")
    print(
        f"  {'works':>8} {'works P / R':>17} {'watched P / R':>17} {'watched w/ namesake':>19} "
        f"{'co-authors P / R':>17} {'unwatched P / R':>17} {'people':>7} {'assigned':>9} "
        f"{'authors':>8}"
    )
    for r in results:
        print(
            f"  {r['works']:>8} {r['precision']:>8.4f}/{r['recall']:.4f} "
            f"{r['author_precision']:>8.4f}/{r['author_recall']:.4f} "
            f"{r['namesake_author_precision']:>10.4f}/{r['namesake_author_recall']:.4f} "
            f"{r['coauthor_precision']:>8.4f}/{r['coauthor_recall']:.4f} "
            f"{r['unwatched_precision']:>8.4f}/{r['unwatched_recall']:.4f} "
            f"{r['true_people']:>7} {r['assigned_people']:>9} {r['authors_rows']:>8}"
        )
    print(
        "  watched: researchers with a unique name; w/ namesake: researchers (by OpenAlex id,\n"
        "  ORCID or S2 id) sharing their name with others; co-authors: pairs of author entries\n"
        "  (every record, every source) of one synthetic person vs one assigned author_id;\n"
        "  unwatched: the same without watched people and credited entries; people: true\n"
        "  persons; assigned: distinct author_ids over the entries; authors: rows of `authors`"
    )


def sweep(n_synthetic: int) -> None:
    """Works P/R at other thresholds than the shipped ones, on the evaluation set and on a
    synthetic set: why TITLE_SIM_MIN and AUTHOR_OVERLAP_MIN have their values."""
    from tests.resolution import evaluate
    from transforms import model
    from transforms import works as resolution

    raw, _ = evaluate.load_raw()
    truth = evaluate.load_truth()
    staged = model.stage_works(raw).collect().lazy()
    ships = model.stage_authorships(raw).collect().lazy()
    s_works, s_ships, s_truth, _ = synthetic(n_synthetic)
    shipped = (resolution.TITLE_SIM_MIN, resolution.AUTHOR_OVERLAP_MIN)
    print(f"\n3. thresholds (works, pairwise; synthetic: {s_works.height} records)")
    print(f"  {'title':>6} {'authors':>7}   eval P / R            synthetic P / R")
    try:
        for title in (0.80, 0.85, 0.90, 0.95):
            for overlap in (0.25, 0.5, 0.75):
                resolution.TITLE_SIM_MIN, resolution.AUTHOR_OVERLAP_MIN = title, overlap
                xref = resolution.resolve_works(staged, ships)["work_xref"].collect()
                ev = evaluate.score({"work_xref": xref, "authorships": _no_authors()}, truth)
                sx = resolution.resolve_works(s_works.lazy(), s_ships.lazy())["work_xref"]
                sy = pairwise(sx.collect(), s_truth)
                mark = "  <- shipped" if (title, overlap) == shipped else ""
                print(
                    f"  {title:>6.2f} {overlap:>7.2f}   {ev.works.precision:.4f} / "
                    f"{ev.works.recall:.4f}     {sy['precision']:.4f} / {sy['recall']:.4f}{mark}"
                )
    finally:
        resolution.TITLE_SIM_MIN, resolution.AUTHOR_OVERLAP_MIN = shipped


def _no_authors() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"paper_id": pl.String, "author_id": pl.String, "is_watched": pl.Boolean}
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--works", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="sizes N/4, N/2, N only")
    ap.add_argument(
        "--resolver",
        choices=("auto", "works", "papers"),
        default="auto",
        help="auto: transforms.works.resolve_works if importable, else model.resolve_papers",
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--authors", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.resolver, args.authors)
        return
    eval_set()
    if args.quick:
        sizes = sorted({max(1000, args.works // 4), max(1000, args.works // 2), args.works})
    else:
        sizes = sorted(
            {s for s in (25_000, 50_000, 100_000, 200_000) if s < args.works} | {args.works}
        )
    print(
        f"\n2. scale: {resolver_name(args.resolver)} on synthetic staged works (subprocess per size)"
    )
    print(
        f"  {'works':>8} {'authorships':>11} {'true':>8} {'papers':>8} {'seconds':>8} {'us/work':>8} {'ratio':>6} {'peak MB':>8} {'+MB':>7}  P / R / F1"
    )
    base_per_work = None
    results = []
    for n in sizes:
        r = measure(n, args.resolver)
        results.append(r)
        per_work = r["seconds"] / r["works"]
        base_per_work = base_per_work or per_work
        print(
            f"  {r['works']:>8} {r['authorships']:>11} {r['true_works']:>8} {r['papers']:>8} {r['seconds']:>8.2f} "
            f"{per_work * 1e6:>8.1f} {per_work / base_per_work:>6.2f} {r['peak_kb'] / 1024:>8.0f} "
            f"{(r['peak_kb'] - r['base_kb']) / 1024:>7.0f}  {r['precision']:.4f} / {r['recall']:.4f} / {r['f1']:.4f}"
        )
    print(
        "  ratio: time per work relative to the smallest size (1.0 = linear); +MB: peak RSS above the loaded inputs"
    )
    if "author_seconds" in results[0]:
        authors_at_scale(results)
    sweep(10_000 if args.quick else 40_000)


if __name__ == "__main__":
    main()

"""End-to-end build benchmark: synthetic OpenAlex API pages -> `scholarflow import` -> reports.

    python benchmarks/build.py [--works N] [--keep DIR] [--root DIR]

1. Writes N synthetic works as OpenAlex `/works` list responses (200 per page, `meta` with
   `next_cursor`, the API's full work field set: authorships with author ids, ORCIDs and
   institutions, topics with their hierarchy, concepts, keywords, locations (arXiv preprints as
   arxiv.org locations and DataCite DOIs), counts_by_year, abstract_inverted_index, referenced
   and related works). A few works are by the watchlist's researchers, so every report has rows.
2. `scholarflow import openalex pages/*.json` into a fresh warehouse, as a subprocess: wall time
   and peak RSS (the child's own ru_maxrss, from wait4).
3. One small new file (new works plus a few with changed counts) imported into that warehouse.
4. Baseline in the same run: plain DuckDB `read_json` of the same pages flattened into works,
   authorships, topics and counts_by_year tables (a subprocess too).
5. The report writer alone on the built warehouse (`views.write_report_files`), and the rows of
   the report set (reports/*.csv, header excluded; the per-run copy not counted).

Prints a table, then ONE JSON line. `--root` runs another checkout's code (e.g. an older commit
unpacked with `git archive`) against the same pages, for before/after figures. No timed
assertions anywhere: figures only. The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_PAGE = 200
OA = "https://openalex.org/"
YEARS = range(2012, 2027)
WORDS = [
    "serving",
    "cache",
    "inference",
    "memory",
    "graph",
    "vector",
    "kernel",
    "scheduling",
    "sparse",
    "attention",
    "tensor",
    "batch",
    "language",
    "model",
    "retrieval",
    "storage",
    "database",
    "query",
    "index",
    "distributed",
    "training",
    "gradient",
    "compiler",
    "hardware",
    "accelerator",
    "network",
    "protocol",
    "security",
    "privacy",
    "learning",
    "robust",
    "efficient",
    "scalable",
    "adaptive",
    "federated",
    "quantum",
    "protein",
    "molecular",
    "climate",
    "image",
    "video",
    "speech",
]
FIELDS = (
    ("17", "Computer Science", "3", "Physical Sciences"),
    ("22", "Engineering", "3", "Physical Sciences"),
    ("13", "Biochemistry, Genetics and Molecular Biology", "1", "Life Sciences"),
    ("26", "Mathematics", "3", "Physical Sciences"),
)
VENUES = [(f"S{4306400000 + i}", f"Journal of {w.title()} Systems") for i, w in enumerate(WORDS)]
ARXIV_SOURCE = ("S4306400194", "arXiv (Cornell University)")


def watched_authors() -> list[tuple[str, str]]:
    data = tomllib.loads((ROOT / "watchlist.toml").read_text(encoding="utf-8"))
    return [(r["openalex_id"], r["name"]) for r in data["researchers"] if r.get("openalex_id")]


class Generator:
    """Deterministic synthetic works; people and topics drawn with a heavy tail, like real data."""

    def __init__(self, n_works: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.n_people = max(50, n_works * 2)
        self.n_topics = 4500  # OpenAlex has about 4,500 topics
        self.watched = watched_authors()
        self.institutions = [
            (f"I{100000 + i}", f"University of {w.title()} {i}") for i, w in enumerate(WORDS * 4)
        ]

    def _zipf(self, n: int) -> int:
        return min(n - 1, int(self.rng.paretovariate(1.1)) - 1)

    def _person(self) -> tuple[str, str, str | None]:
        rng = self.rng
        if self.watched and rng.random() < 0.004:
            aid, name = rng.choice(self.watched)
            return aid, name, None
        p = rng.randrange(self.n_people) if rng.random() < 0.7 else self._zipf(self.n_people)
        first = ("Alex", "Wei", "Maria", "Jun", "Priya", "Lars", "Ana", "Omar", "Yuki", "Chen")
        last = ("Smith", "Wang", "Garcia", "Kim", "Patel", "Nguyen", "Müller", "Rossi", "Li", "Ré")
        name = f"{first[p % 10]} {chr(65 + p // 10 % 26)}. {last[p // 260 % 10]}{p // 2600 or ''}"
        orcid = f"0000-000{p % 10}-{p // 10 % 10000:04d}-{p % 9999:04d}" if p % 3 == 0 else None
        return f"A{5000000000 + p}", name, orcid

    def _topic(self, t: int) -> dict[str, Any]:
        fid, field, did, domain = FIELDS[t % len(FIELDS)]
        return {
            "id": f"{OA}T{10000 + t}",
            "display_name": f"{WORDS[t % len(WORDS)].title()} {WORDS[t // 7 % len(WORDS)]} {t}",
            "subfield": {"id": f"{OA}subfields/{fid}0{t % 9}", "display_name": f"{field} {t % 9}"},
            "field": {"id": f"{OA}fields/{fid}", "display_name": field},
            "domain": {"id": f"{OA}domains/{did}", "display_name": domain},
        }

    def work(self, i: int, cited_extra: int = 0) -> dict[str, Any]:
        rng = self.rng
        year = rng.choice(YEARS)
        pub_date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        title_words = rng.sample(WORDS, rng.randint(4, 9))
        title = " ".join(title_words).capitalize() + f" ({i})"
        arxiv = rng.random() < 0.3
        arxiv_id = f"{year % 100:02d}{rng.randint(1, 12):02d}.{rng.randint(0, 99999):05d}"
        doi = (
            f"https://doi.org/10.48550/arxiv.{arxiv_id}"
            if arxiv
            else f"https://doi.org/10.5555/w{i}"
        )
        src_id, src_name = ARXIV_SOURCE if arxiv else VENUES[i % len(VENUES)]
        landing = f"https://arxiv.org/abs/{arxiv_id}" if arxiv else doi
        location = {
            "is_oa": arxiv,
            "landing_page_url": landing,
            "pdf_url": f"https://arxiv.org/pdf/{arxiv_id}" if arxiv else None,
            "source": {
                "id": OA + src_id,
                "display_name": src_name,
                "issn_l": None if arxiv else f"{i % 9000 + 1000}-{i % 997:04d}",
                "issn": None,
                "is_oa": arxiv,
                "is_in_doaj": False,
                "is_indexed_in_scopus": not arxiv,
                "is_core": not arxiv,
                "host_organization": f"{OA}P4310320990",
                "host_organization_name": "Cornell University" if arxiv else "Some Publisher",
                "host_organization_lineage": [f"{OA}P4310320990"],
                "host_organization_lineage_names": ["Some Publisher"],
                "type": "repository" if arxiv else "journal",
            },
            "license": "cc-by" if arxiv else None,
            "license_id": f"{OA}licenses/cc-by" if arxiv else None,
            "version": "submittedVersion" if arxiv else "publishedVersion",
            "is_accepted": not arxiv,
            "is_published": not arxiv,
        }
        authorships = []
        n_auth = min(30, max(1, int(rng.expovariate(1 / 4)) + 1))
        seen: set[str] = set()
        for pos in range(n_auth):
            aid, name, orcid = self._person()
            if aid in seen:
                continue
            seen.add(aid)
            inst = self.institutions[int(aid[1:]) % len(self.institutions)]
            authorships.append(
                {
                    "author_position": "first"
                    if pos == 0
                    else ("last" if pos == n_auth - 1 else "middle"),
                    "author": {
                        "id": OA + aid,
                        "display_name": name,
                        "orcid": f"https://orcid.org/{orcid}" if orcid else None,
                    },
                    "institutions": [
                        {
                            "id": OA + inst[0],
                            "display_name": inst[1],
                            "ror": f"https://ror.org/0{inst[0][1:]}",
                            "country_code": "US",
                            "type": "education",
                            "lineage": [OA + inst[0]],
                        }
                    ],
                    "countries": ["US"],
                    "is_corresponding": pos == 0,
                    "raw_author_name": name,
                    "raw_affiliation_strings": [inst[1]],
                    "affiliations": [
                        {"raw_affiliation_string": inst[1], "institution_ids": [OA + inst[0]]}
                    ],
                }
            )
        topic_ids = {
            rng.randrange(self.n_topics) if rng.random() < 0.7 else self._zipf(self.n_topics)
            for _ in range(3)
        }
        topics = [
            {**self._topic(t), "score": round(rng.uniform(0.5, 1.0), 4)} for t in sorted(topic_ids)
        ]
        cited = int(rng.paretovariate(1.3)) - 1 + cited_extra
        counts = []
        left = cited
        for y in range(2026, max(year, 2016) - 1, -1):
            c = rng.randint(0, left) if y != year else left
            left -= c
            counts.append({"year": y, "cited_by_count": c})
        abstract_words = rng.choices(WORDS, k=60)
        inverted: dict[str, list[int]] = {}
        for k, w in enumerate(abstract_words):
            inverted.setdefault(w, []).append(k)
        wid = f"W{4000000000 + i}"
        return {
            "id": OA + wid,
            "doi": doi,
            "title": title,
            "display_name": title,
            "relevance_score": None,
            "publication_year": year,
            "publication_date": pub_date,
            "ids": {"openalex": OA + wid, "doi": doi, "mag": str(3000000000 + i)},
            "language": "en",
            "primary_location": location,
            "type": "preprint" if arxiv else "article",
            "type_crossref": "posted-content" if arxiv else "journal-article",
            "indexed_in": ["arxiv", "datacite"] if arxiv else ["crossref"],
            "open_access": {
                "is_oa": arxiv,
                "oa_status": "green" if arxiv else "closed",
                "oa_url": landing if arxiv else None,
                "any_repository_has_fulltext": arxiv,
            },
            "authorships": authorships,
            "institution_assertions": [],
            "countries_distinct_count": 1,
            "institutions_distinct_count": len(authorships),
            "corresponding_author_ids": [authorships[0]["author"]["id"]],
            "corresponding_institution_ids": [],
            "apc_list": None,
            "apc_paid": None,
            "fwci": round(rng.uniform(0, 5), 3),
            "has_fulltext": arxiv,
            "cited_by_count": cited,
            "citation_normalized_percentile": {
                "value": round(rng.random(), 6),
                "is_in_top_1_percent": False,
                "is_in_top_10_percent": False,
            },
            "cited_by_percentile_year": {"min": 40, "max": 50},
            "biblio": {"volume": str(i % 50), "issue": "1", "first_page": "1", "last_page": "12"},
            "is_retracted": False,
            "is_paratext": False,
            "primary_topic": topics[0],
            "topics": topics,
            "keywords": [
                {"id": f"{OA}keywords/{w}", "display_name": w.title(), "score": 0.5}
                for w in title_words[:3]
            ],
            "concepts": [
                {
                    "id": f"{OA}C{41008148 + k}",
                    "wikidata": f"https://www.wikidata.org/wiki/Q{21198 + k}",
                    "display_name": WORDS[k % len(WORDS)].title(),
                    "level": k % 3,
                    "score": round(rng.random(), 6),
                }
                for k in rng.sample(range(200), 6)
            ],
            "mesh": [],
            "locations_count": 1,
            "locations": [location],
            "best_oa_location": location if arxiv else None,
            "sustainable_development_goals": [],
            "grants": [],
            "datasets": [],
            "versions": [],
            "referenced_works_count": 15,
            "referenced_works": [f"{OA}W{4000000000 + rng.randrange(10**7)}" for _ in range(15)],
            "related_works": [f"{OA}W{4000000000 + rng.randrange(10**7)}" for _ in range(10)],
            "abstract_inverted_index": inverted,
            "cited_by_api_url": f"https://api.openalex.org/works?filter=cites:{wid}",
            "counts_by_year": counts,
            "updated_date": f"2026-11-{rng.randint(1, 28):02d}T0{rng.randint(0, 9)}:12:34.567890",
            "created_date": f"{year}-01-01",
        }


def page(results: list[dict[str, Any]], total: int, last: bool) -> dict[str, Any]:
    return {
        "meta": {
            "count": total,
            "db_response_time_ms": 42,
            "page": None,
            "per_page": PER_PAGE,
            "next_cursor": None
            if last
            else "IlsxNjA5MzcyODAwMDAwLCAnaHR0cHM6Ly9vcGVuYWxleC5vcmcvVzEnXSI=",
            "groups_count": None,
        },
        "results": results,
        "group_by": [],
    }


def write_pages(gen: Generator, n: int, out: Path) -> list[Path]:
    out.mkdir(parents=True)
    paths = []
    for start in range(0, n, PER_PAGE):
        works = [gen.work(i) for i in range(start, min(n, start + PER_PAGE))]
        path = out / f"works-{start // PER_PAGE + 1:05d}.json"
        path.write_text(json.dumps(page(works, n, start + PER_PAGE >= n)), encoding="utf-8")
        paths.append(path)
    return paths


def write_small_file(gen: Generator, n: int, path: Path) -> Path:
    """40 new works and 10 known ones whose citation counts changed."""
    works = [gen.work(n + k) for k in range(40)]
    rng = random.Random(5)
    works += [gen.work(i, cited_extra=3) for i in sorted(rng.sample(range(n), min(10, n)))]
    path.write_text(json.dumps(page(works, len(works), True)), encoding="utf-8")
    return path


def measured(cmd: list[str], root: Path, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run cmd, return (wall seconds, peak RSS MB of that child alone)."""
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(cmd[:4])} … exited {proc.returncode}:\n{tail}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute(f\"\"\"create table pages as select unnest(results) as w
    from read_json('{sys.argv[1]}/*.json', maximum_object_size = 536870912)\"\"\")
con.execute(\"\"\"create table works as select w.id as work_id, w.doi, w.title,
    w.publication_year, w.publication_date, w.type, w.cited_by_count, w.is_retracted,
    w.primary_location.source.display_name as venue, w.updated_date from pages\"\"\")
con.execute(\"\"\"create table authorships as select work_id, pos,
    a.author.id as author_id, a.author.display_name, a.author.orcid, a.raw_author_name,
    list_transform(a.institutions, i -> i.display_name) as institutions
    from (select w.id as work_id, unnest(w.authorships) as a,
                 generate_subscripts(w.authorships, 1) as pos from pages)\"\"\")
con.execute(\"\"\"create table topics as select work_id, t.id as topic_id, t.display_name,
    t.score from (select w.id as work_id, unnest(w.topics) as t from pages)\"\"\")
con.execute(\"\"\"create table counts_by_year as select work_id, c.year, c.cited_by_count
    from (select w.id as work_id, unnest(w.counts_by_year) as c from pages)\"\"\")
con.execute("drop table pages")
con.close()
"""

EXPORT = """
import sys, time, duckdb
from pathlib import Path
try:
    from flows.views import write_report_files
except ImportError:  # --root: a checkout from before flows/views.py
    from flows.warehouse import write_report_files
con = duckdb.connect(sys.argv[1], read_only=True)
t0 = time.perf_counter()
write_report_files(con, Path(sys.argv[2]))
print(time.perf_counter() - t0)
"""


def report_rows(folder: Path) -> int:
    total = 0
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            total += sum(1 for _ in csv.reader(fh)) - 1
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--works", type=int, default=2000, help="synthetic works (default: CI size)")
    ap.add_argument("--keep", type=Path, help="work in this new directory and keep it")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose code to measure")
    args = ap.parse_args()
    root = args.root.resolve()
    base = args.keep or Path(tempfile.mkdtemp(prefix="scholarflow-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "SCHOLARFLOW_WAREHOUSE"}
    env["PYTHONPATH"] = str(root)

    gen = Generator(args.works)
    t0 = time.perf_counter()
    pages = write_pages(gen, args.works, base / "pages")
    small = write_small_file(gen, args.works, base / "small.json")
    t_gen = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in pages) / 1e6
    load_before = os.getloadavg()

    wh = base / "warehouse" / "scholarflow.duckdb"
    cli = [sys.executable, "-m", "flows", "import", "--warehouse", str(wh), "openalex"]
    seconds, rss = measured([*cli, *map(str, pages)], root, env, base / "import.log")
    rows = report_rows(wh.parent / "reports")
    incremental, _ = measured([*cli, str(small)], root, env, base / "small.log")
    baseline, base_rss = measured(
        [sys.executable, "-c", BASELINE, str(base / "pages"), str(base / "baseline.duckdb")],
        root,
        env,
        base / "baseline.log",
    )
    out = subprocess.run(
        [sys.executable, "-c", EXPORT, str(wh), str(base / "export")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    export_seconds = float(out.stdout.strip().splitlines()[-1])
    load_after = os.getloadavg()

    result = {
        "works": args.works,
        "seconds": round(seconds, 2),
        "works_per_s": round(args.works / seconds, 1),
        "peak_rss_mb": round(rss, 1),
        "baseline_seconds": round(baseline, 2),
        "ratio_to_baseline": round(baseline / seconds, 3),
        "incremental_seconds": round(incremental, 2),
        "report_rows": rows,
        "export_seconds": round(export_seconds, 2),
    }
    table = [
        ("code measured", str(root)),
        ("works / pages / page JSON", f"{args.works} / {len(pages)} / {size_mb:.1f} MB"),
        ("generate pages", f"{t_gen:.1f} s"),
        ("scholarflow import, all pages", f"{seconds:.1f} s ({result['works_per_s']} works/s)"),
        ("  peak RSS", f"{rss:.0f} MB"),
        ("DuckDB read_json flatten (baseline)", f"{baseline:.1f} s, peak RSS {base_rss:.0f} MB"),
        ("  ratio (baseline / import)", f"{result['ratio_to_baseline']:.3f}x"),
        ("one small file (50 works) after", f"{incremental:.1f} s ({incremental / seconds:.0%})"),
        ("report writer alone (write_report_files)", f"{export_seconds:.2f} s"),
        ("report rows (reports/*.csv)", f"{rows} ({rows / args.works:.2f} per work)"),
        ("load average before / after", f"{load_before[0]:.1f} / {load_after[0]:.1f}"),
        ("work directory", str(base)),
    ]
    width = max(len(k) for k, _ in table)
    for key, value in table:
        print(f"{key:<{width}}  {value}")
    if not args.keep:
        shutil.rmtree(base)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

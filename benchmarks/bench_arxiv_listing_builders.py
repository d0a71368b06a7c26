"""Which BeautifulSoup tree builder for arXiv listing pages, measured (flows/sources/arxiv_listing).

    python benchmarks/bench_arxiv_listing_builders.py [--entries 900]

A /new page of N entries is rendered to arXiv's markup (flows.demo.fakes.arxiv_listing, with the
19 entries of tests/fixtures/arxiv_listing/new_cs.DC_2026-01-16.html repeated under fresh ids),
then broken the ways real HTML breaks: `</dd>`/`</dt>` omitted (optional in HTML), the `</div>`s
inside every `<dd>` left out, the transfer cut at 60 %. Each variant is parsed with html.parser,
lxml and html5lib by

- a tree walk, the usual scraper: `dl > dt` children, the `dd` sibling, `div.list-title` in it;
- the source's document-order scan (`parse_listing` internals, counts checks left out);
- `parse_listing` itself (scan + the page's own counts; a page that ends early raises).

An entry counts as kept when its id, exact title and author names come out; "wrong" counts
entries that came out with another entry's text in a field. Time is the median of 3 parses of the clean page.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.demo.fakes import arxiv_listing as fake  # noqa: E402
from flows.sources import arxiv_listing as src  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "arxiv_listing" / "new_cs.DC_2026-01-16.html"
BUILDERS = ("html.parser", "lxml", "html5lib")


Fields = tuple[str, tuple[str, ...]]  # title, authors


def big_page(n: int) -> tuple[str, dict[str, Fields]]:
    """A /new page of n entries (titles unique) and the expected id -> (title, authors)."""
    base = src.parse_listing(FIXTURE.read_bytes(), str(FIXTURE)).records["entries"]
    entries, expected = [], {}
    for i in range(n):
        b = base[i % len(base)]
        aid = f"2601.{20000 + i:05d}"
        title = f"{b['title']} (copy {i})"
        expected[aid] = (title, tuple(b["authors"]))
        entries.append(
            fake.Entry(
                aid,
                title,
                [
                    p
                    for j, a in enumerate(b["authors"])
                    for p in ((", ",) if j else ()) + ((a, ""),)
                ],
                [("Distributed, Parallel, and Cluster Computing", c) for c in b["categories"]],
                "new",
                1,
                b["comments"] if i % 3 else None,  # a third without comments
                None,
                "Placeholder abstract.",
            )
        )
    listing = fake.Listing(
        "cs.DC", "Distributed, Parallel, and Cluster Computing", "new",
        [fake.Section("New", entries, n)], n, 0, 2000, src.date(2026, 1, 16),
    )  # fmt: skip
    return fake.render_page(listing), expected


def variants(page: str) -> dict[str, str]:
    unclosed = re.sub(
        r"<dd>.*?</dd>",
        lambda m: m.group(0).replace("</div>", ""),
        page,
        flags=re.S,
    )
    return {
        "well-formed": page,
        "omitted </dd> and </dt>": page.replace("</dd>", "").replace("</dt>", ""),
        "unclosed <div>s in <dd>": unclosed,
        "unclosed <a>s in authors": re.sub(
            r"(<div class='list-authors'>.*?)</div>",
            lambda m: m.group(1).replace("</a>", "") + "</div>",
            page,
        ),
        "truncated at 60 %": page[: int(len(page) * 0.6)],
    }


def tree_walk(html: str, builder: str) -> dict[str, Fields]:
    soup = BeautifulSoup(src.html_text(html.encode()), builder)
    out = {}
    for dl in soup.find_all("dl", id="articles"):
        for dt in dl.find_all("dt", recursive=False):
            link = dt.find("a", title="Abstract")
            dd = dt.find_next_sibling("dd")
            title = dd.find("div", class_="list-title") if dd else None
            authors = dd.find("div", class_="list-authors") if dd else None
            if link and title and authors:
                aid = link.get_text(strip=True).removeprefix("arXiv:")
                text = " ".join(title.get_text(" ").split()).removeprefix("Title: ")
                names = tuple(a.get_text(" ", strip=True) for a in authors.find_all("a"))
                out[aid] = (text, names)
    return out


def scan(html: str, builder: str) -> dict[str, Fields]:
    found = src._scan(BeautifulSoup(src.html_text(html.encode()), builder))
    out = {}
    for raw in found.entries:
        try:
            aid, _ = src._arxiv_id(raw)
        except ValueError:
            continue
        out[aid] = (raw.text("title"), tuple(a for a in raw.authors if a))
    return out


def source(html: str, builder: str) -> dict[str, Fields] | str:
    """`parse_listing` itself with the builder swapped in: records, or the error it raises."""
    saved, src.BUILDER = src.BUILDER, builder
    try:
        page = src.parse_listing(html.encode(), "bench")
    except src.SourceError as exc:
        return type(exc).__name__
    finally:
        src.BUILDER = saved
    return {r["arxiv_id"]: (r["title"], tuple(r["authors"])) for r in page.records["entries"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=900)
    n = ap.parse_args().entries
    page, expected = big_page(n)
    print(f"{n}-entry /new page, {len(page) / 1e6:.1f} MB")
    print(f"{'variant':26} {'method':9} " + " ".join(f"{b:>22}" for b in BUILDERS))
    for name, html in variants(page).items():
        for method, fn in (("tree walk", tree_walk), ("scan", scan), ("source", source)):
            cells = []
            for builder in BUILDERS:
                got = fn(html, builder)
                if isinstance(got, str):
                    cells.append(f"raises {got}")
                    continue
                kept = sum(1 for k, v in got.items() if expected.get(k) == v)
                wrong = sum(1 for k, v in got.items() if k in expected and expected[k] != v)
                cells.append(f"{kept:>5} kept {wrong:>4} wrong")
            print(f"{name:26} {method:9} " + " ".join(f"{c:>22}" for c in cells))
    print("parse time of the clean page (median of 5), seconds:")
    for builder in BUILDERS:
        for method, fn in (("tree walk", tree_walk), ("scan", scan)):
            times = []
            for _ in range(5):
                t = time.perf_counter()
                fn(page, builder)
                times.append(time.perf_counter() - t)
            print(f"  {builder:12} {method:9} {statistics.median(times):.2f}")


if __name__ == "__main__":
    main()

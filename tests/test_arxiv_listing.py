"""arXiv listing pages: the parser on HTML written to arXiv's own markup (tests/fixtures/
arxiv_listing, checked against the reference Markdown renderings of real pages), broken variants
(omitted end tags, unclosed divs, truncation, drift, odd encodings), and fetch through
httpx.MockTransport: paging, caps, errors, robots.txt, the demo's fake upstream."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import ROOT, demo_context, documented, shared_files, source_watchlist

from flows import fetch, steps
from flows.demo.fakes import arxiv_listing as fake
from flows.demo.generate import FakeUpstream
from flows.http import AllowanceExhausted, HttpClient
from flows.settings import DEMO_DIR
from flows.sources import SOURCES
from flows.sources import arxiv_listing as src
from flows.sources.base import ScrapeDrift, SourceError
from flows.watchlist import Watchlist, WatchlistError, load_watchlist
from transforms.sources import arxiv_listing as staging
from transforms.sources import raw_schema

SLUG = "arxiv_listing"
FIXTURES = ROOT / "tests" / "fixtures" / SLUG
NEW = "new_cs.DC_2026-01-16.html"
RECENT50 = "recent_cs.DC_skip0_show50.html"
ROBOTS = fake.ROBOTS_TXT
Server = Callable[[httpx.Request], httpx.Response]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(data: bytes | str, where: str = "GET https://arxiv.org/list/cs.DC/new") -> Any:
    raw = data.encode() if isinstance(data, str) else data
    return src.parse_listing(raw, where, 200)


def entries(page: Any) -> list[dict[str, Any]]:
    return list(page.records.get("entries", []))


def by_id(page: Any) -> dict[str, dict[str, Any]]:
    return {r["arxiv_id"]: r for r in entries(page)}


# ---------------------------------------------------------------- the reference renderings


REFERENCE = {
    "firecrawl_md__arxiv_list_cs.DC_new_2026-01-16.md": NEW,
    "firecrawl_md__arxiv_list_cs.DC_recent_2026-01.md": RECENT50,
}


def reference_entries(md: str) -> list[tuple[str, str, str]]:
    """(arXiv id, section marker, title) per entry of a Markdown rendering of a listing."""
    out = []
    for m in re.finditer(
        r"\\\[\d+\\\] \[arXiv:(?P<id>[^\]]+)\][^\n]*\n(?P<type>\([^)\n]*\))?.*?Title:\n(?P<t>[^\n]+)",
        md,
        re.S,
    ):
        kind = m.group("type") or ""
        section = "cross-list" if kind.startswith("(cross") else "replacement" if kind else "new"
        out.append((m.group("id"), section, m.group("t").strip()))
    return out


def test_shared_files_are_reference_renderings_only() -> None:
    files = shared_files(SLUG)
    assert files and all(p.suffix == ".md" for p in files)
    assert {p.name for p in files} <= set(documented(SLUG))
    for path in files:  # Markdown is not a listing page: refused, never parsed as one
        with pytest.raises(SourceError, match=r"^\[arxiv_listing\] not an arXiv listing page"):
            src.parse_listing(path.read_bytes(), str(path), 200)


@pytest.mark.parametrize("md,html", sorted(REFERENCE.items()))
def test_fixtures_carry_the_reference_pages_facts(md: str, html: str) -> None:
    reference = reference_entries((shared_files(SLUG)[0].parent / md).read_text("utf-8"))
    parsed = [(r["arxiv_id"], r["section"], r["title"]) for r in entries(parse(body(html)))]
    assert len(reference) in (19, 50)
    assert parsed == reference


# ---------------------------------------------------------------- /new


def test_new_page_sections_and_entry_values() -> None:
    page = parse(body(NEW))
    rows = entries(page)
    assert (page.total, page.next_token, page.quarantined) == (19, None, [])
    assert [r["section"] for r in rows] == ["new"] * 4 + ["cross-list"] * 6 + ["replacement"] * 9
    assert [r["position"] for r in rows] == list(range(1, 20))
    assert {(r["category"], r["listing"], r["announced_date"]) for r in rows} == {
        ("cs.DC", "new", date(2026, 1, 16))
    }
    assert by_id(page)["2601.10557"] == {
        "listing_entry_id": "2601.10557|cs.DC|new|2026-01-16",
        "arxiv_id": "2601.10557",
        "version": 1,
        "category": "cs.DC",
        "listing": "new",
        "announced_date": date(2026, 1, 16),
        "section": "cross-list",
        "position": 9,
        "title": "Chebyshev Accelerated Subspsace Eigensolver for Pseudo-hermitian Hamiltonians",
        "authors": ["Edoardo Di Napoli", "Clément Richefort", "Xinzhe Wu"],
        "comments": "To be submitted to SISC",
        "journal_ref": None,
        "primary_subject": "Numerical Analysis (math.NA)",
        "primary_category": "math.NA",
        "categories": ["math.NA", "cs.CE", "cs.DC", "physics.comp-ph"],
        "abstract": "Placeholder abstract for the test fixture (the listing shows the paper's "
        "abstract here).",
    }


def test_new_page_optional_fields_versions_and_abstract_markup() -> None:
    rows = by_id(parse(body(NEW)))
    assert rows["2506.02024"]["version"] == 3  # replaced: the HTML link names the version
    assert rows["2511.09485"]["version"] is None  # no HTML rendering: version unknown
    assert rows["2601.09978"]["comments"] is None
    assert rows["2506.10523"]["journal_ref"] == (
        "Future Generation Computer Systems, 2025, 108333, ISSN 0167-739X"
    )
    assert rows["2601.10676"]["abstract"].endswith(r"$d \geq 2k-2$ and \textit{emphasis}.")
    assert rows["2506.02024"]["abstract"].endswith("available at this https URL.")
    assert rows["2601.10177"]["abstract"] == (
        "First paragraph of a placeholder abstract. Second paragraph of a placeholder abstract."
    )
    assert rows["2601.10277"]["categories"] == ["cs.DC", "cs.NI"]


def test_empty_new_page_is_no_records_and_no_error() -> None:
    page = parse(body("new_cs.GL_empty.html"), "GET https://arxiv.org/list/cs.GL/new")
    assert (page.count(), page.quarantined, page.total) == (0, [], 0)


def test_odd_entries_missing_fields_and_quarantine() -> None:
    where = "GET https://arxiv.org/list/cs.DC/new"
    page = parse(body("new_cs.DC_odd_entries.html"), where)
    rows = by_id(page)
    assert sorted(rows) == ["2511.10834", "2601.10028", "2601.10105"]
    assert rows["2601.10028"]["authors"] == []  # "(author list is unavailable)"
    odd = rows["2601.10105"]
    assert (
        odd["title"]
        == r"Fuzzychain-edge: $\mathcal{O}(\log n)$ Fuzzy Consensus for \emph{Edge} Blockchains"
    )
    assert (odd["version"], odd["abstract"]) == (None, None)
    assert rows["2511.10834"]["journal_ref"] == "Proc. 2026 Workshop on Edge Systems"
    reasons = sorted(q.reason.split(" (")[0] for q in page.quarantined)
    assert reasons == ["entry without a title", "entry without an arXiv id"]
    assert {q.record_key for q in page.quarantined} == {f"{where} [item 2]", f"{where} [item 3]"}
    assert all(q.entity == "entries" and q.source == SLUG for q in page.quarantined)


# ---------------------------------------------------------------- /recent and paging


def test_recent_page_days_and_paging() -> None:
    page = parse(body(RECENT50), "GET https://arxiv.org/list/cs.DC/recent?show=50&skip=0")
    rows = entries(page)
    assert (page.total, page.next_token, len(rows)) == (55, "50", 50)
    days: dict[date, int] = {}
    for r in rows:
        days[r["announced_date"]] = days.get(r["announced_date"], 0) + 1
    assert days == {
        date(2026, 1, 16): 10,
        date(2026, 1, 15): 13,
        date(2026, 1, 14): 9,
        date(2026, 1, 13): 18,
    }
    assert all(r["abstract"] is None and r["listing"] == "recent" for r in rows)
    assert {r["section"] for r in rows} == {"new", "cross-list"}
    assert rows[4]["listing_entry_id"] == "2601.10676|cs.DC|recent|2026-01-16"


def test_recent_pages_of_25_split_a_day_and_join_up() -> None:
    pages = [parse(body(f"recent_cs.DC_skip{s}_show25.html")) for s in (0, 25, 50)]
    assert [p.next_token for p in pages] == ["25", "50", None]
    assert [entries(p)[0]["position"] for p in pages] == [1, 26, 51]
    wed = [r for p in pages[:2] for r in entries(p) if r["announced_date"] == date(2026, 1, 14)]
    assert len(wed) == 9  # "showing first 2 of 9" + "continued, showing last 7 of 9"
    ids = [r["arxiv_id"] for p in pages for r in entries(p)]
    assert len(ids) == len(set(ids)) == 55
    assert ids[:50] == [r["arxiv_id"] for r in entries(parse(body(RECENT50)))]


# ---------------------------------------------------------------- encodings


def test_windows_1252_page_declared_in_meta() -> None:
    raw = body("new_cs.DC_windows-1252.html")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = by_id(parse(raw))
    assert rows["2601.10557"]["authors"][1] == "Clément Richefort"
    assert rows["2601.10676"]["title"].startswith("Breaking the Storage-Bandwidth")


@pytest.mark.parametrize(
    "variant",
    ["utf-8 with BOM", "undeclared windows-1252", "declared utf-8, really windows-1252"],
)
def test_odd_encodings_give_the_same_records(variant: str) -> None:
    clean = body("new_cs.DC_windows-1252.html")
    text = clean.decode("cp1252")
    meta = '  <meta http-equiv="Content-Type" content="text/html; charset=windows-1252">\n'
    if variant == "utf-8 with BOM":
        raw = b"\xef\xbb\xbf" + text.replace(meta, "").encode("utf-8")
    elif variant == "undeclared windows-1252":
        raw = text.replace(meta, "").encode("cp1252")
    else:
        raw = text.replace("windows-1252", "utf-8").encode("cp1252")
    assert entries(parse(raw)) == entries(parse(clean))


# ---------------------------------------------------------------- broken markup


def omit_end_tags(html: str) -> str:
    return html.replace("</dd>", "").replace("</dt>", "")


def unclose_divs(html: str) -> str:
    return re.sub(r"<dd>.*?</dd>", lambda m: m.group(0).replace("</div>", ""), html, flags=re.S)


def unclose_author_links(html: str) -> str:
    return re.sub(
        r"(<div class='list-authors'>.*?)</div>",
        lambda m: m.group(1).replace("</a>", "") + "</div>",
        html,
    )


@pytest.mark.parametrize("builder", ["html.parser", "lxml", "html5lib"])
@pytest.mark.parametrize("name", [NEW, RECENT50])
@pytest.mark.parametrize("breakage", [omit_end_tags, unclose_divs, unclose_author_links])
def test_broken_markup_parses_to_the_same_records(
    monkeypatch: pytest.MonkeyPatch, builder: str, name: str, breakage: Callable[[str], str]
) -> None:
    clean = entries(parse(body(name)))
    monkeypatch.setattr(src, "BUILDER", builder)
    assert entries(parse(breakage(body(name).decode()))) == clean


def test_the_tree_walk_this_parser_avoids_does_lose_entries() -> None:
    """Guard for the measurement behind BUILDER: html.parser nests every entry in the first
    one when </dd> is left out, so a dl > dt walk finds almost nothing."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(src.html_text(omit_end_tags(body(NEW).decode()).encode()), "html.parser")
    children = [dt for dl in soup.find_all("dl") for dt in dl.find_all("dt", recursive=False)]
    assert len(children) < 4 < len(entries(parse(omit_end_tags(body(NEW).decode()))))


@pytest.mark.parametrize("name", [NEW, RECENT50, "recent_cs.DC_skip25_show25.html"])
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9])
def test_truncated_page_is_refused_not_loaded_short(name: str, fraction: float) -> None:
    raw = body(name)
    with pytest.raises(src.TruncatedPage, match="page ends early"):
        parse(raw[: int(len(raw) * fraction)])


def test_page_cut_just_before_its_bottom_paging_block_is_truncated() -> None:
    text = body(NEW).decode()
    cut = text.rindex("<div class='paging'>")
    with pytest.raises(src.TruncatedPage, match=r"19 entries before the cut, the page lists 19"):
        parse(text[:cut])


def test_page_without_closing_html_but_with_both_paging_blocks_is_complete() -> None:
    text = body(NEW).decode()
    assert len(entries(parse(text[: text.rindex("</div>\n</div>")]))) == 19


def test_complete_page_missing_an_entry_is_drift() -> None:
    text = body(NEW).decode()
    start = text.index("<dt>", text.index("Cross submissions"))
    end = text.index("</dd>", start) + len("</dd>")
    with pytest.raises(
        ScrapeDrift, match="18 entries parsed, its section headings list 19"
    ) as info:
        parse(text[:start] + text[end:])
    assert info.value.body  # the page travels with the error, to be saved


def test_totals_that_disagree_with_the_sections_are_drift() -> None:
    text = body(NEW).decode()
    with pytest.raises(ScrapeDrift, match="'Total of 25'"):
        parse(text.replace("Total of 19 entries", "Total of 25 entries"))
    with pytest.raises(ScrapeDrift, match=r"totals disagree: \[19, 20\]"):
        parse(text.replace("Total of 19 entries", "Total of 20 entries", 1))


def test_page_without_section_counts_is_checked_against_its_total() -> None:
    text = re.sub(r" \(showing [^)]*\)", "", body(RECENT50).decode())
    assert len(entries(parse(text))) == 50
    cut = text.index("<dt>", text.index("Thu, 15 Jan 2026</h3>"))
    with pytest.raises(ScrapeDrift, match="10 entries parsed, 'Total of 55' means 50"):
        parse(text[:cut] + text[text.index("<div class='paging'>", cut) :])


@pytest.mark.parametrize(
    "name,message",
    [
        ("drift_new_cs.DC_redesigned.html", "0 entries parsed, its section headings list 19"),
        ("drift_recent_cs.DC_title_renamed.html", "the page lists results but none could be"),
    ],
)
def test_markup_drift_raises_scrape_drift(name: str, message: str) -> None:
    with pytest.raises(ScrapeDrift, match=message) as info:
        parse(body(name))
    assert info.value.body == body(name)


def test_authors_selector_drift_is_caught() -> None:
    text = body(RECENT50).decode().replace("class='list-authors'", "class='authors-list'")
    with pytest.raises(ScrapeDrift, match="field 'authors' is missing on all 50 items"):
        parse(text)


# ---------------------------------------------------------------- error bodies


@pytest.mark.parametrize(
    "name,status,message",
    [
        ("error_400_bad_category.html", 400, r"HTTP 400 from arxiv.org: '400 Bad Request'"),
        ("error_503_unavailable.html", 503, r"HTTP 503 from arxiv.org: 'arXiv is temporarily"),
        ("error_503_unavailable.html", 200, r"not an arXiv listing page \(title 'arXiv is"),
        ("not_a_listing_access_denied.html", 200, r"not an arXiv listing page \(title 'Access"),
        ("not_a_listing_access_denied.html", 403, r"HTTP 403 from arxiv.org: 'Access Denied'"),
    ],
)
def test_error_pages_raise_naming_source_and_request(name: str, status: int, message: str) -> None:
    where = "GET https://arxiv.org/list/cs.DC/new"
    with pytest.raises(SourceError, match=message) as info:
        src.parse_listing(body(name), where, status)
    assert not isinstance(info.value, ScrapeDrift)
    assert str(info.value).startswith("[arxiv_listing] ") and str(info.value).endswith(f"({where})")


@pytest.mark.parametrize(
    "raw,status", [(b"Not Found", 404), (b"", 200), (b'{"error": "bad"}', 200), (b"\x00\xff", 200)]
)
def test_non_html_bodies_raise(raw: bytes, status: int) -> None:
    with pytest.raises(SourceError, match=r"^\[arxiv_listing\] "):
        src.parse_listing(raw, "GET https://arxiv.org/list/cs.DC/new", status)


def test_exhausted_only_on_403() -> None:
    assert src.exhausted(403, {}, b"Access Denied")
    assert src.exhausted(429, {}, b"") is None and src.exhausted(200, {}, b"") is None


# ---------------------------------------------------------------- warehouse


DATA_FILES = [
    NEW,
    RECENT50,
    "recent_cs.DC_skip25_show25.html",
    "recent_cs.DC_skip50_show25.html",
    "new_cs.DC_windows-1252.html",
    "new_cs.DC_odd_entries.html",
    "new_cs.GL_empty.html",
]


def test_records_fit_the_raw_schema_exactly() -> None:
    schema = raw_schema(SLUG, "entries")
    own = [c for c in schema.names() if not c.startswith("_")]
    for name in DATA_FILES:
        for r in entries(parse(body(name))):
            assert list(r) == own
            pl.DataFrame([r], schema={k: schema[k] for k in own}, strict=True)


def test_import_and_build_every_data_fixture(tmp_path: Path) -> None:
    import duckdb

    report = fetch.import_files(SLUG, [FIXTURES / n for n in DATA_FILES])
    path = tmp_path / "w.duckdb"
    summary = steps.load_and_build(demo_context(path), [report], {})
    (s,) = summary.sources
    # the windows-1252 and odd-entries pages repeat /new entries, show25 repeats show50's:
    # one row per listing_entry_id, the file read last wins
    assert (s.source, s.new, s.quarantined, s.errors) == (SLUG, 19 + 55, 2, [])
    con = duckdb.connect(str(path), read_only=True)
    try:
        listed = con.execute(
            "select count(*), count(distinct arxiv_id) from raw_arxiv_listing__entries"
        ).fetchone()
        paper = con.execute(
            "select title, year, venue, sources from papers where arxiv_id = '2601.10557'"
        ).fetchone()
    finally:
        con.close()
    assert listed == (74, 19 + 40 + 5)
    assert paper == (
        "Chebyshev Accelerated Subspsace Eigensolver for Pseudo-hermitian Hamiltonians",
        2026,
        "arXiv",
        ["arxiv_listing"],
    )


def test_import_of_an_error_page_raises_naming_the_file() -> None:
    path = FIXTURES / "not_a_listing_access_denied.html"
    with pytest.raises(SourceError, match=re.escape(str(path))):
        fetch.import_files(SLUG, [path])


def test_staging_one_work_per_paper_latest_announcement_and_abstract() -> None:
    rows = [
        {**r, "_run_id": "r", "_fetched_at": None, "_response_sha256": "", "_record_hash": ""}
        for name in (NEW, RECENT50, "new_cs.DC_odd_entries.html")
        for r in entries(parse(body(name)))
    ]
    raw = {
        f"raw_{SLUG}__entries": pl.DataFrame(
            rows, schema=raw_schema(SLUG, "entries"), strict=True
        ).lazy()
    }
    works = staging.works(raw).collect()
    assert works.height == works["source_work_id"].n_unique() == 19 + 40
    w = works.filter(pl.col("arxiv_id") == "2601.10105").row(0, named=True)
    # the odd page renamed it on the same day; both are /new: the later listing_entry_id wins
    assert w["abstract"].startswith("Placeholder abstract") and w["year"] == 2026
    old = works.filter(pl.col("arxiv_id") == "2405.09037").row(0, named=True)
    assert (old["year"], old["publication_date"], old["work_type"]) == (2024, None, "preprint")
    fri = works.filter(pl.col("arxiv_id") == "2601.10582").row(0, named=True)
    assert fri["abstract"] is not None  # /new and /recent on the same day: /new's abstract
    authorships = staging.authorships(raw).collect()
    assert authorships.filter(pl.col("source_work_id") == "2601.10557")["raw_name"].to_list() == [
        "Edoardo Di Napoli",
        "Clément Richefort",
        "Xinzhe Wu",
    ]


def test_year_from_old_style_ids() -> None:
    frame = pl.DataFrame({"id": ["astro-ph/9912001", "hep-th/0601001", "2601.09978", "0704.0001"]})
    years = frame.select(staging._year_from_id(pl.col("id")))["id"].to_list()
    assert years == [1999, 2006, 2026, 2007]


# ---------------------------------------------------------------- options


def wl(
    categories: list[str] | None = None, **options: Any
) -> Watchlist:  # one topic with the given categories, only this source enabled
    return Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": [{"name": "Danyang Zhuo"}],
            "topics": [
                {
                    "name": "LLM serving",
                    "keywords": ["LLM serving"],
                    "arxiv_categories": categories if categories is not None else ["cs.DC"],
                }
            ],
            "sources": {"enabled": [SLUG], SLUG: options},
        }
    )


def test_options_defaults_and_validation(tmp_path: Path) -> None:
    opts = wl().sources.arxiv_listing
    assert (opts.listings, opts.recent_page_size, opts.max_recent, opts.categories) == (
        ["new", "recent"],
        500,
        2000,
        [],
    )
    for bad in (
        "recent_page_size = 30",
        'listings = ["today"]',
        "listings = []",
        'categories = ["Computer Science"]',
        "max_recent = 0",
    ):
        path = tmp_path / "w.toml"
        path.write_text(
            'contact_email = "a@b.org"\n[[researchers]]\nname = "X"\n'
            f"[sources.arxiv_listing]\n{bad}\n",
            encoding="utf-8",
        )
        with pytest.raises(WatchlistError, match=r"sources\.arxiv_listing\."):
            load_watchlist(path)


def test_categories_from_topics_and_options_once_each() -> None:
    w = Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": [{"name": "X"}],
            "topics": [
                {"name": "a", "keywords": ["a"], "arxiv_categories": ["cs.DC", "cs.LG"]},
                {"name": "b", "keywords": ["b"], "arxiv_categories": ["cs.LG", "cs.OS"]},
            ],
            "sources": {SLUG: {"categories": ["cs.DC", "math.NA"]}},
        }
    )
    assert src.categories(w) == ["cs.DC", "cs.LG", "cs.OS", "math.NA"]


# ---------------------------------------------------------------- fetch


def html(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body(name), headers={"content-type": "text/html"})


def listing_server(calls: list[str], pages: dict[tuple[str, str], str]) -> Server:
    """Serve fixtures by (path, skip); record every request's path?query."""

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        key = (request.url.path, request.url.params.get("skip", ""))
        if key in pages:
            return html(pages[key])
        return html("error_400_bad_category.html", 400)

    return serve


RECENT_25 = {
    ("/list/cs.DC/recent", str(skip)): f"recent_cs.DC_skip{skip}_show25.html"
    for skip in (0, 25, 50)
}


def test_fetch_new_uses_the_canonical_url(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []
    client = client_for(listing_server(calls, {("/list/cs.DC/new", ""): NEW}), robots=ROBOTS)
    report = src.fetch(client, wl(listings=["new"]))
    assert (report.errors, report.skipped, report.stopped) == ([], [], None)
    assert calls == ["/list/cs.DC/new"]
    assert sum(f.page.count() for f in report) == 19


def test_fetch_recent_pages_to_the_end(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []
    client = client_for(listing_server(calls, RECENT_25), robots=ROBOTS)
    report = src.fetch(client, wl(listings=["recent"], recent_page_size=25))
    assert report.errors == []
    assert calls == [f"/list/cs.DC/recent?skip={s}&show=25" for s in (0, 25, 50)]
    ids = [r["arxiv_id"] for f in report for r in entries(f.page)]
    assert len(ids) == len(set(ids)) == 55


@pytest.mark.parametrize("cap,pages", [(1, 1), (25, 1), (26, 2), (50, 2), (51, 3), (5000, 3)])
def test_fetch_recent_stops_at_the_cap_in_whole_pages(
    client_for: Callable[..., HttpClient], cap: int, pages: int
) -> None:
    calls: list[str] = []
    client = client_for(listing_server(calls, RECENT_25), robots=ROBOTS)
    report = src.fetch(client, wl(listings=["recent"], recent_page_size=25, max_recent=cap))
    assert len(calls) == pages and report.errors == []


def test_fetch_pages_a_new_listing_longer_than_one_page(
    monkeypatch: pytest.MonkeyPatch, client_for: Callable[..., HttpClient]
) -> None:
    monkeypatch.setattr(src, "NEW_PAGE_SIZE", 10)  # arXiv's is 2000: same arithmetic, less HTML
    whole = fake.Listing(
        "cs.DC",
        "Distributed, Parallel, and Cluster Computing",
        "new",
        [fake.Section("New", [fake_entry(i) for i in range(23)], 23)],
        23,
        announced=date(2026, 1, 16),
    )
    calls: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        skip = int(request.url.params.get("skip", 0))
        page = fake.page_slice(whole, skip, int(request.url.params.get("show", 10)))
        return httpx.Response(200, text=fake.render_page(page))

    report = src.fetch(client_for(serve, robots=ROBOTS), wl(listings=["new"]))
    assert report.errors == []
    assert calls == [
        "/list/cs.DC/new",
        "/list/cs.DC/new?skip=10&show=10",
        "/list/cs.DC/new?skip=20&show=10",
    ]
    assert [r["position"] for f in report for r in entries(f.page)] == list(range(1, 24))


def fake_entry(i: int) -> fake.Entry:
    return fake.Entry(
        f"2601.{30000 + i}",
        f"Placeholder title {i}",
        [("Danyang Zhuo", "")],
        [("Distributed, Parallel, and Cluster Computing", "cs.DC")],
        abstract="Placeholder abstract.",
    )


def test_fetch_listing_that_changes_while_paging_keeps_what_it_read(
    client_for: Callable[..., HttpClient],
) -> None:
    calls: list[str] = []
    pages = dict(RECENT_25)
    changed = body(pages[("/list/cs.DC/recent", "25")]).replace(b"Total of 55", b"Total of 60")

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("skip") == "25":
            calls.append(request.url.raw_path.decode())
            return httpx.Response(200, content=changed.replace(b"55 entries", b"60 entries"))
        return listing_server(calls, pages)(request)

    report = src.fetch(
        client_for(serve, robots=ROBOTS), wl(listings=["recent"], recent_page_size=25)
    )
    assert len(report.items) == 1 and len(calls) == 2
    (err,) = report.errors
    assert "listing changed while paging (total 55 -> 60)" in str(err)


def test_truncated_page_is_asked_for_again_once(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []
    full = body(NEW)

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        return httpx.Response(200, content=full[: len(full) // 2] if len(calls) == 1 else full)

    report = src.fetch(client_for(serve, robots=ROBOTS), wl(listings=["new"]))
    assert (len(calls), report.errors, sum(f.page.count() for f in report)) == (2, [], 19)


def test_always_truncated_page_is_an_error_not_a_short_list(
    client_for: Callable[..., HttpClient],
) -> None:
    calls: list[str] = []
    full = body(NEW)

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        return httpx.Response(200, content=full[: len(full) // 2])

    report = src.fetch(client_for(serve, robots=ROBOTS), wl(["cs.DC", "cs.LG"], listings=["new"]))
    assert report.items == [] and len(calls) == 4  # 2 tries per category, both categories tried
    assert all(isinstance(e, src.TruncatedPage) for e in report.errors) and len(report.errors) == 2


def test_fetch_error_status_is_recorded_and_the_next_category_runs(
    client_for: Callable[..., HttpClient],
) -> None:
    calls: list[str] = []
    client = client_for(listing_server(calls, {("/list/cs.LG/new", ""): NEW}), robots=ROBOTS)
    report = src.fetch(client, wl(["cs.XX", "cs.LG"], listings=["new"]))
    (err,) = report.errors
    assert "HTTP 400 from arxiv.org" in str(err) and "/list/cs.XX/new" in str(err)
    assert len(report.items) == 1


def test_fetch_500_is_retried_then_reported(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        return html("error_503_unavailable.html", 500)

    report = src.fetch(client_for(serve, robots=ROBOTS), wl(listings=["new"]))
    assert len(calls) == 5  # the shared client's attempts
    (err,) = report.errors
    assert "HTTP 500 from arxiv.org" in str(err)


def test_fetch_429_waits_and_succeeds(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"}, text="slow down")
        return html(NEW)

    report = src.fetch(client_for(serve, robots=ROBOTS), wl(listings=["new"]))
    assert (len(calls), report.errors, sum(f.page.count() for f in report)) == (2, [], 19)


def test_fetch_403_stops_the_source() -> None:
    calls: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.raw_path.decode())
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text=ROBOTS)
        return html("not_a_listing_access_denied.html", 403)

    with HttpClient(
        "team@example.org",
        transport=httpx.MockTransport(serve),
        intervals={},
        sleep=lambda s: None,
        exhaustion={SLUG: src.exhausted},
    ) as client:
        report = src.fetch(client, wl(["cs.DC", "cs.LG"]))
    assert isinstance(report.stopped, AllowanceExhausted)
    assert calls == ["/robots.txt", "/list/cs.DC/new"]  # nothing after the 403


def test_scrape_drift_stops_the_source(client_for: Callable[..., HttpClient]) -> None:
    calls: list[str] = []
    pages = {
        ("/list/cs.DC/new", ""): "drift_new_cs.DC_redesigned.html",
        ("/list/cs.LG/new", ""): NEW,
    }
    report = src.fetch(
        client_for(listing_server(calls, pages), robots=ROBOTS), wl(["cs.DC", "cs.LG"])
    )
    assert isinstance(report.stopped, ScrapeDrift)
    assert calls == ["/list/cs.DC/new"] and report.items == []


def test_robots_disallowed_listing_is_skipped_not_fetched(
    client_for: Callable[..., HttpClient],
) -> None:
    calls: list[str] = []
    pages = {("/list/cs.DC/new", ""): NEW, **RECENT_25}
    # Python's robotparser takes the first matching line (RFC 9309: the longest), so the
    # Disallow goes first, as a site adding one to arXiv's "Allow: /list" would have to.
    robots = "User-agent: *\nDisallow: /list/cs.LG\nAllow: /list\n"
    client = client_for(listing_server(calls, pages), robots=robots)
    report = src.fetch(client, wl(["cs.DC", "cs.LG"], recent_page_size=25))
    assert report.errors == [] and report.stopped is None
    assert report.skipped == [
        "https://arxiv.org/list/cs.LG/new",
        "https://arxiv.org/list/cs.LG/recent?show=25&skip=0",
    ]
    assert not any("cs.LG" in c for c in calls)
    assert len(report.items) == 4


def test_real_robots_txt_allows_list_pages_and_disallows_search() -> None:
    from urllib.robotparser import RobotFileParser

    parser = RobotFileParser()
    parser.parse(ROBOTS.splitlines())
    assert parser.can_fetch("scholarflow", "https://arxiv.org/list/cs.DC/new")
    assert parser.can_fetch("scholarflow", "https://arxiv.org/list/cs.DC/recent?skip=0&show=500")
    assert not parser.can_fetch("scholarflow", "https://arxiv.org/search/?query=x")
    assert parser.crawl_delay("scholarflow") == 15


def test_requests_go_through_robots_and_the_arxiv_host_group(
    client_for: Callable[..., HttpClient],
) -> None:
    from flows.http import DEFAULT_LIMITS

    calls: list[str] = []
    client = client_for(
        listing_server(calls, {("/list/cs.DC/new", ""): NEW}), robots="User-agent: *\nDisallow: /\n"
    )
    report = src.fetch(client, wl(listings=["new"]))
    assert calls == [] and report.skipped == ["https://arxiv.org/list/cs.DC/new"]
    assert DEFAULT_LIMITS["arxiv.org"].group == DEFAULT_LIMITS["export.arxiv.org"].group == "arxiv"
    assert DEFAULT_LIMITS["arxiv.org"].interval >= 3.0


# ---------------------------------------------------------------- the demo's fake upstream


def test_fetch_against_the_demo_fake_upstream() -> None:
    facts = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    demo = load_watchlist(ROOT / "watchlist.toml")
    watchlist = source_watchlist(
        SLUG,
        [r.model_dump() for r in demo.researchers],
        [t.model_dump() for t in demo.topics],
    )
    urls: list[str] = []
    with HttpClient(
        "team@example.org",
        transport=httpx.MockTransport(FakeUpstream(facts)),
        intervals={},
        max_attempts=1,
        on_response=lambda r: urls.append(r.url),
        adapt_to_headers=False,  # the fake's robots.txt asks for Crawl-delay: 15
    ) as client:
        report = SOURCES[SLUG].fetch(client, watchlist)
    assert (report.errors, report.skipped, report.stopped) == ([], [], None)
    assert urls == [
        "https://arxiv.org/robots.txt",
        "https://arxiv.org/list/cs.DC/new",
        "https://arxiv.org/list/cs.DC/recent?show=500&skip=0",
        "https://arxiv.org/list/cs.LG/new",
        "https://arxiv.org/list/cs.LG/recent?show=500&skip=0",
    ]
    got = {
        (r["listing_entry_id"], r["section"], r["version"]) for f in report for r in entries(f.page)
    }
    assert got == {
        ("2605.11948|cs.DC|new|2026-05-20", "new", 1),
        ("2512.13525|cs.DC|new|2026-05-20", "replacement", 2),
        ("2604.05352|cs.DC|new|2026-05-20", "replacement", 2),
        ("2605.11948|cs.DC|recent|2026-05-20", "new", 1),
        ("2605.08314|cs.LG|new|2026-05-20", "replacement", 2),
        ("2605.11585|cs.LG|new|2026-05-20", "replacement", 3),
    }
    titles = {w["arxiv_id"]: w["title"] for w in facts["works"] if w.get("arxiv_id")}
    assert all(r["title"] == titles[r["arxiv_id"]] for f in report for r in entries(f.page))
    assert all(not f.page.quarantined for f in report)


def test_demo_fake_renders_what_the_parser_reads_back() -> None:
    """The fixture renderer and the parser agree on every field the renderer can express."""
    entry = fake.Entry(
        "hep-th/0601001",
        "A & B <are> \u201cquoted\u201d",
        [("Zoë Ämmä", ""), " (1), ", ("J. Doe", ""), " ((1) Somewhere)"],
        [("High Energy Physics - Theory", "hep-th"), ("Machine Learning", "cs.LG")],
        kind="cross",
        version=None,
        comments="12 pages",
        journal_ref="J. Phys. 1 (2006)",
        abstract="x &lt; y",
        other_formats=False,
    )
    listing = fake.Listing(
        "cs.LG", "Machine Learning", "new", [fake.Section("Cross", [entry], 1)], 1,
        announced=date(2026, 2, 2),
    )  # fmt: skip
    (r,) = entries(parse(fake.render_page(listing)))
    assert (r["arxiv_id"], r["title"], r["authors"], r["abstract"]) == (
        "hep-th/0601001",
        "A & B <are> \u201cquoted\u201d",
        ["Zoë Ämmä", "J. Doe"],
        "x < y",
    )
    assert (r["section"], r["version"], r["categories"]) == (
        "cross-list",
        None,
        ["hep-th", "cs.LG"],
    )

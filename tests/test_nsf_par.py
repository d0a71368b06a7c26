"""NSF PAR source: the search page parser on hand-written pages in the site's markup
(tests/fixtures/nsf_par: paging, last page, no results, missing fields, embargo lines, odd
encodings, truncated and unclosed pages, markup drift), tree builders, staging, and fetch
(paging to the end, caps, robots.txt, HTTP errors, drift stop) through httpx.MockTransport.

There is no genuine NSF PAR capture in the shared fixtures (see its SOURCES.md): the pages here
follow the markup public scrapers of par.nsf.gov rely on (`ol.item-list.documents`,
`div.article.item.document` schema.org items, `#item-count-everything`, `.paging-max`,
`span.reader-count`) and the layout of the seed results page for "Zhuo, Danyang".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import httpx
import polars as pl
import pytest
from conftest import ROOT, demo_context, source_watchlist

from flows import fetch, steps
from flows.http import HttpClient
from flows.settings import DEMO_DIR
from flows.sources import SOURCES, nsf_par
from flows.sources.base import FetchReport, ScrapeDrift, SourceError, item_key
from flows.watchlist import Researcher
from transforms.sources import nsf_par as staging

SLUG = "nsf_par"
FIXTURES = ROOT / "tests" / "fixtures" / SLUG
ZHUO = '/search/author:"Zhuo, Danyang"'


def html(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str) -> Any:
    return nsf_par.parse_search(html(name), f"GET fixture:{name}")


def works(page: Any) -> list[dict[str, Any]]:
    return list(page.records.get("works", []))


def by_id(page: Any) -> dict[str, dict[str, Any]]:
    return {w["par_id"]: w for w in works(page)}


# (records, quarantined, total, next page) per fixture page
EXPECTED = {
    "author_zhuo_p1.html": (10, 0, 23, "2"),
    "author_zhuo_p2.html": (10, 0, 23, "3"),
    "author_zhuo_p3.html": (3, 0, 23, None),
    "cp1252_meta.html": (2, 0, 2, None),
    "utf8_bom.html": (1, 0, 1, None),
    "missing_id.html": (2, 1, 3, None),
    "no_results.html": (0, 0, 0, None),
    "term_llm_serving.html": (2, 0, 2, None),
    "truncated.html": (6, 1, 23, "2"),
    "unclosed.html": (10, 0, 23, "3"),
}


def test_every_fixture_page_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.html")} == set(EXPECTED) | {
        "drift.html",
        "maintenance.html",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_pages_parse(name: str) -> None:
    page = parse(name)
    n, q, total, nxt = EXPECTED[name]
    assert (page.count(), len(page.quarantined), page.total, page.next_token) == (n, q, total, nxt)
    for w in works(page):
        assert w["par_id"].isdigit() and w["url"].startswith("https://par.nsf.gov/biblio/")
        assert set(w) == set(staging.SCHEMAS["works"])


def test_full_record() -> None:
    alpa = by_id(parse("author_zhuo_p1.html"))["10400001"]
    assert alpa == {
        "par_id": "10400001",
        "url": "https://par.nsf.gov/biblio/10400001-alpa-automating-inter-intra-operator-parallelism",
        "title": "Alpa: Automating Inter- and Intra-Operator Parallelism for Distributed Deep "
        "Learning",
        "authors": ["Zheng, Lianmin", "Li, Zhuohan", "Zhuo, Danyang", "Stoica, Ion"],
        "publication_date": date(2022, 7, 11),
        "publication_year": 2022,
        "doi": None,
        "abstract": "Placeholder abstract written for the scholarflow tests (1).",
        "venue": "OSDI 2022",
        "publisher": "USENIX Association",
        "embargo_until": None,
        "item_type": "ScholarlyArticle",
    }


def test_records_with_missing_fields_are_normal() -> None:
    recs = by_id(parse("author_zhuo_p1.html"))
    untitled = recs["10400002"]  # an embargoed deposit: authors, date and embargo line only
    assert (untitled["title"], untitled["abstract"], untitled["doi"]) == (None, None, None)
    assert untitled["embargo_until"] == date(2026, 5, 14)
    assert untitled["authors"] == ["Zhuo, Danyang"]
    no_abstract = recs["10400003"]
    assert no_abstract["abstract"] is None and no_abstract["doi"] == "10.1145/3700000.3700002"
    month_only = recs["10400010"]  # "November 2022", no datetime attribute
    assert (month_only["publication_date"], month_only["publication_year"]) == (None, 2022)
    assert month_only["doi"] == "10.14778/3570690.3570692"


def test_embargo_lines() -> None:
    recs = by_id(parse("author_zhuo_p1.html"))
    assert {k: r["embargo_until"] for k, r in recs.items() if r["embargo_until"]} == {
        "10400002": date(2026, 5, 14),
        "10400003": date(2026, 5, 14),
        "10400004": date(2026, 4, 28),
        "10400005": date(2026, 4, 28),
    }
    # the abstract is read without its "more » « less" toggles, the embargo line is not in it
    assert recs["10400004"]["abstract"] == (
        "Placeholder abstract written for the scholarflow tests (3)."
    )


def test_venue_given_as_the_whole_description() -> None:
    rec = by_id(parse("author_zhuo_p1.html"))["10400008"]
    assert (rec["venue"], rec["abstract"]) == ("HotNets'23", None)
    assert rec["doi"] == "10.1145/3626111.3628196"


def test_page_two_variants() -> None:
    recs = by_id(parse("author_zhuo_p2.html"))
    bento = recs["10400011"]  # <meta itemprop=datePublished content=...>
    assert bento["title"] == "High Velocity Kernel File Systems with Bento"
    assert (bento["publication_date"], bento["venue"]) == (date(2021, 2, 23), "FAST 2021")
    assert recs["10400012"]["doi"] == "10.1145/3600006.3600011"  # a doi.org link, no itemprop
    assert recs["10400013"]["authors"] == ["Miller, Ann", "Zhuo, Danyang"]  # plain-text authors


def test_unicode_survives() -> None:
    rec = by_id(parse("author_zhuo_p1.html"))["10400009"]
    assert rec["title"] == "Placeholder Title Eight — Amazon’s “Nitro”"
    assert rec["abstract"] is not None and "Amazon’s" in rec["abstract"] and "–" in rec["abstract"]


def test_windows_1252_page_declared_in_meta() -> None:
    body = html("cp1252_meta.html")
    assert "“".encode("cp1252") in body and b"\xe2\x80\x9c" not in body
    first, second = works(nsf_par.parse_search(body, "cp1252"))
    assert first["title"] == "Placeholder “Quoted” Title – Dash"
    assert first["authors"] == ["Müller, Jörg", "Zhuo, Danyang"]
    assert first["abstract"] == "Placeholder abstract with café, naïve and 10 € (windows-1252)."
    assert second["authors"] == ["Lála, Jakub"]


def test_utf8_page_with_a_byte_order_mark_and_no_declared_charset() -> None:
    body = html("utf8_bom.html")
    assert body.startswith(b"\xef\xbb\xbf") and b"charset" not in body
    (rec,) = works(nsf_par.parse_search(body, "bom"))
    assert rec["title"] == "Placeholder Title with é and ’"
    assert rec["authors"] == ["Lála, Jakub", "Zhuo, Danyang"]


def test_truncated_page_keeps_complete_records_and_quarantines_the_cut_one() -> None:
    body = html("truncated.html")
    assert not body.rstrip().endswith(b"</html>")
    page = nsf_par.parse_search(body, "GET cut")
    assert list(by_id(page)) == [f"1040000{i}" for i in range(1, 7)]
    assert works(page) == works(parse("author_zhuo_p1.html"))[:6]
    (q,) = page.quarantined
    assert q.record_key == "10400007" and "truncated" in q.reason
    assert "Placeholder Title Six" in q.payload


def test_unclosed_tags_give_the_same_records_as_the_clean_page() -> None:
    body = html("unclosed.html")
    results = body[body.index(b"<ol") : body.index(b"</ol>")]
    assert (results.count(b"<li>"), results.count(b"</li>")) == (10, 1)
    assert results.count(b"<div") - results.count(b"</div>") == 4  # 4 records left open
    assert works(parse("unclosed.html")) == works(parse("author_zhuo_p2.html"))


def test_record_without_a_landing_page_is_quarantined() -> None:
    where = "GET https://par.nsf.gov/search/author:%22Zhuo%2C%20Danyang%22"
    page = nsf_par.parse_search(html("missing_id.html"), where)
    assert list(by_id(page)) == ["10400021", "10400023"]
    (q,) = page.quarantined
    assert (q.source, q.entity, q.record_key) == (SLUG, "works", item_key(where, 1))
    assert q.reason == "record without a /biblio/<id> link"
    assert "A Record Without a Landing Page" in q.payload


def test_no_results_page() -> None:
    page = parse("no_results.html")
    assert (page.count(), page.quarantined, page.total, page.next_token) == (0, [], 0, None)


def test_markup_drift_raises_with_the_page() -> None:
    body = html("drift.html")
    with pytest.raises(ScrapeDrift) as info:
        nsf_par.parse_search(body, "GET drift")
    assert "the page lists results but none could be parsed" in str(info.value)
    assert str(info.value).startswith("[nsf_par] scraper drift") and info.value.body == body


def test_drift_when_no_record_has_an_id() -> None:
    body = html("author_zhuo_p3.html").replace(b"/biblio/", b"/record/")
    with pytest.raises(ScrapeDrift, match="field 'par_id' is missing on all 3 items"):
        nsf_par.parse_search(body, "GET ids")


def test_result_count_with_an_empty_list_is_drift() -> None:
    body = html("author_zhuo_p3.html")
    start, end = body.index(b'<ol class="item-list'), body.index(b"</ol>") + 5
    with pytest.raises(ScrapeDrift):
        nsf_par.parse_search(body[:start] + body[end:], "GET gone")


@pytest.mark.parametrize(
    ("name", "status", "fragment"),
    [
        ("maintenance.html", 200, "not an NSF PAR search result page: 'NSF Public Access"),
        ("maintenance.html", 503, "HTTP 503 from NSF PAR: 'NSF Public Access Repository'"),
        ("author_zhuo_p1.html", 404, "HTTP 404 from NSF PAR"),
    ],
)
def test_error_pages_raise(name: str, status: int, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        nsf_par.parse_search(html(name), "GET there", status)
    assert not isinstance(info.value, ScrapeDrift)
    assert fragment in str(info.value) and str(info.value).endswith("(GET there)")


def test_plain_text_error_raises() -> None:
    with pytest.raises(SourceError, match="HTTP 404 from NSF PAR: b'Not Found'"):
        nsf_par.parse_search(b"Not Found", "GET x", 404)
    with pytest.raises(SourceError, match="not an NSF PAR search result page"):
        nsf_par.parse_search(b"Service temporarily unavailable", "GET x", 200)


BUILDERS = ["html.parser", "lxml"] + (
    ["html5lib"] if __import__("importlib").util.find_spec("html5lib") else []
)


@pytest.mark.parametrize("builder", BUILDERS)
def test_tree_builders_agree(builder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The measurement behind nsf_par.BUILDER: every builder yields the same records on every
    fixture, because properties are read from their own microdata item only."""
    chosen = {name: parse(name) for name in EXPECTED}
    monkeypatch.setattr(nsf_par, "BUILDER", builder)
    for name, page in chosen.items():
        other = parse(name)
        assert works(other) == works(page), (builder, name)
        assert [q.record_key for q in other.quarantined] == [q.record_key for q in page.quarantined]


def test_unclosed_page_nests_records_under_lxml_but_props_stay_scoped() -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html("unclosed.html"), nsf_par.BUILDER)
    items = nsf_par._items(soup)
    assert len(items) == 10
    assert sum(1 for i in items if nsf_par._owner(i) is not None) == 9  # nested in a predecessor
    naive = sum(len(i.find_all(itemprop="author")) for i in items)
    scoped = sum(len(nsf_par._props(i, "author")) for i in items)
    assert (naive, scoped) == (80, 20)


# ---------------------------------------------------------------- staging and warehouse


def raw_frame(*names: str) -> dict[str, pl.LazyFrame]:
    rows = [w for n in names for w in works(parse(n))]
    frame = pl.DataFrame(rows, schema=staging.SCHEMAS["works"], strict=True).with_columns(
        _run_id=pl.lit("r1"), _fetched_at=pl.lit(None, pl.Datetime("us", "UTC"))
    )
    return {"raw_nsf_par__works": frame.lazy()}


def test_staged_works_and_authorships() -> None:
    raw = raw_frame("author_zhuo_p1.html")
    untitled = raw["raw_nsf_par__works"].with_columns(
        title=pl.when(pl.col("par_id") == "10400003").then(None).otherwise(pl.col("title"))
    )
    staged = staging.works({"raw_nsf_par__works": untitled}).collect()
    assert "10400002" not in staged["source_work_id"].to_list()  # no title, no DOI: not matchable
    assert "10400003" in staged["source_work_id"].to_list()  # a DOI is enough
    assert staged.height == 9
    vldb = staged.filter(pl.col("source_work_id") == "10400010").row(0, named=True)
    assert (vldb["doi"], vldb["year"], vldb["venue"], vldb["source"]) == (
        "10.14778/3570690.3570692",
        2022,
        "Proceedings of the VLDB Endowment",
        SLUG,
    )
    authors = staging.authorships(raw).collect()
    alpa = authors.filter(pl.col("source_work_id") == "10400001")
    assert alpa["raw_name"].to_list() == [
        "Zheng, Lianmin",
        "Li, Zhuohan",
        "Zhuo, Danyang",
        "Stoica, Ion",
    ]
    assert alpa["position"].to_list() == [0, 1, 2, 3]


def test_arxiv_doi_becomes_an_arxiv_id() -> None:
    raw = raw_frame("author_zhuo_p3.html")
    frame = raw["raw_nsf_par__works"].with_columns(
        doi=pl.when(pl.col("par_id") == "10400021")
        .then(pl.lit("10.48550/arXiv.2207.00592"))
        .otherwise(pl.col("doi"))
    )
    staged = staging.works({"raw_nsf_par__works": frame}).collect()
    row = staged.filter(pl.col("source_work_id") == "10400021").row(0, named=True)
    assert (row["arxiv_id"], row["doi"]) == ("2207.00592", None)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[0]))
def test_fixture_pages_import_and_build(name: str, tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [FIXTURES / name])
    summary = steps.load_and_build(demo_context(path), [report], {})
    (s,) = summary.sources
    n, q, _, _ = EXPECTED[name]
    assert (s.records, s.new, s.quarantined, s.errors) == (n, n, q, [])
    con = duckdb.connect(str(path), read_only=True)
    try:
        loaded = con.execute("select count(*) from raw_nsf_par__works").fetchone()
        papers = con.execute(
            "select count(*) from papers where list_contains(sources, 'nsf_par')"
        ).fetchone()
    finally:
        con.close()
    matchable = [w for w in works(parse(name)) if w["title"] or w["doi"]]
    assert loaded == (n,) and papers == (len(matchable),)


# ---------------------------------------------------------------- fetch


class Site:
    """MockTransport handler serving fixture pages by decoded path; keeps every request."""

    def __init__(self, pages: dict[str, bytes | httpx.Response]) -> None:
        self.pages = pages
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "par.nsf.gov"
        answer = self.pages.get(unquote(request.url.path))
        if answer is None:
            return httpx.Response(404, html="<html><title>Page not found</title></html>")
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, content=answer, headers={"content-type": "text/html"})

    def paths(self) -> list[str]:
        return [unquote(r.url.path) for r in self.requests]


make_watchlist = functools.partial(source_watchlist, SLUG)
RESEARCHER = {"name": "Danyang Zhuo", "aliases": ["D. Zhuo", "Zhuo, Danyang"]}
AUTHOR_PAGES: dict[str, bytes | httpx.Response] = {
    ZHUO: html("author_zhuo_p1.html"),
    f"{ZHUO}/page:2": html("author_zhuo_p2.html"),
    f"{ZHUO}/page:3": html("author_zhuo_p3.html"),
}


def par_ids(report: FetchReport) -> list[str]:
    return [w["par_id"] for f in report for w in f.page.records.get("works", [])]


def test_author_search_pages_to_the_end(client_for: Callable[..., HttpClient]) -> None:
    site = Site(AUTHOR_PAGES)
    report = nsf_par.fetch(
        client_for(site, robots="User-agent: *\nDisallow: /servlets/\n"),
        make_watchlist([RESEARCHER]),
    )
    assert report.errors == [] and report.skipped == []
    assert site.paths() == [ZHUO, f"{ZHUO}/page:2", f"{ZHUO}/page:3"]
    assert site.requests[0].url.raw_path == b"/search/author:%22Zhuo%2C%20Danyang%22"
    assert len(par_ids(report)) == 23 == len(set(par_ids(report)))
    assert [f.response.url for f in report][1] == (
        "https://par.nsf.gov/search/author:%22Zhuo%2C%20Danyang%22/page:2"
    )


def test_max_pages_caps_a_search(client_for: Callable[..., HttpClient]) -> None:
    site = Site(AUTHOR_PAGES)
    wl = make_watchlist([RESEARCHER], nsf_par={"max_pages": 2})
    report = nsf_par.fetch(client_for(site), wl)
    assert site.paths() == [ZHUO, f"{ZHUO}/page:2"] and len(par_ids(report)) == 20


def test_robots_disallow_skips_the_searches(client_for: Callable[..., HttpClient]) -> None:
    site = Site(AUTHOR_PAGES)
    report = nsf_par.fetch(
        client_for(site, robots="User-agent: *\nDisallow: /search\n"),
        make_watchlist([RESEARCHER, {"name": "Zhaoyuan Su"}]),
    )
    assert site.requests == []  # robots.txt itself is answered by client_for
    assert report.errors == [] and report.items == []
    assert [unquote(u) for u in report.skipped] == [
        f"https://par.nsf.gov{ZHUO}",
        'https://par.nsf.gov/search/author:"Su, Zhaoyuan"',
    ]


def test_topic_search_newest_first_stops_at_since_year(
    client_for: Callable[..., HttpClient],
) -> None:
    term = '/search/term:"LLM serving"/sort:publication_date desc'
    p1 = html("term_llm_serving.html").replace(
        b'<span class="paging-max">1</span>', b'<span class="paging-max">2</span>'
    )
    site = Site({ZHUO: html("no_results.html"), term: p1})
    wl = make_watchlist(
        [RESEARCHER],
        [{"name": "LLM serving", "keywords": ["LLM serving"]}],
        since_year=2018,
    )
    report = nsf_par.fetch(client_for(site), wl)
    # page 1 ends with a 2017 record: newest first, so page 2 holds nothing from 2018 on
    assert site.paths() == [ZHUO, term]
    assert site.requests[1].url.raw_path.endswith(b"/sort:publication_date%20desc")
    assert report.errors == [] and par_ids(report) == ["10500001", "10500002"]


def test_topic_search_cap_and_switch(client_for: Callable[..., HttpClient]) -> None:
    term = '/search/term:"KV cache"/sort:publication_date desc'
    site = Site({ZHUO: html("no_results.html"), term: html("author_zhuo_p1.html")})
    topics = [{"name": "LLM serving", "keywords": ["KV cache"]}]
    wl = make_watchlist([RESEARCHER], topics, max_topic_results=5, since_year=2000)
    nsf_par.fetch(client_for(site), wl)
    assert site.paths() == [ZHUO, term]  # 10 >= 5: no page 2
    site.requests.clear()
    nsf_par.fetch(
        client_for(site), make_watchlist([RESEARCHER], topics, nsf_par={"search_topics": False})
    )
    assert site.paths() == [ZHUO]


@pytest.mark.parametrize(
    ("response", "fragment", "attempts"),
    [
        (httpx.Response(404, html="<html><title>Page not found</title></html>"), "HTTP 404", 1),
        (httpx.Response(500, text="Internal Server Error"), "HTTP 500", 5),
        (
            httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "2"}),
            "HTTP 429",
            5,
        ),
        (httpx.Response(200, content=html("maintenance.html")), "not an NSF PAR search", 1),
    ],
)
def test_http_errors_are_reported_and_the_next_search_goes_on(
    response: httpx.Response, fragment: str, attempts: int, client_for: Callable[..., HttpClient]
) -> None:
    su = '/search/author:"Su, Zhaoyuan"'
    site = Site({ZHUO: response, su: html("no_results.html")})
    report = nsf_par.fetch(client_for(site), make_watchlist([RESEARCHER, {"name": "Zhaoyuan Su"}]))
    (err,) = report.errors
    assert fragment in str(err) and unquote(err.where) == f"GET https://par.nsf.gov{ZHUO}"
    assert report.stopped is None
    assert site.paths() == [ZHUO] * attempts + [su]


def test_drift_stops_the_source(client_for: Callable[..., HttpClient]) -> None:
    site = Site({ZHUO: html("drift.html")})
    wl = make_watchlist([RESEARCHER, {"name": "Zhaoyuan Su"}])
    report = nsf_par.fetch(client_for(site), wl)
    assert isinstance(report.stopped, ScrapeDrift) and report.errors == [report.stopped]
    assert site.paths() == [ZHUO]  # no request for the next researcher


def test_page_two_failing_keeps_page_one(client_for: Callable[..., HttpClient]) -> None:
    site = Site({**AUTHOR_PAGES, f"{ZHUO}/page:2": httpx.Response(404, text="gone")})
    report = nsf_par.fetch(client_for(site), make_watchlist([RESEARCHER]))
    assert len(par_ids(report)) == 10 and len(report.errors) == 1
    assert site.paths() == [ZHUO, f"{ZHUO}/page:2"]


@pytest.mark.parametrize(
    ("name", "aliases", "query"),
    [
        ("Danyang Zhuo", ["D. Zhuo", "Zhuo, Danyang"], "Zhuo, Danyang"),
        ("Danyang Zhuo", [], "Zhuo, Danyang"),
        ("Bruce M. Maggs", [], "Maggs, Bruce M."),
        ("Pengfei Zuo", ["Zuo, P."], "Zuo, Pengfei"),  # an initial is no better than the name
        ("Zhaoyuan Su", ["Su,  Zhaoyuan"], "Su, Zhaoyuan"),
        ("Plato", [], "Plato"),
    ],
)
def test_author_query(name: str, aliases: list[str], query: str) -> None:
    assert nsf_par.author_query(Researcher(name=name, aliases=aliases)) == query


def test_search_urls() -> None:
    assert nsf_par.search_url("author", "Zhuo, Danyang") == (
        "https://par.nsf.gov/search/author:%22Zhuo%2C%20Danyang%22"
    )
    assert nsf_par.search_url("term", "KV cache", 3, "publication_date desc") == (
        "https://par.nsf.gov/search/term:%22KV%20cache%22/sort:publication_date%20desc/page:3"
    )


# ---------------------------------------------------------------- demo fake


def test_fetch_against_the_demo_fake(client_for: Callable[..., HttpClient]) -> None:
    from flows.demo import fakes
    from flows.demo.generate import FakeUpstream

    facts = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    upstream = FakeUpstream(facts)
    wl = make_watchlist(
        [
            RESEARCHER,
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {"name": "Pengfei Zuo", "aliases": ["Zuo, Pengfei", "P. Zuo"]},
        ],
        [{"name": "LLM serving", "keywords": ["LLM serving", "LLM inference", "KV cache"]}],
    )
    report = nsf_par.fetch(client_for(upstream, robots=fakes.ROBOTS["par.nsf.gov"]), wl)
    assert report.errors == [] and report.stopped is None and report.skipped == []
    for f in report:
        again = SOURCES[SLUG].parse(f.response.body, f.response.url, f.response.status)
        assert again.quarantined == [] and again.count() == f.page.count()
    first = report.items[0].page.records["works"]
    published = {
        w["title"]
        for w in facts["works"]
        if "danyang-zhuo" in w["watched"] and w["venue"] != "arXiv"
    }
    assert {w["title"] for w in first if w["title"]} == published
    embargoed = sorted(str(w["embargo_until"]) for w in first if w["embargo_until"])
    assert embargoed == ["2026-04-28", "2026-04-28", "2026-05-14", "2026-05-14"]
    assert [w["venue"] for w in first if w["venue"] == "HotNets'23"] == ["HotNets'23"]
    assert report.items[1].page.count() == 0  # Zhaoyuan Su: no PAR records
    topic = {w["title"] for f in report.items[3:] for w in f.page.records.get("works", [])}
    in_topic = {
        w["title"]
        for w in facts["works"]
        if "llm-serving" in w["topics"] and w["venue"] != "arXiv" and w["date"] >= "2018"
    }
    assert topic == in_topic

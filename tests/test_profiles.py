"""Researcher profile pages through declarative recipes: recipe validation, the shipped Google
Scholar and DBLP recipes on pages written to the sites' markup, a user's own recipe (a
BZPEER-style site) added without code, drift, damaged pages and odd encodings, the fetch loop
(paging, caps, robots.txt, errors) through MockTransport, the demo's fake upstream, and import
into the warehouse. No shared upstream recordings exist for this source (scraped HTML)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, SHARED_FIXTURES, demo_context

from flows import fetch, steps
from flows.demo import fakes
from flows.demo.fakes import profiles as fake_profiles
from flows.demo.generate import FakeUpstream
from flows.http import HttpClient
from flows.recipes import (
    RECIPES_DIR,
    Extract,
    Recipe,
    RecipeError,
    load_recipe,
    load_recipe_file,
    parse_recipe,
    shipped,
)
from flows.settings import DEMO_DIR
from flows.sources import SOURCES, profiles
from flows.sources.base import ScrapeDrift, SourceError
from flows.sources.profiles import Context, ProfileBlocked, parse_page, parse_profile
from flows.watchlist import Watchlist
from transforms.sources import STAGING

SLUG = "profiles"
FIX = ROOT / "tests" / "fixtures" / "profiles"
SCHOLAR = load_recipe("google_scholar")
DBLP = load_recipe("dblp_person")
BZ_RECIPE = FIX / "bzpeer.toml"
BZ = load_recipe_file(BZ_RECIPE)
FACTS: dict[str, Any] = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
BZ_URL = "https://bzpeer.example.org/researchers/danyang-zhuo"
ZUO_SCHOLAR = "https://scholar.google.com/citations?user=pZuo000AAAAJ&hl=en"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


def watched(key: str) -> list[dict[str, Any]]:
    return [w for w in FACTS["works"] if key in w["watched"]]


def cites(w: dict[str, Any]) -> int:
    c = w["citations"]
    return int(c.get("openalex", c.get("semantic_scholar", 0)))


def works(page: Any) -> list[dict[str, Any]]:
    return list(page.records.get("works", []))


def make_watchlist(profiles_: list[dict[str, str]], **options: int) -> Watchlist:
    return Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": [
                {"name": "Danyang Zhuo"},
                {"name": "Zhaoyuan Su"},
                {"name": "Pengfei Zuo"},
            ],
            "profiles": profiles_,
            "sources": {"enabled": [SLUG], "profiles": options},
        }
    )


# ---------------------------------------------------------------- recipes


def test_shipped_recipes_are_valid_and_state_their_terms() -> None:
    assert set(shipped()) == {"google_scholar", "dblp_person"}
    assert SCHOLAR.hosts == ["scholar.google.com"] and DBLP.hosts[0] == "dblp.org"
    # robots.txt disallows /citations?*cstart=: only the first page, 100 articles
    assert SCHOLAR.paging is not None
    assert (SCHOLAR.paging.offset_param, SCHOLAR.paging.size) == ("cstart", 100)
    assert SCHOLAR.max_pages == 1
    notes = " ".join(SCHOLAR.notes.split())
    assert "OPT-IN ONLY" in notes and "one researcher at a time" in notes
    assert "Disallow /citations?*cstart=" in " ".join(notes.split())
    assert DBLP.paging is None and DBLP.max_pages == 1


def test_recipes_ship_as_package_data() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "recipes/*.toml" in conf["tool"]["setuptools"]["package-data"]["flows"]
    assert sorted(p.name for p in RECIPES_DIR.glob("*.toml")) == [
        "dblp_person.toml",
        "google_scholar.toml",
    ]


GOOD = BZ_RECIPE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (lambda t: "colour = 'red'\n" + t, "colour", "unknown key"),
        (
            lambda t: t.replace('title = "h3.work-title"', 'title = { css = "h3", atr = "x" }'),
            "fields.title.atr",
            "unknown key",
        ),
        (
            lambda t: t.replace('item = "ol.works > li.work-card"', 'item = "li.work-card["'),
            "item",
            "bad CSS selector 'li.work-card['",
        ),
        (
            lambda t: t.replace('venue = "span.work-venue"', 'venue = { css = "span::x" }'),
            "fields.venue.css",
            "bad CSS selector",
        ),
        (
            lambda t: t.replace("regex = '(\\d{4})'", "regex = '(\\d{4}'"),
            "fields.year.regex",
            "bad regular expression",
        ),
        (
            lambda t: t.replace('venue = "span.work-venue"', 'venue = { css = "b", split = "," }'),
            "fields",
            "venue.split: only list fields",
        ),
        (
            lambda t: t.replace('required = ["title", "year"]', 'required = ["title", "authors"]'),
            "(top level)",
            "required field 'authors' has no selector",
        ),
        (
            lambda t: t.replace('required = ["title", "year"]', 'required = ["titel"]'),
            "required[0]",
            "Input should be",
        ),
        (
            lambda t: t.replace("max_pages = 5", "max_pages = 5\noffset_param = 'p'"),
            "paging",
            "either `next` or offset_param",
        ),
        (
            lambda t: t.replace("max_pages = 5", "max_pages = 500"),
            "paging.max_pages",
            "less than or equal to 100",
        ),
        (
            lambda t: t.replace('name = "trust"', 'name = "followers"'),
            "(top level)",
            "metrics listed twice: followers",
        ),
        (
            lambda t: t.replace('hosts = ["bzpeer.example.org"]', 'hosts = "bzpeer.example.org"'),
            "hosts",
            "valid list",
        ),
        (lambda t: t.replace('title = "h3.work-title"\n', ""), "fields.title", "Field required"),
        (
            lambda t: t.replace('detect = "main.researcher-profile"', "detect = "),
            "",
            "invalid TOML",
        ),
    ],
    ids=[
        "unknown-key",
        "unknown-field-key",
        "bad-item-selector",
        "bad-field-selector",
        "bad-regex",
        "split-on-scalar",
        "required-without-selector",
        "unknown-required-field",
        "mixed-paging",
        "too-many-pages",
        "duplicate-metric",
        "hosts-not-a-list",
        "no-title",
        "bad-toml",
    ],
)
def test_invalid_recipe_names_file_and_key(
    tmp_path: Path, edit: Callable[[str], str], key: str, message: str
) -> None:
    edited = edit(GOOD)
    assert edited != GOOD
    path = tmp_path / "my_site.toml"
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path))
    text = str(info.value)
    assert f"{path}: {key}" in text if key else f"{path}:" in text
    assert message in text


def test_recipe_lookup_by_name_and_errors() -> None:
    assert load_recipe("dblp_person") is DBLP
    with pytest.raises(RecipeError, match=r"no shipped recipe named 'orcid'.*dblp_person"):
        load_recipe("orcid")
    with pytest.raises(RecipeError, match=r"nowhere\.toml: cannot read recipe"):
        load_recipe("/nowhere.toml")


def test_fixture_recipe_is_a_plain_user_file() -> None:
    """A site added without code: the BZPEER-style recipe validates like a shipped one."""
    assert parse_recipe(GOOD, "x.toml") == BZ
    assert BZ.paging is not None and BZ.paging.next is not None
    assert [m.name for m in BZ.metrics] == ["works_count", "trust", "followers", "collaborators"]


# ---------------------------------------------------------------- Google Scholar pages


def test_scholar_profile_page() -> None:
    page = parse_page(fixture("scholar_zhuo.html"), "zhuo", SCHOLAR)
    got = works(page)
    facts = watched("danyang-zhuo")
    assert page.quarantined == [] and page.next_token is None
    assert {w["title"] for w in got} == {w["title"] for w in facts}
    assert {w["title"]: w["citations"] for w in got} == {
        w["title"]: cites(w) or None for w in facts
    }
    alpa = next(w for w in got if w["title"].startswith("Alpa:"))
    assert (alpa["year"], alpa["venue"], alpa["citations"]) == (2022, "OSDI 2022", 412)
    # Scholar's "..." (list cut short) stays as the list's last entry and marks it truncated
    assert alpa["authors"] == ["L Zheng", "Z Li", "H Zhang", "Y Zhuang", "Z Chen", "Y Huang", "..."]
    assert alpa["authors_truncated"] is True
    assert alpa["link"].startswith(
        "https://scholar.google.com/citations?view_op=view_citation&hl=en&user=dZhuo00AAAAJ"
    )
    assert alpa["site_id"].startswith("dZhuo00AAAAJ:") and alpa["doi"] is None
    # an arXiv preprint's venue reveals its arXiv id
    nixie = next(w for w in got if w["title"].startswith("Nixie:"))
    assert (nixie["venue"], nixie["arxiv_id"]) == ("arXiv preprint arXiv:2601.11743", "2601.11743")
    # a blank citation cell is no count, not zero
    hydra = next(w for w in got if w["title"].startswith("Hydra:"))
    assert hydra["citations"] is None and hydra["authors"] == ["A Du", "J Ou", "D Zhuo", "M Lentz"]
    assert hydra["authors_truncated"] is False
    assert {w["researcher_id"] for w in got} == {"danyang-zhuo"}  # from the name on the page
    assert len({w["work_id"] for w in got}) == 9
    (metrics,) = page.records["metrics"]
    every = sorted((cites(w) for w in facts), reverse=True)
    assert metrics["citations"] == sum(every)
    assert metrics["h_index"] == sum(1 for i, c in enumerate(every, 1) if c >= i)
    assert metrics["i10_index"] == sum(1 for c in every if c >= 10)
    assert metrics["profile_name"] == "Danyang Zhuo"
    assert {m["name"]: m["value"] for m in metrics["metrics"]} == {
        "citations": 497,
        "citations_since": 456,
        "h_index": 4,
        "h_index_since": 3,
        "i10_index": 3,
        "i10_index_since": 2,
        "since_year": 2021,
    }


def test_scholar_link_in_href_or_data_href() -> None:
    got = works(parse_page(fixture("scholar_zhuo.html"), "zhuo", SCHOLAR))
    html = fixture("scholar_zhuo.html").decode()
    assert 'data-href="/citations' in html and '<a href="/citations?view_op' in html
    assert all(w["link"] and "citation_for_view=dZhuo00AAAAJ:" in w["link"] for w in got)
    assert all("javascript" not in w["link"] for w in got)


def test_scholar_empty_profile_is_not_drift() -> None:
    page = parse_page(fixture("scholar_su_empty.html"), "su", SCHOLAR)
    assert works(page) == []
    (metrics,) = page.records["metrics"]
    assert (metrics["citations"], metrics["h_index"], metrics["researcher_id"]) == (
        0,
        0,
        "zhaoyuan-su",
    )


def test_scholar_offset_paging_url() -> None:
    url = ZUO_SCHOLAR + "&pagesize=100"
    first = parse_page(fixture("scholar_zuo_cstart0.html"), "p1", SCHOLAR, ctx=Context(url=url))
    assert first.next_token == ZUO_SCHOLAR + "&pagesize=100&cstart=100"
    last = parse_page(fixture("scholar_zuo_cstart6.html"), "p2", SCHOLAR, ctx=Context(url=url))
    assert last.next_token is None  # the "Show more" button is disabled
    assert profiles.first_url(SCHOLAR, ZUO_SCHOLAR) == url
    assert profiles.first_url(SCHOLAR, url) == url


# ---------------------------------------------------------------- DBLP person pages


def test_dblp_person_page() -> None:
    page = parse_page(fixture("dblp_zuo.html"), "zuo", DBLP)
    got = works(page)
    facts = watched("pengfei-zuo")
    assert page.quarantined == []
    corr = [w for w in got if w["venue"] == "CoRR"]
    conf = [w for w in got if w["venue"] != "CoRR"]
    assert len(corr) == sum(1 for w in facts if w["arxiv_id"]) == 12
    assert [(w["venue"], w["year"]) for w in conf] == [("USENIX ATC", 2024)]
    assert {w["title"] for w in got} == {w["title"] for w in facts}  # the final "." is stripped
    by_title = {w["title"]: w for w in facts}
    for w in corr:
        fact = by_title[w["title"]]
        assert w["arxiv_id"] == fact["arxiv_id"] and w["doi"] is None
        assert w["site_id"] == "journals/corr/abs-" + fact["arxiv_id"].replace(".", "-")
        assert w["authors"] == fact["authors"]
        assert w["year"] == int(fact["date"][:4])
        assert w["link"] == f"https://doi.org/10.48550/arXiv.{fact['arxiv_id']}"
    assert page.records["metrics"][0]["works_count"] == 13


def test_dblp_doi_from_electronic_edition() -> None:
    got = works(parse_page(fixture("dblp_zhuo.html"), "zhuo", DBLP))
    pvldb = next(w for w in got if w["venue"] == "PVLDB")
    assert (pvldb["doi"], pvldb["arxiv_id"], pvldb["year"]) == (
        "10.14778/3570690.3570692",
        None,
        2022,
    )
    assert pvldb["site_id"].startswith("conf/pvldb/")
    osdi = next(w for w in got if w["venue"] == "OSDI")
    assert osdi["link"] is None and osdi["doi"] is None  # no electronic edition listed


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        (["https://doi.org/10.14778/3570690.3570692"], ("10.14778/3570690.3570692", None)),
        (["https://doi.org/10.48550/arXiv.2403.19708"], (None, "2403.19708")),
        (["https://arxiv.org/abs/2403.19708v3"], (None, "2403.19708")),
        (["https://arxiv.org/pdf/2403.19708v2.pdf"], (None, "2403.19708")),
        (["http://arxiv.org/abs/cs/0112017"], (None, "cs/0112017")),
        (["https://doi.org/10.1145%2F3600006.3613165"], ("10.1145/3600006.3613165", None)),
        (
            ["https://www.usenix.org/conference/atc24", "https://arxiv.org/abs/2403.19708"],
            (None, "2403.19708"),
        ),
        (["https://scholar.google.com/citations?view_op=view_citation"], (None, None)),
    ],
)
def test_ids_from_links(links: list[str], expected: tuple[str | None, str | None]) -> None:
    assert profiles.ids_from_links(links) == expected


# ---------------------------------------------------------------- a user's own recipe


def test_user_recipe_pages_with_next_link_and_windows_1252() -> None:
    first = parse_page(
        fixture("bzpeer_zhuo_page1.html"), "p1", BZ, ctx=Context(url=BZ_URL, profile_url=BZ_URL)
    )
    got = works(first)
    assert len(got) == 5 and first.next_token == BZ_URL + "?page=2"
    curator = next(w for w in got if w["title"].startswith("Curator:"))
    assert (curator["year"], curator["venue"], curator["arxiv_id"]) == (2026, "arXiv", "2601.01291")
    assert curator["authors"] == [] and curator["citations"] is None  # the site shows neither
    # windows-1252 declared in <meta>: the en dash and the curly apostrophe survive
    assert curator["abstract"] == (
        "Placeholder abstract – written for the scholarflow tests; it’s not the paper’s own."
    )
    (metrics,) = first.records["metrics"]
    values = {m["name"]: m["value"] for m in metrics["metrics"]}
    assert values == {"works_count": 9.0, "trust": 21.0, "followers": 0.0, "collaborators": 4.0}
    assert metrics["works_count"] == 9 and metrics["profile_id"] == f"bzpeer:{BZ_URL}"
    second = parse_page(
        fixture("bzpeer_zhuo_page2.html"),
        "p2",
        BZ,
        ctx=Context(url=BZ_URL + "?page=2", profile_url=BZ_URL, metrics=False),
    )
    assert len(works(second)) == 4 and second.next_token is None
    assert "metrics" not in second.records
    titles = {w["title"] for w in got + works(second)}
    assert titles == {w["title"] for w in watched("danyang-zhuo")}


def test_imported_page_uses_canonical_url_and_shown_name() -> None:
    page = parse_page(fixture("bzpeer_zhuo_page1.html"), "/tmp/saved.html", BZ)
    (w, *_) = works(page)
    assert w["profile_url"] == BZ_URL and w["researcher_id"] == "danyang-zhuo"
    assert page.next_token is None  # no page URL: nothing to page from


# ---------------------------------------------------------------- import: recipe detection


@pytest.mark.parametrize(
    ("name", "recipe", "count"),
    [
        ("scholar_zhuo.html", "google_scholar", 9),
        ("scholar_su_empty.html", "google_scholar", 0),
        ("dblp_zuo.html", "dblp_person", 13),
        ("dblp_zhuo.html", "dblp_person", 12),
    ],
)
def test_import_parser_detects_the_recipe(name: str, recipe: str, count: int) -> None:
    where = str(FIX / name)
    page = parse_profile(fixture(name), where)
    assert len(works(page)) == count
    assert {w["recipe"] for w in works(page)} <= {recipe}
    assert page.records["metrics"][0]["recipe"] == recipe
    assert page.records["metrics"][0]["profile_url"] == where  # no canonical link on the page


def test_import_parser_is_the_registered_one() -> None:
    source = SOURCES[SLUG]
    assert source.parse is parse_profile
    assert source.entities == ("works", "metrics")
    assert source.keys == {"works": "work_id", "metrics": "profile_id"}
    assert source.signals["metrics"] == ("profile_id", profiles.KNOWN_METRICS)
    for entity, (id_field, fields) in source.signals.items():
        schema = STAGING[SLUG].schemas[entity]
        assert id_field in schema and all(f in schema for f in fields)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (fixture("bzpeer_zhuo_page1.html"), 200, "no shipped recipe recognises this page"),
        (b"Not Found", 200, "no shipped recipe recognises this page"),
        (b"<html><title>Error 404 (Not Found)</title></html>", 404, "HTTP 404"),
    ],
)
def test_import_of_unrecognised_or_error_pages(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(SourceError, match=re.escape(fragment)) as info:
        parse_profile(body, "saved.html", status)
    assert str(info.value).startswith("[profiles] ") and "(saved.html)" in str(info.value)


# ---------------------------------------------------------------- error pages


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            b"<!doctype html><title>Error 404 (Not Found)!!1</title><p>Not found",
            404,
            "HTTP 404 from dblp_person: 'Error 404 (Not Found)!!1'",
        ),
        (b"Internal Server Error", 500, "HTTP 500 from dblp_person: 'Internal Server Error'"),
        (b"  \n", 200, "empty page from dblp_person"),
    ],
)
def test_error_bodies_raise_source_error(body: bytes, status: int, fragment: str) -> None:
    with pytest.raises(SourceError) as info:
        parse_page(body, "GET https://dblp.org/pid/x.html", DBLP, status)
    assert not isinstance(info.value, ScrapeDrift)
    assert str(info.value) == f"[profiles] {fragment} (GET https://dblp.org/pid/x.html)"


def test_captcha_page_is_blocked_not_drift() -> None:
    body = (
        b"<html><body><div id='gs_captcha_ccl'><h1>Please show you&#39;re not a robot</h1>"
        b"<form id='gs_captcha_f'></form></div></body></html>"
    )
    with pytest.raises(ProfileBlocked, match="block/CAPTCHA page"):
        parse_page(body, "GET scholar", SCHOLAR)


# ---------------------------------------------------------------- drift


def test_redesigned_rows_are_drift() -> None:
    """The rows lost their class: the articles table still shows rows (`expect`), the item
    selector finds none."""
    body = fixture("scholar_zhuo_redesign.html")
    with pytest.raises(ScrapeDrift, match="lists results but none could be parsed") as info:
        parse_page(body, "GET zhuo", SCHOLAR)
    assert info.value.body == body and info.value.source == SLUG


@pytest.mark.parametrize(
    ("name", "recipe", "old", "new", "fragment"),
    [
        (
            "scholar_zhuo.html",
            SCHOLAR,
            'class="gsc_a_at"',
            'class="gsc_a_title"',
            "field 'title' is missing on all 9 items",
        ),
        (
            "scholar_zhuo.html",
            SCHOLAR,
            '<div class="gs_gray">',
            '<div class="gs_grey">',
            "field 'authors' is missing on all 9 items",
        ),
        (
            "dblp_zuo.html",
            DBLP,
            '<li class="entry ',
            '<li class="record ',
            "lists results but none could be parsed",
        ),
        (
            "dblp_zuo.html",
            DBLP,
            'itemprop="datePublished"',
            'itemprop="published"',
            "field 'year' is missing on all 13 items",
        ),
        (
            "dblp_zuo.html",
            DBLP,
            'class="publ-list"',
            'class="publication-list"',
            "not a dblp_person profile page",
        ),
        (
            "bzpeer_zhuo_page1.html",
            BZ,
            'class="work-card"',
            'class="card"',
            "lists results but none could be parsed",
        ),
    ],
    ids=[
        "scholar-title",
        "scholar-authors",
        "dblp-entries",
        "dblp-year",
        "dblp-detect",
        "user-recipe-items",
    ],
)
def test_changed_markup_is_drift(
    name: str, recipe: Recipe, old: str, new: str, fragment: str
) -> None:
    text = fixture(name).decode("cp1252" if name.startswith("bz") else "utf-8")
    assert old in text
    body = text.replace(old, new).encode("cp1252" if name.startswith("bz") else "utf-8")
    with pytest.raises(ScrapeDrift, match=re.escape(fragment)):
        parse_page(body, "GET page", recipe)


def test_expect_regex_says_zero_results() -> None:
    """The user recipe's evidence is "N published item(s)": zero items shown is no drift."""
    text = fixture("bzpeer_zhuo_page2.html").decode("cp1252")
    empty = re.sub(r'<li class="work-card">.*?</li>\n', "", text, flags=re.S)
    empty = empty.replace("9 published item(s)", "0 published item(s)")
    page = parse_page(empty.encode("cp1252"), "GET empty", BZ)
    assert works(page) == [] and page.records["metrics"]


# ---------------------------------------------------------------- malformed items


def test_item_without_title_is_quarantined() -> None:
    text = fixture("scholar_zhuo.html").decode()
    alpa = "Alpa: Automating Inter- and Intra-Operator Parallelism for Distributed Deep Learning"
    body = text.replace(f">{alpa}</a>", "></a>").encode()
    page = parse_page(body, "GET zhuo", SCHOLAR)
    assert len(works(page)) == 8
    (q,) = page.quarantined
    assert (q.source, q.entity, q.reason) == ("profiles", "works", "item without a title")
    assert q.record_key == "GET zhuo [item 0]" and "L Zheng" in q.payload


def test_unreadable_year_is_quarantined() -> None:
    plain_year = SCHOLAR.model_copy(
        update={
            "fields": SCHOLAR.fields.model_copy(
                update={"year": Extract(css="td.gsc_a_y span.gsc_a_h")}
            )
        }
    )
    body = fixture("scholar_zhuo.html").decode().replace('gs_ibl">2022<', 'gs_ibl">20O2<', 1)
    page = parse_page(body.encode(), "GET zhuo", plain_year)
    (q,) = page.quarantined
    assert q.reason == "year '20O2' is not a whole number"
    assert len(works(page)) == 8


def test_same_work_twice_on_a_page_keeps_both() -> None:
    text = fixture("bzpeer_zhuo_page2.html").decode("cp1252")
    card = re.search(r'<li class="work-card">.*?</li>\n', text, flags=re.S)
    assert card is not None
    body = text.replace(card.group(0), card.group(0) * 2).encode("cp1252")
    got = works(parse_page(body, "GET p2", BZ, ctx=Context(url=BZ_URL, profile_url=BZ_URL)))
    ids = [w["work_id"] for w in got]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert ids[1] == ids[0] + "~2"


# ---------------------------------------------------------------- damaged pages


def _unclosed(text: str) -> str:
    """The page with its optional end tags left out (valid HTML, common in the wild)."""
    return re.sub(r"</(li|tr|td|th|p)>", "", text)


DAMAGED = [
    ("scholar_zhuo.html", SCHOLAR),
    ("dblp_zuo.html", DBLP),
    ("bzpeer_zhuo_page1.html", BZ),
]


@pytest.mark.parametrize(("name", "recipe"), DAMAGED, ids=lambda v: getattr(v, "name", v))
def test_tree_builders_on_damaged_pages(name: str, recipe: Recipe) -> None:
    """Why BUILDER is lxml: with end tags left out, lxml and html5lib keep every item as the
    intact page has it; html.parser nests the items and loses them. Cut pages: all the same."""
    text = profiles.decode_html(fixture(name))

    def items(markup: str, builder: str) -> list[dict[str, Any]]:
        soup = BeautifulSoup(markup, builder)
        return [profiles.extract_item(el, recipe) for el in soup.select(recipe.item)]

    reference = items(text, "html5lib")
    assert reference == items(text, "lxml") == items(text, "html.parser")
    unclosed = _unclosed(text)
    assert unclosed != text
    assert items(unclosed, "lxml") == reference == items(unclosed, "html5lib")
    parser_kept = [i for i in items(unclosed, "html.parser") if i in reference]
    assert len(parser_kept) <= 1
    for share in (0.5, 0.75, 0.9):
        cut = text[: int(len(text) * share)]
        complete = [i for i in items(cut, "lxml") if i in reference]
        assert complete == [i for i in items(cut, "html5lib") if i in reference]
        assert complete == reference[: len(complete)] and complete
    assert profiles.BUILDER == "lxml"


@pytest.mark.parametrize(("name", "recipe"), DAMAGED, ids=lambda v: getattr(v, "name", v))
def test_truncated_page_keeps_complete_items_and_quarantines_the_last(
    name: str, recipe: Recipe
) -> None:
    body = fixture(name)
    whole = works(parse_page(body, "GET page", recipe))
    cut = parse_page(body[: len(body) * 3 // 4], "GET page", recipe)
    kept = works(cut)
    assert kept and kept == whole[: len(kept)]
    (q,) = cut.quarantined
    assert "truncated" in q.reason and q.record_key == f"GET page [item {len(kept)}]"


@pytest.mark.parametrize(("name", "recipe"), DAMAGED, ids=lambda v: getattr(v, "name", v))
def test_unclosed_items_parse_like_closed_ones(name: str, recipe: Recipe) -> None:
    body = fixture(name)
    encoding = "cp1252" if name.startswith("bz") else "utf-8"
    unclosed = _unclosed(body.decode(encoding)).encode(encoding)
    assert works(parse_page(unclosed, "GET u", recipe)) == works(parse_page(body, "GET u", recipe))


# ---------------------------------------------------------------- encodings


def _scholar_text() -> str:
    return fixture("scholar_zhuo.html").decode()


def _with_accent(text: str) -> str:
    """A title with non-ASCII characters (an en dash and an accented letter)."""
    return text.replace("Dissecting Service Mesh Overheads", "Dissecting Service Mesh – Café")


def _first_titles(body: bytes, content_type: str = "") -> set[str]:
    page = parse_page(body, "GET enc", SCHOLAR, ctx=Context(content_type=content_type))
    return {w["title"] for w in works(page)}


def test_meta_charset_windows_1252() -> None:
    text = _with_accent(_scholar_text()).replace("charset=utf-8", "charset=windows-1252")
    assert "Dissecting Service Mesh – Café" in _first_titles(text.encode("cp1252"))


def test_latin_1_label_decodes_as_windows_1252() -> None:
    """HTML: iso-8859-1 means windows-1252, so byte 0x96 is an en dash, not a C1 control."""
    text = _with_accent(_scholar_text()).replace("charset=utf-8", "charset=iso-8859-1")
    assert "Dissecting Service Mesh – Café" in _first_titles(text.encode("cp1252"))


def test_bom_beats_meta_and_header() -> None:
    text = _with_accent(_scholar_text()).replace("charset=utf-8", "charset=windows-1252")
    body = b"\xef\xbb\xbf" + text.encode("utf-8")
    assert "Dissecting Service Mesh – Café" in _first_titles(body, "text/html; charset=latin-1")
    utf16 = b"\xff\xfe" + text.encode("utf-16-le")
    assert "Dissecting Service Mesh – Café" in _first_titles(utf16)


def test_header_charset_beats_meta() -> None:
    text = _with_accent(_scholar_text())  # says utf-8 in <meta>, bytes are windows-1252
    body = text.encode("cp1252")
    assert "Dissecting Service Mesh – Café" in _first_titles(body, "text/html; charset=cp1252")


def test_undeclared_non_utf8_bytes_fall_back_to_windows_1252() -> None:
    text = _with_accent(_scholar_text()).replace(
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8">', ""
    )
    assert "Dissecting Service Mesh – Café" in _first_titles(text.encode("cp1252"))
    assert "Dissecting Service Mesh – Café" in _first_titles(text.encode("utf-8"))


def test_utf8_cut_inside_a_character_stays_utf8() -> None:
    text = "<html><p>Café – ok</p><p>é"
    body = text.encode("utf-8")[:-1]  # cut inside the last "é"
    assert profiles.decode_html(body) == "<html><p>Café – ok</p><p>\ufffd"


# ---------------------------------------------------------------- fetch


class Server:
    """MockTransport handler: `route(request)` answers; every request is kept."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.route(request)

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def html(body: bytes, status: int = 200, content_type: str = "text/html") -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": content_type})


def bz_route(request: httpx.Request) -> httpx.Response:
    if request.url.host != "bzpeer.example.org":
        return html(b"<title>nope</title>", 404)
    page = request.url.params.get("page", "1")
    return html(fixture(f"bzpeer_zhuo_page{page}.html"))


BZ_PROFILE = {"researcher": "Danyang Zhuo", "recipe": str(BZ_RECIPE), "url": BZ_URL}


def test_fetch_follows_next_links_to_the_end(client_for: Callable[..., HttpClient]) -> None:
    server = Server(bz_route)
    report = profiles.fetch(client_for(server), make_watchlist([BZ_PROFILE]))
    assert report.errors == [] and report.skipped == [] and report.stopped is None
    assert server.urls() == [BZ_URL, BZ_URL + "?page=2"]
    got = [w for f in report for w in works(f.page)]
    assert len(got) == 9 and {w["researcher_id"] for w in got} == {"danyang-zhuo"}
    assert {w["profile_url"] for w in got} == {BZ_URL}
    assert [len(f.page.records.get("metrics", [])) for f in report] == [1, 0]
    assert got[0]["abstract"] and "–" in got[0]["abstract"]  # windows-1252 via <meta>


def test_fetch_never_revisits_a_page(
    client_for: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":  # page 2 links to itself
            text = fixture("bzpeer_zhuo_page2.html").decode("cp1252")
            text = text.replace(
                '<span class="disabled">Next page</span>', '<a rel="next" href="?page=2">Next</a>'
            )
            return html(text.encode("cp1252"))
        return bz_route(request)

    server = Server(route)
    report = profiles.fetch(client_for(server), make_watchlist([BZ_PROFILE]))
    assert server.urls() == [BZ_URL, BZ_URL + "?page=2"] and report.errors == []
    assert "was already read; stopping" in caplog.text


def test_fetch_page_cap(
    client_for: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    server = Server(bz_route)
    report = profiles.fetch(client_for(server), make_watchlist([BZ_PROFILE], max_pages=1))
    assert server.urls() == [BZ_URL] and report.errors == []
    assert "stopped after 1 page(s) (cap)" in caplog.text


def test_fetch_does_not_follow_a_next_link_off_the_recipe_hosts(
    client_for: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        text = fixture("bzpeer_zhuo_page1.html").decode("cp1252")
        text = text.replace('href="?page=2"', 'href="https://elsewhere.example.com/p2"')
        return html(text.encode("cp1252"))

    server = Server(route)
    profiles.fetch(client_for(server), make_watchlist([BZ_PROFILE]))
    assert server.urls() == [BZ_URL] and "leaves bzpeer.example.org" in caplog.text


def scholar_route(request: httpx.Request) -> httpx.Response:
    assert request.url.host == "scholar.google.com" and request.url.path == "/citations"
    start = request.url.params.get("cstart", "0")
    return html(fixture(f"scholar_zuo_cstart{start}.html"), content_type="text/html; charset=UTF-8")


def test_fetch_scholar_first_page_only(client_for: Callable[..., HttpClient]) -> None:
    """Where robots.txt allows the profile, one request: user first, pagesize=100, no cstart
    (the recipe's max_pages = 1 although the page offers more)."""
    server = Server(scholar_route)
    wl = make_watchlist(
        [{"researcher": "Pengfei Zuo", "recipe": "google_scholar", "url": ZUO_SCHOLAR}]
    )
    report = profiles.fetch(client_for(server, robots="User-agent: *\nAllow: /\n"), wl)
    assert report.errors == []
    assert server.urls() == [ZUO_SCHOLAR + "&pagesize=100"]
    assert [len(works(f.page)) for f in report] == [6]


def test_fetch_offset_paging_with_a_recipe_that_allows_it(
    tmp_path: Path, client_for: Callable[..., HttpClient]
) -> None:
    text = (RECIPES_DIR / "google_scholar.toml").read_text(encoding="utf-8")
    text = text.replace('name = "google_scholar"', 'name = "scholar_mirror"')
    text = text.replace("size = 100", "size = 6").replace("max_pages = 1 ", "max_pages = 5 ")
    path = tmp_path / "scholar_mirror.toml"
    path.write_text(text, encoding="utf-8")
    server = Server(scholar_route)
    wl = make_watchlist([{"researcher": "Pengfei Zuo", "recipe": str(path), "url": ZUO_SCHOLAR}])
    report = profiles.fetch(client_for(server, robots="User-agent: *\nAllow: /\n"), wl)
    assert report.errors == []
    assert server.urls() == [
        ZUO_SCHOLAR + "&pagesize=6",
        ZUO_SCHOLAR + "&pagesize=6&cstart=6",
    ]
    got = [w for f in report for w in works(f.page)]
    assert {w["title"] for w in got} == {w["title"] for w in watched("pengfei-zuo")}
    assert {w["recipe"] for w in got} == {"scholar_mirror"}


SCHOLAR_ROBOTS = fake_profiles.SCHOLAR_ROBOTS


def test_robots_disallowed_profile_is_skipped_and_logged(
    client_for: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    """scholar.google.com's real rules. `hl` before `user` matches only `Disallow: /citations?`
    and is skipped; a `user`-first profile page matches the longer `Allow: /citations?user=`
    and is fetched (RFC 9309: the longest match wins)."""
    caplog.set_level(logging.INFO)
    server = Server(scholar_route)
    disallowed = "https://scholar.google.com/citations?hl=en&user=pZuo000AAAAJ"
    wl = make_watchlist(
        [
            {"researcher": "Pengfei Zuo", "recipe": "google_scholar", "url": disallowed},
            {"researcher": "Danyang Zhuo", "recipe": "google_scholar", "url": ZUO_SCHOLAR},
        ]
    )
    report = profiles.fetch(client_for(server, robots=SCHOLAR_ROBOTS), wl)
    # only the allowed profile page is requested (robots.txt is served by client_for)
    assert [u.split("?")[0] for u in server.urls()] == ["https://scholar.google.com/citations"]
    assert report.errors == [] and len(report.items) == 1
    assert len(report.skipped) == 1 and "user=pZuo000AAAAJ" in report.skipped[0]
    assert "robots.txt disallows GET https://scholar.google.com/citations?" in caplog.text
    assert "skipped" in caplog.text


def test_fetch_errors_are_per_profile(client_for: Callable[..., HttpClient]) -> None:
    """404 and a 500 that stays 500 are errors of their profile; a 429 is retried."""
    calls: dict[str, int] = {}

    def route(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        calls[path] = calls.get(path, 0) + 1
        if path == "/pid/gone.html":
            return html(b"<!doctype html><title>dblp: Error 404</title>", 404)
        if path == "/pid/broken.html":
            return html(b"Internal Server Error", 500)
        if path == "/pid/z/PengfeiZuo.html" and calls[path] == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return html(fixture("dblp_zuo.html"), content_type="text/html; charset=UTF-8")

    wl = make_watchlist(
        [
            {
                "researcher": "Danyang Zhuo",
                "recipe": "dblp_person",
                "url": "https://dblp.org/pid/gone.html",
            },
            {
                "researcher": "Zhaoyuan Su",
                "recipe": "dblp_person",
                "url": "https://dblp.org/pid/broken.html",
            },
            {
                "researcher": "Pengfei Zuo",
                "recipe": "dblp_person",
                "url": "https://dblp.org/pid/z/PengfeiZuo.html",
            },
        ]
    )
    report = profiles.fetch(client_for(Server(route)), wl)
    assert len(report.errors) == 2 and report.stopped is None
    assert "HTTP 404 from dblp_person: 'dblp: Error 404'" in str(report.errors[0])
    assert "(GET https://dblp.org/pid/gone.html)" in str(report.errors[0])
    assert "HTTP 500 from dblp_person" in str(report.errors[1])
    assert calls["/pid/broken.html"] == 5  # retried to the client's limit, then reported
    assert calls["/pid/z/PengfeiZuo.html"] == 2
    (ok,) = report.items
    assert len(works(ok.page)) == 13 and {w["researcher_id"] for w in works(ok.page)} == {
        "pengfei-zuo"
    }


def test_captcha_blocks_the_host_for_the_run(client_for: Callable[..., HttpClient]) -> None:
    captcha = b"<html><body><div id='gs_captcha_ccl'>unusual traffic</div></body></html>"
    server = Server(lambda r: html(captcha))
    wl = make_watchlist(
        [
            {"researcher": "Pengfei Zuo", "recipe": "google_scholar", "url": ZUO_SCHOLAR},
            {
                "researcher": "Danyang Zhuo",
                "recipe": "google_scholar",
                "url": "https://scholar.google.com/citations?user=dZhuo00AAAAJ&hl=en",
            },
        ]
    )
    report = profiles.fetch(client_for(server, robots="User-agent: *\nAllow: /\n"), wl)
    assert len(server.requests) == 1
    first, second = report.errors
    assert isinstance(first, ProfileBlocked)
    assert "skipped: scholar.google.com served a block page earlier this run" in str(second)


def test_drift_stops_the_source_and_makes_no_more_requests(
    client_for: Callable[..., HttpClient],
) -> None:
    server = Server(lambda r: html(fixture("scholar_zhuo_redesign.html")))
    wl = make_watchlist(
        [
            {"researcher": "Pengfei Zuo", "recipe": "google_scholar", "url": ZUO_SCHOLAR},
            {
                "researcher": "Danyang Zhuo",
                "recipe": "dblp_person",
                "url": "https://dblp.org/pid/z/DanyangZhuo.html",
            },
        ]
    )
    report = profiles.fetch(client_for(server, robots="User-agent: *\nAllow: /\n"), wl)
    assert isinstance(report.stopped, ScrapeDrift)
    assert report.errors == [report.stopped] and report.items == []
    assert server.urls() == [ZUO_SCHOLAR + "&pagesize=100"]


def test_a_profile_on_another_site_than_its_recipe_is_an_error(
    client_for: Callable[..., HttpClient],
) -> None:
    entry = {"recipe": "dblp_person", "url": "https://scholar.google.com/citations?user=x"}
    fragment = (
        "recipe 'dblp_person' reads dblp.org, dblp.uni-trier.de, dblp.dagstuhl.de, "
        "not scholar.google.com"
    )
    server = Server(bz_route)
    wl = make_watchlist([{"researcher": "Danyang Zhuo", **entry}, BZ_PROFILE])
    report = profiles.fetch(client_for(server), wl)
    (err,) = report.errors
    assert fragment in str(err) and f"profiles[0] {entry['url']}" in str(err)
    assert server.urls() == [BZ_URL, BZ_URL + "?page=2"]  # the next profile goes on
    assert len(report.items) == 2


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"recipe": "orcid", "url": "https://orcid.org/x"}, "no shipped recipe named 'orcid'"),
        ({"recipe": "missing/recipe.toml", "url": "https://a.org/"}, "cannot read recipe"),
    ],
)
def test_unknown_recipes_are_refused_before_any_request(
    entry: dict[str, str], fragment: str
) -> None:
    """The watchlist check names them up front, before a single request is made."""
    with pytest.raises(ValueError, match=fragment):
        make_watchlist([{"researcher": "Danyang Zhuo", **entry}, BZ_PROFILE])


# ---------------------------------------------------------------- demo fake upstream


DEMO_PROFILES = [
    {
        "researcher": "Danyang Zhuo",
        "recipe": "dblp_person",
        "url": "https://dblp.org/pid/z/DanyangZhuo.html",
    },
    {
        "researcher": "Zhaoyuan Su",
        "recipe": "dblp_person",
        "url": "https://dblp.org/pid/s/ZhaoyuanSu.html",
    },
    {
        "researcher": "Pengfei Zuo",
        "recipe": "dblp_person",
        "url": "https://dblp.org/pid/z/PengfeiZuo.html",
    },
    {"researcher": "Pengfei Zuo", "recipe": "google_scholar", "url": ZUO_SCHOLAR},
]


def _fake_client(robots: dict[str, str] | None = None) -> HttpClient:
    upstream = FakeUpstream(json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8")))

    def handler(request: httpx.Request) -> httpx.Response:
        if robots is not None and request.url.path == "/robots.txt":
            return httpx.Response(200, text=robots.get(request.url.host, "User-agent: *\n"))
        return upstream(request)

    return HttpClient(
        "team@example.org", transport=httpx.MockTransport(handler), intervals={}, max_attempts=1
    )


def test_fetch_against_the_demo_fake_upstream() -> None:
    assert "dblp.org" in fakes.HANDLERS  # shared with the dblp source (routed by path)
    with _fake_client() as client:
        report = profiles.fetch(client, make_watchlist(DEMO_PROFILES))
    assert report.errors == [] and report.stopped is None
    # the fake serves scholar.google.com's real robots.txt, whose longest match allows a
    # user-first profile page
    assert report.skipped == []
    assert len(report.items) == 4 and "scholar.google.com" in report.items[3].response.url
    assert [f.response.url for f in report][:3] == [p["url"] for p in DEMO_PROFILES[:3]]
    for f, key in zip(
        report.items[:3], ("danyang-zhuo", "zhaoyuan-su", "pengfei-zuo"), strict=True
    ):
        facts = watched(key)
        expected = sum(1 for w in facts if w["arxiv_id"]) + sum(
            1 for w in facts if w["venue"] != "arXiv"
        )
        got = works(f.page)
        assert len(got) == expected and f.page.quarantined == []
        assert {w["title"] for w in got} == {w["title"] for w in facts}
        assert {w["researcher_id"] for w in got} == {key}
        assert {w["arxiv_id"] for w in got if w["venue"] == "CoRR"} == {
            w["arxiv_id"] for w in facts
        }
        assert f.page.records["metrics"][0]["works_count"] == expected


def test_demo_fake_scholar_page_when_robots_allow() -> None:
    with _fake_client({"scholar.google.com": "User-agent: *\nAllow: /\n"}) as client:
        report = profiles.fetch(client, make_watchlist(DEMO_PROFILES[3:]))
    assert report.errors == [] and report.skipped == []
    (f,) = report.items
    facts = watched("pengfei-zuo")
    got = works(f.page)
    assert {w["title"] for w in got} == {w["title"] for w in facts}
    assert {w["citations"] for w in got} - {None} == {cites(w) for w in facts} - {0}
    every = sorted((cites(w) for w in facts), reverse=True)
    assert f.page.records["metrics"][0]["citations"] == sum(every)
    assert f.page.records["metrics"][0]["h_index"] == sum(
        1 for i, c in enumerate(every, 1) if c >= i
    )


def test_demo_fake_unknown_profiles_are_404() -> None:
    with _fake_client() as client:
        wl = make_watchlist(
            [
                {
                    "researcher": "Danyang Zhuo",
                    "recipe": "dblp_person",
                    "url": "https://dblp.org/pid/x/Nobody.html",
                },
            ]
        )
        report = profiles.fetch(client, wl)
    (err,) = report.errors
    assert "HTTP 404 from dblp_person" in str(err)


# ---------------------------------------------------------------- warehouse


IMPORTABLE = ["scholar_zhuo.html", "scholar_su_empty.html", "dblp_zuo.html", "dblp_zhuo.html"]


def test_import_and_build(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [FIX / n for n in IMPORTABLE])
    summary = steps.load_and_build(demo_context(path), [report], {})
    (s,) = summary.sources
    assert (s.records, s.quarantined, s.errors) == (9 + 13 + 12 + 4, 0, [])
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("select count(*) from raw_profiles__works").fetchone() == (34,)
        assert con.execute("select count(*) from raw_profiles__metrics").fetchone() == (4,)
        (h,) = con.execute(  # type: ignore[misc]
            "select h_index from raw_profiles__metrics where recipe = 'google_scholar' "
            "and researcher_id = 'danyang-zhuo'"
        ).fetchone()
        assert h == 4
        staged = con.execute(
            "select count(*), count(arxiv_id), count(doi) from work_xref where source = 'profiles'"
        ).fetchone()
        preprints = sum(1 for w in watched("danyang-zhuo") if w["venue"] == "arXiv")
        in_corr = sum(1 for k in ("danyang-zhuo", "pengfei-zuo") for w in watched(k))
        assert staged == (34, preprints + in_corr, 1)  # arXiv ids: Scholar venues, DBLP CoRR
        signals = dict(
            con.execute(
                "select metric, count(*) from metric_snapshots where source = 'profiles' "
                "group by metric"
            ).fetchall()
        )
        assert signals["h_index"] == 2 and signals["works_count"] == 2
        assert signals["citations"] == 2 + 7  # two Scholar profiles + Zhuo's cited works
    finally:
        con.close()


def test_cli_import_in_a_subprocess(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows",
            "import",
            SLUG,
            str(FIX / "dblp_zuo.html"),
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(wh),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("select count(*) from raw_profiles__works").fetchone() == (13,)
    finally:
        con.close()


def test_no_shared_recordings_exist_for_scraped_profiles() -> None:
    """Scraped HTML of these sites is not in ../shared/source-fixtures; the fixtures here are
    written to the sites' documented markup. If recordings appear, this test asks for them."""
    assert not (SHARED_FIXTURES / SLUG).exists()


def test_the_readme_recipe_example_is_a_valid_recipe() -> None:
    """The README shows users how to add a site: that example must stay a working recipe."""
    from flows.recipes import parse_recipe

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split('```toml\nname = "mysite"', 1)[1].split("```", 1)[0]
    recipe = parse_recipe('name = "mysite"' + block, "README.md")
    assert recipe.item == "ol.works > li" and recipe.paging is not None
    page = (
        b"<html><body><div class=profile><ol class=works>"
        b"<li><a class=title href='https://arxiv.org/abs/2401.00001'><span class=title>A Title"
        b"</span></a><span class=authors>Ann Lee, Bo Chen</span><span class=year>2024</span></li>"
        b"</ol><table class=stats><tr><th>Works</th><td class=value>1</td></tr>"
        b"<tr><th>Citations</th><td class=value>12</td></tr></table></div></body></html>"
    )
    parsed = profiles.parse_page(page, "https://profiles.example.org/ann", recipe)
    (work,) = parsed.records["works"]
    assert work["title"] == "A Title" and work["authors"] == ["Ann Lee", "Bo Chen"]
    assert work["year"] == 2024 and work["arxiv_id"] == "2401.00001"
    assert parsed.records["metrics"][0]["citations"] == 12  # the row labelled "Citations"

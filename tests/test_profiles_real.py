"""Profile pages captured by other people (tests/fixtures/real/profiles, see its SOURCES.md):
Google Scholar's 2014 markup (a whole saved profile) and the current metrics panel."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

from flows import context, fetch, steps
from flows.http import Usage
from flows.recipes import RecipeError, load_recipe, parse_recipe
from flows.sources.base import ScrapeDrift
from flows.sources.profiles import implausible, metric_value, parse_page, parse_profile
from flows.watchlist import Watchlist

REAL = ROOT / "tests" / "fixtures" / "real" / "profiles"
SCHREIJ = REAL / "scholar_schreij_2014.html"
PANEL_2024 = REAL / "scholar_metrics_2024_fragment.html"
SCHOLAR = load_recipe("google_scholar")


def metrics_of(html: str) -> dict[str, float | None]:
    soup = BeautifulSoup(html, "lxml")
    return {m.name: metric_value(soup, m) for m in SCHOLAR.metrics}


def test_2014_page_metrics_are_read_by_their_labels() -> None:
    """The 2014 page keeps its header row inside <tbody>: by position, h-index read 290 (the
    citations), i10 read 6 (the h-index) and citations nothing."""
    page = parse_profile(SCHREIJ.read_bytes(), str(SCHREIJ))
    (m,) = page.records["metrics"]
    assert (m["citations"], m["h_index"], m["i10_index"]) == (290, 6, 5)
    assert {v["name"]: v["value"] for v in m["metrics"]} == {
        "citations": 290,
        "citations_since": 285,
        "h_index": 6,
        "h_index_since": 6,
        "i10_index": 5,
        "i10_index_since": 5,
        "since_year": 2009,
    }
    assert m["profile_name"] == "Daniël Schreij"


def test_current_markup_metrics_are_read_by_their_labels() -> None:
    assert metrics_of(PANEL_2024.read_text("utf-8")) == {
        "citations": 658,
        "citations_since": 552,
        "h_index": 17,
        "h_index_since": 15,
        "i10_index": 23,
        "i10_index_since": 21,
        "since_year": 2019,
    }


# The metrics as the shipped recipe read them before: by row position inside <tbody>.
POSITIONAL = "".join(
    f"""
[[metrics]]
name = "{name}"
css = "#gsc_rsb_st tbody tr:nth-of-type({row}) td.gsc_rsb_std"
regex = '([\\d,]+)'
"""
    for row, name in enumerate(("citations", "h_index", "i10_index"), 1)
)


def test_a_recipe_reading_impossible_metrics_is_refused_as_drift() -> None:
    text = (ROOT / "flows" / "recipes" / "google_scholar.toml").read_text("utf-8")
    head, _, tail = text.partition("[[metrics]]")
    positional = parse_recipe(head + POSITIONAL + "\n[paging]" + tail.partition("[paging]")[2], "x")
    body = SCHREIJ.read_bytes()
    with pytest.raises(ScrapeDrift, match="implausible google_scholar metrics") as info:
        parse_page(body, "schreij.html", positional)
    assert "i10_index 6 is below h_index 290" in str(info.value)
    assert info.value.body == body  # saved with the run's drifted pages


def test_implausible_metrics_of_a_real_panel() -> None:
    real = metrics_of(PANEL_2024.read_text("utf-8"))
    assert implausible(real) == []
    # a recipe reading the columns the other way round: "since 2019" above "all"
    pairs = [("citations", "citations_since"), ("h_index", "h_index_since")]
    swapped = {**real, **{a: real[b] for a, b in pairs}, **{b: real[a] for a, b in pairs}}
    assert any("citations_since (658) is above citations (552)" in p for p in implausible(swapped))
    assert implausible({**real, "h_index": 26, "i10_index": 30}) == [
        "h_index 26 needs at least 676 citations, not 658"
    ]
    assert "i10_index 12 is below h_index 17 (h >= 10)" in implausible({**real, "i10_index": 12})
    assert "i10_index 66 needs at least 660 citations, not 658" in implausible(
        {**real, "i10_index": 66}
    )
    assert "citations is negative (-658)" in implausible({**real, "citations": -658})


def test_metric_values_are_whole_numbers() -> None:
    """A count read as 290.5 is refused, not truncated to 290 (a recipe without a regex)."""
    text = (ROOT / "flows" / "recipes" / "google_scholar.toml").read_text("utf-8")
    recipe = parse_recipe(text.replace("regex = '([\\d,]+)'\n", ""), "x.toml")
    html = SCHREIJ.read_text("utf-8").replace(">290<", ">290.5<")
    with pytest.raises(ScrapeDrift, match=r"citations 290\.5 is not a whole number"):
        parse_page(html.encode(), "schreij.html", recipe)


LABELLED = """
name = "site"
description = "d"
hosts = ["example.org"]
detect = "main"
item = "li"
expect = "li"
[fields]
title = "h3"
[[metrics]]
name = "h_index"
css = "td.value"
"""


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('label = "h-index"', "a metric with a label needs `row`"),
        ('row = "tr"', "row, label_css and column belong to a metric with a label"),
        ('label = "h-index"\nrow = "tr"\ncount = true', "count = true takes only css"),
        ('label = " "\nrow = "tr"', "label: give the words the page prints"),
        ('label = "h-index"\nrow = "tr:::"', "bad CSS selector 'tr:::'"),
        ('label = "h-index"\nrow = "tr"\ncolumn = 0', "greater than or equal to 1"),
    ],
)
def test_recipe_validation_of_labelled_metrics(extra: str, problem: str) -> None:
    with pytest.raises(RecipeError, match=r"x\.toml: metrics\[0\]") as info:
        parse_recipe(LABELLED + extra, "x.toml")
    assert problem in str(info.value)


def test_recipe_validation_accepts_labelled_metrics() -> None:
    recipe = parse_recipe(
        LABELLED + 'label = ["h-index", "Índice h"]\nrow = "table tr"\ncolumn = 2', "x.toml"
    )
    assert recipe.metrics[0].labels == ("h-index", "índice h")


def test_scholar_ellipsis_marks_the_author_list_truncated() -> None:
    works = parse_profile(SCHREIJ.read_bytes(), str(SCHREIJ)).records["works"]
    cut = [w for w in works if w["authors_truncated"]]
    assert [w["title"] for w in cut] == [
        "OpenSesame Opens the Door to Open-Source and User-Friendly Eye-Tracking Research"
    ]
    assert cut[0]["authors"] == [
        "E Dalmaijer",
        "S Van der Stigchel",
        "L van der Linden",
        "W Kruijne",
        "D Schreij",
        "...",
    ]
    assert all("..." not in w["authors"] for w in works if not w["authors_truncated"])


def _import_schreij(tmp_path: Path, researcher: str) -> duckdb.DuckDBPyConnection:
    wl = Watchlist.model_validate(
        {
            "contact_email": "team@example.org",
            "researchers": [{"name": researcher}],
            "sources": {"enabled": ["profiles"]},
        }
    )
    path = tmp_path / "warehouse" / "scholarflow.duckdb"
    ctx = context.RunContext(
        command="import", mode="import", watchlist=wl, watchlist_sha256="t", warehouse_path=path
    )
    report = fetch.import_files("profiles", [SCHREIJ])
    steps.load_and_build(ctx, [report], {"profiles": Usage()})
    return duckdb.connect(str(path), read_only=True)


def test_the_owner_is_credited_with_the_works_on_their_own_profile(tmp_path: Path) -> None:
    """Scholar prints the owner as "D Schreij" (and "DBB Schreij") on his own page: before,
    15 initials_only flags and not one work credited."""
    con = _import_schreij(tmp_path, "Daniel Schreij")
    credited = con.sql(
        "select match_rule, count(distinct paper_id) from authorships "
        "where author_id = 'daniel-schreij' group by 1"
    ).fetchall()
    papers = con.sql("select count(distinct paper_id) from authorships").fetchone()
    assert credited == [("own_profile", papers[0] if papers else -1)]
    assert con.sql(
        "select count(*) from resolution_flags where kind = 'initials_only'"
    ).fetchone() == (0,)
    # "..." says the list goes on: nobody is named "..."
    assert con.sql("select count(*) from authorships where author_name = '...'").fetchone() == (0,)
    assert con.sql("select cited_by_count, h_index, i10_index from author_profiles").fetchall() == [
        (290, 6, 5)
    ]


def test_a_namesake_is_not_credited_through_someone_elses_profile(tmp_path: Path) -> None:
    con = _import_schreij(tmp_path, "Dirk Schreij")  # same initials, not the page's owner
    assert con.sql(
        "select count(*) from authorships where author_id = 'dirk-schreij'"
    ).fetchone() == (0,)


def test_every_real_page_is_documented() -> None:
    text = (REAL / "SOURCES.md").read_text("utf-8")
    pages = sorted(p.name for p in REAL.iterdir() if p.name != "SOURCES.md")
    assert pages == sorted(["scholar_schreij_2014.html", "scholar_metrics_2024_fragment.html"])
    for name in pages:
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        for key in ("- repo: ", "- path: ", "- commit: "):
            assert key in section, (name, key)
    # free prose is replaced by placeholders; the facts stay
    schreij = SCHREIJ.read_text("utf-8")
    assert "This is the number of citations" not in schreij and "[placeholder:" in schreij

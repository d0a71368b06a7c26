"""Edge records on real payloads: records that are not works, works without a title, empty
answers, imports that load nothing, payloads of another source, and what messages say of
files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, fixture_bytes, shared_fixture_dir

from flows import cli, context, fetch, steps
from flows.sources import crossref, hf_papers
from flows.sources.base import SourceError
from transforms.model import UNTITLED

# a journal article deposited with Crossref (papis' test data), as the API returns it
ARTICLE = "papis__work_journal_article_multiple_authors.json"


def cli_import(tmp_path: Path, slug: str, *files: Path) -> tuple[int, Path]:
    wh = tmp_path / "warehouse" / "scholarflow.duckdb"
    code = cli.main(
        [
            "import",
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(wh),
            slug,
            *map(str, files),
        ]
    )
    return code, wh


def test_crossref_records_that_are_not_works_are_skipped_and_counted(tmp_path: Path) -> None:
    """Crossref's record of a journal itself (type "journal") became a paper with no authors."""
    data = json.loads(fixture_bytes("crossref", ARTICLE))
    journal = dict(data["message"], type="journal", author=[], DOI="10.9999/journal-itself")
    page = crossref.parse_response(
        json.dumps({**data, "message": journal}).encode(), "journal.json"
    )
    assert page.count() == 0 and page.quarantined == []
    (skipped,) = page.skipped
    assert skipped.reason == "skipped: Crossref type 'journal' is not a work"
    assert skipped.record_key == "10.9999/journal-itself"

    path = tmp_path / "journal.json"
    path.write_text(json.dumps({**data, "message": journal}), encoding="utf-8")
    summary = steps.load_and_build(_ctx(tmp_path), [fetch.import_files("crossref", [path])], {})
    (stats,) = summary.sources
    assert (stats.records, stats.quarantined, stats.not_works) == (0, 0, 1)
    con = duckdb.connect(str(summary.warehouse), read_only=True)
    assert con.sql("select reason from quarantine").fetchall() == [
        ("skipped: Crossref type 'journal' is not a work",)
    ]
    assert con.sql("select count(*) from papers").fetchone() == (0,)


def _ctx(tmp_path: Path) -> context.RunContext:
    from conftest import demo_context

    return demo_context(tmp_path / "w" / "scholarflow.duckdb")


def test_an_import_that_loads_nothing_succeeds_and_builds(tmp_path: Path) -> None:
    """The real empty Semantic Scholar search answer: exit 0 (it was "nothing to build"), a new
    warehouse with its tables, views and header-only reports."""
    empty = tmp_path / "search.json"
    empty.write_bytes(b'{"total": 0, "offset": 0}')
    code, wh = cli_import(tmp_path, "semantic_scholar", empty)
    assert code == 0
    con = duckdb.connect(str(wh), read_only=True)
    assert con.sql("select count(*) from papers").fetchone() == (0,)
    views = {
        r[0]
        for r in con.sql(
            "select view_name from duckdb_views() where schema_name = 'metrics'"
        ).fetchall()
    }
    assert views
    reports = wh.parent / "reports"
    for view in views:
        with (reports / f"{view}.csv").open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        columns = [d[0] for d in con.execute(f"select * from metrics.{view} limit 0").description]
        assert header == columns
    with (reports / "papers.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) == 1  # no paper: the header only


def test_an_import_whose_records_are_all_quarantined_keeps_them(tmp_path: Path) -> None:
    """A Semantic Scholar batch whose ids are all unknown (the API answers null for each)."""
    batch = tmp_path / "batch.json"
    batch.write_bytes(b"[null, null, null]")
    code, wh = cli_import(tmp_path, "semantic_scholar", batch)
    assert code == 0
    con = duckdb.connect(str(wh), read_only=True)
    count, reason = con.sql("select count(*), min(reason) from quarantine").fetchone()  # type: ignore[misc]
    # the reason names the file it came from
    assert count == 3 and reason.startswith("id not found (null)") and "batch.json" in reason


def test_hf_papers_refuses_a_semantic_scholar_batch_naming_the_file(tmp_path: Path) -> None:
    """Any JSON array was accepted: a Semantic Scholar batch loaded 3 quarantine rows."""
    path = shared_fixture_dir("semantic_scholar") / "s2py__author_batch_fields_name.json"
    with pytest.raises(SourceError, match="not a Hugging Face papers list") as info:
        hf_papers.parse_response(path.read_bytes(), str(path))
    assert info.value.where == str(path)
    code, wh = cli_import(tmp_path, "hf_papers", path)
    assert code == cli.EXIT_FAILED and not wh.exists()


def test_messages_about_files_talk_about_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved NSF PAR results page imported as OpenAlex was "HTTP 200 from OpenAlex: HTML
    error page": a file has no HTTP status and this one is no error page."""
    page = ROOT / "tests" / "fixtures" / "nsf_par"
    html = sorted(page.glob("*.html"))[0]
    code, _ = cli_import(tmp_path, "openalex", html)
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert "the file is an HTML page, not data from OpenAlex" in err and html.name in err
    assert "HTTP 200" not in err and "error page" not in err
    code, _ = cli_import(tmp_path, "semantic_scholar", html)
    err = capsys.readouterr().err
    assert "the file is not JSON" in err and "response" not in err


def test_a_work_without_title_is_kept_and_shown_with_a_placeholder(tmp_path: Path) -> None:
    """A real OpenAlex work (bvitamins' W2741809807) with its title blanked, as OpenAlex serves
    some works (`title: ""`, a DOI, a journal, authors): it was dropped."""
    work = json.loads(fixture_bytes("openalex", "bvitamins__work_W2741809807.json"))
    work.update(title="", display_name="")
    path = tmp_path / "W2741809807.json"
    path.write_text(json.dumps(work), encoding="utf-8")
    code, wh = cli_import(tmp_path, "openalex", path)
    assert code == 0
    con = duckdb.connect(str(wh), read_only=True)
    assert con.sql("select title, doi from papers").fetchall() == [
        (UNTITLED, work["doi"].removeprefix("https://doi.org/").lower())
    ]
    assert con.sql("select count(*) from quarantine").fetchone() == (0,)
    assert con.sql("select count(*) from authorships").fetchone() != (0,)


def _foreign_payloads() -> list[tuple[str, Path]]:
    from conftest import SHARED_FIXTURES

    from flows.sources import SOURCES

    if not SHARED_FIXTURES.is_dir():
        return []
    return [
        (target, path)
        for target in SOURCES
        for folder in sorted(p for p in SHARED_FIXTURES.iterdir() if p.is_dir())
        if folder.name != target
        for path in sorted(folder.iterdir())
        if path.name != "SOURCES.md" and path.suffix != ".bib"
    ]


# bs4 warns when an HTML source is handed an XML file; that it refuses the file is the point
@pytest.mark.filterwarnings("ignore::bs4.XMLParsedAsHTMLWarning")
def test_every_source_refuses_the_payloads_of_the_others() -> None:
    from flows.sources import SOURCES

    cases = _foreign_payloads()
    if not cases:
        pytest.skip("needs ../shared/source-fixtures")
    accepted = []
    for target, path in cases:
        try:
            SOURCES[target].parse(path.read_bytes(), str(path), 200)
        except SourceError as exc:
            assert exc.where == str(path)
            continue
        accepted.append(f"{target} <- {path.parent.name}/{path.name}")
    assert accepted == []


def test_dblp_nested_title_is_quarantined_not_stored_as_a_repr() -> None:
    from flows.sources import dblp

    data = json.loads(fixture_bytes("dblp", "zotero-validate__dblp_search_publ_api_attention.json"))
    hits = data["result"]["hits"]["hit"]
    hits[0]["info"]["title"] = [["Attentional Transfer is All You Need"]]
    page = dblp.parse_response(json.dumps(data).encode(), "GET search")
    (q,) = page.quarantined
    assert "expected text, got [['Attentional Transfer" in q.reason
    assert page.count() == len(hits) - 1


def test_nsf_award_amount_with_cents_is_quarantined_not_truncated() -> None:
    from flows.sources import nsf_awards

    data = json.loads(fixture_bytes("nsf_awards", "kmaull__nsf_awards_api_ncar_2015.json"))
    awards = data["response"]["award"]
    awards[0]["estimatedTotalAmt"] = "608513.50"
    page = nsf_awards.parse_response(json.dumps(data).encode(), "GET awards")
    (q,) = page.quarantined
    assert "estimatedTotalAmt '608513.50' is not an amount in whole dollars" in q.reason
    assert page.count() == len(awards) - 1

"""One rule for preprint vs published (transforms.works.version_status), on real payloads:
the model (papers), the resolver (work_versions) and explain all read it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import fixture_bytes, shared_fixture_dir, source_watchlist

from flows import context, fetch, steps
from flows.http import Usage
from transforms.works import version_status

# arXiv entry with arxiv:doi 10.1103/PhysRevB.85.115117 and arxiv:journal_ref "Phys. Rev. B 85,
# 115117 (2012)" (hep-ph/0301050 is not among ../shared's payloads; this is the same case)
ARXIV_JOURNAL = "arxivpy_legacy2016__id_list_1111.2011v2.atom.xml"
# Crossref cursor page with a `posted-content` record (10.59350/7mtwq-q3661, Front Matter)
CROSSREF_PAGE = "habanero__works_query_widget_cursor_2A.json"


def imported(tmp_path: Path, slug: str, name: str) -> duckdb.DuckDBPyConnection:
    wl = source_watchlist(slug, [{"name": "Nobody In Particular"}])
    path = tmp_path / "warehouse" / "scholarflow.duckdb"
    ctx = context.RunContext(
        command="import", mode="import", watchlist=wl, watchlist_sha256="t", warehouse_path=path
    )
    report = fetch.import_files(slug, [shared_fixture_dir(slug) / name])
    steps.load_and_build(ctx, [report], {slug: Usage()})
    return duckdb.connect(str(path), read_only=True)


def test_an_arxiv_entry_naming_its_journal_is_the_published_version(tmp_path: Path) -> None:
    assert b"<arxiv:journal_ref" in fixture_bytes("arxiv", ARXIV_JOURNAL)
    con = imported(tmp_path, "arxiv", ARXIV_JOURNAL)
    assert con.sql("select venue, is_preprint_only, doi, arxiv_id from papers").fetchall() == [
        ("Phys. Rev. B 85, 115117 (2012)", False, "10.1103/physrevb.85.115117", "1111.2011")
    ]
    assert con.sql("select version_kind, venue from work_versions").fetchall() == [
        ("published", "Phys. Rev. B 85, 115117 (2012)")
    ]


def test_an_arxiv_entry_without_journal_stays_a_preprint(tmp_path: Path) -> None:
    con = imported(tmp_path, "arxiv", "arxivpy__id_list_1605.08386.atom.xml")
    assert con.sql("select venue, is_preprint_only from papers").fetchall() == [("arXiv", True)]
    assert con.sql("select version_kind from work_versions").fetchall() == [("preprint",)]


def test_crossref_posted_content_is_a_preprint_wherever_it_is_hosted(tmp_path: Path) -> None:
    con = imported(tmp_path, "crossref", CROSSREF_PAGE)
    doi = "10.59350/7mtwq-q3661"
    assert con.sql(f"select is_preprint_only from papers where doi = '{doi}'").fetchall() == [
        (True,)
    ]
    assert con.sql(f"select version_kind from work_versions where doi = '{doi}'").fetchall() == [
        ("preprint",)
    ]
    # its neighbours on the page (book chapters, datasets with DOIs) are not preprints
    assert con.sql("select count(*) from papers where not is_preprint_only").fetchone() != (0,)


def test_version_status_rule() -> None:
    rows = [
        # source, work_type, venue, doi, arxiv_id -> status
        ("arxiv", "preprint", "Phys. Lett. B 565", "10.1016/x", "hep-ph/0301050", "published"),
        ("arxiv", "preprint", "Phys. Lett. B 565", None, "hep-ph/0301050", "published"),
        ("arxiv", "preprint", "arXiv", None, "2401.00001", "preprint"),
        ("crossref", "preprint", "Cold Spring Harbor Laboratory", "10.1101/1", None, "preprint"),
        ("openalex", "article", "bioRxiv", "10.1101/2", None, "preprint"),
        ("semantic_scholar", None, None, None, "2401.00002", "preprint"),
        ("crossref", "journal-article", "Nature", "10.1038/3", None, "published"),
        ("profiles", None, None, None, None, None),
    ]
    frame = pl.DataFrame(
        [r[:5] for r in rows],
        schema=["source", "work_type", "venue", "doi", "arxiv_id"],
        orient="row",
    )
    got = frame.select(status=version_status())["status"].to_list()
    assert got == [r[5] for r in rows]


def test_explain_shows_the_same_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flows import cli

    con = imported(tmp_path, "arxiv", ARXIV_JOURNAL)
    con.close()
    wh = tmp_path / "warehouse" / "scholarflow.duckdb"
    assert cli.main(["explain", "paper", "arxiv:1111.2011", "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    versions = out.split("\nversions\n", 1)[1].split("\n\n", 1)[0]
    assert "published  doi:10.1103/physrevb.85.115117" in versions
    assert "preprint " not in versions

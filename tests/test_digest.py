"""The run digest: what changed since the previous run, each line traceable to warehouse rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from flows import digest, settings
from tests.outputs_helpers import R1, R2, TRICKY_TITLE, build_tiny


@pytest.fixture
def tiny(tmp_path: Path, demo_warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(build_tiny(tmp_path / "tiny.duckdb", demo_warehouse)), read_only=True)
    yield con
    con.close()


def section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"no section {title!r} in:\n{text}"
    return m.group(1)


def test_second_run_digest_names_what_changed(tiny: duckdb.DuckDBPyConnection) -> None:
    text = digest.render_digest(tiny, R2)
    assert text.startswith(f"# Run digest: `{R2}`")
    assert f"compared with the previous run `{R1}`" in text

    new = section(text, "New works by watched researchers")
    assert "`p3`" in new and "`p4`" in new and "`p1`" not in new and "`p2`" not in new
    assert new.count("`ada-lovelace`") == 2

    cites = section(text, "New citations to their works")
    assert "Ada Lovelace (`ada-lovelace`): 13 → 18 citations (+5" in cites
    assert "`p1` Analytical Engines: 10 → 15 (+5, openalex)" in cites
    # the lowered count is listed apart, never as lost impact
    lowered = cites.split("Counts a source lowered")[1]
    assert "`p2`: 3 → 2 (openalex)" in lowered

    assert "Ada Lovelace (`ada-lovelace`): g 2 → 4" in section(text, "Index changes")
    assert "h 2 → 2" not in text  # unchanged indices are not listed

    collab = section(text, "New collaborators")
    assert "Ada Lovelace (`ada-lovelace`) with Grace Hopper (`grace-hopper`)" in collab
    assert "charles-babbage" not in collab

    failed = section(text, "Sources that failed or stopped early")
    assert "`openalex`: 1 error(s); first: openalex: HTTP 500" in failed
    assert "`semantic_scholar`: stopped early: daily budget spent" in failed
    assert "`dblp`: 1 publications record(s) newly quarantined (e.g. missing title)" in failed
    assert "`arxiv`" not in failed

    topics = section(text, "Rising topics")
    assert "Engines (`engines`)" in topics


def test_upstream_text_is_inert_markdown(tiny: duckdb.DuckDBPyConnection) -> None:
    text = digest.render_digest(tiny, R2)
    new = section(text, "New works by watched researchers")
    assert "<b>" not in new and r"\<b\>Serving\</b\>" in new
    assert r"\*LLMs\*" in new and r"\[50% \& $x\_1$\]" in new
    assert TRICKY_TITLE not in text


def test_first_run_says_so_instead_of_listing_everything(
    tmp_path: Path, demo_warehouse: Path
) -> None:
    path = build_tiny(tmp_path / "first.duckdb", demo_warehouse, runs=1)
    with duckdb.connect(str(path), read_only=True) as con:
        text = digest.render_digest(con, R1)
    assert "first run: no previous run to compare" in text
    new = section(text, "New works by watched researchers")
    assert "First run: no previous run to compare. 2 works" in new
    assert "`p1`" not in new
    assert "Ada Lovelace (`ada-lovelace`): h 2, g 2, i10 1" in section(text, "Index changes")
    assert "First run" in section(text, "New collaborators")
    assert "None: all 1 sources finished" in section(text, "Sources that failed or stopped early")


def test_long_lists_are_capped(
    tiny: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest, "MAX_ITEMS", 1)
    new = section(digest.render_digest(tiny, R2), "New works by watched researchers")
    assert new.strip().splitlines()[-1] == "- … and 1 more"
    assert len([ln for ln in new.splitlines() if ln.startswith("- `p")]) == 1


def test_reproduce_footer_runs_and_returns_the_listed_rows(
    tiny: duckdb.DuckDBPyConnection,
) -> None:
    text = digest.render_digest(tiny, R2)
    footer = text.split("## Reproduce", 1)[1]
    blocks = re.findall(r"```sql\n(.*?)\n```", footer, re.S)
    assert len(blocks) >= 8
    results = {sql: tiny.execute(sql).fetchall() for sql in blocks}  # every block runs as is
    new_works = next(sql for sql in blocks if "papers.first_run_id" in sql)
    assert sorted(r[0] for r in results[new_works]) == ["p3", "p4"]


def test_unknown_run_is_reported_not_raised(tiny: duckdb.DuckDBPyConnection) -> None:
    assert "is not recorded" in digest.render_digest(tiny, "no-such-run")


def test_demo_run_writes_the_digest(demo_warehouse: Path) -> None:
    """`scholarflow run --demo` (the steps it runs) leaves digest.md beside the CSV reports."""
    path = settings.reports_dir(demo_warehouse) / "digest.md"
    text = path.read_text(encoding="utf-8")
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (run_id,) = con.execute("select max(run_id) from runs").fetchone() or ("",)
        watched = [
            r[0] for r in con.execute("select author_id from authors where is_watched").fetchall()
        ]
    assert text.startswith(f"# Run digest: `{run_id}`")
    assert "first run: no previous run to compare" in text
    for author_id in watched:
        assert f"(`{author_id}`): h " in section(text, "Index changes")
    assert "None: all 11 sources finished" in text

"""Charts and exports are drawn again only when what they show changed: a run that finds a
chart's inputs unchanged in the previous report set takes its files from there, and the files
are byte for byte what a fresh render writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows import exports, html_report, outputs, renders, settings, steps
from tests.conftest import demo_context

ROOT = Path(__file__).resolve().parents[1]


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def run_id_of(con: duckdb.DuckDBPyConnection) -> str:
    (run_id,) = con.execute("select max(run_id) from runs").fetchone() or ("",)
    return str(run_id)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the charts and export files drawn from here on (the renderers spied on)."""
    calls: list[str] = []

    def spy(module: Any, name: str, label: Callable[..., str]) -> None:
        real = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(label(*args))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for chart in ("researcher_chart", "topic_chart", "network_chart"):
        spy(html_report, chart, lambda key, *_rest: f"chart:{key}")
    spy(exports, "_network_files", lambda *_a: "network-exports")
    spy(exports, "_publication_files", lambda stem, *_a: f"publications:{stem}")
    return calls


@pytest.fixture
def demo_copy(tmp_path: Path, demo_warehouse: Path) -> Path:
    """A writable copy of the demo warehouse file."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_warehouse, path)
    return path


def test_unchanged_inputs_reuse_every_file_byte_identical(
    tmp_path: Path, demo_copy: Path, drawn: list[str]
) -> None:
    with duckdb.connect(str(demo_copy), read_only=True) as con:
        run_id = run_id_of(con)
        outputs.write_outputs(con, tmp_path / "first", run_id)
        fresh_draws = list(drawn)
        drawn.clear()
        outputs.write_outputs(con, tmp_path / "second", run_id, previous=tmp_path / "first")
    assert len(fresh_draws) > 5 and drawn == []
    assert files_of(tmp_path / "second") == files_of(tmp_path / "first")


def test_a_changed_input_redraws_exactly_what_shows_it(
    tmp_path: Path, demo_copy: Path, drawn: list[str]
) -> None:
    """A watched topic renamed redraws its chart only; a work's title changed rewrites the
    publication list of its one watched author only. Both match a fresh render."""
    with duckdb.connect(str(demo_copy)) as con:
        run_id = run_id_of(con)
        outputs.write_outputs(con, tmp_path / "before", run_id)
        (topic,) = con.execute(
            "select distinct topic_id from metrics.watched_topic_activity limit 1"
        ).fetchone() or ("",)
        con.execute(
            "update main.paper_topics set topic_name = topic_name || ' (renamed)' "
            "where topic_id = ? and topic_kind = 'watchlist'",
            [topic],
        )
        paper, author = con.execute(
            "select paper_id, any_value(author_id) from main.authorships where is_watched "
            "group by paper_id having count(distinct author_id) = 1 order by paper_id limit 1"
        ).fetchone() or ("", "")
        con.execute("update main.papers set title = 'A title changed' where paper_id = ?", [paper])
        drawn.clear()
        outputs.write_outputs(con, tmp_path / "after", run_id, previous=tmp_path / "before")
        assert sorted(drawn) == sorted(
            [f"chart:topic-{exports.safe_stem(topic)}", f"publications:{exports.safe_stem(author)}"]
        )
        outputs.write_outputs(con, tmp_path / "fresh", run_id)
    after, fresh = files_of(tmp_path / "after"), files_of(tmp_path / "fresh")
    assert after == fresh
    before = files_of(tmp_path / "before")
    # digest.md is written every run; the topic's name is its chart's caption in index.html,
    # not drawn in the chart, so the redrawn chart's files are the same bytes
    changed = {name for name in after if after[name] != before.get(name)} - {"digest.md"}
    stem = exports.safe_stem(author)
    assert changed == {
        "index.html",
        f"exports/{stem}.bib",
        f"exports/{stem}.ris",
        f"exports/{stem}.json",
        renders.MANIFEST,
    }


def test_a_file_changed_on_disk_or_other_code_is_not_reused(
    tmp_path: Path, demo_copy: Path, drawn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with duckdb.connect(str(demo_copy), read_only=True) as con:
        run_id = run_id_of(con)
        outputs.write_outputs(con, tmp_path / "first", run_id)
        expected = files_of(tmp_path / "first")
        svg = next((tmp_path / "first" / "charts").glob("researcher-*.svg"))
        svg.write_bytes(svg.read_bytes().replace(b"</svg>", b"<!-- edited --></svg>"))
        drawn.clear()
        outputs.write_outputs(con, tmp_path / "second", run_id, previous=tmp_path / "first")
        assert drawn == [f"chart:{svg.stem}"]
        assert files_of(tmp_path / "second") == expected

        # another renderer version (code, library or font list): everything is drawn again
        monkeypatch.setattr(renders, "renderer_version", lambda: "another version")
        drawn.clear()
        outputs.write_outputs(con, tmp_path / "third", run_id, previous=tmp_path / "second")
    assert len(drawn) == len([u for u in json.loads(expected[renders.MANIFEST])["units"]])
    third = files_of(tmp_path / "third")
    assert {k: v for k, v in third.items() if k != renders.MANIFEST} == {
        k: v for k, v in expected.items() if k != renders.MANIFEST
    }


def test_nothing_to_draw_imports_no_drawing_library(tmp_path: Path, demo_warehouse: Path) -> None:
    """A run whose charts and exports are all unchanged loads neither matplotlib nor networkx
    nor the bibliography writers (a second of imports per run)."""
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        run_id = run_id_of(con)
        outputs.write_outputs(con, tmp_path / "first", run_id)
    code = (
        "import sys, duckdb; from pathlib import Path; from flows import outputs; "
        "con = duckdb.connect(sys.argv[1], read_only=True); "
        "outputs.write_outputs(con, Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])); "
        "print(' '.join(m for m in ('matplotlib', 'networkx', 'bibtexparser', 'rispy') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(demo_warehouse),
            str(tmp_path / "second"),
            run_id,
            str(tmp_path / "first"),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.stdout.strip() == ""
    assert files_of(tmp_path / "second") == files_of(tmp_path / "first")


def test_a_rebuild_publishes_the_previous_charts_without_drawing(
    tmp_path: Path, demo_warehouse: Path, drawn: list[str]
) -> None:
    """`scholarflow build` over an unchanged warehouse: its report set is the previous one's
    charts and exports, none drawn again."""
    home = tmp_path / "home"
    shutil.copytree(demo_warehouse.parent, home, symlinks=True)
    warehouse = home / demo_warehouse.name
    reports = settings.reports_dir(warehouse)
    before = files_of(reports / "current")
    steps.build_only(demo_context(warehouse, command="build"))
    assert drawn == []
    after = files_of(reports / "current")
    for name in before:
        if name.startswith(("charts/", "exports/")):
            assert after[name] == before[name], name
    assert set(after) == set(before)


def test_a_unit_is_taken_only_with_the_files_it_would_write(tmp_path: Path) -> None:
    """A previous entry with the same digest but other files (a manifest edited or written by
    another version) is drawn again, and two outputs may not share a name."""
    first = renders.Renders()
    first.get("u", [1], lambda: renders.Rendered({"a.txt": b"A"}), ["a.txt"])
    (tmp_path / "a.txt").write_bytes(b"A")
    (tmp_path / renders.MANIFEST).write_text(first.manifest(), encoding="utf-8")

    again = renders.Renders(tmp_path)
    got = again.get("u", [1], lambda: renders.Rendered({"a.txt": b"new"}), ["a.txt"])
    assert got.files == {"a.txt": b"A"} and again.reused == ["u"]
    other = renders.Renders(tmp_path)
    got = other.get("u", [1], lambda: renders.Rendered({"b.txt": b"B"}), ["b.txt"])
    assert got.files == {"b.txt": b"B"} and other.rendered == ["u"]
    with pytest.raises(ValueError, match="two outputs are named 'u'"):
        other.get("u", [2], lambda: renders.Rendered({"c.txt": b"C"}), ["c.txt"])

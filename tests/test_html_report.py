"""The static HTML report: self-contained, escaped, deterministic, and rendered by a real browser
(headless Chromium from the Debian packages: a screenshot must show every chart)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pytest
from matplotlib.image import imread

from flows import outputs, settings
from tests.outputs_helpers import R2, build_tiny

CHROMIUM = Path("/usr/bin/chromium")


class Figures(HTMLParser):
    """<figure data-chart=… data-colour=…> elements, and every src/href the page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, str] = {}
        self.loads: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "figure" and a.get("data-chart"):
            self.charts[str(a["data-chart"])] = str(a["data-colour"])
        if tag in {"img", "script", "iframe", "image", "use"} and a.get("src"):
            self.loads.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.loads.append(str(a["href"]))


def figures(page: str) -> Figures:
    parser = Figures()
    parser.feed(page)
    return parser


def test_demo_report_has_every_chart_and_the_discrepancy_table(demo_warehouse: Path) -> None:
    reports = settings.reports_dir(demo_warehouse)
    page = (reports / "index.html").read_text(encoding="utf-8")
    found = figures(page)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        watched = [
            r[0] for r in con.execute("select author_id from authors where is_watched").fetchall()
        ]
        topics = [
            r[0]
            for r in con.execute(
                "select distinct topic_id from metrics.watched_topic_activity"
            ).fetchall()
        ]
        discrepancies = con.execute("select count(*) from metrics.source_discrepancies").fetchone()
    expected = {f"researcher-{a}" for a in watched} | {f"topic-{t}" for t in topics}
    assert set(found.charts) == expected | {"coauthorships-network"}
    for key in found.charts:
        for ext in ("svg", "png"):
            assert (reports / "charts" / f"{key}.{ext}").stat().st_size > 1000
    # one inline <svg> per chart, colours distinct
    assert page.count("<svg") == len(found.charts)
    assert len(set(found.charts.values())) == len(found.charts)
    # offline: no script, nothing loaded from anywhere
    assert "script" not in found.tags and not found.loads
    assert not re.search(
        r"""(src|href)\s*=\s*["']?(https?:|//)|url\(\s*["']?(https?:|//)|@import""", page
    )
    assert not re.search(r"""url\(\s*["']?[^#"')\s]""", page)  # url() only to ids in the page
    section = page.split('id="discrepancies"')[1]
    assert discrepancies and section.count("<tr>") == discrepancies[0] + 1  # + header row
    assert (
        page.count("How to read:") == len(found.charts) + 2
    )  # + researcher and discrepancy tables


def test_upstream_text_is_escaped(tmp_path: Path, demo_warehouse: Path) -> None:
    path = build_tiny(
        tmp_path / "tiny.duckdb", demo_warehouse, watched_name="<script>alert(1)</script> Ada"
    )
    with duckdb.connect(str(path), read_only=True) as con:
        outputs.write_outputs(con, tmp_path / "reports", R2)
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ada" in page


def test_rebuilding_rewrites_identical_files(tmp_path: Path, demo_warehouse: Path) -> None:
    """Two renders of the same warehouse, the second in another process with another string
    hash seed (set iteration order changes with it), write byte-identical files."""
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (run_id,) = con.execute("select max(run_id) from runs").fetchone() or ("",)
        first = outputs.write_outputs(con, tmp_path / "a", run_id)
    code = (
        "import sys, duckdb; from pathlib import Path; from flows import outputs; "
        "con = duckdb.connect(sys.argv[1], read_only=True); "
        "outputs.write_outputs(con, Path(sys.argv[2]), sys.argv[3])"
    )
    for seed in ("1", "2"):
        out = tmp_path / f"b{seed}"
        subprocess.run(
            [sys.executable, "-c", code, str(demo_warehouse), str(out), run_id],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parents[1],
            timeout=300,
        )
        second = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
        assert second == sorted(p.relative_to(tmp_path / "a") for p in first)
        for rel in second:
            assert (out / rel).read_bytes() == (tmp_path / "a" / rel).read_bytes(), rel


NETWORK_CODE = """
import sys
import networkx as nx
from flows import html_report
graph = nx.Graph()
# 3 watched people, 400 co-authors: more than twice the chart's cap, as at scale
for i in range(400):
    for w in range(3):
        if i % (w + 2) == 0:
            graph.add_node(f"w{w}", name=f"Watched {w}", is_watched=True)
            graph.add_node(f"a{i:03}", name=f"Co-author {i}", is_watched=False)
            graph.add_edge(f"w{w}", f"a{i:03}", weight=1 + i % 4, years="", paper_ids="")
chart, _ = html_report.network_chart("net", "#ff0000", graph)
sys.stdout.buffer.write(chart.svg + chart.png)
"""


def test_a_large_network_chart_is_the_same_under_any_hash_seed() -> None:
    """The network chart of a graph over twice the chart's cap (where networkx's subgraph
    views iterate a set) draws the same bytes in processes with different string hash seeds."""
    drawn = {
        subprocess.run(
            [sys.executable, "-c", NETWORK_CODE],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parents[1],
            timeout=300,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(drawn) == 1


def _need_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is absent: install Debian's `chromium` package to test the HTML report "
        "in a real browser"
    )
    if os.environ.get("SCHOLARFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SCHOLARFLOW_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def screenshot(page: Path, out: Path, profile: Path, height: int) -> np.ndarray:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-color-profile=srgb",  # chart colours land in the pixels unchanged
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size=1400,{height}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    rgb = imread(out)[..., :3]
    return np.asarray((rgb * 255).round(), dtype=np.uint8)


def colour_pixels(shot: np.ndarray, colour: str) -> int:
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int(np.all(shot == want, axis=-1).sum())


def test_every_chart_renders_in_a_real_browser(tmp_path: Path, demo_warehouse: Path) -> None:
    """Screenshot of index.html in headless Chromium: each chart's own colour is on screen.
    The same check on a copy of the page without one chart's drawing finds that colour absent,
    so it tells a drawn chart from a missing one."""
    _need_browser()
    reports = tmp_path / "reports"
    shutil.copytree(settings.reports_dir(demo_warehouse), reports)
    page = reports / "index.html"
    text = page.read_text(encoding="utf-8")
    charts = figures(text).charts
    height = 800 + 700 * len(charts)
    shot = screenshot(page, tmp_path / "shot.png", tmp_path / "profile", height)
    counts = {key: colour_pixels(shot, colour) for key, colour in charts.items()}
    assert all(n >= 200 for n in counts.values()), counts

    missing = next(iter(charts))
    stripped = re.sub(
        rf'(<figure class="chart" id="chart-{missing}".*?)<svg.*?</svg>',
        r"\1",
        text,
        count=1,
        flags=re.S,
    )
    assert stripped != text
    broken = reports / "broken.html"
    broken.write_text(stripped, encoding="utf-8")
    shot = screenshot(broken, tmp_path / "broken.png", tmp_path / "profile", height)
    assert colour_pixels(shot, charts[missing]) == 0
    others = [k for k in charts if k != missing]
    assert all(colour_pixels(shot, charts[k]) >= 200 for k in others)

"""The static HTML report (reports/index.html) and its charts (reports/charts/*.svg|png).

One self-contained page: the charts are inline SVG, the styles inline, no script and nothing
fetched from the network, so it opens offline from the file system. Charts are drawn with
matplotlib's object API (`Figure`, never pyplot: no GUI backend, no global figure state) and
saved deterministically: fixed layout seed, `svg.hashsalt` per chart, no dates in metadata,
matplotlib's own defaults under the report's settings (a user's matplotlibrc is not read), so a
rebuild over the same warehouse rewrites identical files. matplotlib and networkx are imported
only when a chart is drawn: a chart whose inputs did not change is taken from the previous
report set (`flows.renders`).

Each chart's main series is drawn in a colour of its own (`data-colour` on its <figure>), which
is how the browser test finds every chart in a screenshot.
"""

from __future__ import annotations

import colorsys
import contextlib
import html
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from flows import warehouse
from flows.exports import graph_from_rows, pair_rows, safe_stem
from flows.renders import Rendered, Renders

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure

MAX_NETWORK_NODES = 80  # watched researchers plus their closest co-authors; exports hold all
NETWORK_SEED = 7
CO_AUTHOR_GREY = "#b8b8b8"
EDGE_GREY = "#d0d0d0"
INK = "#303030"

RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text in the SVG (smaller, selectable)
    "text.parse_math": False,  # names/titles with `$` are not mathtext
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.grid": True,
    "grid.color": "#ececec",
    "axes.axisbelow": True,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "path.simplify": True,
    # left alone by rcdefaults (style-blacklisted), so set here: matplotlib's defaults
    "timezone": "UTC",
    "date.epoch": "1970-01-01T00:00:00",
}

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
figure.chart { margin: 1.5rem 0; } figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
p.how { color: #555; font-size: .92rem; margin: .3rem 0; }
p.files { font-size: .85rem; color: #777; margin: 0; }
table { border-collapse: collapse; font-size: .9rem; margin: .8rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: .88em; }
nav a { margin-right: 1rem; }
"""

SUMMARY_SQL = """
select author_id, display_name, works, citations, h_index, g_index, i10_index, h5_index,
    m_quotient, citations_per_year, retracted_works, first_year
from metrics.citations_per_author
where source = 'best'
order by author_id
"""
BY_YEAR_SQL = """
select author_id, year, works_published, citations
from metrics.author_citations_by_year
order by author_id, year
"""
H_BY_YEAR_SQL = """
select author_id, year, h_index, g_index
from metrics.h_index_by_year
order by author_id, year
"""
TOPIC_MONTHS_SQL = """
select topic_id, topic_name, period_start, works, citations
from metrics.watched_topic_activity
where period_kind = 'month'
order by topic_id, period_start
"""
DISCREPANCY_SQL = """
select level, entity_id, entity_name, metric, source_a, value_a, source_b, value_b, difference,
    relative_difference
from metrics.source_discrepancies
order by level, relative_difference desc, entity_id, source_b
"""
RUN_SQL = "select run_id, finished_at from main.runs where run_id = ?"


@contextlib.contextmanager
def _rc(extra: dict[str, Any] | None = None) -> Iterator[None]:
    """The report's matplotlib settings over matplotlib's defaults, for a `with` block (the
    files depend on code alone, which is what lets an unchanged chart be reused)."""
    import matplotlib

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(cast(Any, {**RC, **(extra or {})}))
        yield


def chart_colour(i: int) -> str:
    """A saturated colour per chart, hues spread by the golden ratio (distinct for any count
    the report draws, and never the greys used for axes, co-authors and edges)."""
    hue = (0.02 + i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.78, 0.82)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


@dataclass
class Chart:
    key: str  # file stem under charts/ and the figure's element id
    title: str
    how_to_read: str
    colour: str
    svg: bytes
    png: bytes

    def rendered(self) -> Rendered:
        meta = {"title": self.title, "how_to_read": self.how_to_read, "colour": self.colour}
        return Rendered(
            {f"charts/{self.key}.svg": self.svg, f"charts/{self.key}.png": self.png}, meta
        )

    @classmethod
    def from_rendered(cls, key: str, got: Rendered) -> Chart:
        m = got.meta
        files = got.files
        svg, png = files[f"charts/{key}.svg"], files[f"charts/{key}.png"]
        return cls(key, str(m["title"]), str(m["how_to_read"]), str(m["colour"]), svg, png)


def _save(fig: Figure, key: str) -> tuple[bytes, bytes]:
    svg, png = io.BytesIO(), io.BytesIO()
    with _rc({"svg.hashsalt": f"scholarflow-{key}"}):
        # lay out once, then keep that layout for both files (else each save lays out again).
        # No engine at all, not "none": savefig draws the figure an extra time before each
        # file whenever an engine, even the "none" placeholder, is set.
        fig.draw_without_rendering()
        fig.set_layout_engine(None)  # under _rc's defaults: no autolayout, so no engine
        fig.savefig(svg, format="svg", metadata={"Date": None})
        fig.savefig(png, format="png", metadata={"Software": None})
    return svg.getvalue(), png.getvalue()


def _figure(width: float, height: float, cols: int = 1) -> tuple[Figure, list[Any]]:
    from matplotlib.figure import Figure

    with _rc():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = [fig.add_subplot(1, cols, i + 1) for i in range(cols)]
    return fig, axes


def _no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888")
    ax.set_xticks([])
    ax.set_yticks([])


def researcher_chart(
    key: str,
    name: str,
    colour: str,
    by_year: list[dict[str, Any]],
    h_by_year: list[dict[str, Any]],
) -> Chart:
    with _rc():
        fig, (left, right) = _figure(10, 3.4, cols=2)
        if by_year:
            years = [r["year"] for r in by_year]
            left.bar(years, [r["citations"] for r in by_year], color=colour, width=0.8)
            left.set_title("citations received per year (OpenAlex)", loc="left", fontsize=10)
            left.set_xlabel("year")
            left.xaxis.get_major_locator().set_params(integer=True)
        else:
            _no_data(left, "no dated works yet")
        if h_by_year:
            years = [r["year"] for r in h_by_year]
            right.step(years, [r["g_index"] for r in h_by_year], where="post", color="#9a9a9a")
            right.step(years, [r["h_index"] for r in h_by_year], where="post", color=colour, lw=2)
            right.legend(["g-index", "h-index"], loc="upper left", frameon=False)
            right.set_title(
                "h- and g-index at each year's end (best counts)", loc="left", fontsize=10
            )
            right.set_xlabel("year")
            right.xaxis.get_major_locator().set_params(integer=True)
        else:
            _no_data(right, "no counted works yet")
        svg, png = _save(fig, key)
    return Chart(
        key,
        name,
        "Left: citations the researcher's works received in each calendar year (OpenAlex "
        "counts_by_year, roughly the last decade). Right: the h-index (thick) and g-index at "
        "the end of each year, from today's best counts minus citations received later; "
        "retracted works are left out. A flat h with rising citations means a few works "
        "carry the growth.",
        colour,
        svg,
        png,
    )


def topic_chart(key: str, name: str, colour: str, months: list[dict[str, Any]]) -> Chart:
    with _rc():
        fig, (ax,) = _figure(10, 3.0)
        if months:
            starts = [r["period_start"] for r in months]
            ax.bar(starts, [r["works"] for r in months], width=25, color=colour, align="edge")
            ax.set_ylabel("works published")
            ax.set_title("works per month", loc="left", fontsize=10)
            ax.yaxis.get_major_locator().set_params(integer=True)
        else:
            _no_data(ax, "no dated works yet")
        svg, png = _save(fig, key)
    return Chart(
        key,
        name,
        "Works in this watched topic by month of publication, from the first one to this "
        "month (empty months are zero). The last bar is the current, incomplete month; "
        "recent months fill in as sources index new works.",
        colour,
        svg,
        png,
    )


def packed_layout(graph: nx.Graph) -> dict[Any, tuple[float, float]]:
    """A force layout per connected component, the components packed in a grid (one spring
    layout over all would push unconnected groups to the far corners)."""
    import networkx as nx

    comps = sorted(
        (sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])
    )
    cols = max(1, math.ceil(math.sqrt(len(comps))))
    pos: dict[Any, tuple[float, float]] = {}
    cell = 2.4
    for i, comp in enumerate(comps):
        radius = max(0.25, min(1.0, math.sqrt(len(comp)) / 6))
        # a fresh graph in sorted order: subgraph views iterate a set, whose order changes
        # with PYTHONHASHSEED, and the layout depends on node order
        sub = nx.Graph()
        sub.add_nodes_from(comp)
        pairs = sorted(tuple(sorted(e)) for e in graph.subgraph(comp).edges)
        sub.add_edges_from((u, v, graph.edges[u, v]) for u, v in pairs)
        if len(comp) == 1:
            local = {comp[0]: (0.0, 0.0)}
        else:
            local = {
                n: (float(x), float(y))
                for n, (x, y) in nx.spring_layout(
                    sub, seed=NETWORK_SEED, weight="weight", scale=radius
                ).items()
            }
        cx, cy = (i % cols) * cell, -(i // cols) * cell
        for n, (x, y) in local.items():
            pos[n] = (cx + x, cy + y)
    return pos


def network_chart(key: str, colour: str, graph: nx.Graph) -> tuple[Chart, int]:
    """The co-authorship network around the watched researchers (capped; returns the number
    of people left out)."""
    import networkx as nx
    from matplotlib.collections import LineCollection

    watched = sorted(n for n, d in graph.nodes(data=True) if d["is_watched"])
    others = sorted(
        (n for n in graph.nodes if n not in set(watched)),
        key=lambda n: (-graph.degree(n, weight="weight"), n),
    )
    keep = watched + others[: max(MAX_NETWORK_NODES - len(watched), 0)]
    left_out = graph.number_of_nodes() - len(keep)
    sub = nx.Graph()
    sub.add_nodes_from((n, graph.nodes[n]) for n in sorted(keep))
    # each edge from its smaller end: a subgraph view of a graph over twice its size iterates
    # the kept set, so which end comes first (and the order lines are drawn in) would follow
    # PYTHONHASHSEED
    ends = sorted((min(u, v), max(u, v)) for u, v in graph.subgraph(keep).edges)
    sub.add_edges_from((u, v, graph.edges[u, v]) for u, v in ends)
    with _rc({"axes.grid": False}):
        fig, (ax,) = _figure(10, 7.5)
        ax.set_axis_off()
        if sub.number_of_nodes():
            pos = packed_layout(sub)
            edges = [(pos[u], pos[v]) for u, v in sub.edges]
            widths = [0.6 + 0.8 * min(d["weight"], 6) for _u, _v, d in sub.edges(data=True)]
            ax.add_collection(LineCollection(edges, colors=EDGE_GREY, linewidths=widths, zorder=1))
            nodes = list(sub.nodes)
            ax.scatter(
                [pos[n][0] for n in nodes],
                [pos[n][1] for n in nodes],
                s=[
                    260 if sub.nodes[n]["is_watched"] else 40 + 20 * min(sub.degree(n), 6)
                    for n in nodes
                ],
                c=[colour if sub.nodes[n]["is_watched"] else CO_AUTHOR_GREY for n in nodes],
                linewidths=0,
                zorder=2,
            )
            # name the watched and their closest co-authors (two or more shared works)
            labelled = set(watched) | {
                n for n in others[:12] if sub.degree(n, weight="weight") >= 2
            }
            for n in nodes:
                if n in labelled:
                    ax.annotate(
                        sub.nodes[n]["name"] or n,
                        pos[n],
                        xytext=(0, 9),
                        textcoords="offset points",
                        ha="center",
                        fontsize=10 if sub.nodes[n]["is_watched"] else 8,
                        fontweight="bold" if sub.nodes[n]["is_watched"] else "normal",
                        color=INK,
                        zorder=3,
                    )
            ax.autoscale()
            ax.margins(0.08)
        else:
            _no_data(ax, "no co-authorships yet")
        svg, png = _save(fig, key)
    more = (
        f" {left_out} further co-authors are left out of the picture (all in the exports)."
        if left_out
        else ""
    )
    return (
        Chart(
            key,
            "Co-authorship network",
            "Each dot is a person; coloured dots are watched researchers, grey ones their "
            "co-authors (bigger: more collaborators). A line joins two people who share works; "
            "thicker lines, more shared works. Positions come from a force layout: people who "
            "work together sit close, distances carry no other meaning." + more,
            colour,
            svg,
            png,
        ),
        left_out,
    )


def _svg_inline(svg: bytes) -> str:
    """matplotlib's SVG file without its XML declaration and DOCTYPE, to embed in HTML."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _cell(value: Any, numeric: bool = False) -> str:
    cls = ' class="n"' if numeric else ""
    shown = "" if value is None else value
    return f"<td{cls}>{html.escape(str(shown))}</td>"


def _table(columns: list[tuple[str, str, bool]], rows: list[dict[str, Any]]) -> str:
    head = "".join(
        f"<th{' class=n' if num else ''}>{html.escape(label)}</th>" for _c, label, num in columns
    )
    body = "".join(
        "<tr>" + "".join(_cell(r[c], num) for c, _label, num in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_html(chart: Chart, heading: str) -> str:
    key = html.escape(chart.key)
    return (
        f'<figure class="chart" id="chart-{key}" data-chart="{key}" '
        f'data-colour="{html.escape(chart.colour)}">'
        f"<figcaption>{heading}</figcaption>"
        f"{_svg_inline(chart.svg)}"
        f'<p class="how"><strong>How to read:</strong> {html.escape(chart.how_to_read)}</p>'
        f'<p class="files">Files: <a href="charts/{key}.svg">charts/{key}.svg</a>, '
        f'<a href="charts/{key}.png">charts/{key}.png</a></p>'
        "</figure>"
    )


def _drawn(
    renders: Renders | None, key: str, inputs: tuple[Any, ...], draw: Callable[[], Chart]
) -> Chart:
    """The chart `draw()` makes from `inputs`, or the previous run's when they are the same."""
    if renders is None:
        return draw()
    return Chart.from_rendered(
        key,
        renders.get(
            f"chart:{key}",
            inputs,
            lambda: draw().rendered(),
            [f"charts/{key}.svg", f"charts/{key}.png"],
        ),
    )


def render_report(
    con: Any,
    run_id: str | None,
    renders: Renders | None = None,
    pairs: list[dict[str, Any]] | None = None,
) -> tuple[str, list[Chart]]:
    """(index.html text, its charts). With `renders`, a chart whose inputs did not change is
    taken from the previous report set; `pairs` are `exports.pair_rows` if already read."""
    summary = warehouse.query_dicts(con, SUMMARY_SQL)
    by_year: dict[str, list[dict[str, Any]]] = {}
    for r in warehouse.query_dicts(con, BY_YEAR_SQL):
        by_year.setdefault(r["author_id"], []).append(r)
    h_by_year: dict[str, list[dict[str, Any]]] = {}
    for r in warehouse.query_dicts(con, H_BY_YEAR_SQL):
        h_by_year.setdefault(r["author_id"], []).append(r)
    months: dict[str, list[dict[str, Any]]] = {}
    for r in warehouse.query_dicts(con, TOPIC_MONTHS_SQL):
        months.setdefault(r["topic_id"], []).append(r)
    discrepancies = warehouse.query_dicts(con, DISCREPANCY_SQL)
    run = warehouse.query_dicts(con, RUN_SQL, [run_id]) if run_id else []

    charts: list[Chart] = []
    parts: list[str] = []
    used: set[str] = set()

    def unique_key(prefix: str, ident: str) -> str:
        base = f"{prefix}-{safe_stem(ident)}"
        key, n = base, 1
        while key in used:
            n += 1
            key = f"{base}-{n}"
        used.add(key)
        return key

    parts.append('<section id="researchers"><h2>Researchers</h2>')
    parts.append(
        '<p class="how"><strong>How to read:</strong> one row per watched researcher, from the '
        "best citation count of each work (one source-precedence rule, see "
        "<code>citation_source_precedence.csv</code>); retracted works are counted apart and "
        "left out of every index. h5 and i10 (5y) count works of the last five calendar years; "
        "the m-quotient is h over the years since the first work.</p>"
    )
    parts.append(
        _table(
            [
                ("display_name", "researcher", False),
                ("author_id", "id", False),
                ("works", "works", True),
                ("citations", "citations", True),
                ("h_index", "h", True),
                ("g_index", "g", True),
                ("i10_index", "i10", True),
                ("h5_index", "h5", True),
                ("m_quotient", "m", True),
                ("citations_per_year", "citations/year", True),
                ("retracted_works", "retracted", True),
            ],
            summary,
        )
    )
    for person in summary:
        author_id = person["author_id"]
        key = unique_key("researcher", author_id)
        args = (
            str(person["display_name"] or author_id),
            chart_colour(len(charts)),
            by_year.get(author_id, []),
            h_by_year.get(author_id, []),
        )
        chart = _drawn(renders, key, args, partial(researcher_chart, key, *args))
        charts.append(chart)
        heading = f"{html.escape(chart.title)} <code>{html.escape(author_id)}</code>"
        parts.append(_figure_html(chart, heading))
    if not summary:
        parts.append("<p>No watched researcher in the warehouse yet.</p>")
    parts.append("</section>")

    parts.append('<section id="topics"><h2>Watched topics</h2>')
    for topic_id, rows in months.items():
        key = unique_key("topic", topic_id)
        targs = (str(rows[0]["topic_name"]), chart_colour(len(charts)), rows)
        chart = _drawn(renders, key, targs, partial(topic_chart, key, *targs))
        charts.append(chart)
        heading = f"{html.escape(chart.title)} <code>{html.escape(topic_id)}</code>"
        parts.append(_figure_html(chart, heading))
    if not months:
        parts.append("<p>No watched topic has dated works yet.</p>")
    parts.append("</section>")

    parts.append('<section id="network"><h2>Co-authorship network</h2>')
    pairs = pair_rows(con) if pairs is None else pairs
    key = unique_key("coauthorships", "network")
    colour = chart_colour(len(charts))
    chart = _drawn(
        renders, key, (colour, pairs), lambda: network_chart(key, colour, graph_from_rows(pairs))[0]
    )
    charts.append(chart)
    # counted from the rows (a, b with a < b, one row per pair) so no graph is built for them
    people = len({r["author_id_a"] for r in pairs} | {r["author_id_b"] for r in pairs})
    links = len({(r["author_id_a"], r["author_id_b"]) for r in pairs})
    parts.append(_figure_html(chart, f"{people} people, {links} co-author pairs"))
    parts.append("</section>")

    parts.append('<section id="discrepancies"><h2>Where sources disagree</h2>')
    parts.append(
        '<p class="how"><strong>How to read:</strong> works whose citation count from one '
        "source differs from the best count by at least 10 citations and 25 %, and researchers "
        "whose h-index by one source (or as the source's own profile reports it, "
        "<code>_reported</code>) differs from the best one by 2 or more. Both numbers are "
        "shown; a large gap usually means a source merged versions or counts a different "
        "set of works, not that either is wrong.</p>"
    )
    if discrepancies:
        parts.append(
            _table(
                [
                    ("level", "level", False),
                    ("entity_id", "id", False),
                    ("entity_name", "name", False),
                    ("metric", "metric", False),
                    ("source_a", "source A", False),
                    ("value_a", "A", True),
                    ("source_b", "source B", False),
                    ("value_b", "B", True),
                    ("difference", "B − A", True),
                    ("relative_difference", "relative", True),
                ],
                discrepancies,
            )
        )
    else:
        parts.append("<p>No discrepancy beyond the thresholds.</p>")
    parts.append("</section>")

    if run:
        finished = run[0]["finished_at"]
        stamp = finished.strftime("%Y-%m-%d %H:%M UTC") if finished else ""
        as_of = f"run <code>{html.escape(str(run_id))}</code> ({html.escape(stamp)})"
    else:
        as_of = "the warehouse as it stands"
    nav = (
        '<nav><a href="#researchers">Researchers</a><a href="#topics">Topics</a>'
        '<a href="#network">Co-authorship</a><a href="#discrepancies">Discrepancies</a>'
        '<a href="digest.md">Run digest</a></nav>'
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>scholarflow report</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>Research output report</h1>"
        f"<p>From {as_of}. The figures come from the warehouse's <code>metrics</code> views; "
        "the same rows are in the CSV files beside this page.</p>"
        f"{nav}{''.join(parts)}</body></html>\n"
    )
    return page, charts


def chart_files(charts: list[Chart]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for c in charts:
        files[f"{c.key}.svg"] = c.svg
        files[f"{c.key}.png"] = c.png
    return files

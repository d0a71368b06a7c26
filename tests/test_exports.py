"""Exports parsed back with the tools people use on them, compared with the warehouse rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bibtexparser
import duckdb
import networkx as nx
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware

from flows import exports, settings
from tests.outputs_helpers import TRICKY_TITLE, build_tiny


@pytest.fixture(scope="module")
def demo(demo_warehouse: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    yield con, settings.reports_dir(demo_warehouse) / "exports"
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    return con.execute(sql, params or []).fetchall()


def parse_bib(text: str) -> Any:
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library


def test_demo_network_graphml_matches_the_view(
    demo: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, out = demo
    graph = nx.read_graphml(out / "coauthorships.graphml")
    pairs = rows(
        con,
        "select author_id_a, author_id_b, sum(works), string_agg(distinct cast(year as varchar), ';' order by cast(year as varchar)) "
        "from metrics.coauthorships group by all",
    )
    people = {a for a, b, _w, _y in pairs} | {b for _a, b, _w, _y in pairs}
    assert pairs and graph.number_of_edges() == len(pairs)
    assert set(graph.nodes) == people
    for a, b, works, years in pairs:
        assert graph.edges[a, b]["weight"] == works
        assert graph.edges[a, b]["years"] == years
    authors = dict(
        (r[0], (r[1], r[2]))
        for r in rows(con, "select author_id, display_name, is_watched from authors")
    )
    for node, data in graph.nodes(data=True):
        assert (data["name"], data["is_watched"]) == authors[node]
    assert any(d["is_watched"] for _n, d in graph.nodes(data=True))


def test_demo_vosviewer_files_describe_the_same_network(
    demo: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    _con, out = demo
    graph = nx.read_graphml(out / "coauthorships.graphml")
    with (out / "vosviewer_map.txt").open(encoding="utf-8", newline="") as fh:
        items = list(csv.DictReader(fh, delimiter="\t"))
    assert list(items[0]) == [
        "id",
        "label",
        "description",
        "cluster",
        "weight<Links>",
        "weight<Total link strength>",
    ]
    ids = {int(i["id"]): i["description"] for i in items}
    assert sorted(ids) == list(range(1, graph.number_of_nodes() + 1))
    for item in items:
        node = item["description"]
        assert item["label"] == graph.nodes[node]["name"]
        assert item["cluster"] == ("1" if graph.nodes[node]["is_watched"] else "2")
        assert int(item["weight<Links>"]) == graph.degree(node)
    links = [
        line.split("\t")
        for line in (out / "vosviewer_network.txt").read_text(encoding="utf-8").splitlines()
    ]
    assert len(links) == graph.number_of_edges()
    for a, b, strength in links:
        assert graph.edges[ids[int(a)], ids[int(b)]]["weight"] == int(strength)


def test_demo_publication_lists_parse_back_to_the_warehouse_rows(
    demo: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, out = demo
    watched = [r[0] for r in rows(con, "select author_id from authors where is_watched")]
    assert watched
    for author_id in watched:
        papers = {
            r[0]: r
            for r in rows(
                con,
                "select distinct p.paper_id, p.title, p.year, p.doi, p.arxiv_id from papers p "
                "join authorships a using (paper_id) where a.author_id = ?",
                [author_id],
            )
        }
        n_authors = dict(
            rows(
                con,
                "select paper_id, count(*) from authorships where paper_id in "
                "(select paper_id from authorships where author_id = ?) group by paper_id",
                [author_id],
            )
        )
        bib = parse_bib((out / f"{author_id}.bib").read_text(encoding="utf-8"))
        assert {e.key for e in bib.entries} == set(papers)
        for entry in bib.entries:
            _pid, title, year, doi, arxiv = papers[entry.key]
            f = entry.fields_dict
            assert f["title"].value == " ".join(title.split())
            assert f["year"].value == str(year)
            assert len(f["author"].value.split(" and ")) == n_authors[entry.key]
            assert (f["doi"].value if "doi" in f else None) == doi
            assert (f["eprint"].value if "eprint" in f else None) == arxiv

        ris = rispy.loads((out / f"{author_id}.ris").read_text(encoding="utf-8"))
        assert {r["id"] for r in ris} == set(papers)
        for ref in ris:
            _pid, title, year, doi, _arxiv = papers[ref["id"]]
            assert ref["title"] == " ".join(title.split())
            assert ref["year"] == str(year)
            assert ref.get("doi") == doi
            assert len(ref["authors"]) == n_authors[ref["id"]]

        csl = json.loads((out / f"{author_id}.json").read_text(encoding="utf-8"))
        assert {i["id"] for i in csl} == set(papers)
        for item in csl:
            _pid, title, year, doi, _arxiv = papers[item["id"]]
            assert item["title"] == " ".join(title.split())
            assert item["issued"] == {"date-parts": [[year]]}
            assert item.get("DOI") == doi
            assert len(item["author"]) == n_authors[item["id"]]


def test_awkward_text_survives_every_format(tmp_path: Path, demo_warehouse: Path) -> None:
    """Braces, %, &, _, $, # and backslashes in a title; an underscore in a DOI."""
    path = build_tiny(tmp_path / "tiny.duckdb", demo_warehouse)
    with duckdb.connect(str(path), read_only=True) as con:
        files = exports.render_exports(con)
    assert set(files) == {
        "coauthorships.graphml",
        "vosviewer_map.txt",
        "vosviewer_network.txt",
        "ada-lovelace.bib",
        "ada-lovelace.ris",
        "ada-lovelace.json",
    }
    bib = {e.key: e.fields_dict for e in parse_bib(files["ada-lovelace.bib"]).entries}
    assert bib["p3"]["title"].value == TRICKY_TITLE
    assert bib["p3"]["doi"].value == "10.1000/fast_serving"
    assert bib["p3"]["author"].value == "Hopper, Grace and Lovelace, Ada"
    assert bib["p3"]["booktitle"].value == "OSDI"
    assert bib["p1"]["journal"].value == "Journal of Engines"
    assert "eprint" not in bib["p2"] and "url" not in bib["p2"]  # no id to link to
    ris = {r["id"]: r for r in rispy.loads(files["ada-lovelace.ris"])}
    assert ris["p3"]["title"] == TRICKY_TITLE and ris["p3"]["type_of_reference"] == "CONF"
    assert ris["p2"]["type_of_reference"] == "UNPB"
    assert ris["p3"]["authors"] == ["Hopper, Grace", "Lovelace, Ada"]
    csl = {i["id"]: i for i in json.loads(files["ada-lovelace.json"])}
    assert csl["p3"]["title"] == TRICKY_TITLE
    assert csl["p3"]["author"] == [
        {"family": "Hopper", "given": "Grace"},
        {"family": "Lovelace", "given": "Ada"},
    ]
    assert csl["p3"]["URL"] == "https://doi.org/10.1000/fast_serving"


def test_line_based_formats_keep_one_record_per_line(tmp_path: Path, demo_warehouse: Path) -> None:
    """A tab or newline in an upstream name must not split a VOSviewer row or an RIS tag."""
    path = build_tiny(tmp_path / "tiny.duckdb", demo_warehouse, watched_name="Ada\tLove\nlace")
    with duckdb.connect(str(path), read_only=True) as con:
        files = exports.render_exports(con)
    items = list(csv.DictReader(files["vosviewer_map.txt"].splitlines(), delimiter="\t"))
    assert len(items) == 3
    assert {i["label"] for i in items} >= {"Ada Love lace"}
    ris = rispy.loads(files["ada-lovelace.ris"])
    assert len(ris) == 4 and all("lace, Ada Love" in r["authors"] for r in ris)


def test_split_name_keeps_particles_and_suffixes() -> None:
    assert exports.split_name("Ludwig van Beethoven").inverted() == "van Beethoven, Ludwig"
    assert exports.split_name("Zhuo, Danyang").inverted() == "Zhuo, Danyang"
    assert exports.split_name("Martin Luther King Jr.").inverted() == "King, Jr., Martin Luther"
    assert exports.split_name("Madonna") == exports.Name(family="Madonna")

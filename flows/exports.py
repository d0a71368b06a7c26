"""Exports other tools read: the co-authorship network (GraphML, VOSviewer map + network files)
and each watched researcher's publication list (BibTeX, RIS, CSL-JSON).

Every function here returns file contents keyed by a path relative to the exports directory;
`flows.outputs` writes them. Rows come from the warehouse through `flows.warehouse` helpers.
networkx and the bibliography libraries are imported when a file is made, not with this module:
a publication list whose works did not change is taken from the previous report set.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from flows import warehouse
from flows.renders import Rendered, Renders

if TYPE_CHECKING:
    import networkx as nx
    from bibtexparser.model import Field

# Words that mark a venue as a journal; anything else with a venue is taken for a conference
# (the warehouse keeps no work type, and the watched fields publish mostly at conferences).
_JOURNAL_WORDS = re.compile(r"\b(journal|transactions|letters|review|magazine)\b", re.IGNORECASE)

PAIRS_SQL = """
select
    author_id_a, any_value(display_name_a) as name_a, bool_or(is_watched_a) as watched_a,
    author_id_b, any_value(display_name_b) as name_b, bool_or(is_watched_b) as watched_b,
    cast(sum(works) as bigint) as works,
    string_agg(distinct cast(year as varchar), ';' order by cast(year as varchar)) as years,
    string_agg(paper_ids, '; ' order by year) as paper_ids
from metrics.coauthorships
group by author_id_a, author_id_b
order by author_id_a, author_id_b
"""

# every watched researcher's works in one scan (one query per researcher took 20 ms each)
WORKS_SQL = """
with mine as (
    select distinct authorships.author_id, authorships.paper_id
    from main.authorships
    inner join main.authors on authors.author_id = authorships.author_id and authors.is_watched
)
select
    mine.author_id, papers.paper_id, papers.title, papers.year, papers.publication_date, papers.venue,
    papers.doi, papers.arxiv_id, papers.openalex_id, coalesce(papers.is_preprint_only, false) as is_preprint_only,
    list(authorships.author_name order by authorships.position, authorships.author_id) as authors
from mine
inner join main.papers on papers.paper_id = mine.paper_id
inner join main.authorships on authorships.paper_id = mine.paper_id
group by all
order by mine.author_id, papers.year desc nulls last, papers.paper_id
"""


NETWORK_FILES = ("coauthorships.graphml", "vosviewer_map.txt", "vosviewer_network.txt")
PUBLICATION_FORMATS = ("bib", "ris", "json")  # per watched researcher, in this order


def one_line(text: Any) -> str:
    """Upstream text on one line: line-based formats (RIS, VOSviewer) break on newlines/tabs."""
    return " ".join(str(text or "").split())


def safe_stem(author_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", author_id).strip("-.") or "researcher"


def pair_rows(con: Any) -> list[dict[str, Any]]:
    """metrics.coauthorships per pair of people (author_id_a < author_id_b)."""
    return warehouse.query_dicts(con, PAIRS_SQL)


def coauthor_graph(con: Any) -> nx.Graph:
    """metrics.coauthorships as one undirected graph: a node per person, an edge per pair."""
    return graph_from_rows(pair_rows(con))


def graph_from_rows(rows: list[dict[str, Any]]) -> nx.Graph:
    """`pair_rows` as one undirected graph."""
    import networkx as nx

    graph = nx.Graph()
    for row in rows:
        for side in ("a", "b"):
            node = row[f"author_id_{side}"]
            watched = bool(row[f"watched_{side}"])
            if node in graph:
                watched = watched or graph.nodes[node]["is_watched"]
            graph.add_node(node, name=one_line(row[f"name_{side}"]), is_watched=watched)
        graph.add_edge(
            row["author_id_a"],
            row["author_id_b"],
            weight=int(row["works"]),
            years=row["years"] or "",
            paper_ids=row["paper_ids"] or "",
        )
    return graph


def graphml_text(graph: nx.Graph) -> str:
    import networkx as nx

    return "\n".join(nx.generate_graphml(graph, prettyprint=True)) + "\n"


def vosviewer_files(graph: nx.Graph) -> tuple[str, str]:
    """(map file, network file) in VOSviewer's tab-separated formats: the map file has a header
    and integer ids from 1; the network file is `id1 id2 strength` rows without a header."""
    ids = {node: i for i, node in enumerate(sorted(graph.nodes), start=1)}
    map_buf, net_buf = io.StringIO(), io.StringIO()
    writer = csv.writer(map_buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(
        ["id", "label", "description", "cluster", "weight<Links>", "weight<Total link strength>"]
    )
    for node, i in ids.items():
        attrs = graph.nodes[node]
        writer.writerow(
            [
                i,
                attrs["name"] or node,
                node,
                1 if attrs["is_watched"] else 2,  # cluster 1: watched researchers
                graph.degree(node),
                graph.degree(node, weight="weight"),
            ]
        )
    net = csv.writer(net_buf, delimiter="\t", lineterminator="\n")
    rows = sorted(
        (*sorted((ids[u], ids[v])), data["weight"]) for u, v, data in graph.edges(data=True)
    )
    net.writerows(rows)
    return map_buf.getvalue(), net_buf.getvalue()


@dataclass
class Work:
    paper_id: str
    title: str
    year: int | None
    venue: str | None
    doi: str | None
    arxiv_id: str | None
    openalex_id: str | None
    is_preprint_only: bool
    authors: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """preprint | journal | conference | other"""
        if self.is_preprint_only or (self.venue or "").strip().lower() == "arxiv":
            return "preprint"
        if not self.venue:
            return "other"
        return "journal" if _JOURNAL_WORDS.search(self.venue) else "conference"

    @property
    def url(self) -> str | None:
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        if self.openalex_id:
            return f"https://openalex.org/{self.openalex_id}"
        return None


def works_rows(con: Any) -> dict[str, list[dict[str, Any]]]:
    """Each watched researcher's works (rows for `works_from_rows`), by author id."""
    by_author: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in warehouse.query_dicts(con, WORKS_SQL):
        by_author[row["author_id"]].append(row)
    return by_author


def works_from_rows(rows: list[dict[str, Any]]) -> list[Work]:
    return [
        Work(
            paper_id=r["paper_id"],
            title=one_line(r["title"]),
            year=r["year"],
            venue=one_line(r["venue"]) or None,
            doi=r["doi"],
            arxiv_id=r["arxiv_id"],
            openalex_id=r["openalex_id"],
            is_preprint_only=bool(r["is_preprint_only"]),
            authors=[one_line(a) for a in r["authors"] if a],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Name:
    family: str
    given: str = ""
    suffix: str = ""

    def inverted(self) -> str:
        """ "Family, Given" (BibTeX, RIS); with a suffix "Family, Suffix, Given" as BibTeX reads it."""
        return ", ".join(p for p in (self.family, self.suffix, self.given) if p)


@lru_cache(maxsize=65_536)  # co-authors recur across works and all three formats
def split_name(raw: str) -> Name:
    """Family and given names of an author string ("Ludwig van Beethoven", "Zhuo, Danyang"), as
    written, by the project's one name splitter (transforms.names: no word is dropped)."""
    from transforms import names

    n = names.analyse(raw)
    if not (n.family_written and n.given_written):  # one word ("Madonna"): all of it is family
        return Name(family=n.display or raw.strip(), suffix=n.suffix or "")
    return Name(family=n.family_written, given=n.given_written, suffix=n.suffix or "")


def _verbatim(value: str) -> str:
    """DOI/URL/eprint as BibTeX reads them verbatim: braces and whitespace would break the field."""
    return re.sub(r"[{}\s\\]", "", value)


def cite_key(paper_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9:._-]+", "_", paper_id)


def bibtex_text(works: list[Work]) -> str:
    """BibTeX through bibtexparser. Its LaTeX-encoding middleware escapes & % $ # _ { } and
    non-ASCII letters in the text fields, so titles from upstream cannot break the file; DOI, URL
    and eprint are added after it, verbatim (encoding them would turn `_` into `\\_`)."""
    from bibtexparser.entrypoint import write_string
    from bibtexparser.library import Library
    from bibtexparser.middlewares import LatexEncodingMiddleware
    from bibtexparser.model import Entry, Field

    library = Library()
    verbatim: dict[str, list[Field]] = {}
    for w in works:
        key = cite_key(w.paper_id)
        fields = [Field("title", w.title)]
        if w.authors:
            fields.append(
                Field("author", " and ".join(split_name(a).inverted() for a in w.authors))
            )
        if w.year:
            fields.append(Field("year", str(w.year)))
        kind = w.kind
        entry_type = {"journal": "article", "conference": "inproceedings"}.get(kind, "misc")
        if kind == "journal":
            fields.append(Field("journal", w.venue))
        elif kind == "conference":
            fields.append(Field("booktitle", w.venue))
        library.add(Entry(entry_type, key, fields))
        extra = []
        if w.doi:
            extra.append(Field("doi", _verbatim(w.doi)))
        if w.arxiv_id:
            extra += [Field("eprint", _verbatim(w.arxiv_id)), Field("archiveprefix", "arXiv")]
        if w.url:
            extra.append(Field("url", _verbatim(w.url)))
        verbatim[key] = extra
    library = LatexEncodingMiddleware(enclose_urls=False).transform(library)
    for entry in library.entries:
        for f in verbatim[entry.key]:
            entry.set_field(f)
    text: str = write_string(library)
    return text


@lru_cache(maxsize=1)
def _ris_writer() -> type:
    import rispy

    class RisWriter(rispy.RisWriter):  # type: ignore[misc]
        """rispy's writer without its `1.`-style counter line before each record (not RIS)."""

        def set_header(self, count: int) -> str:
            return ""

    return RisWriter


def ris_text(works: list[Work]) -> str:
    import rispy

    refs: list[dict[str, Any]] = []
    for w in works:
        ref: dict[str, Any] = {
            "type_of_reference": {"journal": "JOUR", "conference": "CONF", "preprint": "UNPB"}.get(
                w.kind, "GEN"
            ),
            "title": w.title,
            "authors": [split_name(a).inverted() for a in w.authors],
            "id": w.paper_id,
        }
        if w.year:
            ref["year"] = str(w.year)
        if w.venue:
            ref["secondary_title"] = w.venue
        if w.doi:
            ref["doi"] = w.doi
        if w.url:
            ref["urls"] = [w.url]
        if w.arxiv_id:
            ref["notes"] = [f"arXiv:{w.arxiv_id}"]
        refs.append(ref)
    text: str = rispy.dumps(refs, implementation=_ris_writer())
    return text


def _csl_name(name: Name) -> dict[str, str]:
    if not name.given:
        return {"literal": name.family}
    out = {"family": name.family, "given": name.given}
    if name.suffix:
        out["suffix"] = name.suffix
    return out


def csl_items(works: list[Work]) -> list[dict[str, Any]]:
    """CSL-JSON items (the input format of citeproc processors, Zotero and pandoc)."""
    items = []
    for w in works:
        item: dict[str, Any] = {
            "id": w.paper_id,
            "type": {
                "journal": "article-journal",
                "conference": "paper-conference",
                "preprint": "article",
            }.get(w.kind, "document"),
            "title": w.title,
            "author": [_csl_name(split_name(a)) for a in w.authors],
        }
        if w.year:
            item["issued"] = {"date-parts": [[w.year]]}
        if w.venue and w.kind != "preprint":
            item["container-title"] = w.venue
        if w.doi:
            item["DOI"] = w.doi
        if w.arxiv_id:
            item["number"] = w.arxiv_id
            item["publisher"] = "arXiv"
        if w.url:
            item["URL"] = w.url
        items.append(item)
    return items


def watched_researchers(con: Any) -> list[tuple[str, str]]:
    rows = warehouse.query(
        con,
        "select author_id, display_name from main.authors where is_watched order by author_id",
    )
    return [(str(r[0]), str(r[1] or r[0])) for r in rows]


def _network_files(pairs: list[dict[str, Any]]) -> Rendered:
    graph = graph_from_rows(pairs)
    vos_map, vos_net = vosviewer_files(graph)
    texts = dict(zip(NETWORK_FILES, (graphml_text(graph), vos_map, vos_net), strict=True))
    return Rendered({f"exports/{k}": v.encode() for k, v in texts.items()})


def _publication_files(stem: str, rows: list[dict[str, Any]]) -> Rendered:
    works = works_from_rows(rows)
    csl = json.dumps(csl_items(works), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    texts = dict(
        zip(
            (f"{stem}.{ext}" for ext in PUBLICATION_FORMATS),
            (bibtex_text(works), ris_text(works), csl),
            strict=True,
        )
    )
    return Rendered({f"exports/{k}": v.encode() for k, v in texts.items()})


def render_exports(
    con: Any, renders: Renders | None = None, pairs: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """File contents under reports/exports/, keyed by file name. With `renders`, files whose
    rows did not change are taken from the previous report set; `pairs` are `pair_rows`."""
    renders = renders or Renders()
    pairs = pair_rows(con) if pairs is None else pairs
    network = [f"exports/{n}" for n in NETWORK_FILES]
    got = [renders.get("network-exports", pairs, lambda: _network_files(pairs), network)]
    used: set[str] = set()
    works = works_rows(con)
    for author_id, _name in watched_researchers(con):
        stem = base = safe_stem(author_id)
        n = 1
        while stem in used:  # two ids that sanitise alike keep apart
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        rows = works.get(author_id, [])
        got.append(
            renders.get(
                f"publications:{stem}",
                rows,
                partial(_publication_files, stem, rows),
                [f"exports/{stem}.{ext}" for ext in PUBLICATION_FORMATS],
            )
        )
    prefix = len("exports/")
    return {rel[prefix:]: data.decode() for g in got for rel, data in g.files.items()}

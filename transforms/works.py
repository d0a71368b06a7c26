"""Works resolution: which source records are one paper, by which rule, under which stable id.

The cascade, strongest first:
1. identifiers: DOI (normalised), arXiv id (version-less; arXiv's DataCite DOI maps to it), then
   the sources' own ids when another source cites them (OpenAlex W-id, S2 paperId / CorpusId,
   DBLP key, NSF PAR id) and `merge` overrides. Records sharing any of these are one paper.
2. title: candidate pairs come only from blocks (the same title key, or the same first / last
   20 characters of it, or the same main title before a colon), so the work stays near-linear;
   a pair is scored with rapidfuzz over whole arrays and accepted when titles are alike, the
   years at most one apart, the numbers in them equal (a "Part II" is a sequel) and the author
   lists overlap (containment, so a list truncated to
   "A, B, C et al." still counts). Records without authors need the exact title and year.
   A title link never joins two groups whose identifiers contradict each other (different arXiv
   ids, different published DOIs) or that a `keep_apart` override separates; a chain of title
   links that would do so is undone and flagged.

Canonical ids are kept in a registry (`work_ids`) that each run reads back: a paper keeps the
id most of its records had, so reruns never renumber. New papers get a readable id
(`arxiv:<id>`, `doi:<doi>`, else `t:<hash>` of title and year).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
from rapidfuzz import fuzz, process

from transforms import normalize as norm
from transforms.overrides import match_refs, overrides_frame, work_refs
from transforms.schemas import flag_rows
from transforms.specs import PAPER_FIELDS, PREPRINT_SOURCES, SPECS, SourceSpec

# Rules by strength: a record's rule in work_xref is the strongest link it has in its paper.
RULES = ("override_merge", "doi", "arxiv", "openalex", "s2", "corpus", "dblp", "par", "title")
_RULE_RANK = {r: i for i, r in enumerate(RULES)}
ID_SCHEMES = ("openalex", "s2", "corpus", "dblp", "par")

# Thresholds, measured on tests/resolution (see benchmarks/bench_resolution.py):
TITLE_SIM_MIN = 0.90  # rapidfuzz ratio of normalised titles (or of their main titles)
AUTHOR_OVERLAP_MIN = 0.5  # shared name tokens / tokens of the shorter author list
MIN_TITLE_KEY_CHARS = 12  # shorter titles ("Introduction") never match on title
NO_AUTHOR_MIN_CHARS = 25  # without author lists, only long exact titles of the same year match
MAX_BLOCK = 64  # a block this large is a generic title: no pairs from it
_AFFIX = 20  # characters of the title key used by the prefix and suffix blocks

PREPRINT_VENUE = r"(?i)\b(arxiv|biorxiv|medrxiv|ssrn|preprint|research square|corr)\b"
_PREPRINT_TYPES = ["preprint", "posted-content", "posted_content"]

# Why a paper-level field's surviving value won (the rule text in work_fields); the order of the
# sources comes from each source's field_rank (transforms/specs.py).
FIELD_RULES: dict[str, str] = {
    "title": "published version first; publisher-deposited metadata (Crossref) over indexes",
    "venue": "published version first; full container title (Crossref, OpenAlex) over abbreviations",
    "doi": "published version's DOI; registered by Crossref first",
    "work_type": "published version first; Crossref's type over the indexes'",
    "abstract": "the authors' own text (arXiv) over publisher and index copies",
}


def field_priority(
    specs: Iterable[SourceSpec], rules: Mapping[str, str]
) -> dict[str, tuple[tuple[str, ...], str]]:
    """Per field, the sources that supply it from strongest to weakest, and the rule text.
    Every spec with a field_rank must rank every field (None: never supplies it, so it ranks
    after all that do) and no two sources may share a rank: an error here, at import, rather
    than a source silently ranked last."""
    ranked = [s for s in specs if s.field_rank]
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for field, why in rules.items():
        ranks: dict[int, str] = {}
        for spec in ranked:
            if field not in spec.field_rank:
                raise ValueError(f"source {spec.slug!r} declares no field_rank for {field!r}")
            rank = spec.field_rank[field]
            if rank is not None and rank in ranks:
                raise ValueError(
                    f"sources {ranks[rank]!r} and {spec.slug!r} share rank {rank} for {field!r}"
                )
            if rank is not None:
                ranks[rank] = spec.slug
        out[field] = (tuple(ranks[r] for r in sorted(ranks)), why)
    return out


if tuple(FIELD_RULES) != PAPER_FIELDS:
    raise ValueError(f"FIELD_RULES {tuple(FIELD_RULES)} must follow PAPER_FIELDS {PAPER_FIELDS}")
# Which source's value of a paper-level field survives, and why.
FIELD_PRIORITY = field_priority(SPECS.values(), FIELD_RULES)


def version_status() -> pl.Expr:
    """The one rule for preprint vs published, per staged record (columns source, work_type,
    venue, doi, arxiv_id): "published", "preprint" or null (no evidence either way). Used by the
    resolver (versions, field survival), the model (papers.venue, is_preprint_only) and so by
    explain, which shows what these tables say.

    1. A record hosted on arXiv is the published version when it names one: a journal DOI or a
       journal reference (arXiv staging keeps arxiv:journal_ref as the venue); else a preprint.
    2. A preprint / posted-content type is a preprint wherever it is hosted, its own DOI or not.
    3. A preprint server as venue (arXiv, bioRxiv, SSRN, CoRR…), or an arXiv id without a DOI:
       a preprint.
    4. A journal DOI or a venue: published. Nothing of these: unknown.
    """
    named_venue = pl.col("venue").is_not_null() & (pl.col("venue").str.strip_chars() != "")
    server_venue = named_venue & pl.col("venue").str.contains(PREPRINT_VENUE)
    journal = pl.col("doi").is_not_null() | (named_venue & ~server_venue)
    return (
        pl.when(pl.col("source").is_in(PREPRINT_SOURCES))
        .then(pl.when(journal).then(pl.lit("published")).otherwise(pl.lit("preprint")))
        .when(pl.col("work_type").is_in(_PREPRINT_TYPES).fill_null(False))
        .then(pl.lit("preprint"))
        .when(server_venue | (pl.col("arxiv_id").is_not_null() & pl.col("doi").is_null()))
        .then(pl.lit("preprint"))
        .when(journal)
        .then(pl.lit("published"))
        .otherwise(pl.lit(None, pl.String))
    )


def is_preprint() -> pl.Expr:
    """A preprint record, by `version_status` (the one rule)."""
    return (version_status() == "preprint").fill_null(False)


def _nodes(works: pl.LazyFrame) -> pl.DataFrame:
    title_norm = norm.words(pl.col("title"))
    main = title_norm.str.extract(r"^(.*?)\s*[:?]", 1)  # pre-colon part: title minus subtitle
    folded_main = pl.col("title").str.extract(r"^([^:?]{12,}?)\s*[:?]\s*\S", 1)
    return (
        works.with_columns(
            node=pl.concat_str("source", pl.lit(":"), "source_work_id"),
            preprint=is_preprint(),
            title_norm=title_norm,
            main_norm=pl.when(folded_main.is_not_null()).then(main).otherwise(title_norm),
        )
        .with_columns(main_key=pl.col("main_norm").str.replace_all(" ", ""))
        .collect()
    )


def _author_tokens(authorships: pl.LazyFrame) -> pl.LazyFrame:
    """(node, tokens): the distinct name words (2+ letters) of a record's author list."""
    return (
        authorships.select(
            node=pl.concat_str("source", pl.lit(":"), "source_work_id"),
            tok=norm.words(pl.col("raw_name")).str.split(" "),
        )
        .explode("tok")
        .filter(pl.col("tok").str.len_chars() >= 2)
        .group_by("node")
        .agg(tokens=pl.col("tok").unique().sort())
    )


def _components(edges: pl.DataFrame) -> pl.DataFrame:
    """(node, label): connected components of a node-key graph by min-label propagation, with
    pointer jumping (a node takes its label's label) so long chains need few rounds. Nodes and
    keys are numbered first: the rounds join integers, not strings."""
    node_ids = edges.select("node").unique().sort("node").with_row_index("n")
    key_ids = edges.select("key").unique().with_row_index("k")
    e = edges.join(node_ids, on="node").join(key_ids, on="key").select("n", "k")
    labels = node_ids.select("n", label="n")
    for _ in range(10_000):
        by_key = e.join(labels, on="n").group_by("k").agg(pl.col("label").min())
        lowest = e.join(by_key, on="k").group_by("n").agg(pl.col("label").min().alias("new"))
        merged = labels.join(lowest, on="n").with_columns(new=pl.min_horizontal("label", "new"))
        jumped = merged.join(merged.select(label="n", hop="new"), on="label", how="left")
        jumped = jumped.with_columns(new=pl.min_horizontal("new", "hop"))
        if jumped.filter(pl.col("new") != pl.col("label")).height == 0:
            # node numbers follow node order, so the smallest number is the smallest node
            return (
                labels.join(node_ids, on="n")
                .join(node_ids.select(label="n", label_node="node"), on="label")
                .select("node", label="label_node")
            )
        labels = jumped.select("n", label="new")
    raise RuntimeError("work resolution did not converge")


def _id_keys(nodes: pl.DataFrame) -> pl.DataFrame:
    """(node, key, rule): every identifier a record carries."""
    ext = (
        nodes.select("node", key="ext_ids")
        .explode("key")
        .drop_nulls("key")
        .with_columns(rule=pl.col("key").str.extract(r"^([a-z0-9_]+):", 1))
        .filter(pl.col("rule").is_in(ID_SCHEMES))
    )
    return pl.concat(
        [
            nodes.filter(pl.col("doi").is_not_null()).select(
                "node", key="doi:" + pl.col("doi"), rule=pl.lit("doi")
            ),
            nodes.filter(pl.col("arxiv_id").is_not_null()).select(
                "node", key="arxiv:" + pl.col("arxiv_id"), rule=pl.lit("arxiv")
            ),
            ext,
        ]
    ).unique()


def _ref_groups(overrides: pl.LazyFrame, nodes: pl.DataFrame, kind: str) -> pl.DataFrame:
    """(line, ref, node) for override entries of one kind; refs naming nothing are absent."""
    refs = work_refs(overrides.filter(pl.col("kind") == kind)).select("line", "ref")
    records = nodes.lazy().select("node", "source", "source_work_id", "doi", "arxiv_id")
    return match_refs(refs, records).select("line", "ref", "node").collect()


def _block_keys(nodes: pl.DataFrame) -> pl.DataFrame:
    """(node, block): every title blocking key of every record, whatever the block's size."""
    tk = pl.col("title_key")
    long_enough = nodes.filter(tk.str.len_chars() >= MIN_TITLE_KEY_CHARS)
    affix = long_enough.filter(tk.str.len_chars() > _AFFIX)
    return pl.concat(
        [
            long_enough.select("node", block="t:" + tk),
            affix.select("node", block="p:" + tk.str.slice(0, _AFFIX)),
            affix.select("node", block="s:" + tk.str.slice(-_AFFIX)),
            long_enough.filter(
                (pl.col("main_key") != tk)
                & (pl.col("main_key").str.len_chars() >= MIN_TITLE_KEY_CHARS)
            ).select("node", block="m:" + pl.col("main_key")),
        ]
    ).unique()


def block_sizes(keys: pl.DataFrame) -> pl.DataFrame:
    """(block, len): records per title block."""
    return keys.group_by("block").len()


def _blocks(nodes: pl.DataFrame, sizes: pl.DataFrame | None = None) -> pl.DataFrame:
    """(node, block): title blocking keys; oversized (generic-title) blocks are dropped. `sizes`
    (block, len) counts the blocks over more records than `nodes` (an incremental run resolves
    a subset, yet a block is oversized by all the records in it)."""
    keys = _block_keys(nodes)
    sizes = block_sizes(keys) if sizes is None else sizes
    return keys.join(sizes.filter(pl.col("len").is_between(2, MAX_BLOCK)), on="block").drop("len")


def _similarity(a: pl.Series, b: pl.Series) -> pl.Series:
    """rapidfuzz ratio of element pairs, in [0, 1] (vectorised in C++, no Python loop)."""
    if a.len() == 0:
        return pl.Series([], dtype=pl.Float64)
    scores = process.cpdist(
        a.fill_null("").to_list(), b.fill_null("").to_list(), scorer=fuzz.ratio, workers=-1
    )
    return pl.Series(scores, dtype=pl.Float64) / 100.0


def title_pairs(
    nodes: pl.DataFrame,
    tokens: pl.LazyFrame,
    clusters: pl.DataFrame | None = None,
    sizes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Candidate pairs from the title blocks, scored: node_a, node_b, score, author_overlap,
    year_gap, accepted. Pairs already in one id cluster (`clusters`: node, label) are skipped."""
    blocks = _blocks(nodes, sizes)
    if clusters is not None:
        blocks = blocks.join(clusters, on="node")
    pairs = blocks.join(blocks, on="block", suffix="_b").filter(pl.col("node") < pl.col("node_b"))
    if clusters is not None:
        pairs = pairs.filter(pl.col("label") != pl.col("label_b"))
    pairs = pairs.select(node_a="node", node_b="node_b").unique()
    attrs = (
        nodes.select("node", "title_key", "title_norm", "main_norm", "year", "preprint")
        .with_columns(
            # "Part 2" vs "Part 3", "GPT-3" vs "GPT-4", "Llama 2": a sequel, not a version
            numbers=pl.col("title_norm")
            .str.extract_all(r"\d+|\b(?:i{1,3}|iv|vi{0,3}|ix|x)\b")
            .list.unique()
            .list.sort()
        )
        .join(tokens.collect(), on="node", how="left")
    )
    both = pairs.join(attrs, left_on="node_a", right_on="node").join(
        attrs, left_on="node_b", right_on="node", suffix="_b"
    )
    sim = pl.max_horizontal(
        _similarity(both["title_norm"], both["title_norm_b"]),
        _similarity(both["main_norm"], both["main_norm_b"]),
    )
    n_a = pl.col("tokens").list.len().fill_null(0)
    n_b = pl.col("tokens_b").list.len().fill_null(0)
    shared = pl.col("tokens").list.set_intersection("tokens_b").list.len()
    scored = both.with_columns(score=sim).with_columns(
        author_overlap=pl.when((n_a > 0) & (n_b > 0)).then(shared / pl.min_horizontal(n_a, n_b)),
        year_gap=(pl.col("year") - pl.col("year_b")).abs(),
    )
    with_authors = (
        (pl.col("numbers") == pl.col("numbers_b"))
        & (pl.col("score") >= TITLE_SIM_MIN)
        & (pl.col("author_overlap") >= AUTHOR_OVERLAP_MIN)
        & (pl.col("year_gap").fill_null(0) <= 1)
    )
    # no author list on one side: nothing tells namesakes apart but the title and the year
    without_authors = (
        pl.col("author_overlap").is_null()
        & (pl.col("title_key") == pl.col("title_key_b"))
        & (pl.col("title_key").str.len_chars() >= NO_AUTHOR_MIN_CHARS)
        & (
            (pl.col("year_gap") == 0)
            | ((pl.col("year_gap") == 1) & (pl.col("preprint") | pl.col("preprint_b")))
        )
    )
    return scored.select(
        "node_a",
        "node_b",
        "score",
        "author_overlap",
        "year_gap",
        accepted=(with_authors | without_authors).fill_null(False),
    )


def _cluster_ids(nodes: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Per id cluster: its arXiv ids and published DOIs, which a title link may not contradict."""
    return (
        nodes.join(labels, on="node")
        .group_by("label")
        .agg(
            arxiv=pl.col("arxiv_id").drop_nulls().unique().sort(),
            pub_doi=pl.col("doi").filter(~pl.col("preprint")).drop_nulls().unique().sort(),
        )
    )


def _contradict(a: str, b: str) -> pl.Expr:
    return (
        (pl.col(a).list.len() > 0)
        & (pl.col(b).list.len() > 0)
        & (pl.col(a).list.set_intersection(b).list.len() == 0)
    )


def _anchor_id(row_arxiv: pl.Expr, row_doi: pl.Expr, row_title: pl.Expr) -> pl.Expr:
    return (
        pl.when(row_arxiv.is_not_null())
        .then("arxiv:" + row_arxiv)
        .when(row_doi.is_not_null())
        .then("doi:" + row_doi)
        .otherwise(row_title.map_elements(_title_hash, return_dtype=pl.String))
    )


def _title_hash(key: str) -> str:
    return "t:" + hashlib.sha1(key.encode()).hexdigest()[:16]


def _empty_registry() -> pl.DataFrame:
    return pl.DataFrame(schema=REGISTRY_SCHEMA)


REGISTRY_SCHEMA: dict[str, Any] = {
    "source": pl.String,
    "source_work_id": pl.String,
    "paper_id": pl.String,
    "first_run_id": pl.String,  # the run that gave this record this paper_id
}


def _flags(frame: pl.DataFrame, **cols: pl.Expr) -> pl.DataFrame:
    return flag_rows(frame.lazy(), "work", (), **cols).collect()


def assign_ids(
    members: pl.DataFrame, nodes: pl.DataFrame, registry: pl.DataFrame, run_id: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(node, paper_id) for every record, and the updated registry.

    A group keeps the previous id most of its records had (ties: the oldest, then the smallest);
    an id claimed by two groups (a split) stays with the larger. Other groups get a new id from
    their arXiv id, else DOI, else title; an id already in use falls back to a hash of the
    group's first record, so no two papers ever share an id.
    """
    reg = registry.select(
        node=pl.concat_str("source", pl.lit(":"), "source_work_id"),
        prev="paper_id",
        first_run_id="first_run_id",
    )
    votes = (
        members.join(reg, on="node")
        .group_by("label", "prev")
        .agg(n=pl.len(), since=pl.col("first_run_id").min())
        .sort(["n", "since", "prev"], descending=[True, False, False])
    )
    # each label's favourite previous id, then each previous id goes to its strongest label
    kept = (
        votes.group_by("label", maintain_order=True)
        .first()
        .sort(["n", "since", "label"], descending=[True, False, False])
        .group_by("prev", maintain_order=True)
        .first()
        .select("label", paper_id="prev")
    )
    used = set(registry["paper_id"].to_list()) | set(kept["paper_id"].to_list())
    fresh = (
        members.join(nodes.select("node", "arxiv_id", "doi", "title_key", "year"), on="node")
        .join(kept, on="label", how="anti")
        .group_by("label")
        .agg(
            a=pl.col("arxiv_id").drop_nulls().min(),
            d=pl.col("doi").drop_nulls().min(),
            t=pl.concat_str(
                pl.col("title_key").fill_null(""),
                pl.lit("|"),
                pl.col("year").cast(pl.String).fill_null("?"),
            ).min(),
            first=pl.col("node").min(),
        )
        .with_columns(want=_anchor_id(pl.col("a"), pl.col("d"), pl.col("t")))
        .sort("first")
    )
    # the readable id unless it is taken (by the registry or by another new group)
    taken = pl.col("want").is_in(list(used)) | pl.col("want").is_duplicated()
    first_claim = pl.col("first") == pl.col("first").min().over("want")
    fresh = fresh.with_columns(
        paper_id=pl.when(~taken | (first_claim & ~pl.col("want").is_in(list(used))))
        .then("want")
        .otherwise(pl.col("first").map_elements(_title_hash, return_dtype=pl.String))
    )
    labels = pl.concat([kept, fresh.select("label", "paper_id")])
    assigned = members.join(labels, on="label").select("node", "paper_id")
    new_rows = assigned.join(nodes.select("node", "source", "source_work_id"), on="node").join(
        reg.select("node", "prev", "first_run_id"), on="node", how="left"
    )
    updated = new_rows.select(
        "source",
        "source_work_id",
        "paper_id",
        first_run_id=pl.when(pl.col("prev") == pl.col("paper_id"))
        .then("first_run_id")
        .otherwise(pl.lit(run_id)),
    )
    # records no longer staged (a source switched off) keep their registry row
    kept_rows = registry.join(
        updated.select("source", "source_work_id"), on=["source", "source_work_id"], how="anti"
    )
    out = pl.concat([updated, kept_rows.select(updated.columns)], how="vertical_relaxed")
    return assigned, out.sort("source", "source_work_id")


def resolve_works(
    works: pl.LazyFrame,
    authorships: pl.LazyFrame,
    *,
    overrides: pl.LazyFrame | None = None,
    registry: pl.LazyFrame | None = None,
    run_id: str = "",
    sizes: pl.DataFrame | None = None,
) -> dict[str, pl.LazyFrame]:
    """Staged works + staged authorships -> work_xref, work_ids (registry) and work flags.
    `sizes`: title block sizes over all records, when `works` is a closed subset of them
    (`affected_nodes`)."""
    overrides = overrides if overrides is not None else overrides_frame()
    nodes = _nodes(works)
    ids = _id_keys(nodes)

    merge = _ref_groups(overrides, nodes, "merge")
    apart = _ref_groups(overrides, nodes, "keep_apart")
    # keep_apart: identifiers the separated records share are not used to join them
    shared_by_apart = (
        apart.join(ids, on="node")
        .group_by("line", "key")
        .agg(n_refs=pl.col("ref").n_unique())
        .filter(pl.col("n_refs") > 1)
    )
    cut = apart.join(ids, on="node").join(shared_by_apart, on=["line", "key"]).select("node", "key")
    ids = ids.join(cut, on=["node", "key"], how="anti")
    id_edges = pl.concat(
        [
            ids.select("node", "key"),
            merge.select("node", key="override:" + pl.col("line").cast(pl.String)),
            nodes.select("node", key="self:" + pl.col("node")),
        ]
    )
    clusters = _components(id_edges)  # node -> label (id cluster)

    # title links between id clusters that don't contradict each other
    tokens = _author_tokens(authorships)
    pairs = title_pairs(nodes, tokens, clusters, sizes)
    cluster_ids = _cluster_ids(nodes, clusters)
    apart_pairs = (
        apart.join(apart, on="line", suffix="_b")
        .filter(pl.col("ref") != pl.col("ref_b"))
        .join(clusters, on="node")
        .join(clusters.rename({"node": "node_b", "label": "label_b"}), on="node_b")
        .select("label", "label_b")
        .unique()
    )
    links = (
        pairs.filter("accepted")
        .join(clusters, left_on="node_a", right_on="node")
        .join(clusters.rename({"label": "label_b"}), left_on="node_b", right_on="node")
        .filter(pl.col("label") != pl.col("label_b"))
        .join(cluster_ids, on="label")
        .join(cluster_ids, left_on="label_b", right_on="label", suffix="_b")
        .filter(~_contradict("arxiv", "arxiv_b") & ~_contradict("pub_doi", "pub_doi_b"))
        .join(apart_pairs, on=["label", "label_b"], how="anti")
    )
    link_edges = pl.concat(
        [
            links.select(node="label", key=pl.concat_str("label", pl.lit("|"), "label_b")),
            links.select(node="label_b", key=pl.concat_str("label", pl.lit("|"), "label_b")),
            clusters.select(node="label", key="self:" + pl.col("label")).unique(),
        ]
    )
    merged = _components(link_edges).rename({"node": "label", "label": "group"})
    # a chain of title links that joins contradicting clusters (or keep_apart records) is undone
    exploded = cluster_ids.join(merged, on="label")
    arx = exploded.explode("arxiv").drop_nulls("arxiv")
    dois = exploded.explode("pub_doi").drop_nulls("pub_doi")
    conflicted = pl.concat(
        [
            _over_joined(arx, "arxiv"),
            _over_joined(dois, "pub_doi"),
            apart_pairs.join(merged, on="label")
            .join(merged.rename({"label": "label_b", "group": "group_b"}), on="label_b")
            .filter(pl.col("group") == pl.col("group_b"))
            .select("group"),
        ]
    ).unique()
    group_of = merged.join(conflicted.with_columns(undo=pl.lit(True)), on="group", how="left")
    group_of = group_of.select(
        "label", group=pl.when(pl.col("undo")).then(pl.col("label")).otherwise(pl.col("group"))
    )
    members = clusters.join(group_of, on="label").select("node", label="group")

    prev = registry.collect() if registry is not None else _empty_registry()
    assigned, new_registry = assign_ids(members, nodes, prev, run_id)

    xref = _explain_links(nodes, ids, merge, links, assigned)
    flags = pl.concat(
        [
            _flags(
                conflicted.join(
                    members.join(assigned, on="node"), left_on="group", right_on="label"
                )
                .group_by("group")
                .agg(pl.col("paper_id").unique().sort().str.join(", ")),
                kind=pl.lit("work_conflict"),
                entity_id=pl.col("paper_id"),
                detail=pl.lit(
                    "title links would join records with different arXiv ids or published DOIs"
                    " (or a keep_apart override): kept as separate papers"
                ),
            ),
            _unmatched(overrides, nodes, ("merge", "keep_apart")),
            _flags(
                apart.join(assigned, on="node")
                .group_by("line", "paper_id")
                .agg(n=pl.col("ref").n_unique())
                .filter(pl.col("n") > 1),
                kind=pl.lit("keep_apart_unsatisfied"),
                entity_id=pl.col("paper_id"),
                detail=pl.lit("other records still join the separated ones by an identifier"),
                line=pl.col("line"),
            ),
        ]
    )
    return {
        "work_xref": xref.lazy(),
        "work_ids": new_registry.lazy(),
        "work_flags": flags.lazy(),
        "title_pairs": pairs.lazy(),
    }


def _over_joined(exploded: pl.DataFrame, col: str) -> pl.DataFrame:
    """Groups holding more distinct values of `col` than any one of their id clusters."""
    per_label = exploded.group_by("group", "label").agg(n=pl.col(col).n_unique())
    return (
        exploded.group_by("group")
        .agg(n_all=pl.col(col).n_unique())
        .join(per_label.group_by("group").agg(n_max=pl.col("n").max()), on="group")
        .filter(pl.col("n_all") > pl.col("n_max"))
        .select("group")
    )


def _unmatched(
    overrides: pl.LazyFrame, nodes: pl.DataFrame, kinds: tuple[str, ...]
) -> pl.DataFrame:
    refs = work_refs(overrides.filter(pl.col("kind").is_in(kinds))).collect()
    found = (
        match_refs(
            refs.lazy(), nodes.lazy().select("node", "source", "source_work_id", "doi", "arxiv_id")
        )
        .select("line", "ref")
        .unique()
        .collect()
    )
    missing = refs.join(found, on=["line", "ref"], how="anti")
    return _flags(
        missing,
        kind=pl.lit("override_unmatched"),
        entity_id=pl.col("ref"),
        detail=pl.concat_str(pl.col("kind"), pl.lit(": no record has this reference")),
        line=pl.col("line"),
    )


def _explain_links(
    nodes: pl.DataFrame,
    ids: pl.DataFrame,
    merge: pl.DataFrame,
    links: pl.DataFrame,
    assigned: pl.DataFrame,
) -> pl.DataFrame:
    """work_xref: each record with the strongest link it has to another record of its paper."""
    paper = assigned.select("node", "paper_id")
    keyed = pl.concat(
        [
            ids.select("node", "key", "rule"),
            merge.select(
                "node",
                key="override:" + pl.col("line").cast(pl.String),
                rule=pl.lit("override_merge"),
            ),
        ]
    ).join(paper, on="node")
    # partner by an identifier: the smallest other record of the same paper with that key
    ranked_nodes = keyed.group_by("paper_id", "key", "rule").agg(
        first=pl.col("node").min(), second=pl.col("node").sort().slice(1, 1).first()
    )
    by_id = (
        keyed.join(ranked_nodes, on=["paper_id", "key", "rule"])
        .with_columns(
            matched=pl.when(pl.col("node") == pl.col("first")).then("second").otherwise("first")
        )
        .filter(pl.col("matched").is_not_null())
        .select(
            "node", "rule", "matched", score=pl.lit(1.0), author_overlap=pl.lit(None, pl.Float64)
        )
    )
    title_links = links.select("node_a", "node_b", "score", "author_overlap")
    by_title = (
        pl.concat(
            [
                title_links.select(
                    node="node_a", matched="node_b", score="score", author_overlap="author_overlap"
                ),
                title_links.select(
                    node="node_b", matched="node_a", score="score", author_overlap="author_overlap"
                ),
            ]
        )
        .join(paper, on="node")
        .join(paper.rename({"node": "matched", "paper_id": "p2"}), on="matched")
        .filter(pl.col("paper_id") == pl.col("p2"))
        .select(
            "node",
            rule=pl.lit("title"),
            matched="matched",
            score="score",
            author_overlap="author_overlap",
        )
    )
    best = (
        pl.concat([by_id, by_title], how="vertical_relaxed")
        .with_columns(rank=pl.col("rule").replace_strict(_RULE_RANK, return_dtype=pl.Int32))
        .sort("node", "rank", pl.col("score"), "matched", descending=[False, False, True, False])
        .group_by("node", maintain_order=True)
        .first()
    )
    split = pl.col("matched").str.splitn(":", 2)
    return (
        nodes.join(paper, on="node")
        .join(best, on="node", how="left")
        .select(
            "paper_id",
            "source",
            "source_work_id",
            rule=pl.coalesce("rule", pl.lit("single")),
            score=pl.col("score").fill_null(1.0),
            author_overlap="author_overlap",
            matched_source=split.struct.field("field_0"),
            matched_source_work_id=split.struct.field("field_1"),
            doi="doi",
            arxiv_id="arxiv_id",
            title="title",
            year="year",
            venue="venue",
            is_preprint="preprint",
            cited_by_count="cited_by_count",
            _run_id="_run_id",
            _fetched_at="_fetched_at",
        )
        .sort("paper_id", "source", "source_work_id")
    )


def _rank(field: str) -> pl.Expr:
    order = {s: i for i, s in enumerate(FIELD_PRIORITY[field][0])}
    # last: the sources whose spec says they never supply the field (rank None)
    return pl.col("source").replace_strict(order, default=len(order), return_dtype=pl.Int32)


def build_work_fields(xref: pl.LazyFrame, works: pl.LazyFrame) -> pl.LazyFrame:
    """Surviving value of each paper-level field, with the record it came from and why."""
    recs = xref.select("paper_id", "source", "source_work_id", "is_preprint").join(
        works.select(
            "source",
            "source_work_id",
            "title",
            "venue",
            "doi",
            "work_type",
            "abstract",
            "year",
            "publication_date",
            "arxiv_id",
        ),
        on=["source", "source_work_id"],
    )
    frames = []
    for field, (_, why) in FIELD_PRIORITY.items():
        value = pl.col(field)
        cand = recs.filter(value.is_not_null() & (value.cast(pl.String).str.strip_chars() != ""))
        if field == "venue":  # a preprint server is a venue only when nothing else is
            cand = cand.with_columns(
                is_preprint=pl.col("is_preprint") | value.str.contains(PREPRINT_VENUE)
            )
        first = pl.col("is_preprint") if field != "abstract" else pl.lit(False)
        frames.append(
            cand.with_columns(_first=first, _rank=_rank(field))
            .sort("paper_id", "_first", "_rank", "source", "source_work_id")
            .group_by("paper_id", maintain_order=True)
            .first()
            .select(
                "paper_id",
                field=pl.lit(field),
                value=value.cast(pl.String),
                source="source",
                source_work_id="source_work_id",
                rule=pl.when(pl.col("_first") & (pl.lit(field) != "abstract"))
                .then(pl.lit("only preprint records have it; ") + pl.lit(why))
                .otherwise(pl.lit(why)),
            )
        )
    for field, why in (
        ("year", "earliest year any version appeared"),
        ("publication_date", "earliest date any version appeared"),
        ("arxiv_id", "smallest arXiv id of the paper's records"),
    ):
        frames.append(
            recs.filter(pl.col(field).is_not_null())
            .sort("paper_id", field, "source", "source_work_id")
            .group_by("paper_id", maintain_order=True)
            .first()
            .select(
                "paper_id",
                field=pl.lit(field),
                value=pl.col(field).cast(pl.String),
                source="source",
                source_work_id="source_work_id",
                rule=pl.lit(why),
            )
        )
    return pl.concat(frames).sort("paper_id", "field")


def build_work_versions(xref: pl.LazyFrame) -> pl.LazyFrame:
    """The versions of each paper (preprint, published): preprint records by arXiv id, others by
    DOI, else arXiv id.
    A record with neither joins the paper's only published DOI (if published) or its arXiv
    version (if a preprint); otherwise it is a version of its own."""
    recs = xref.select(
        "paper_id",
        "source",
        "source_work_id",
        "doi",
        "arxiv_id",
        "venue",
        "year",
        "is_preprint",
    )
    per_paper = recs.group_by("paper_id").agg(
        only_doi=pl.col("doi").filter(~pl.col("is_preprint")).drop_nulls().unique().first(),
        n_doi=pl.col("doi").filter(~pl.col("is_preprint")).drop_nulls().n_unique(),
        any_arxiv=pl.col("arxiv_id").drop_nulls().min(),
    )
    keyed = recs.join(per_paper, on="paper_id").with_columns(
        # an arXiv record naming its journal DOI is the published version (version_status)
        version_id=pl.when(pl.col("is_preprint") & pl.col("arxiv_id").is_not_null())
        .then("arxiv:" + pl.col("arxiv_id"))
        .when(pl.col("doi").is_not_null())
        .then("doi:" + pl.col("doi"))
        .when(pl.col("arxiv_id").is_not_null())
        .then("arxiv:" + pl.col("arxiv_id"))
        .when(~pl.col("is_preprint") & (pl.col("n_doi") == 1))
        .then("doi:" + pl.col("only_doi"))
        .when(pl.col("is_preprint") & pl.col("any_arxiv").is_not_null())
        .then("arxiv:" + pl.col("any_arxiv"))
        .otherwise(pl.concat_str("source", pl.lit(":"), "source_work_id"))
    )
    published_venue = pl.col("venue").filter(
        pl.col("venue").is_not_null() & ~pl.col("venue").str.contains(PREPRINT_VENUE)
    )
    # rows in a fixed order before first(): the join above does not keep one (a paper's venue
    # flipped between DBLP's "CoRR" and S2's "arXiv.org" across identical replays)
    return (
        keyed.with_columns(_rank=_rank("venue"))
        .sort("paper_id", "version_id", "_rank", "source", "source_work_id")
        .group_by("paper_id", "version_id", maintain_order=True)
        .agg(
            version_kind=pl.when(pl.col("is_preprint").all())
            .then(pl.lit("preprint"))
            .otherwise(pl.lit("published")),
            doi=pl.col("doi").drop_nulls().min(),
            arxiv_id=pl.col("arxiv_id").drop_nulls().min(),
            venue=pl.coalesce(published_venue.first(), pl.col("venue").drop_nulls().first()),
            year=pl.col("year").min(),
            sources=pl.col("source").unique().sort(),
            n_records=pl.len().cast(pl.Int32),
        )
        .sort("paper_id", "year", "version_id", nulls_last=True)
    )


# Incremental resolution. A run that loads a few records re-resolves only the records the
# resolver could join them to; every other paper keeps its rows. Exact by construction: the set
# below is closed over every edge the resolver can draw (shared identifier, title block,
# override line) in this run's records and in the previous build's, and over the previous
# papers, so the resolver's graph splits into that set and the rest, and the rest, unchanged,
# resolves as it did (tests/test_incremental.py compares with full builds).
NODE_KEYS_SCHEMA: dict[str, Any] = {
    "node": pl.String,
    "fingerprint": pl.String,
    "keys": pl.List(pl.String),
}
_BLOCK = "block|"


def node_keys(
    works: pl.LazyFrame, authorships: pl.LazyFrame, overrides: pl.LazyFrame | None = None
) -> pl.DataFrame:
    """(node, fingerprint, keys) per staged work record: a fingerprint of all the resolver reads
    of it (its staged row, its authors' name tokens) and every key it may be joined on: its
    identifiers, all its title blocks (whatever their size) and the override lines naming it."""
    overrides = overrides if overrides is not None else overrides_frame()
    nodes = _nodes(works)
    parts = [
        _id_keys(nodes).select("node", key="id|" + pl.col("key")),
        _block_keys(nodes).select("node", key=_BLOCK + pl.col("block")),
    ]
    for kind in ("merge", "keep_apart"):
        parts.append(
            _ref_groups(overrides, nodes, kind).select(
                "node", key=pl.lit(f"override|{kind}|") + pl.col("line").cast(pl.String)
            )
        )
    keys = pl.concat(parts).unique().group_by("node").agg(pl.col("key").sort())
    row = pl.struct(works.collect_schema().names())
    # two seeds: 128 bits, so two different records do not pass for one
    both = pl.struct("row", "tokens")
    fingerprints = (
        nodes.select("node", row=row)
        .join(_author_tokens(authorships).collect(), on="node", how="left")
        .select(
            "node",
            fingerprint=pl.concat_str(
                both.hash(7).cast(pl.String), pl.lit("-"), both.hash(11).cast(pl.String)
            ),
        )
        .group_by("node")  # a record staged twice: one fingerprint over its rows
        .agg(pl.col("fingerprint").sort().str.join("+"))
    )
    return (
        fingerprints.join(keys, on="node", how="left")
        .select(
            "node",
            "fingerprint",
            keys=pl.col("key").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .sort("node")
    )


def global_block_sizes(keys: pl.DataFrame) -> pl.DataFrame:
    """(block, len) of the title blocks in `node_keys` rows."""
    return block_sizes(
        keys.select("node", block="keys")
        .explode("block")
        .filter(pl.col("block").str.starts_with(_BLOCK))
        .with_columns(pl.col("block").str.strip_prefix(_BLOCK))
    )


def changed_nodes(current: pl.DataFrame, previous: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(node) of the records new or changed since `previous` (both `node_keys`), and how many
    records the previous build had that are gone now."""
    changed = current.join(previous, on=["node", "fingerprint"], how="anti").select("node")
    removed = previous.join(current, on="node", how="anti").height
    return changed, removed


def affected_nodes(
    changed: pl.DataFrame, current: pl.DataFrame, previous: pl.DataFrame, papers: pl.DataFrame
) -> pl.DataFrame:
    """(node): the `changed` records closed over everything they may be resolved with. Two
    records are bound when they share a key now or shared one in the previous build (an old
    DOI, an old title block the record left) or were one paper (`papers`: node, paper_id of the
    previous work_xref). Title blocks oversized both now and before give no pairs either way
    and bind nothing; a block that crossed the size limit binds all its records."""
    now = current.select("node", key="keys").explode("key").drop_nulls()
    before = previous.select("node", key="keys").explode("key").drop_nulls()

    def sizes(edges: pl.DataFrame) -> pl.DataFrame:
        return edges.filter(pl.col("key").str.starts_with(_BLOCK)).group_by("key").len()

    dead = (
        sizes(now)
        .join(sizes(before), on="key", suffix="_before")
        .filter((pl.col("len") > MAX_BLOCK) & (pl.col("len_before") > MAX_BLOCK))
        .select("key")
    )
    edges = (
        pl.concat(
            [
                now,
                before.join(current.select("node"), on="node", how="semi"),
                papers.select("node", key="paper|" + pl.col("paper_id")),
            ]
        )
        .join(dead, on="key", how="anti")
        .unique()
    )
    seen = changed.select("node").unique()
    frontier = seen
    seen_keys = pl.DataFrame(schema={"key": pl.String})
    while frontier.height:
        keys = (
            edges.join(frontier, on="node", how="semi")
            .select("key")
            .unique()
            .join(seen_keys, on="key", how="anti")
        )
        seen_keys = pl.concat([seen_keys, keys])
        frontier = (
            edges.join(keys, on="key", how="semi")
            .select("node")
            .unique()
            .join(seen, on="node", how="anti")
        )
        seen = pl.concat([seen, frontier])
    return seen.sort("node")


class NotLocal(Exception):
    """The previous build's tables do not allow an incremental resolution (the message says
    why); the caller resolves everything."""


_LOCAL_FLAGS = ("work_conflict", "keep_apart_unsatisfied")


def resolve_works_incremental(
    works: pl.LazyFrame,
    authorships: pl.LazyFrame,
    *,
    affected: pl.DataFrame,
    keys: pl.DataFrame,
    previous_xref: pl.DataFrame,
    previous_flags: pl.DataFrame,
    overrides: pl.LazyFrame | None = None,
    registry: pl.LazyFrame | None = None,
    run_id: str = "",
) -> dict[str, pl.LazyFrame]:
    """`resolve_works` for the `affected` records (`affected_nodes`), the previous build's rows
    for all others: work_xref, work_ids, work_flags as a full resolution gives them, and
    affected_papers (paper_id: before or after, the papers whose rows changed)."""
    overrides = overrides if overrides is not None else overrides_frame()
    node = pl.concat_str("source", pl.lit(":"), "source_work_id")
    prev = registry.collect() if registry is not None else _empty_registry()
    old = previous_xref.select("paper_id", node=node)
    kept = old.join(affected, on="node", how="anti")
    reg = prev.select("paper_id", node=node)
    if kept.join(reg, on=["node", "paper_id"], how="anti").height:
        raise NotLocal("the id registry does not hold the previous work_xref's paper ids")
    sub = resolve_works(
        works.filter(node.is_in(affected["node"].implode())),
        authorships.filter(node.is_in(affected["node"].implode())),
        overrides=overrides,
        registry=prev.lazy(),
        run_id=run_id,
        sizes=global_block_sizes(keys),
    )
    fresh = sub["work_xref"].collect()
    xref = pl.concat(
        [
            previous_xref.join(kept.select("node"), left_on=node, right_on="node", how="semi")
            .select(fresh.columns)
            .cast(fresh.schema),
            fresh,
        ]
    ).sort("paper_id", "source", "source_work_id")
    touched = pl.concat(
        [
            old.join(affected, on="node", how="semi").select("paper_id"),
            fresh.select("paper_id"),
        ]
    ).unique()
    sub_flags = sub["work_flags"].collect()
    flags = previous_flags.filter(
        (pl.col("entity") == "work") & pl.col("kind").is_in(_LOCAL_FLAGS)
    ).cast(sub_flags.schema)
    # a work_conflict names all its papers ("p1, p2"): it goes when any of them is touched
    pieces = pl.col("entity_id").str.split(", ")
    hit = pieces.list.eval(pl.element().is_in(touched["paper_id"].implode())).list.any()
    flags = flags.filter(~hit)
    known = pieces.list.eval(pl.element().is_in(xref["paper_id"].implode())).list.all()
    if flags.filter(~known).height:
        raise NotLocal("a previous work flag names papers that are not in work_xref")
    records = works.select("source", "source_work_id", "doi", "arxiv_id", node=node).collect()
    return {
        "work_xref": xref.lazy(),
        "work_ids": sub["work_ids"],
        "work_flags": pl.concat(
            [
                flags,
                sub_flags.filter(pl.col("kind").is_in(_LOCAL_FLAGS)),
                _unmatched(overrides, records, ("merge", "keep_apart")),
            ]
        ).lazy(),
        "affected_papers": touched.lazy(),
    }

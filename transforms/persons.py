"""Co-authors as people: author mentions clustered on the ids the sources give them.

Pure polars, set-based (connected components with `transforms.works._components`).

1. Id clusters: a mention carries its source's author id (OpenAlex A-id, Semantic Scholar id,
   DBLP pid, Hugging Face user, Crossref's ORCID) and its ORCID; source profiles tie an id to an
   ORCID; a watched researcher's crosswalk ties all their ids. Mentions, profiles and researchers
   sharing an id are one person.
2. Names on one paper: mentions of one paper with the same full-name key (or the same initials
   key, when a single full name on the paper has those initials) are one person, so an id-less
   arXiv or DBLP entry joins the person the OpenAlex entry names, and an S2 id meets the OpenAlex
   id. Never when a record lists the key twice, nor when the clusters it would join hold ids of
   the same kind (two A-ids, two ORCIDs: the sources said they are two people). A chain of such
   links across papers that ends up joining conflicting ids is undone.
3. Ids: a person's `person_id` is their strongest id, `<kind>:<value>` (ORCID, then OpenAlex,
   Semantic Scholar, DBLP, ...); a person known by name only on one paper is
   `name:<name key>@<paper_id>`. Both are stable across runs for the same evidence.
"""

from __future__ import annotations

import polars as pl

from transforms.works import _components

# Kinds of ids, strongest first: a person's id is their strongest one.
ID_RANK = {
    "orcid": 0,
    "openalex": 1,
    "semantic_scholar": 2,
    "dblp": 3,
    "scholar_feed": 4,
    "crossref": 5,
}
_OTHER_RANK = 9
_SEP = "\x1f"

PERSON_SCHEMA: dict[str, pl.DataType] = {
    "mid": pl.String(),
    "person_id": pl.String(),
    "person_rule": pl.String(),
}


def _mention_ids(mentions: pl.DataFrame) -> pl.DataFrame:
    """(node, kind, value): the author id and the ORCID of each mention (node = its mid)."""
    return pl.concat(
        [
            mentions.filter(pl.col("source_author_id").is_not_null()).select(
                node="mid", kind="source", value="source_author_id"
            ),
            mentions.filter(pl.col("orcid").is_not_null()).select(
                node="mid", kind=pl.lit("orcid"), value="orcid"
            ),
        ]
    )


def _side_ids(profiles: pl.DataFrame, crosswalk: pl.DataFrame) -> pl.DataFrame:
    """(node, kind, value) of source profiles (id + ORCID) and watched researchers (every
    crosswalked id); their nodes start with \\x1e so they never equal a mention id."""
    node = pl.concat_str(pl.lit("\x1eprofile"), "source", "source_author_id", separator=_SEP)
    watched = pl.concat_str(pl.lit("\x1ewatched"), "author_id", separator=_SEP)
    return pl.concat(
        [
            profiles.select(node=node, kind="source", value="source_author_id"),
            profiles.filter(pl.col("orcid").is_not_null()).select(
                node=node, kind=pl.lit("orcid"), value="orcid"
            ),
            crosswalk.select(node=watched, kind="source", value="source_author_id"),
        ]
    ).drop_nulls()


def _id_clusters(ids: pl.DataFrame) -> pl.DataFrame:
    """(node, cluster) of distinct (node, kind, value) rows: nodes sharing any id,
    transitively. The graph's nodes are the ids; a mention or profile with two ids or more
    links them (one with a single id links nothing, which keeps the graph small). Cluster
    labels start with \x1d: never a mention id."""
    keyed = ids.with_columns(id=pl.concat_str("kind", "value", separator=_SEP))
    # rows are distinct (node, kind, value): a node's rows are its distinct ids
    multi = keyed.filter(pl.len().over("node") > 1)
    # an id on no such node is a component of its own, labelled by itself: only the others
    # need the graph
    linked = _components(multi.select(node="id", key="node"))
    labels = pl.concat(
        [
            linked,
            keyed.select(node="id", label="id").unique().join(linked, on="node", how="anti"),
        ]
    ).select(id="node", cluster="\x1d" + pl.col("label"))
    return keyed.join(labels, on="id").select("node", "cluster").unique("node")


def _paper_keys(holders: pl.DataFrame) -> pl.DataFrame:
    """(paper_id, key, holder, source, source_work_id, name_key, full): a mention's full-name
    keys ("f:…", full names only) and initials keys ("i:…") on its paper."""
    base = ("paper_id", "holder", "source", "source_work_id", "name_key")
    full = (
        holders.filter(~pl.col("initials_only").fill_null(False))
        .select(*base, key="full_keys")
        .explode("key")
        .drop_nulls("key")
        .with_columns(key="f:" + pl.col("key"), full=pl.lit(True))
    )
    initials = (
        holders.select(*base, key="initials_keys", full=~pl.col("initials_only").fill_null(False))
        .explode("key")
        .drop_nulls("key")
        .with_columns(key="i:" + pl.col("key"))
    )
    return pl.concat([full, initials]).unique()


def _name_links(holders: pl.DataFrame, cluster_kinds: pl.DataFrame) -> pl.DataFrame:
    """(node, key) edges joining the holders of one name key on one paper (key: a number per
    paper and name key), when that is safe: no record lists the key twice, initials name one
    full name there, and no two of the id clusters carry ids of the same kind."""
    # Two holders of a key on one record are a record listing it twice (no link): only papers
    # with two records or more can link anyone.
    several = pl.col("source_work_id").n_unique().over("paper_id") > 1
    several = several | (pl.col("source").n_unique().over("paper_id") > 1)
    keyed = _paper_keys(holders.filter(several))
    group = ["paper_id", "key"]
    dup = (
        keyed.group_by(*group, "source", "source_work_id")
        .agg(n=pl.col("holder").len())
        .filter(pl.col("n") > 1)
        .select(group)
        .unique()
    )
    conflict = (
        keyed.select(*group, "holder")
        .unique()
        .join(cluster_kinds, left_on="holder", right_on="cluster")
        .group_by(*group, "kind")
        .agg(n=pl.col("holder").n_unique())
        .filter(pl.col("n") > 1)
        .select(group)
        .unique()
    )
    fine = (
        keyed.group_by(group)
        .agg(
            holders=pl.col("holder").n_unique(),
            names=pl.col("name_key").filter(pl.col("full")).n_unique(),
        )
        .filter(
            (pl.col("holders") > 1) & (pl.col("key").str.starts_with("f:") | (pl.col("names") <= 1))
        )
        .join(dup, on=group, how="anti")
        .join(conflict, on=group, how="anti")
    )
    # each (paper, key) linking holders numbered: the components join integers, not strings
    return (
        keyed.join(fine.select(group).with_row_index("n"), on=group)
        .select(node="holder", key="n")
        .unique()
    )


def _groups(
    holders: pl.DataFrame, links: pl.DataFrame, cluster_kinds: pl.DataFrame
) -> pl.DataFrame:
    """(holder, group): components of the name links; a group whose id clusters hold two ids
    of one kind (a chain across papers) falls back to its holders."""
    # only holders with a link need the components; every other holder is its own group
    linked = _components(links).rename({"node": "holder", "label": "group"})
    alone = (
        holders.select("holder")
        .unique()
        .join(linked, on="holder", how="anti")
        .with_columns(group=pl.col("holder"))
    )
    grouped = pl.concat([linked, alone])
    conflicted = (
        grouped.join(cluster_kinds, left_on="holder", right_on="cluster")
        .group_by("group", "kind")
        .agg(n=pl.col("holder").n_unique())
        .filter(pl.col("n") > 1)
        .select("group")
        .unique()
    )
    return grouped.join(conflicted.with_columns(undo=pl.lit(True)), on="group", how="left").select(
        "holder",
        group=pl.when(pl.col("undo").fill_null(False))
        .then(pl.col("holder"))
        .otherwise(pl.col("group")),
    )


def _strongest(group_ids: pl.DataFrame) -> pl.DataFrame:
    """(group, person_id, person_key): the group's strongest id, as `<kind>:<value>` and as
    the `<kind>\x1f<value>` key the clusters use."""
    return (
        group_ids.with_columns(
            rank=pl.col("kind").replace_strict(ID_RANK, default=_OTHER_RANK, return_dtype=pl.Int32)
        )
        .sort("group", "rank", "kind", "value")
        .group_by("group", maintain_order=True)
        .agg(pl.col("kind").first(), pl.col("value").first())
        .select(
            "group",
            person_id=pl.concat_str("kind", "value", separator=":"),
            person_key=pl.concat_str("kind", "value", separator=_SEP),
        )
    )


def _rule() -> pl.Expr:
    return (
        pl.when(pl.col("orcid").is_not_null())
        .then(pl.lit("orcid"))
        .when(pl.col("has_person_id"))
        .then(pl.lit("source_id"))
        .when(pl.col("cluster").is_not_null() | (pl.col("n_holders") > 1))
        .then(pl.lit("name_on_paper"))
        .otherwise(pl.lit("name_only"))
    )


def cluster_mentions(
    mentions: pl.DataFrame, profiles: pl.DataFrame, crosswalk: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mentions (mid, paper_id, source, source_work_id, source_author_id, orcid, raw_name,
    name_key, full_keys, initials_keys, initials_only) -> (mid, person_id, person_rule).

    person_rule: "orcid" (the mention carries an ORCID), "source_id" (its own id is, or shares
    an ORCID / profile / researcher with, the person's id), "name_on_paper" (joined by name to
    a person on the same paper), "name_only" (no id and no one to join: a person of its own).
    Second frame: (person_id, kind, value), every id of every person."""
    ids = pl.concat([_mention_ids(mentions), _side_ids(profiles, crosswalk)]).unique()
    clusters = _id_clusters(ids)
    cluster_ids = clusters.join(ids, on="node").select("cluster", "kind", "value").unique()
    cluster_kinds = cluster_ids.select("cluster", "kind").unique()
    holders = mentions.join(clusters, left_on="mid", right_on="node", how="left").with_columns(
        holder=pl.coalesce("cluster", "mid"),
        name_key=pl.coalesce("name_key", "raw_name"),
    )
    groups = _groups(holders, _name_links(holders, cluster_kinds), cluster_kinds)
    group_ids = groups.join(cluster_ids, left_on="holder", right_on="cluster").drop("holder")
    strongest = _strongest(group_ids)
    person_ids = group_ids.join(strongest, on="group").select("person_id", "kind", "value").unique()
    # clusters that hold their person's id themselves (not only through a name link)
    holding = (
        cluster_ids.select("cluster", person_key=pl.concat_str("kind", "value", separator=_SEP))
        .join(strongest.select("person_key"), on="person_key")
        .select("cluster", has_person_id=pl.lit(True))
        .unique()
    )
    assigned = (
        holders.join(groups, on="holder")
        .join(strongest, on="group", how="left")
        .join(holding, on="cluster", how="left")
        .with_columns(
            n_holders=pl.col("holder").n_unique().over("group"),
            has_person_id=pl.col("has_person_id").fill_null(False),
            own=pl.concat_str("name_key", "paper_id", separator="@").min().over("group"),
        )
        .with_columns(
            person_rule=_rule(),
            person_id=pl.coalesce("person_id", "name:" + pl.col("own")),
        )
        .select(list(PERSON_SCHEMA))
    )
    return assigned, person_ids.sort("person_id", "kind", "value")

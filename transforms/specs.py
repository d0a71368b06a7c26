"""Every source declared once: `SourceSpec`s, one per source, and the tables derived from them.

What a source is, as data: its slug, raw entities and their keys, its rank for each paper-level
field, whether it is a preprint server, the documented rate limits of its hosts, the
environment variable of its key, the unit of its budget, the fields snapshotted every run.
Every registry reads these: the fetch registry (`flows.sources.SOURCES`) and the staging one
(`transforms.sources.STAGING`, which adds each source's polars column schemas), the
field-survival order (`transforms.works.FIELD_PRIORITY`), the preprint rule, the HTTP client's
host limits, the secrets masked in logs, the watchlist's and the CLI's slugs.

Pure data with no polars: `flows/sources/` imports it and must stay free of dataframes
(tests/test_names.py), and `transforms/` may not import `flows/` (tests/test_layering.py), so it
lives here, below both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Paper-level fields whose surviving value is chosen by source rank (transforms.works).
PAPER_FIELDS = ("title", "venue", "doi", "work_type", "abstract")


@dataclass(frozen=True)
class HostPolicy:
    """How politely one host (or a group of hosts) is fetched.

    interval: minimum seconds between request starts; concurrency: requests open at once;
    window: at most `window[0]` requests in any `window[1]` seconds; group: hosts that share
    one allowance (arXiv asks for one request per 3 s across its machines).
    """

    interval: float = 0.0
    concurrency: int = 1
    window: tuple[int, float] | None = None
    group: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One source.

    keys: entity -> primary key column of `raw_<slug>__<entity>` (the entities, in order);
    field_rank: per PAPER_FIELDS field, the source's rank when the records of one paper disagree
    (lower wins; None: never supplies it, ranked after every source that does); empty for a
    source whose records are not works. preprint_server: records hosted on arXiv, whose DOI and
    venue name the published version. hosts: documented limits of the hosts it fetches.
    secret_env: environment variable of its key. cost_unit: what one unit of its daily budget
    is. citations: (entity, id field, count field) snapshotted every run. signals: entity ->
    (id field, metric fields) recorded every run.
    """

    slug: str
    keys: Mapping[str, str]
    field_rank: Mapping[str, int | None] = field(default_factory=dict)
    preprint_server: bool = False
    hosts: Mapping[str, HostPolicy] = field(default_factory=dict)
    secret_env: str | None = None
    cost_unit: str = "request"
    citations: tuple[str, str, str] | None = None
    signals: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if self.field_rank and set(self.field_rank) != set(PAPER_FIELDS):
            problems.append(
                f"field_rank must rank every one of {PAPER_FIELDS} (None: never supplied); "
                f"missing {[f for f in PAPER_FIELDS if f not in self.field_rank]}, "
                f"unknown {sorted(set(self.field_rank) - set(PAPER_FIELDS))}"
            )
        used = [*([self.citations[0]] if self.citations else []), *self.signals]
        if unknown := sorted(set(used) - set(self.keys)):
            problems.append(f"citations/signals name entities {unknown} it does not have")
        if problems:
            raise ValueError(f"source spec {self.slug!r}: " + "; ".join(problems))

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def table(self, entity: str) -> str:
        return f"raw_{self.slug}__{entity}"


# ------------------------------------------------------------------------ the sources
# Field ranks step by 10 so a new source can slot in between two others.

ARXIV = SourceSpec(
    slug="arxiv",
    keys={"entries": "arxiv_id"},
    field_rank={"title": 60, "venue": 80, "doi": 70, "work_type": 60, "abstract": 10},
    preprint_server=True,
    hosts={
        # one request every 3 s on a single connection, API and listing pages alike
        "export.arxiv.org": HostPolicy(3.0, 1, group="arxiv"),
    },
)

OPENALEX = SourceSpec(
    slug="openalex",
    keys={"works": "work_id", "authors": "author_id", "topics": "topic_id"},
    field_rank={"title": 20, "venue": 20, "doi": 20, "work_type": 20, "abstract": 70},
    hosts={
        # 10/s allowed; stay well below it
        "api.openalex.org": HostPolicy(0.15, 1),
    },
    secret_env="OPENALEX_API_KEY",
    cost_unit="1/10,000 USD",
    # citation counts snapshotted every run
    citations=("works", "work_id", "cited_by_count"),
)

SEMANTIC_SCHOLAR = SourceSpec(
    slug="semantic_scholar",
    keys={"papers": "paper_id", "authors": "author_id"},
    field_rank={"title": 40, "venue": 40, "doi": 40, "work_type": 40, "abstract": 60},
    hosts={
        # 1 request/s with a key; the keyless pool is shared and throttled harder
        "api.semanticscholar.org": HostPolicy(1.1, 1),
    },
    secret_env="S2_API_KEY",
    # citation counts snapshotted every run
    citations=("papers", "paper_id", "citation_count"),
)

HF_PAPERS = SourceSpec(
    slug="hf_papers",
    keys={"papers": "arxiv_id"},
    field_rank={"title": 80, "venue": 100, "doi": None, "work_type": None, "abstract": 50},
    preprint_server=True,
    hosts={
        # Hub API: 500 requests per 5 minutes per IP without a token
        "huggingface.co": HostPolicy(0.0, 2, window=(500, 300.0)),
    },
    secret_env="HF_TOKEN",  # optional: a higher rate limit
    # Community signals snapshotted every run (metric_snapshots).
    signals={"papers": ("arxiv_id", ("upvotes", "num_comments", "github_stars"))},
)

ARXIV_LISTING = SourceSpec(
    slug="arxiv_listing",
    keys={"entries": "listing_entry_id"},
    field_rank={"title": 70, "venue": 90, "doi": None, "work_type": None, "abstract": 20},
    preprint_server=True,
    hosts={
        # shares arXiv's one request per 3 s with the API (group "arxiv")
        "arxiv.org": HostPolicy(3.0, 1, group="arxiv"),
    },
)

NSF_PAR = SourceSpec(
    slug="nsf_par",
    keys={"works": "par_id"},
    field_rank={"title": 50, "venue": 50, "doi": 50, "work_type": 50, "abstract": 40},
    hosts={
        # NSF asks for no more than about one request per second
        "par.nsf.gov": HostPolicy(1.0, 1),
    },
)

NSF_AWARDS = SourceSpec(
    slug="nsf_awards",
    keys={"awards": "award_id"},
    hosts={
        # NSF asks for no more than about one request per second
        "api.nsf.gov": HostPolicy(1.0, 1),
    },
    # Funds obligated grow as an award's increments are released: a per-run metric.
    signals={"awards": ("award_id", ("funds_obligated_amount",))},
)

CROSSREF = SourceSpec(
    slug="crossref",
    keys={"works": "doi"},
    field_rank={"title": 10, "venue": 10, "doi": 10, "work_type": 10, "abstract": 30},
    hosts={
        # polite pool: the real limit is read from X-Rate-Limit-* headers at run time
        "api.crossref.org": HostPolicy(0.2, 1),
    },
    secret_env="CROSSREF_PLUS_TOKEN",  # optional: Metadata Plus
    # Citation counts (`is-referenced-by-count`: citations from other Crossref works) per run.
    citations=("works", "doi", "is_referenced_by_count"),
)

DBLP = SourceSpec(
    slug="dblp",
    keys={"publications": "key", "persons": "pid"},
    field_rank={"title": 30, "venue": 30, "doi": 30, "work_type": 30, "abstract": None},
    hosts={
        # DBLP asks for no more than about one request per second (profiles' recipes too)
        "dblp.org": HostPolicy(1.0, 1),
    },
    # Publications listed in a person's DBLP record: a per-run metric.
    signals={"persons": ("pid", ("publication_count",))},
)

SCHOLAR_FEED = SourceSpec(
    slug="scholar_feed",
    keys={"authors": "author_id", "papers": "paper_id"},
    field_rank={"title": 90, "venue": 70, "doi": None, "work_type": None, "abstract": None},
    hosts={
        # author discover and profile 20/min, search 30/min: the stricter spaces the host
        "api.scholarfeed.org": HostPolicy(3.0, 1),
    },
    secret_env="SCHOLAR_FEED_API_KEY",
    # citation counts snapshotted every run
    citations=("papers", "paper_id", "citation_count"),
    # per-run profile and paper metrics kept in metric_snapshots
    signals={
        "authors": (
            "author_id",
            ("h_index", "citations", "paper_count", "novelty", "ai_score", "rank", "rank_score"),
        ),
        "papers": ("paper_id", ("rank_score", "impact_pct", "novelty")),
    },
)

# Per-run numbers kept in metric_snapshots: per work its citations (Scholar), per profile its
# indices. Records carry the well-known metrics as columns; all of them are in `metrics`.
KNOWN_METRICS = ("citations", "h_index", "i10_index", "works_count")

PROFILES = SourceSpec(
    slug="profiles",
    keys={"works": "work_id", "metrics": "profile_id"},
    field_rank={"title": 100, "venue": 60, "doi": 60, "work_type": None, "abstract": 80},
    hosts={
        # Google Scholar (a recipe) has no API and throttles scrapers hard: very slow
        "scholar.google.com": HostPolicy(10.0, 1),
    },
    signals={"works": ("work_id", ("citations",)), "metrics": ("profile_id", KNOWN_METRICS)},
)


# The order of sources everywhere (fetching, staging, listings).
ALL: tuple[SourceSpec, ...] = (
    ARXIV,
    OPENALEX,
    SEMANTIC_SCHOLAR,
    HF_PAPERS,
    ARXIV_LISTING,
    NSF_PAR,
    NSF_AWARDS,
    CROSSREF,
    DBLP,
    SCHOLAR_FEED,
    PROFILES,
)


# ------------------------------------------------------------------------ derived tables
def host_limits(specs: Iterable[SourceSpec]) -> dict[str, HostPolicy]:
    """Each host's documented limit, from the one source that declares it."""
    limits: dict[str, HostPolicy] = {}
    owner: dict[str, str] = {}
    for spec in specs:
        for host, policy in spec.hosts.items():
            if host in owner:
                raise ValueError(
                    f"host {host!r} declared by both {owner[host]!r} and {spec.slug!r}"
                )
            limits[host], owner[host] = policy, spec.slug
    return limits


def by_slug(specs: Iterable[SourceSpec]) -> dict[str, SourceSpec]:
    out: dict[str, SourceSpec] = {}
    for spec in specs:
        if spec.slug in out:
            raise ValueError(f"two source specs named {spec.slug!r}")
        out[spec.slug] = spec
    return out


SPECS: dict[str, SourceSpec] = by_slug(ALL)
SLUGS: tuple[str, ...] = tuple(SPECS)
# The primary key of each raw entity table.
ENTITY_KEYS: dict[tuple[str, str], str] = {
    (s.slug, entity): key for s in ALL for entity, key in s.keys.items()
}
HOST_LIMITS: dict[str, HostPolicy] = host_limits(ALL)
SECRET_ENV: dict[str, str] = {s.slug: s.secret_env for s in ALL if s.secret_env}
# Records of these sources are hosted on arXiv: their `doi` (arXiv's arxiv:doi) and `venue` (the
# entry's arxiv:journal_ref, when it has one) name the published version, not arXiv's own.
PREPRINT_SOURCES: tuple[str, ...] = tuple(s.slug for s in ALL if s.preprint_server)


def raw_table(slug: str, entity: str) -> str:
    return SPECS[slug].table(entity)

"""One spec per source (transforms/specs.py): every per-source table is derived from the specs,
and a spec that leaves something out fails at import instead of ranking a source last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import polars as pl
import pytest

from flows import cli, settings
from flows.http import DEFAULT_LIMITS
from flows.sources import SOURCES
from flows.watchlist import SOURCE_SLUGS, WatchlistError, load_watchlist
from transforms.sources import STAGING, raw_schema, staging_of
from transforms.specs import (
    ALL,
    PAPER_FIELDS,
    PREPRINT_SOURCES,
    SPECS,
    HostPolicy,
    SourceSpec,
    by_slug,
    host_limits,
)
from transforms.works import FIELD_PRIORITY, FIELD_RULES, field_priority

ROOT = Path(__file__).resolve().parents[1]
RANKS: dict[str, int | None] = {"title": 1, "venue": 1, "doi": 1, "work_type": None, "abstract": 1}
SCHEMAS = {"works": {"work_id": pl.String(), "title": pl.String(), "cites": pl.Int64()}}


def _spec(**kw: Any) -> SourceSpec:
    base: dict[str, Any] = {
        "slug": "new_source",
        "keys": {"works": "work_id"},
        "field_rank": RANKS,
        "hosts": {"api.new-source.example": HostPolicy(2.0, 1)},
    }
    return SourceSpec(**{**base, **kw})


def _module(spec: SourceSpec, *, works: bool, schemas: Any = SCHEMAS) -> ModuleType:
    """A stand-in for transforms/sources/<slug>.py."""
    module = ModuleType(f"transforms.sources.{spec.slug}")
    module.SPEC = spec  # type: ignore[attr-defined]
    module.SCHEMAS = schemas  # type: ignore[attr-defined]
    if works:
        module.works = lambda raw: pl.LazyFrame()  # type: ignore[attr-defined]
    return module


def test_a_spec_missing_a_field_rank_fails_naming_source_and_field() -> None:
    ranks = {f: r for f, r in RANKS.items() if f != "venue"}
    with pytest.raises(ValueError, match=r"'new_source'.*missing \['venue'\]"):
        _spec(field_rank=ranks)
    with pytest.raises(ValueError, match=r"unknown \['pages'\]"):
        _spec(field_rank={**RANKS, "pages": 3})


def test_a_works_source_without_field_ranks_fails_at_the_registry() -> None:
    """The old failure mode: a source left out of FIELD_PRIORITY silently ranked last."""
    with pytest.raises(ValueError, match="'new_source': stages works but declares no field_rank"):
        staging_of(_module(_spec(field_rank={}), works=True))
    with pytest.raises(ValueError, match="declares a field_rank but stages no works"):
        staging_of(_module(_spec(), works=False))
    assert staging_of(_module(_spec(), works=True)).slug == "new_source"


def test_field_priority_refuses_a_missing_or_shared_rank() -> None:
    # a stand-in that skipped SourceSpec's own check: field_priority checks again
    partial = SimpleNamespace(slug="partial", field_rank={"title": 5})
    with pytest.raises(ValueError, match="'partial' declares no field_rank for 'venue'"):
        field_priority([*ALL, partial], FIELD_RULES)  # type: ignore[list-item]
    clash = _spec(field_rank={**RANKS, "title": SPECS["crossref"].field_rank["title"]})
    with pytest.raises(ValueError, match="'crossref' and 'new_source' share rank 10 for 'title'"):
        field_priority([*ALL, clash], FIELD_RULES)


def test_a_new_source_lands_in_every_derived_table() -> None:
    """What adding a 12th source means: its spec alone places it in the field order and the
    host limits, without editing those tables."""
    new = _spec(field_rank={**RANKS, "title": 15})  # between Crossref (10) and OpenAlex (20)
    order = field_priority([*ALL, new], FIELD_RULES)
    assert order["title"][0][:3] == ("crossref", "new_source", "openalex")
    assert "new_source" not in order["work_type"][0]  # declared None: never supplies it
    assert host_limits([*ALL, new])["api.new-source.example"] == HostPolicy(2.0, 1)
    assert staging_of(_module(new, works=True)).schemas == SCHEMAS


def test_a_host_or_slug_declared_twice_fails() -> None:
    twin = _spec(hosts={"dblp.org": HostPolicy(0.5, 1)})
    with pytest.raises(ValueError, match=r"'dblp\.org' declared by both 'dblp' and 'new_source'"):
        host_limits([*ALL, twin])
    with pytest.raises(ValueError, match="two source specs named 'crossref'"):
        by_slug([*ALL, _spec(slug="crossref")])


def test_keys_citations_and_signals_must_be_columns() -> None:
    with pytest.raises(ValueError, match=r"\['id'\] are not columns of 'works'"):
        staging_of(_module(_spec(keys={"works": "id"}), works=True))
    with pytest.raises(ValueError, match="entities"):
        staging_of(_module(_spec(keys={"works": "work_id", "authors": "id"}), works=True))
    with pytest.raises(ValueError, match=r"\['cited_by'\] are not columns of 'works'"):
        staging_of(_module(_spec(citations=("works", "work_id", "cited_by")), works=True))
    with pytest.raises(ValueError, match=r"\['stars'\] are not columns of 'works'"):
        staging_of(_module(_spec(signals={"works": ("work_id", ("cites", "stars"))}), works=True))
    with pytest.raises(ValueError, match=r"entities \['papers'\] it does not have"):
        _spec(citations=("papers", "paper_id", "cites"))
    ok = _spec(citations=("works", "work_id", "cites"))
    assert staging_of(_module(ok, works=True)).spec.citations == ("works", "work_id", "cites")


def test_every_registry_reads_the_specs() -> None:
    assert tuple(SPECS) == tuple(SOURCES) == tuple(STAGING) == SOURCE_SLUGS
    assert {h: p for s in ALL for h, p in s.hosts.items()} == DEFAULT_LIMITS
    assert {s.slug: s.secret_env for s in ALL if s.secret_env} == settings.SECRET_ENV
    assert set(PREPRINT_SOURCES) == {"arxiv", "arxiv_listing", "hf_papers"}
    assert set(FIELD_PRIORITY) == set(PAPER_FIELDS)
    for slug, spec in SPECS.items():
        src = SOURCES[slug]
        assert src.spec is spec is STAGING[slug].spec
        assert (src.entities, src.citations, src.signals) == (
            spec.entities,
            spec.citations,
            spec.signals,
        )
        for entity in spec.entities:
            assert list(raw_schema(slug, entity))[-4:] == [
                "_run_id",
                "_fetched_at",
                "_response_sha256",
                "_record_hash",
            ]
        for field, (order, _) in FIELD_PRIORITY.items():
            # a source of works is ranked for each field, or says it never supplies it
            assert (slug in order) == (spec.field_rank.get(field) is not None)
    imp = cli.parser()._subparsers._group_actions[0].choices["import"]  # type: ignore[union-attr]
    assert next(a.choices for a in imp._actions if a.dest == "source") == sorted(SPECS)


def test_the_watchlist_accepts_exactly_the_spec_slugs(tmp_path: Path) -> None:
    text = 'contact_email = "a@example.org"\n[sources]\nenabled = ["{}"]\n'
    text += '[[researchers]]\nname = "Ada Lovelace"\n'
    wl = tmp_path / "watchlist.toml"
    wl.write_text(text.format("crossref"), encoding="utf-8")
    assert load_watchlist(wl).sources.enabled == ["crossref"]
    wl.write_text(text.format("crossreff"), encoding="utf-8")
    with pytest.raises(WatchlistError, match=r"'crossreff' is not one of: arxiv, openalex"):
        load_watchlist(wl)


def test_the_specs_and_the_http_client_load_without_polars() -> None:
    """The fetch side reads the specs and must stay free of dataframes."""
    code = (
        "import sys, transforms.specs, flows.http, flows.sources; sys.exit('polars' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0

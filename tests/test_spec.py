"""One spec per source: every per-source table is derived from `SPEC` in
transforms/sources/<slug>.py, and a spec that leaves something out fails at import."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import polars as pl
import pytest

from flows import cli, settings
from flows.http import DEFAULT_LIMITS
from flows.sources import SOURCES
from flows.watchlist import SOURCE_SLUGS, WatchlistError, load_watchlist
from transforms.sources import (
    PREPRINT_SOURCES,
    SPECS,
    STAGING,
    host_limits,
    raw_schema,
    staging_of,
)
from transforms.spec import PAPER_FIELDS, HostPolicy, SourceSpec
from transforms.works import FIELD_PRIORITY, FIELD_RULES, field_priority

RANKS: dict[str, int | None] = {"title": 1, "venue": 1, "doi": 1, "work_type": None, "abstract": 1}


def _spec(**kw: Any) -> SourceSpec:
    base: dict[str, Any] = {
        "slug": "new_source",
        "keys": {"works": "work_id"},
        "schemas": {"works": {"work_id": pl.String(), "title": pl.String(), "cites": pl.Int64()}},
        "field_rank": RANKS,
        "hosts": {"api.new-source.example": HostPolicy(2.0, 1)},
    }
    return SourceSpec(**{**base, **kw})


def _module(spec: SourceSpec, *, works: bool) -> ModuleType:
    module = ModuleType(f"transforms.sources.{spec.slug}")
    module.SPEC = spec  # type: ignore[attr-defined]
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
    """Today's failure mode: a source left out of FIELD_PRIORITY silently ranked last."""
    with pytest.raises(ValueError, match="'new_source': stages works but declares no field_rank"):
        staging_of(_module(_spec(field_rank={}), works=True))
    with pytest.raises(ValueError, match="ranks fields of no works"):
        staging_of(_module(_spec(), works=False))
    assert staging_of(_module(_spec(), works=True)).spec.slug == "new_source"


def test_field_priority_refuses_a_missing_or_shared_rank() -> None:
    # a stand-in that skipped SourceSpec's own check: field_priority checks again
    partial = SimpleNamespace(slug="partial", field_rank={"title": 5})
    with pytest.raises(ValueError, match="'partial' declares no field_rank for 'venue'"):
        field_priority([*SPECS.values(), partial], FIELD_RULES)  # type: ignore[list-item]
    clash = _spec(field_rank={**RANKS, "title": SPECS["crossref"].field_rank["title"]})
    with pytest.raises(ValueError, match="'crossref' and 'new_source' share rank 10 for 'title'"):
        field_priority([*SPECS.values(), clash], FIELD_RULES)


def test_a_new_source_lands_in_every_derived_table() -> None:
    """What adding a 12th source means: its spec alone places it in the field order, the host
    limits and the schema, without editing those tables."""
    new = _spec(field_rank={**RANKS, "title": 15})  # between Crossref (10) and OpenAlex (20)
    order = field_priority([*SPECS.values(), new], FIELD_RULES)
    assert order["title"][0][:3] == ("crossref", "new_source", "openalex")
    assert "new_source" not in order["work_type"][0]  # declared None: never supplies it
    assert host_limits([*SPECS.values(), new])["api.new-source.example"] == HostPolicy(2.0, 1)
    assert list(new.raw_schema("works"))[:3] == ["work_id", "title", "cites"]
    assert "_run_id" in new.raw_schema("works")


def test_a_host_declared_by_two_sources_fails() -> None:
    twin = _spec(hosts={"dblp.org": HostPolicy(0.5, 1)})
    with pytest.raises(ValueError, match=r"'dblp\.org' declared by both 'dblp' and 'new_source'"):
        host_limits([*SPECS.values(), twin])


def test_spec_checks_keys_citations_and_signals_against_its_schema() -> None:
    with pytest.raises(ValueError, match="key 'id' is not a column of works"):
        _spec(keys={"works": "id"})
    with pytest.raises(ValueError, match="entities with keys"):
        _spec(keys={"works": "work_id", "authors": "author_id"})
    with pytest.raises(ValueError, match=r"\['cited_by'\], not columns of 'works'"):
        _spec(citations=("works", "work_id", "cited_by"))
    with pytest.raises(ValueError, match=r"\['stars'\], not columns of 'works'"):
        _spec(signals={"works": ("work_id", ("cites", "stars"))})
    assert replace(_spec(), citations=("works", "work_id", "cites")).citations


def test_every_registry_reads_the_specs() -> None:
    assert tuple(SPECS) == tuple(SOURCES) == tuple(STAGING) == SOURCE_SLUGS
    assert {h: p for s in SPECS.values() for h, p in s.hosts.items()} == DEFAULT_LIMITS
    assert {s: v.secret_env for s, v in SPECS.items() if v.secret_env} == settings.SECRET_ENV
    assert set(PREPRINT_SOURCES) == {"arxiv", "arxiv_listing", "hf_papers"}
    assert set(FIELD_PRIORITY) == set(PAPER_FIELDS)
    for slug, spec in SPECS.items():
        src = SOURCES[slug]
        assert (src.entities, src.citations, src.signals) == (
            spec.entities,
            spec.citations,
            spec.signals,
        )
        for entity in spec.entities:
            assert raw_schema(slug, entity) == spec.raw_schema(entity)
        for field, (order, _) in FIELD_PRIORITY.items():
            # every source of works is either ranked for the field or says it never supplies it
            assert (slug in order) == (spec.field_rank.get(field) is not None)
    choices = {
        a.dest: a.choices
        for a in cli.parser()._subparsers._group_actions[0].choices["import"]._actions  # type: ignore[union-attr]
    }
    assert choices["source"] == sorted(SPECS)


def test_the_watchlist_accepts_exactly_the_spec_slugs(tmp_path: Path) -> None:
    text = 'contact_email = "a@example.org"\n[sources]\nenabled = ["{}"]\n'
    text += '[[researchers]]\nname = "Ada Lovelace"\n'
    wl = tmp_path / "watchlist.toml"
    wl.write_text(text.format("crossref"), encoding="utf-8")
    assert load_watchlist(wl).sources.enabled == ["crossref"]
    wl.write_text(text.format("crossreff"), encoding="utf-8")
    with pytest.raises(
        WatchlistError, match=r"'crossreff' is not one of: arxiv, openalex.*crossref"
    ):
        load_watchlist(wl)

"""The bundled demo recording: in sync with its facts, in each API's format, big enough."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT

from flows.demo.generate import generate
from flows.recording import load_manifest
from flows.settings import DEMO_DIR, DEMO_RECORDING
from flows.sources import SOURCES


def test_recording_is_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    generate(out, ROOT / "watchlist.toml")
    committed = sorted(
        p.relative_to(DEMO_RECORDING) for p in DEMO_RECORDING.rglob("*") if p.is_file()
    )
    fresh = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert fresh == committed
    for rel in committed:
        assert (out / rel).read_bytes() == (DEMO_RECORDING / rel).read_bytes(), (
            f"{rel} is stale: run `python -m flows.demo.generate`"
        )


def test_every_recorded_response_parses_cleanly() -> None:
    exchanges = load_manifest(DEMO_RECORDING)
    assert {e.source for e in exchanges} == set(SOURCES)
    records = 0
    robots = {ex.url for ex in exchanges if ex.url.endswith("/robots.txt")}
    # scraped hosts had their robots.txt read (and recorded) before any page
    assert {"https://dblp.org/robots.txt", "https://scholar.google.com/robots.txt"} <= robots
    for ex in exchanges:
        if ex.url in robots:
            continue
        page = SOURCES[ex.source].parse((DEMO_RECORDING / ex.file).read_bytes(), ex.url, ex.status)
        assert not page.quarantined, ex.file
        records += page.count()
    assert records >= 120


def test_facts_cover_the_spec() -> None:
    facts = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    works = facts["works"]
    assert len(works) >= 60
    names = {r["name"] for r in facts["researchers"]}
    assert {"Danyang Zhuo", "Zhaoyuan Su", "Pengfei Zuo"} <= names
    multi = [w for w in works if len(w["sources"]) >= 2]
    assert len(multi) >= 30, "works must overlap between sources"
    assert any(w["doi"] and w["arxiv_id"] for w in works), "some preprints have published versions"
    assert all("abstract" not in w for w in works), "facts only: no copied abstracts"


def test_demo_warehouse_resolves_every_work_once(demo_warehouse: Path) -> None:
    import duckdb

    facts = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        n_papers = con.execute("select count(*) from papers").fetchone()[0]  # type: ignore[index]
        watched = dict(
            con.execute("select author_id, n_papers from authors where is_watched").fetchall()
        )
    finally:
        con.close()
    assert n_papers == len(
        facts["works"]
    )  # every fact is one paper: no duplicates, no false merges
    for r in facts["researchers"]:
        listed = sum(1 for w in facts["works"] if r["name"] in w["authors"])
        assert watched[r["key"]] == listed, r["key"]

"""An incremental build gives exactly the tables a full build gives from the same raw data.

Each case loads the same parsed files into two copies of one warehouse, in one run id: the
first builds incrementally, the second resolves everything again from the same id registry. Every model table must be equal, row for row.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from conftest import ROOT, demo_context, run_demo
from polars.testing import assert_frame_equal

from flows import context, fetch, steps, warehouse
from flows.overrides import Overrides, load_overrides
from flows.settings import DEMO_RECORDING
from flows.sources.base import FetchReport
from flows.watchlist import load_watchlist

OA = "https://openalex.org/"


def _model_tables(path: Path) -> dict[str, pl.DataFrame]:
    """Every table the last build wrote, rows sorted (a table is a set of rows)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select tables from model_state").fetchone()
        assert row is not None
        out = {}
        for name in row[0]:
            frame = con.execute(f"select * from {name}").pl()
            out[name] = frame.sort(pl.all(), nulls_last=True)
        return out
    finally:
        con.close()


def _load(
    path: Path, report: FetchReport, run_id: str, overrides: Overrides | None = None
) -> context.RunContext:
    ctx = demo_context(path, "import")
    ctx.run_id = run_id
    if overrides is not None:
        ctx.overrides = overrides
    steps.load_and_build(ctx, [report], {})
    return ctx


def _step(
    inc: Path, full: Path, report: FetchReport, run_id: str, overrides: Overrides | None = None
) -> dict[str, Any]:
    """Load `report` into both warehouses (incremental, full); assert their tables are equal."""
    how = _load(inc, report, run_id, overrides).model_build
    with pytest.MonkeyPatch.context() as mp:  # the twin resolves everything
        mp.setattr(steps, "_full_reason", lambda *args: "full twin")
        full_how = _load(full, report, run_id, overrides).model_build
    assert full_how["path"] == "full", full_how
    a, b = _model_tables(inc), _model_tables(full)
    assert sorted(a) == sorted(b)
    for name in a:
        try:
            assert_frame_equal(a[name], b[name])
        except AssertionError as exc:
            raise AssertionError(f"{name}: incremental != full: {exc}") from None
    return how


def _twins(tmp_path: Path, build: Any) -> tuple[Path, Path]:
    inc = tmp_path / "inc" / "w.duckdb"
    build(inc)
    full = tmp_path / "full" / "w.duckdb"
    full.parent.mkdir()
    shutil.copy(inc, full)
    return inc, full


def _page(works: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {"count": len(works), "per_page": 200, "page": None, "next_cursor": None}
    return {"meta": meta, "results": works, "group_by": []}


def _report(tmp_path: Path, name: str, works: list[dict[str, Any]]) -> FetchReport:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(_page(works)), encoding="utf-8")
    return fetch.import_files("openalex", [path])


def _demo_works() -> list[dict[str, Any]]:
    works = []
    for f in sorted((DEMO_RECORDING / "openalex").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        results = data.get("results") if isinstance(data, dict) else None
        if results and str(results[0]["id"]).rsplit("/", 1)[-1].startswith("W"):
            works += results
    assert len(works) > 20
    return works


def _demo_changes(works: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A new work; a known work with a new count and a retouched title; a new id-less record
    of a known work (found only by its title and authors); a work whose first author takes
    another author's id (joining two people)."""
    new = copy.deepcopy(works[0])
    new.update(
        id=f"{OA}W9900000001",
        doi="https://doi.org/10.9999/incremental.1",
        title="Incremental Resolution of Scholarly Records in Warehouses",
        display_name="Incremental Resolution of Scholarly Records in Warehouses",
        ids={"openalex": f"{OA}W9900000001"},
    )
    changed = copy.deepcopy(works[3])
    changed["cited_by_count"] = (changed.get("cited_by_count") or 0) + 17
    changed["title"] = changed["display_name"] = str(changed["title"]) + "."
    version = copy.deepcopy(works[5])
    version.update(id=f"{OA}W9900000002", doi=None, ids={"openalex": f"{OA}W9900000002"})
    linked = copy.deepcopy(works[8])
    other = next(
        a["author"]["id"]
        for w in works[20:]
        for a in w.get("authorships") or []
        if a["author"].get("id")
    )
    linked["authorships"][0]["author"]["id"] = other
    return [new, changed, version, linked]


def test_demo_import_is_incremental_and_equals_a_full_build(tmp_path: Path) -> None:
    inc, full = _twins(tmp_path, run_demo)
    how = _step(inc, full, _report(tmp_path, "changes", _demo_changes(_demo_works())), "r-inc-1")
    assert how["path"] == "incremental", how
    assert how["changed"] == 4
    # the closure reaches further than the changed records, not the whole warehouse
    assert 4 < how["affected_records"] < how["records"]


def _bench_generator(n: int) -> Any:
    path = ROOT / "benchmarks" / "build.py"
    spec = importlib.util.spec_from_file_location("_bench_build_incr", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Generator(n, seed=3)


def _variant(work: dict[str, Any], wid: str, rng: random.Random) -> dict[str, Any]:
    """Another record of the same paper as OpenAlex sometimes holds it: its own id, no DOI, the
    title retouched (case, a trailing period), the same authors."""
    out = copy.deepcopy(work)
    title = str(work["title"])
    title = title.lower() if rng.random() < 0.5 else title + "."
    out.update(id=f"{OA}{wid}", doi=None, title=title, display_name=title)
    out["ids"] = {"openalex": f"{OA}{wid}"}
    return out


def test_generated_imports_stay_equal_to_full_builds(tmp_path: Path) -> None:
    """Five imports into a generated warehouse, each with new works, new records of known
    works (joined by title only), changed ones (counts, a dropped DOI, a new title) and
    records seen before: after each, incremental == full."""
    gen = _bench_generator(600)
    rng = random.Random(7)
    base = [gen.work(i) for i in range(400)]

    def first(path: Path) -> None:
        _load(path, _report(tmp_path, "base", base), "r-gen-0")

    inc, full = _twins(tmp_path, first)
    known = {str(w["id"]): w for w in base}
    paths = []
    for step in range(1, 6):
        batch = [gen.work(400 + step * 30 + k) for k in range(30)]
        olds = rng.sample(sorted(known), 12)
        for k, wid in enumerate(olds[:4]):
            batch.append(_variant(known[wid], f"W98{step:02d}{k:06d}", rng))
        for wid in olds[4:7]:
            changed = copy.deepcopy(known[wid])
            changed["cited_by_count"] = int(changed.get("cited_by_count") or 0) + step
            batch.append(changed)
        dropped = copy.deepcopy(known[olds[7]])
        dropped["doi"] = None
        retitled = copy.deepcopy(known[olds[8]])
        retitled["title"] = retitled["display_name"] = str(known[olds[9]]["title"])
        batch += [dropped, retitled, known[olds[10]]]
        how = _step(inc, full, _report(tmp_path, f"batch{step}", batch), f"r-gen-{step}")
        assert how["path"] == "incremental", how
        paths.append(how)
        known.update({str(w["id"]): w for w in batch})
    assert all(h["affected_records"] < h["records"] for h in paths)


def _edit(path: Path, sql: str) -> None:
    """A change made by hand in the warehouse scholarflow writes (its private copy)."""
    with warehouse.Writer(path) as w:
        w.con.execute(sql)


def test_changed_watchlist_registry_or_gone_record_builds_everything(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    run_demo(path)
    changes = _demo_changes(_demo_works())

    ctx = demo_context(path, "build")
    steps.build_only(ctx, full=True)
    assert ctx.model_build == {**ctx.model_build, "path": "full"}
    assert ctx.model_build["reason"] == "full build asked for (--full)"

    ctx = _load(path, _report(tmp_path, "a", changes[:1]), "r-fb-0")
    assert ctx.model_build["path"] == "incremental"

    _edit(path, "update work_ids set paper_id = 'edited' where source_work_id = 'W9900000001'")
    ctx = _load(path, _report(tmp_path, "b", changes[1:2]), "r-fb-1")
    assert ctx.model_build["reason"] == "the id registry changed since the last build"

    _edit(path, "delete from raw_openalex__works where work_id = 'W9900000001'")
    ctx = _load(path, _report(tmp_path, "c", changes[2:3]), "r-fb-2")
    assert ctx.model_build["path"] == "full"
    assert ctx.model_build["reason"] == "1 record(s) of the previous build are gone"

    ctx = demo_context(path, "import")
    ctx.watchlist.researchers[0].aliases.append("Somebody Else")
    steps.load_and_build(ctx, [_report(tmp_path, "d", changes[3:])], {})
    assert ctx.model_build["path"] == "full"
    assert ctx.model_build["reason"] == "watchlist or overrides changed since the last build"


def test_the_run_records_how_the_model_was_built(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    run_demo(path)
    ctx = _load(path, _report(tmp_path, "a", _demo_changes(_demo_works())[:1]), "r-rec-1")
    con = duckdb.connect(str(path), read_only=True)
    stats = con.execute("select stats from runs where run_id = 'r-rec-1'").fetchone()
    con.close()
    assert stats is not None
    recorded = json.loads(stats[0])["model"]
    assert recorded["path"] == "incremental" == ctx.model_build["path"]
    assert recorded["changed"] == 1


def test_build_command_resolves_everything_only_with_full(tmp_path: Path) -> None:
    from flows import cli

    path = tmp_path / "w.duckdb"
    run_demo(path)

    def build(*flag: str) -> dict[str, Any]:
        args = ["--watchlist", str(ROOT / "watchlist.toml"), "--warehouse", str(path), *flag]
        assert cli.main(["build", *args]) == 0
        con = duckdb.connect(str(path), read_only=True)
        stats = con.execute("select stats from runs order by finished_at desc limit 1").fetchone()
        con.close()
        assert stats is not None
        model: dict[str, Any] = json.loads(stats[0])["model"]
        return model

    build()  # the command's own overrides.toml may differ from the demo run's
    assert build()["path"] == "unchanged"
    full = build("--full")
    assert (full["path"], full["reason"]) == ("full", "full build asked for (--full)")


def _plain(work: dict[str, Any], wid: str, title: str, doi: str | None) -> dict[str, Any]:
    """`work` under another id and title, with no arXiv location (joined by title only)."""
    out = copy.deepcopy(work)
    out.update(id=f"{OA}{wid}", doi=doi, title=title, display_name=title, locations=[])
    out.update(ids={"openalex": f"{OA}{wid}"}, best_oa_location=None, primary_location=None)
    return out


def _papers_of(path: Path, ids: list[str]) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select source_work_id, paper_id from work_xref where source = 'openalex'"
        ).fetchall()
    finally:
        con.close()
    paper = dict(rows)
    return [paper[i] for i in ids]


def test_a_title_block_crossing_its_size_limit_and_a_record_leaving_its_paper(
    tmp_path: Path,
) -> None:
    """65 titles share their first 20 characters: that block is too generic to pair anyone, so
    two near-identical titles in it stay apart. One record leaving the block brings it under the
    limit: the two are one paper now, though neither changed, nor shares a key with the record
    that did; its return splits them again. Then a record's title and DOI change so it leaves its
    paper: the record left behind is resolved again too."""
    from transforms.works import MAX_BLOCK

    gen = _bench_generator(200)
    works = [gen.work(i) for i in range(MAX_BLOCK + 3)]
    base = [
        _plain(w, f"W97{i:08d}", f"Scalable serving systems for {w['title']}", w["doi"])
        for i, w in enumerate(works[: MAX_BLOCK - 1])
    ]
    twin = works[MAX_BLOCK - 1]
    base.append(
        _plain(twin, "W9700000100", "Scalable serving systems for graph processing at scale", None)
    )
    base.append(
        _plain(twin, "W9700000101", "Scalable serving systems for graph processing at scales", None)
    )
    pair = [works[MAX_BLOCK], works[MAX_BLOCK + 1]]
    base += [pair[0], _plain(pair[0], "W9700000200", str(pair[0]["title"]) + ".", None)]
    twins = ["W9700000100", "W9700000101"]

    def first(path: Path) -> None:
        _load(path, _report(tmp_path, "base", base), "r-blk-0")

    inc, full = _twins(tmp_path, first)
    assert len(set(_papers_of(inc, twins))) == 2  # the block is oversized: no pair from it
    one = str(pair[0]["id"]).rsplit("/", 1)[-1]
    assert len(set(_papers_of(inc, [one, "W9700000200"]))) == 1  # one paper by title

    leaves = copy.deepcopy(base[0])
    leaves["title"] = leaves["display_name"] = "An unrelated title about protein folding"
    how = _step(inc, full, _report(tmp_path, "leave", [leaves]), "r-blk-1")
    assert how["path"] == "incremental" and how["changed"] == 1
    assert len(set(_papers_of(inc, twins))) == 1  # the block pairs again: one paper

    how = _step(inc, full, _report(tmp_path, "back", [base[0]]), "r-blk-3")
    assert how["path"] == "incremental" and how["changed"] == 1
    assert len(set(_papers_of(inc, twins))) == 2  # oversized again: apart again

    # both twins change while the block stays oversized: still no pair, though the two are all
    # of that block an incremental build resolves (block sizes count every record)
    recounted = [copy.deepcopy(w) for w in base[-4:-2]]
    for w in recounted:
        w["cited_by_count"] = int(w.get("cited_by_count") or 0) + 5
    how = _step(inc, full, _report(tmp_path, "recount", recounted), "r-blk-3b")
    assert how["path"] == "incremental" and how["affected_records"] == 2
    assert len(set(_papers_of(inc, twins))) == 2

    moved = copy.deepcopy(pair[0])
    moved["title"] = moved["display_name"] = "Quantum error correction at the edge of chaos"
    moved["doi"] = "https://doi.org/10.9999/moved"
    how = _step(inc, full, _report(tmp_path, "move", [moved]), "r-blk-4")
    assert how["path"] == "incremental" and how["changed"] == 1
    assert len(set(_papers_of(inc, [one, "W9700000200"]))) == 2


def test_a_profile_change_alone_resolves_no_work_again(tmp_path: Path) -> None:
    """A new count on an author profile changes raw rows but no work record: nothing to
    resolve again on the works' side, and the author side still agrees with a full build."""
    profile = json.loads((DEMO_RECORDING / "openalex" / "0005.json").read_text(encoding="utf-8"))
    profile["works_count"] = int(profile["works_count"]) + 3
    profile["cited_by_count"] = int(profile.get("cited_by_count") or 0) + 11
    path = tmp_path / "author.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    inc, full = _twins(tmp_path, run_demo)
    how = _step(inc, full, fetch.import_files("openalex", [path]), "r-prof-1")
    assert how["path"] == "incremental", how
    assert how["changed"] == 0 and how["affected_records"] == 0


def _work_flags(path: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select kind, entity_id from resolution_flags where entity = 'work' order by all"
        ).fetchall()
    finally:
        con.close()
    return [(str(k), str(e)) for k, e in rows]


def test_a_work_conflict_flag_is_kept_or_redone_like_a_full_build(tmp_path: Path) -> None:
    """Two arXiv preprints and an id-less record between them by title: the title chain would
    join two arXiv ids, so it is undone and flagged. An unrelated change keeps the flag; a
    change to one of its records redoes it."""
    gen = _bench_generator(50)
    works = [gen.work(i) for i in range(12)]
    title = "Speculative decoding with tree attention for serving large language models"
    trio = [
        _plain(works[0], "W9600000001", title, "https://doi.org/10.48550/arxiv.2401.00001"),
        _plain(works[0], "W9600000002", title + ".", None),
        _plain(works[0], "W9600000003", title.lower(), "https://doi.org/10.48550/arxiv.2401.00002"),
    ]
    base = trio + works[1:]

    def first(path: Path) -> None:
        _load(path, _report(tmp_path, "base", base), "r-cf-0")

    inc, full = _twins(tmp_path, first)
    flags = _work_flags(inc)
    assert [k for k, _ in flags] == ["work_conflict"]

    other = copy.deepcopy(works[5])
    other["cited_by_count"] = int(other.get("cited_by_count") or 0) + 9
    how = _step(inc, full, _report(tmp_path, "other", [other]), "r-cf-1")
    assert how["path"] == "incremental" and how["affected_records"] < len(base)
    assert _work_flags(inc) == flags

    middle = copy.deepcopy(trio[1])
    middle["cited_by_count"] = int(middle.get("cited_by_count") or 0) + 2
    how = _step(inc, full, _report(tmp_path, "middle", [middle]), "r-cf-2")
    assert how["path"] == "incremental" and how["affected_records"] >= 3
    assert [k for k, _ in _work_flags(inc)] == ["work_conflict"]


def test_overrides_reach_a_record_that_arrives_later(tmp_path: Path) -> None:
    """A merge naming a record not loaded yet, and a keep_apart of two look-alikes: when the
    record arrives, the merge joins it to a paper it shares no key with, and its unmatched
    flag goes, as in a full build."""
    gen = _bench_generator(50)
    works = [gen.work(i) for i in range(10)]
    twin = _plain(works[1], "W9500000002", str(works[1]["title"]) + ".", None)
    late = _plain(works[2], "W9500000003", "A record that only an override joins", None)
    ids = [str(w["id"]).rsplit("/", 1)[-1] for w in works[:2]]
    path = tmp_path / "overrides.toml"
    path.write_text(
        f"""[[merge]]
works = ["openalex:{ids[0]}", "openalex:W9500000003"]
reason = "the late record is the same work"

[[keep_apart]]
works = ["openalex:{ids[1]}", "openalex:W9500000002"]
reason = "look-alikes"
""",
        encoding="utf-8",
    )
    overrides = load_overrides(path, load_watchlist(ROOT / "watchlist.toml"), explicit=True)

    def first(p: Path) -> None:
        _load(p, _report(tmp_path, "base", [*works, twin]), "r-ov-0", overrides)

    inc, full = _twins(tmp_path, first)
    assert ("override_unmatched", "openalex:W9500000003") in _work_flags(inc)
    assert len(set(_papers_of(inc, [ids[1], "W9500000002"]))) == 2

    how = _step(inc, full, _report(tmp_path, "late", [late]), "r-ov-1", overrides)
    assert how["path"] == "incremental" and how["changed"] == 1
    assert len(set(_papers_of(inc, [ids[0], "W9500000003"]))) == 1
    assert not [f for f in _work_flags(inc) if f[0] == "override_unmatched"]


def test_names_a_build_has_parsed_are_not_parsed_again() -> None:
    """`name_parts` of the previous build (same code) is taken as it is: a spelling it holds is
    not parsed again (the planted value shows through), a new one is parsed, and one no record
    uses any more is dropped."""
    from transforms import model

    rows = pl.LazyFrame(
        {"raw_name": ["Wing Lam", "Md Rafiqul Islam Rabin", "Wing Lam", "  "]},
        schema={"raw_name": pl.String},
    )
    planted = pl.LazyFrame(
        {
            "raw_name": ["Wing Lam", "Gone Away"],
            "display_name": ["PLANTED", "Gone Away"],
            "name_key": ["planted", "gone away"],
            "short_key": ["p", "g away"],
            "full_keys": [["planted"], ["away gone"]],
            "initials_keys": [["p"], ["g away"]],
            "initials_only": [False, False],
        }
    )
    parts = model.name_parts(rows, planted).collect()
    assert parts["raw_name"].to_list() == ["Md Rafiqul Islam Rabin", "Wing Lam"]
    assert parts.filter(pl.col("raw_name") == "Wing Lam")["display_name"].item() == "PLANTED"
    assert parts.filter(pl.col("raw_name") == "Wing Lam")["full_keys"].to_list() == [["planted"]]
    fresh = model.name_parts(rows).collect()
    new = fresh.filter(pl.col("raw_name") == "Md Rafiqul Islam Rabin")
    assert_frame_equal(parts.filter(pl.col("raw_name") == "Md Rafiqul Islam Rabin"), new)
    assert fresh.filter(pl.col("raw_name") == "Wing Lam")["display_name"].item() == "Wing Lam"
    # staged rows carry the parts; the blank slot is no person
    staged = model.parse_author_names(rows.with_columns(position=pl.lit(0)), planted).collect()
    assert staged.height == 3
    assert staged["display_name"].to_list().count("PLANTED") == 2


def test_author_resolution_takes_the_matching_keys_of_name_parts() -> None:
    """`name_parts` also holds each spelling's matching keys (`names.match_keys`), and the
    author side takes them from the staged rows instead of analysing the name again: a planted
    key shows through, and a build's own keys are match_keys' (no second Python pass over
    every name on a build that kept the previous name_parts)."""
    from transforms import authors, model, names

    rows = pl.LazyFrame(
        {
            "source": ["openalex"] * 2,
            "source_work_id": ["W1", "W1"],
            "position": [0, 1],
            "source_author_id": [None, None],
            "raw_name": ["Zhuo, Danyang", "D. Zhuo"],
            "orcid": [None, None],
        },
        schema_overrides={"source_author_id": pl.String, "orcid": pl.String},
    )
    fresh = model.name_parts(rows).collect()
    for raw, full, initials, only in fresh.select(
        "raw_name", "full_keys", "initials_keys", "initials_only"
    ).iter_rows():
        assert (tuple(full), tuple(initials), only) == names.match_keys(raw)
    planted = fresh.with_columns(
        full_keys=pl.when(pl.col("raw_name") == "Zhuo, Danyang")
        .then(pl.lit(["planted"]))
        .otherwise(pl.col("full_keys"))
    )
    xref = pl.LazyFrame({"paper_id": ["p1"], "source": ["openalex"], "source_work_id": ["W1"]})
    staged = model.parse_author_names(rows, planted.lazy())
    got = authors._mentions(staged, xref).collect().sort("position")
    assert got["full_keys"].to_list() == [["planted"], []]
    assert got["initials_keys"].to_list() == [["d zhuo"], ["d zhuo"]]


def test_an_incremental_build_keeps_the_parsed_names(tmp_path: Path) -> None:
    """In the warehouse: after an incremental build the name_parts row of a known spelling is
    the previous build's (a planted value survives: it was not parsed again); a full build
    parses it again."""
    path = tmp_path / "w.duckdb"
    run_demo(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select raw_name from name_parts order by raw_name limit 1").fetchone()
    finally:
        con.close()
    assert row is not None
    quoted = str(row[0]).replace("'", "''")
    _edit(path, f"update name_parts set display_name = 'PLANTED' where raw_name = '{quoted}'")

    def shown() -> Any:
        con = duckdb.connect(str(path), read_only=True)
        try:
            q = "select display_name from name_parts where raw_name = ?"
            return con.execute(q, [row[0]]).fetchone()
        finally:
            con.close()

    new = _demo_changes(_demo_works())[0]
    how = _load(path, _report(tmp_path, "one", [new]), "r-names-1").model_build
    assert how["path"] == "incremental", how
    assert shown() == ("PLANTED",)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(steps, "_full_reason", lambda *args: "full")
        changed = copy.deepcopy(new)
        changed["cited_by_count"] = 99
        assert (
            _load(path, _report(tmp_path, "two", [changed]), "r-names-2").model_build["path"]
            == "full"
        )
    assert shown() != ("PLANTED",)

"""overrides.toml: strict validation with line numbers, references, researchers, wiring."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import ROOT, shared_fixture_dir

from flows import cli, steps
from flows.overrides import (
    Overrides,
    OverridesError,
    OverridesMissing,
    check_work_ref,
    for_cli,
    load_overrides,
)
from flows.watchlist import Watchlist, load_watchlist
from transforms.overrides import OVERRIDE_SCHEMA, match_refs, work_refs


@pytest.fixture(scope="module")
def wl() -> Watchlist:
    return load_watchlist(ROOT / "watchlist.toml")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
[[not_author]]
researcher = "Zhuo, Danyang"
works = ["doi:10.1101/2020.01.01.123456", "openalex:W123"]
reason = "namesake (biologist)"

[[merge]]
works = [
  "arxiv:2401.00001",
  "dblp:conf/osdi/X24",
]
reason = "preprint of the OSDI paper"

[[keep_apart]]
works = ["dblp:conf/x/A23", "t:3f2a9c0d1e4b5a6c"]
reason = "same title, other authors"

[[alias]]
researcher = "pengfei-zuo"
names = ["Zuo Pengfei"]
ids = ["openalex:a5000000001", "semantic_scholar:456", "dblp:z/PengfeiZuo",
       "orcid:0000-0002-1825-0097"]
reason = "family name first"
"""


def test_valid_file_gives_rows_with_lines_and_resolved_researchers(
    tmp_path: Path, wl: Watchlist
) -> None:
    ov = load_overrides(write(tmp_path, GOOD), wl, explicit=True)
    frame = ov.frame().collect()
    assert frame.schema == pl.Schema(OVERRIDE_SCHEMA)
    rows = {r["kind"]: r for r in frame.to_dicts()}
    assert rows["not_author"]["researcher_id"] == "danyang-zhuo"  # by alias
    assert rows["not_author"]["line"] == 1
    assert rows["merge"]["line"] == 6 and rows["merge"]["works"] == [
        "arxiv:2401.00001",
        "dblp:conf/osdi/X24",
    ]
    assert rows["keep_apart"]["line"] == 13
    assert rows["alias"]["researcher_id"] == "pengfei-zuo" and rows["alias"]["line"] == 17
    assert rows["alias"]["ids"][0] == "openalex:A5000000001"  # normalised
    assert ov.counts() == {"not_author": 1, "merge": 1, "keep_apart": 1, "alias": 1}
    assert ov.sha256 and len(ov.sha256) == 64


def test_every_problem_is_reported_with_its_line(tmp_path: Path, wl: Watchlist) -> None:
    text = """\
[[not_author]]
researcher = "Nobody Known"
works = ["openalex:W1"]
reason = "x"

[[merge]]
works = ["arxiv:2401.00001"]
reason = "only one"

[[merge]]
works = ["doi:10.1/x", "arxiv:2401.00002"]
reason = "bad doi"
colour = "red"

[[keep_apart]]
works = [
  "dblp:conf/x/A23",
  "bogus:123",
]
reason = "unknown source"

[[alias]]
researcher = "danyang-zhuo"
reason = "nothing given"

[[not_author]]
researcher = "danyang-zhuo"
works = ["openalex:W2"]

[[typo]]
works = []
"""
    with pytest.raises(OverridesError) as info:
        load_overrides(write(tmp_path, text), wl, explicit=True)
    msg = str(info.value)
    path = tmp_path / "overrides.toml"
    expected = [
        f"{path}:7: merge[0].works: needs at least 2 entries",
        f"{path}:11: merge[1].works[0]: 'doi:10.1/x': expected a DOI like",
        f"{path}:13: merge[1].colour: unknown key",
        f"{path}:18: keep_apart[0].works[1]: 'bogus:123': unknown source 'bogus'",
        f"{path}:22: alias[0]: an alias needs names or ids",
        f"{path}:26: not_author[1].reason: required: add it",
        f"{path}:30: typo: unknown key",
    ]
    for line in expected:
        assert line in msg, (line, msg)
    # researchers are checked once the syntax is right
    fixed = text.split("[[merge]]")[0]
    with pytest.raises(OverridesError, match=r"overrides.toml:2: not_author\[0\]\.researcher: "):
        load_overrides(write(tmp_path, fixed), wl, explicit=True)


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        ("doi:10.1145/3600006.3613165", True),
        ("doi:https://doi.org/10.1145/ABC", True),
        ("arxiv:2309.06180v2", True),
        ("arxiv:hep-th/9901001", True),
        ("openalex:W4387", True),
        ("semantic_scholar:e5cccfad1d65df199c839fa261452", True),
        ("dblp:conf/sosp/KwonLZ0ZY0ZS23", True),
        ("t:3f2a9c0d1e4b5a6c", True),
        ("10.1145/3600006.3613165", False),  # bare DOI: say doi:
        ("2309.06180", False),  # bare arXiv id: say arxiv:
        ("arxiv:not-an-id", False),
        ("s2:abc", False),  # not a source slug
        ("t:", False),
        ("W4387", False),
    ],
)
def test_work_reference_syntax(ref: str, ok: bool) -> None:
    if ok:
        assert check_work_ref(ref)
    else:
        with pytest.raises(ValueError):
            check_work_ref(ref)


def test_researcher_names_are_case_and_diacritic_insensitive(tmp_path: Path, wl: Watchlist) -> None:
    for name in ("DANYANG ZHUO", "Dányang Zhuo", "danyang-zhuo", "D. Zhuo"):
        text = f'[[not_author]]\nresearcher = "{name}"\nworks = ["openalex:W1"]\nreason = "r"\n'
        ov = load_overrides(write(tmp_path, text), wl, explicit=True)
        assert ov.rows[0]["researcher_id"] == "danyang-zhuo", name


def test_duplicates_and_contradictions_are_rejected(tmp_path: Path, wl: Watchlist) -> None:
    text = """\
[[merge]]
works = ["arxiv:2401.00001", "dblp:conf/osdi/X24"]
reason = "one"

[[keep_apart]]
works = ["dblp:conf/osdi/X24", "arxiv:2401.00001"]
reason = "two"

[[merge]]
works = ["openalex:W1", "openalex:W1"]
reason = "twice"
"""
    with pytest.raises(OverridesError) as info:
        load_overrides(write(tmp_path, text), wl, explicit=True)
    assert "overrides.toml:9: merge[1]: 'openalex:W1' is listed twice" in str(info.value)
    with pytest.raises(OverridesError) as info:
        load_overrides(write(tmp_path, text.split("\n\n[[merge]]")[0]), wl, explicit=True)
    assert "overrides.toml:6: keep_apart[0].works: contradicts the [[merge]] at line 1" in str(
        info.value
    )


def test_missing_default_means_none_missing_explicit_is_an_error(
    tmp_path: Path, wl: Watchlist
) -> None:
    assert for_cli(None, tmp_path / "watchlist.toml", wl) == Overrides()
    with pytest.raises(OverridesMissing):
        for_cli(tmp_path / "nope.toml", tmp_path / "watchlist.toml", wl)
    write(tmp_path, GOOD)
    assert len(for_cli(None, tmp_path / "watchlist.toml", wl).rows) == 4


def test_invalid_toml_names_the_file(tmp_path: Path, wl: Watchlist) -> None:
    with pytest.raises(OverridesError, match="invalid TOML"):
        load_overrides(write(tmp_path, "[[merge]\n"), wl, explicit=True)


def test_shipped_example_is_valid(wl: Watchlist) -> None:
    ov = for_cli(None, ROOT / "watchlist.toml", wl)
    assert ov.path == ROOT / "overrides.toml"
    assert [r["kind"] for r in ov.rows] == ["alias"]


def test_refs_of_the_frame_find_records(tmp_path: Path, wl: Watchlist) -> None:
    ov = load_overrides(write(tmp_path, GOOD), wl, explicit=True)
    records = pl.LazyFrame(
        {
            "source": ["openalex", "dblp", "arxiv"],
            "source_work_id": ["W123", "conf/osdi/X24", "2401.00001"],
            "doi": [None, None, None],
            "arxiv_id": [None, None, "2401.00001"],
        },
        schema={c: pl.String for c in ("source", "source_work_id", "doi", "arxiv_id")},
    )
    hits = match_refs(work_refs(ov.frame()), records).collect()
    assert sorted(zip(hits["line"], hits["source"], strict=True)) == [
        (1, "openalex"),
        (6, "arxiv"),
        (6, "dblp"),
    ]


def _cli(tmp_path: Path, *args: str) -> int:
    return cli.main(
        [
            "import",
            "openalex",
            str(shared_fixture_dir("openalex") / "bvitamins__work_W2741809807.json"),
            "--watchlist",
            str(ROOT / "watchlist.toml"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            *args,
        ]
    )


def test_cli_usage_errors_and_run_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli(tmp_path, "--overrides", str(tmp_path / "missing.toml")) == 2
    assert "no such overrides file" in capsys.readouterr().err
    bad = write(tmp_path, '[[merge]]\nworks = ["x"]\nreason = "r"\n')
    assert _cli(tmp_path, "--overrides", str(bad)) == cli.EXIT_USAGE
    assert f"{bad}:2: merge[0].works" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()

    seen: dict[str, object] = {}
    real = steps.model.build_model_from

    def spy(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(steps.model, "build_model_from", spy)
    good = write(tmp_path, GOOD)
    assert _cli(tmp_path, "--overrides", str(good)) == 0
    out = capsys.readouterr().out
    assert "overrides: " in out and "of 4 applied" in out
    passed = seen["overrides"]
    assert isinstance(passed, pl.LazyFrame) and passed.collect().height == 4
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        sha, stats = con.execute("select overrides_sha256, stats from runs").fetchone()  # type: ignore[misc]
    finally:
        con.close()
    assert len(sha) == 64
    recorded = json.loads(stats)["overrides"]
    assert recorded["entries"] == 4 and recorded["by_kind"]["merge"] == 1

"""The command line: import, build, ingest, replay/record, errors and exit codes."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest
from conftest import ROOT, shared_fixture_dir

from flows import cli, fetch
from flows.http import HttpClient
from flows.recording import ReplayTransport
from flows.settings import DEMO_RECORDING


def main(args: list[str], warehouse: Path) -> int:
    command, rest = args[0], args[1:]
    return cli.main(
        [command, "--watchlist", str(ROOT / "watchlist.toml"), "--warehouse", str(warehouse), *rest]
    )


def count(warehouse: Path, sql: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def test_help_is_fast_and_does_not_start_prefect() -> None:
    code = "import sys, flows.cli as c; c.parser().format_help(); print('prefect' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
    help_out = subprocess.run(
        [sys.executable, "-m", "flows", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert help_out.returncode == 0
    version = subprocess.run(
        [sys.executable, "-m", "flows", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert version.stdout.strip() == "scholarflow 0.1.0"
    for command in ("run", "ingest", "build", "import", "serve"):
        assert command in help_out.stdout


def test_import_openalex_files_then_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "w.duckdb"
    files = sorted(shared_fixture_dir("openalex").glob("*works*.json")) + sorted(
        shared_fixture_dir("openalex").glob("*work_W*.json")
    )
    assert main(["import", "openalex", *map(str, files)], wh) == 0
    out = capsys.readouterr().out
    assert "openalex" in out and "reports:" in out
    assert count(wh, "select count(*) from raw_openalex__works") == 6
    assert count(wh, "select count(*) from metrics.papers") >= 5
    assert count(wh, "select count(*) from raw_responses where url like 'file:%'") == len(files)


def test_import_arxiv_feed(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    feed = shared_fixture_dir("arxiv") / "arxivpy__query_all-testing_start0_max10.atom.xml"
    assert main(["import", "arxiv", str(feed)], wh) == 0
    assert count(wh, "select count(*) from raw_arxiv__entries") == 10


@pytest.mark.parametrize(
    ("source", "bad", "expect"),
    [
        ("arxiv", "openalex/bvitamins__work_W2741809807.json", "Atom feed"),
        ("arxiv", "arxiv/arxivpy__id_list_abc_error_400.atom.xml", "incorrect id format"),
        # a file is not an HTTP answer: it is an HTML page, not OpenAlex data (no "HTTP 200")
        ("openalex", "openalex/paperqa__openalex_404_unknown_doi.html", "the file is an HTML page"),
        (
            "semantic_scholar",
            "semantic_scholar/s2py__error_404_paper_not_found.json",
            "Paper with id 0 not found",
        ),
        ("semantic_scholar", "arxiv/arxivpy__id_list_1605.08386.atom.xml", "not JSON"),
    ],
)
def test_import_of_invalid_payload_loads_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, bad: str, expect: str
) -> None:
    wh = tmp_path / "w.duckdb"
    good = {
        "arxiv": "arxiv/arxivpy__id_list_1605.08386.atom.xml",
        "openalex": "openalex/bvitamins__work_W2741809807.json",
        "semantic_scholar": "semantic_scholar/s2py__Author_2262347_with_papers.json",
    }[source]
    shared = shared_fixture_dir(source).parent
    code = main(["import", source, str(shared / good), str(shared / bad)], wh)
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert f"[{source}]" in err and Path(bad).name in err and expect in err
    assert not wh.exists(), "an invalid file must stop the import before anything is written"


def test_build_on_empty_and_on_loaded_warehouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "w.duckdb"
    assert main(["build"], wh) == cli.EXIT_FAILED
    assert "holds no source data" in capsys.readouterr().err
    assert main(["ingest", "--source", "arxiv", "--demo"], wh) == 0
    assert main(["build"], wh) == 0
    assert count(wh, "select count(*) from runs") == 2
    assert count(wh, "select count(*) from metrics.papers") > 20


def test_bad_watchlist_fails_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "w.toml"
    bad.write_text('contact_email = "a@b.co"\n[[researchers]]\nname = ""\n', encoding="utf-8")
    assert (
        cli.main(["build", "--watchlist", str(bad), "--warehouse", str(tmp_path / "x.duckdb")])
        == cli.EXIT_USAGE
    )
    assert f"{bad}:3: researchers[0].name" in capsys.readouterr().err


def test_no_network_suggests_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known", request=request)

    monkeypatch.setattr(
        fetch,
        "HttpClient",
        functools.partial(HttpClient, transport=httpx.MockTransport(refuse), sleep=lambda s: None),
    )
    wh = tmp_path / "w.duckdb"
    assert main(["ingest", "--source", "openalex"], wh) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "network error" in err and "--demo" in err and "api.openalex.org" in err
    assert not wh.exists()


def test_record_then_replay_gives_the_same_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "live" here is the demo recording served through a transport: the recorder sees real responses
    monkeypatch.setattr(
        fetch,
        "HttpClient",
        functools.partial(
            HttpClient, transport=ReplayTransport(DEMO_RECORDING), sleep=lambda s: None
        ),
    )
    rec = tmp_path / "rec"
    live_wh, replay_wh = tmp_path / "live.duckdb", tmp_path / "replay.duckdb"
    assert main(["ingest", "--source", "semantic_scholar", "--record", str(rec)], live_wh) == 0
    monkeypatch.undo()
    manifest = [json.loads(line) for line in (rec / "manifest.jsonl").read_text().splitlines()]
    assert manifest and all(m["source"] == "semantic_scholar" for m in manifest)
    assert main(["ingest", "--source", "semantic_scholar", "--replay", str(rec)], replay_wh) == 0
    q = "select count(*) from raw_semantic_scholar__papers"
    assert count(live_wh, q) == count(replay_wh, q) > 0


def test_replay_miss_names_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "empty"
    rec.mkdir()
    (rec / "manifest.jsonl").write_text("", encoding="utf-8")
    assert (
        main(["ingest", "--source", "arxiv", "--replay", str(rec)], tmp_path / "w.duckdb")
        == cli.EXIT_FAILED
    )
    err = capsys.readouterr().err
    assert "not in recording" in err and "export.arxiv.org/api/query" in err


def test_partial_failure_exit_code_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = ReplayTransport(DEMO_RECORDING)

    def one_author_missing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/author/2900202"):
            return httpx.Response(404, json={"error": "Author with id 2900202 not found"})
        return demo.handle_request(request)

    monkeypatch.setattr(
        fetch,
        "HttpClient",
        functools.partial(
            HttpClient,
            transport=httpx.MockTransport(one_author_missing),
            sleep=lambda s: None,
        ),
    )
    wh = tmp_path / "w.duckdb"
    assert main(["ingest", "--source", "semantic_scholar"], wh) == cli.EXIT_PARTIAL
    out = capsys.readouterr().out
    assert "error: [semantic_scholar] HTTP 404: Author with id 2900202 not found" in out
    assert count(wh, "select count(*) from quarantine where entity = 'response'") == 1
    assert count(wh, "select count(*) from runs where status = 'partial'") == 1
    assert count(wh, "select count(*) from raw_semantic_scholar__authors") == 2


def test_import_takes_the_same_path_as_fetching(tmp_path: Path, demo_warehouse: Path) -> None:
    """Importing the recorded OpenAlex responses as files gives the same raw rows and papers as
    fetching them (lineage aside)."""
    files = sorted((DEMO_RECORDING / "openalex").glob("*.json"))
    wh = tmp_path / "w.duckdb"
    assert main(["import", "openalex", *map(str, files)], wh) == 0
    q = "select * exclude (_run_id, _fetched_at) from raw_openalex__works order by work_id"
    imported, fetched = (
        duckdb.connect(str(wh), read_only=True),
        duckdb.connect(str(demo_warehouse), read_only=True),
    )
    try:
        assert imported.execute(q).fetchall() == fetched.execute(q).fetchall()
        oa_papers = "select paper_id from work_xref where source = 'openalex' order by 1"
        assert imported.execute(oa_papers).fetchall() != []
    finally:
        imported.close()
        fetched.close()


def _shared_data_files() -> list[tuple[str, Path]]:
    """Every genuine upstream payload that is data for some registered source (.bib and .md
    files are reference only)."""
    from conftest import SHARED_FIXTURES

    from flows.sources import SOURCES

    return [
        (slug, path)
        for slug in SOURCES
        if (SHARED_FIXTURES / slug).is_dir()
        for path in sorted((SHARED_FIXTURES / slug).iterdir())
        if path.suffix not in {".md", ".bib"}
    ]


@pytest.mark.parametrize(
    ("slug", "path"), _shared_data_files(), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_scholarflow_import_accepts_every_shared_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], slug: str, path: Path
) -> None:
    """`scholarflow import <slug> FILE` on each recorded response: data loads (every parsed
    record lands in its raw table), an error body fails naming the source and the file."""
    from flows.sources import SOURCES, raw_table
    from flows.sources.base import SourceError

    wh = tmp_path / "w.duckdb"
    try:
        page = SOURCES[slug].parse(path.read_bytes(), str(path), 200)
    except SourceError:
        page = None
    code = main(["import", slug, str(path)], wh)
    err = capsys.readouterr().err
    if page is None:
        assert code == cli.EXIT_FAILED
        assert f"[{slug}]" in err and path.name in err
    elif page.count() == 0:  # e.g. an empty result page: a run that loads nothing succeeds
        assert code == 0, err
        assert count(wh, "select count(*) from papers") == 0
        assert count(wh, "select count(*) from quarantine") == len(page.quarantined)
    else:
        assert code == 0, err
        for entity, records in page.records.items():
            key = SOURCES[slug].keys[entity]
            distinct = len({str(r[key]) for r in records})
            assert count(wh, f"select count(*) from {raw_table(slug, entity)}") == distinct

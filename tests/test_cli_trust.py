"""Runs a user can trust and watch, at the command line: bad records are quarantined (never a
failed run), secrets never leave the process, upstream bytes never act on the terminal, big
imports are refused up front, failures take one line, and each kind of failure has its exit
code. Every test runs `scholarflow` as a user does: `flows.cli.main` in-process, or a
subprocess where the process boundary matters."""

from __future__ import annotations

import functools
import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import httpx
import pytest
from conftest import ROOT, SHARED_FIXTURES

from flows import cli, fetch
from flows.http import HttpClient
from flows.recording import ReplayTransport
from flows.settings import DEMO_RECORDING

S2_AUTHOR = "s2py__Author_2262347_with_papers.json"  # an author with 60 papers (real payload)


def main(args: list[str], warehouse: Path, watchlist: Path = ROOT / "watchlist.toml") -> int:
    command, rest = args[0], args[1:]
    return cli.main([command, "--watchlist", str(watchlist), "--warehouse", str(warehouse), *rest])


def rows(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def shared(slug: str, name: str) -> Path:
    path = SHARED_FIXTURES / slug / name
    if not path.is_file():
        pytest.skip(
            f"recorded upstream payload missing: {path} (the shared/ folder beside the repo)"
        )
    return path


def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled demo recording (to plant bad bytes in a real response)."""
    rec = tmp_path / "rec"
    shutil.copytree(DEMO_RECORDING, rec)
    return rec


# ---------------------------------------------------------------- bad records never fail a run


@pytest.mark.parametrize("bad", [12.5, "12", True, "abc"], ids=["float", "text", "bool", "word"])
def test_import_quarantines_a_non_integer_citation_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: object
) -> None:
    """A real S2 author payload with one paper's citationCount mutated: that paper is
    quarantined with the field, the file and the record named; the other 59 load; exit 0.
    Before: exit 1 with a polars message (or 12.5 and "12" silently stored as 12)."""
    data = json.loads(shared("semantic_scholar", S2_AUTHOR).read_bytes())
    victim = data["papers"][3]
    victim["citationCount"] = bad
    path = tmp_path / "s2_author.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    wh = tmp_path / "w.duckdb"

    assert main(["import", "semantic_scholar", str(path)], wh) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "quarantined: 1 record(s)" in out
    ((key, reason, payload),) = rows(
        wh, "select record_key, reason, payload from quarantine where entity = 'papers'"
    )
    assert key == victim["paperId"]
    # refused where it is read (the parser) or where it is loaded (the validation gate): either
    # way the reason names the field, the value and the file
    assert "citationCount" in reason or "citation_count" in reason
    assert (repr(bad) in reason or str(bad) in reason) and path.name in reason
    assert victim["title"] in str(payload)
    loaded = rows(wh, "select paper_id, citation_count from raw_semantic_scholar__papers")
    assert len(loaded) == len(data["papers"]) - 1
    assert victim["paperId"] not in {r[0] for r in loaded}
    snapshots = rows(wh, "select count(*) from citation_snapshots")[0][0]
    assert snapshots == len(loaded)  # the snapshot path saw the same records as the raw table


def test_records_the_parser_quarantines_name_the_file_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(shared("semantic_scholar", S2_AUTHOR).read_bytes())
    del data["papers"][5]["paperId"]
    path = tmp_path / "no_id.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    assert main(["import", "semantic_scholar", str(path)], wh) == cli.EXIT_OK
    ((reason,),) = rows(wh, "select reason from quarantine")
    assert str(reason).startswith("paper without a paperId (from file://")
    assert str(reason).endswith(f"{path.name})")


def test_replayed_run_quarantines_bad_counts_and_bad_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fetch path: a recorded S2 page with a count "abc" and an HF paper whose upvotes are
    "many" (the metric_snapshots path). Both quarantined naming the URL; the rest loads."""
    rec = demo_copy(tmp_path)
    s2 = rec / "semantic_scholar" / "0015.json"
    page = json.loads(s2.read_bytes())
    page["data"][0]["citationCount"] = "abc"
    s2.write_text(json.dumps(page), encoding="utf-8")
    hf = rec / "hf_papers" / "0021.json"
    paper = json.loads(hf.read_bytes())
    paper["upvotes"] = "many"
    hf.write_text(json.dumps(paper), encoding="utf-8")
    wh = tmp_path / "w.duckdb"

    args = ["ingest", "--source", "semantic_scholar", "--source", "hf_papers"]
    assert main([*args, "--replay", str(rec)], wh) == cli.EXIT_OK, capsys.readouterr().err
    reasons = dict(rows(wh, "select source, reason from quarantine"))  # type: ignore[arg-type]
    assert set(reasons) == {"semantic_scholar", "hf_papers"}
    # refused by the parser (citationCount) or the load gate (citation_count)
    assert "citation" in str(reasons["semantic_scholar"]).lower()
    assert "api.semanticscholar.org/graph/v1/author/2900101/papers" in str(
        reasons["semantic_scholar"]
    )
    assert "upvotes" in str(reasons["hf_papers"]) and "'many'" in str(reasons["hf_papers"])
    metrics = rows(wh, "select count(*) from metric_snapshots where source = 'hf_papers'")
    assert metrics[0][0] > 0  # the other HF papers' signals still recorded


# ---------------------------------------------------------------- secrets and bytes


KEY = "s2k-9f8e7d6c5b4a39281706"


def test_api_key_quoted_back_by_upstream_is_masked_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An S2 error body quotes the key (and a token of another form): nothing the run prints or
    stores carries it: stdout, stderr, quarantine, runs.stats, raw_responses, the recording.
    Terminal escapes in the same body are printed as visible escapes, not executed."""
    monkeypatch.setenv("S2_API_KEY", KEY)
    demo = ReplayTransport(DEMO_RECORDING)

    def leaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/author/2900202"):
            assert request.headers["x-api-key"] == KEY  # the key does travel on the wire
            return httpx.Response(
                403,
                json={
                    "error": f"Forbidden: api key {KEY} is not valid (try ?api_key=zz99yy88xx)"
                    "\x1b]0;owned\x07\x1b[2J"
                },
            )
        return demo.handle_request(request)

    monkeypatch.setattr(
        fetch,
        "HttpClient",
        functools.partial(HttpClient, transport=httpx.MockTransport(leaky), sleep=lambda s: None),
    )
    wh, rec = tmp_path / "w.duckdb", tmp_path / "rec"
    code = main(["ingest", "--source", "semantic_scholar", "--record", str(rec)], wh)
    out, err = capsys.readouterr()
    assert code == cli.EXIT_PARTIAL
    assert "Forbidden: api key *** is not valid" in out and "api_key=***" in out
    assert "\\x1b]0;owned\\x07" in out and "\x1b" not in out + err
    for text in (out, err):
        assert KEY not in text and "zz99yy88xx" not in text
    stored = rows(
        wh,
        "select string_agg(reason, ' ') from quarantine "
        "union all select string_agg(stats::varchar, ' ') from runs",
    )
    assert "Forbidden" in str(stored)
    assert KEY not in str(stored) and "zz99yy88xx" not in str(stored)
    bodies = rows(wh, "select body_gzip from raw_responses")
    import gzip

    assert all(KEY.encode() not in gzip.decompress(b[0]) for b in bodies)  # type: ignore[arg-type]
    recorded = b"".join(p.read_bytes() for p in rec.rglob("*") if p.is_file())
    assert b"Forbidden" in recorded and KEY.encode() not in recorded


def test_explain_prints_terminal_escapes_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A title holding ANSI/OSC escapes, NUL and a bidi override: `explain` shows them
    escaped; before, it wrote them raw to the terminal."""
    work = json.loads(shared("openalex", "bvitamins__work_W2741809807.json").read_bytes())
    evil = "B vitamins\x1b[31m RED\x1b]0;owned\x07\x00\u202e"
    work["title"] = work["display_name"] = evil
    path = tmp_path / "work.json"
    path.write_text(json.dumps(work), encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    assert main(["import", "openalex", str(path)], wh) == cli.EXIT_OK
    capsys.readouterr()
    ((paper_id,),) = rows(wh, "select paper_id from papers")
    assert cli.main(["explain", "paper", str(paper_id), "--warehouse", str(wh)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "B vitamins\\x1b[31m RED\\x1b]0;owned\\x07\\x00\\u202e" in out
    assert not any(ch in out for ch in "\x1b\x07\x00\u202e")
    assert cli.main(["explain", "paper", str(paper_id), "--warehouse", str(wh), "--json"]) == 0
    raw = capsys.readouterr().out
    assert not any(ch in raw for ch in "\x1b\x07\x00\u202e")
    assert json.loads(raw)["paper"]["title"] == evil  # the same value, only written safely


def test_import_refuses_a_file_above_the_size_limit_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b'{"results": []}' + b" " * (2 * 1024 * 1024))
    read: list[Path] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: read.append(p) or original(p))
    wh = tmp_path / "w.duckdb"

    assert main(["import", "openalex", str(big), "--max-file-mb", "1"], wh) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "big.json: 2.0 MB is above the 1 MB limit" in err and "--max-file-mb" in err
    assert big not in read and not wh.exists()
    monkeypatch.setenv("SCHOLARFLOW_MAX_FILE_MB", "1.5")
    assert main(["import", "openalex", str(big)], wh) == cli.EXIT_USAGE
    assert "1.5 MB limit" in capsys.readouterr().err


# ---------------------------------------------------------------- one line per failure


def _watchlist_with_new_researcher(tmp_path: Path) -> Path:
    path = tmp_path / "watchlist.toml"
    text = (ROOT / "watchlist.toml").read_text(encoding="utf-8")
    path.write_text(text + '\n[[researchers]]\nname = "Ada Newperson"\n', encoding="utf-8")
    shutil.copy(ROOT / "overrides.toml", tmp_path / "overrides.toml")
    return path


def test_demo_miss_after_adding_a_researcher_takes_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo recording covers the example watchlist only: say so, in one line, no
    traceback; -v adds the traceback."""
    wl = _watchlist_with_new_researcher(tmp_path)
    wh = tmp_path / "w.duckdb"
    assert main(["ingest", "--source", "arxiv", "--demo"], wh, wl) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, err
    assert "Ada+Newperson" in errors[0] and "example watchlist only" in errors[0]
    assert "Traceback" not in err
    assert main(["ingest", "--source", "arxiv", "--demo", "-v"], wh, wl) == cli.EXIT_FAILED
    assert "Traceback" in capsys.readouterr().err


def test_verbosity_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Default: per-source lines, no per-request lines; -v: each request; -vv: libraries'
    own output (httpx); -q: nothing at all on success."""
    wh = tmp_path / "w.duckdb"
    args = ["ingest", "--source", "arxiv", "--demo"]
    assert main(args, wh) == 0
    out, err = capsys.readouterr()
    assert "[arxiv] fetching" in err and "records" in err
    assert "GET https://export.arxiv.org" not in err and "HTTP Request" not in err
    assert "run " in out and "tables:" in out
    assert main([*args, "-v"], wh) == 0
    err = capsys.readouterr().err
    assert "GET https://export.arxiv.org" in err and "HTTP Request" not in err
    assert main([*args, "-vv"], wh) == 0
    assert "HTTP Request: GET https://export.arxiv.org" in capsys.readouterr().err
    assert main([*args, "-q"], wh) == 0
    assert capsys.readouterr() == ("", "")


def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wh = tmp_path / "w.duckdb"
    assert (
        main(["ingest", "--source", "arxiv", "--source", "hf_papers", "--demo", "--json"], wh) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["exit_code"] == 0 and summary["status"] == "succeeded"
    assert [s["source"] for s in summary["sources"]] == ["arxiv", "hf_papers"]  # both kept
    assert summary["tables"]["papers"] > 0 and summary["warehouse"] == str(wh)
    missing = tmp_path / "none.toml"
    assert cli.main(["build", "--watchlist", str(missing), "--json"]) == cli.EXIT_USAGE
    failure = json.loads(capsys.readouterr().out)
    assert failure["exit_code"] == cli.EXIT_USAGE and "cannot read watchlist" in failure["error"]


def test_progress_display_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal, a live table of per-source requests and records; off one (the other
    tests), plain lines."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["ingest", "--source", "arxiv", "--demo"], tmp_path / "w.duckdb") == 0
    shown = tty.getvalue()
    n_requests = sum(
        1
        for line in (DEMO_RECORDING / "manifest.jsonl").read_text().splitlines()
        if '"source": "arxiv"' in line
    )
    assert f"{n_requests} req" in shown and " rec" in shown
    assert "[arxiv] fetching" not in shown  # the live table says it
    assert "\x1b[" in shown  # drawn and redrawn in place


# ---------------------------------------------------------------- exit codes


def test_exit_code_per_kind_of_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0 ok, 1 failed, 2 usage/configuration, 4 busy (3, partial: test_cli and above)."""
    wh = tmp_path / "w.duckdb"
    assert main(["build"], wh, tmp_path / "missing.toml") == cli.EXIT_USAGE
    bad = tmp_path / "bad.toml"
    bad.write_text('contact_email = "a@b.co"\n[[researchers]]\nname = "X"\nnmae = 1\n')
    assert main(["build"], wh, bad) == cli.EXIT_USAGE
    assert main(["build", "--overrides", str(tmp_path / "none.toml")], wh) == cli.EXIT_USAGE
    assert main(["build"], wh) == cli.EXIT_FAILED  # nothing to build yet
    with pytest.raises(SystemExit) as usage:
        main(["ingest", "--source", "nope"], wh)
    assert usage.value.code == cli.EXIT_USAGE
    assert main(["ingest", "--source", "arxiv", "--demo"], wh) == cli.EXIT_OK
    capsys.readouterr()

    holder = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from flows import warehouse
        with warehouse.exclusive(Path({str(wh)!r})):
            print("held", flush=True)
            sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        assert main(["build"], wh) == cli.EXIT_BUSY
        assert "another" in capsys.readouterr().err
    finally:
        proc.communicate("", timeout=60)


def test_exit_codes_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in ((2, "usage"), (3, "partial"), (4, "busy")):
        assert f"`{code}`" in readme and meaning in readme

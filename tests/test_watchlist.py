"""Watchlist validation: good files load, bad ones fail at start naming line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.watchlist import Watchlist, WatchlistError, load_watchlist

ROOT = Path(__file__).resolve().parents[1]
GOOD = """\
contact_email = "me@example.org"

[schedule]
cron = "0 5 * * *"

[[researchers]]
name = "Danyang Zhuo"
aliases = ["Zhuo, Danyang"]
openalex_id = "https://openalex.org/a5090000101"
orcid = "https://orcid.org/0000-0002-1825-0097"

[[researchers]]
name = "Pengfei Zuo"

[[topics]]
name = "LLM serving"
keywords = ["LLM serving"]
arxiv_categories = ["cs.DC"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_example_is_valid() -> None:
    wl = load_watchlist(ROOT / "watchlist.toml")
    names = [r.name for r in wl.researchers]
    assert {"Danyang Zhuo", "Zhaoyuan Su", "Pengfei Zuo"} <= set(names)
    assert wl.topics[0].name == "LLM serving"
    assert set(wl.topics[0].arxiv_categories) == {"cs.DC", "cs.LG"}
    assert wl.sources.enabled[:3] == ["arxiv", "openalex", "semantic_scholar"]


def test_ids_are_normalised(tmp_path: Path) -> None:
    wl = load_watchlist(write(tmp_path, GOOD))
    r = wl.researchers[0]
    assert r.openalex_id == "A5090000101"
    assert r.orcid == "0000-0002-1825-0097"
    assert r.researcher_id == "danyang-zhuo"
    assert r.all_names == ["Danyang Zhuo", "Zhuo, Danyang"]
    assert wl.schedule.cron == "0 5 * * *"
    assert wl.topics[0].topic_id == "llm-serving"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # unknown key in the second researcher -> its line
        (
            lambda t: t.replace('name = "Pengfei Zuo"', 'name = "Pengfei Zuo"\nhomepage = "x"'),
            ["watchlist.toml:14", "researchers[1].homepage", "unknown key"],
        ),
        # wrong type
        (
            lambda t: t.replace('aliases = ["Zhuo, Danyang"]', 'aliases = "Zhuo, Danyang"'),
            ["watchlist.toml:8", "researchers[0].aliases"],
        ),
        # empty researcher name
        (
            lambda t: t.replace('name = "Pengfei Zuo"', 'name = "  "'),
            ["watchlist.toml:13", "researchers[1].name"],
        ),
        # a researcher table with nothing in it
        (lambda t: t + "\n[[researchers]]\n", ["researchers[2].name", "Field required"]),
        (
            lambda t: t.replace('cron = "0 5 * * *"', 'cron = "every monday"'),
            ["watchlist.toml:4", "schedule.cron"],
        ),
        (
            lambda t: t.replace(
                'arxiv_categories = ["cs.DC"]', 'arxiv_categories = ["Distributed Computing"]'
            ),
            ["topics[0].arxiv_categories"],
        ),
        (
            lambda t: t.replace('"me@example.org"', '"not-an-email"'),
            ["watchlist.toml:1", "contact_email"],
        ),
        (
            lambda t: t.replace(
                "[schedule]", '[sources]\nenabled = ["arxiv", "google_scholar"]\n[schedule]'
            ),
            ["sources.enabled[1]"],
        ),
        (lambda t: t.replace('name = "Pengfei Zuo"', 'name = "Danyang Zhuo"'), ["listed twice"]),
        (lambda t: t + "\nextra = 1\n", ["extra", "unknown key"]),
    ],
)
def test_bad_watchlists_name_line_and_field(tmp_path: Path, edit, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WatchlistError) as info:
        load_watchlist(write(tmp_path, edit(GOOD)))
    message = str(info.value)
    for part in expected:
        assert part in message, message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match=r"invalid TOML.*line 2"):
        load_watchlist(write(tmp_path, 'contact_email = "a@b.c"\nresearchers = = 3\n'))
    with pytest.raises(WatchlistError, match="cannot read watchlist"):
        load_watchlist(tmp_path / "nope.toml")


def test_no_researchers(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="researchers"):
        load_watchlist(write(tmp_path, 'contact_email = "a@b.co"\n'))


def test_a_profile_must_name_exactly_one_researcher() -> None:
    base = {
        "contact_email": "a@b.org",
        "researchers": [
            {"name": "Jun Li", "aliases": ["J. Li"]},
            {"name": "Jia Li", "aliases": ["J. Li"]},
        ],
    }
    profile = {"recipe": "dblp_person", "url": "https://dblp.org/pid/1.html"}
    with pytest.raises(ValidationError, match="names several researchers"):
        Watchlist.model_validate({**base, "profiles": [{**profile, "researcher": "J. Li"}]})
    with pytest.raises(ValidationError, match="is not a watchlist researcher"):
        Watchlist.model_validate({**base, "profiles": [{**profile, "researcher": "Ann Lee"}]})
    ok = Watchlist.model_validate({**base, "profiles": [{**profile, "researcher": "jia li"}]})
    assert ok.researcher_named("jia li").name == "Jia Li"

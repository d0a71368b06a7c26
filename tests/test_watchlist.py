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
        (lambda t: t + "\n[[researchers]]\n", ["researchers[2].name", "required: add it"]),
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


# ---------------------------------------------------------------- checked before any request


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # a cron of five fields whose values are out of range: `serve` used to find it
        (lambda t: t.replace('cron = "0 5 * * *"', 'cron = "0 25 * * *"'), ["schedule.cron"]),
        (lambda t: t.replace('cron = "0 5 * * *"', 'cron = "61 5 * * MON"'), ["schedule.cron"]),
        (
            lambda t: t.replace('cron = "0 5 * * *"', 'cron = "0 5 * * *"\ntimezone = "Mars/Base"'),
            ["watchlist.toml:5", "schedule.timezone", "'Mars/Base' is not an IANA time zone"],
        ),
        (
            lambda t: t.replace(
                'cron = "0 5 * * *"', 'cron = "0 5 * * *"\ntimezone = "Europe/Berln"'
            ),
            ["did you mean 'Europe/Berlin'"],
        ),
        # ORCID with a wrong check digit (ISO 7064 MOD 11-2): 0000-0002-1825-0097 is valid
        (
            lambda t: t.replace("0000-0002-1825-0097", "0000-0002-1825-0098"),
            ["watchlist.toml:10", "researchers[0].orcid", "check digit should be '7'"],
        ),
        (
            lambda t: (
                t + '\n[[profiles]]\nresearcher = "Pengfei Zuo"\nrecipe = "dblp_persn"\n'
                'url = "https://dblp.org/pid/1.html"\n'
            ),
            ["profiles[0].recipe", "no shipped recipe named 'dblp_persn'", "did you mean"],
        ),
        (
            lambda t: (
                t + '\n[[profiles]]\nresearcher = "Pengfei Zuo"\nrecipe = "recipes/mine.toml"\n'
                'url = "https://dblp.org/pid/1.html"\n'
            ),
            ["profiles[0].recipe", "recipes/mine.toml: cannot read recipe"],
        ),
    ],
)
def test_schedule_recipes_and_orcids_are_checked_at_load(  # type: ignore[no-untyped-def]
    tmp_path: Path, edit, expected: list[str]
) -> None:
    with pytest.raises(WatchlistError) as info:
        load_watchlist(write(tmp_path, edit(GOOD)))
    for part in expected:
        assert part in str(info.value), str(info.value)


def test_valid_orcids_with_x_check_digit_and_shipped_recipe_load(tmp_path: Path) -> None:
    text = GOOD.replace("0000-0002-1825-0097", "0000-0002-1694-233X") + (
        '\n[[profiles]]\nresearcher = "Pengfei Zuo"\nrecipe = "dblp_person"\n'
        'url = "https://dblp.org/pid/1.html"\n'
    )
    wl = load_watchlist(write(tmp_path, text))
    assert wl.researchers[0].orcid == "0000-0002-1694-233X"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace('name = "Pengfei Zuo"', 'name = "Pengfei Zuo"\naliasses = ["P"]'),
            "researchers[1].aliasses: unknown key; did you mean 'aliases'?",
        ),
        (
            lambda t: t + "\n[sources]\nmax_topic_result = 5\n",
            "sources.max_topic_result: unknown key; did you mean 'max_topic_results'?",
        ),
        (
            lambda t: t + '\n[sources]\nmax_topic_results = "lots"\n',
            "sources.max_topic_results: expected an integer, got text 'lots'",
        ),
        (
            lambda t: t + "\n[sources]\nsince_year = 1000\n",
            "sources.since_year: must be at least 1900, got 1000",
        ),
        (
            lambda t: t + '\n[sources]\nenabled = ["arxv"]\n',
            "sources.enabled[0]: 'arxv' is not one of: arxiv, openalex",
        ),
        (lambda t: t + "\n[budgets]\nopenalx = 3.0\n", "did you mean 'openalex'?"),
        (
            lambda t: t.replace('"me@example.org"', '"nobody"'),
            "contact_email: 'nobody' is not an email address like team@example.org",
        ),
        (lambda t: t.replace("[schedule]\n", "schedule = 3\n[x]\n"), "schedule: expected a table"),
    ],
)
def test_messages_are_in_our_words(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    """Wrong types, unknown keys and bad values read as the project's own messages: no
    pydantic wording ("Input should be", "Extra inputs are not permitted", "Field required")."""
    with pytest.raises(WatchlistError) as info:
        load_watchlist(write(tmp_path, edit(GOOD)))
    message = str(info.value)
    assert expected in message, message
    for pydantic_words in ("Input should", "Extra inputs", "Field required", "String should"):
        assert pydantic_words not in message, message

"""Entity resolution measured on the evaluation set (tests/resolution/): targets and hard cases.

Each hard case is its own test, so a failure names the case and lists its false and missed
pairs (records and true works). Figures: `python -m tests.resolution.evaluate`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl
import pytest

from tests.resolution import build, evaluate
from tests.resolution.evaluate import BASELINE, Evaluation

TRUTH = evaluate.load_truth()
WORK_CASES = sorted({c for w in TRUTH["works"].values() for c in w["cases"]} | {BASELINE})
GROUPS: dict[str, list[str]] = defaultdict(list)
for _label, _meta in TRUTH["works"].items():
    if _meta["group"]:
        GROUPS[_meta["group"]].append(_label)
# cases every evaluation set must cover, each with several works
REQUIRED_CASES = (
    "doi_variants",
    "arxiv_datacite_doi",
    "arxiv_version_suffix",
    "arxiv_old_style",
    "preprint_published",
    "preprint_year_plus_one",
    "latex_title",
    "british_american",
    "subtitle_variant",
    "retitled_linked_by_id",
    "other_id_links",
    "same_title",
    "generic_title",
    "name_variants",
    "diacritics",
    "transliteration",
    "cjk",
    "family_name_first",
    "truncated_authors",
    "initials_collision",
    "namesake_orcid",
    "implausible_profile",
    "noise_missing_year",
    "noise_missing_authors",
    "noise_html_title",
    "noise_trailing_period",
    # names of many cultures (issue 9)
    "given_name_as_title",
    "namesake_surname",
    "name_particles",
    "double_family_name",
    "non_latin_script",
    # another author id of a source that knows the researcher: namesake, or split profile
    "namesake_source_id",
    "split_profile",
)
SINGLE_INSTANCE_OK = {"article_dropped", "british_american", "huge_author_list"}


@pytest.fixture(scope="module")
def result() -> Evaluation:
    return evaluate.evaluate()


def _explain(errs: dict[str, list[Any]]) -> str:
    lines = []
    for a, b, wa, wb, _ in errs["false_merges"]:
        lines.append(f"false merge {a[0]}:{a[1]} ({wa}) + {b[0]}:{b[1]} ({wb})")
    for a, b, wa, _, _ in errs["missed_merges"]:
        lines.append(f"missed merge {a[0]}:{a[1]} / {b[0]}:{b[1]} ({wa})")
    for w, rid, _ in errs["false_authors"]:
        lines.append(f"{rid} wrongly credited with {w}")
    for w, rid, _ in errs["missed_authors"]:
        lines.append(f"{rid} not credited with {w}")
    return "\n".join(lines)


def test_regenerating_gives_identical_files() -> None:
    files = build.build()
    on_disk = {
        p.relative_to(build.HERE).as_posix() for p in build.PAYLOADS.rglob("*") if p.is_file()
    } | {"truth.json"}
    assert set(files) == on_disk
    for rel, text in files.items():
        assert (build.HERE / rel).read_text(encoding="utf-8") == text, rel


def test_set_covers_sources_and_hard_cases() -> None:
    records = TRUTH["records"]
    assert len(records) >= 320
    assert {r["source"] for r in records} >= set(build.SOURCES)
    per_case: dict[str, int] = defaultdict(int)
    for w in TRUTH["works"].values():
        for c in w["cases"]:
            per_case[c] += 1
    for case in REQUIRED_CASES:
        assert per_case[case] >= (1 if case in SINGLE_INSTANCE_OK else 2), case
    assert len([g for g, works in GROUPS.items() if len(works) >= 2]) >= 6


def test_every_payload_parses_and_every_record_is_resolved(result: Evaluation) -> None:
    assert result.quarantined == []
    assert result.unresolved == []
    assert result.n_records == len(TRUTH["records"])


def test_works_precision_and_recall(result: Evaluation) -> None:
    print(result.report())
    assert result.works.precision >= 0.995, result.works.line("works")
    assert result.works.recall >= 0.98, result.works.line("works")


def test_watched_author_precision(result: Evaluation) -> None:
    print(result.authors.line("watched authors"))  # recall is reported, not a target
    assert result.authors.precision >= 0.99, result.authors.line("watched authors")


@pytest.mark.parametrize("case", WORK_CASES)
def test_hard_case(result: Evaluation, case: str) -> None:
    empty: dict[str, list[Any]] = {
        "false_merges": [],
        "missed_merges": [],
        "false_authors": [],
        "missed_authors": [],
    }
    errs = result.errors_by_case().get(case, empty)
    assert not any(errs.values()), f"[{case}]\n{_explain(errs)}"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_same_title_works_stay_apart(result: Evaluation, group: str) -> None:
    labels = set(GROUPS[group])
    merged = [
        (a, b, wa, wb) for a, b, wa, wb, _ in result.false_merges if wa in labels and wb in labels
    ]
    assert merged == [], f"{group}: {merged}"


@pytest.mark.parametrize(
    "label",
    sorted(w for w, m in TRUTH["works"].items() if m["cases"] and m["cases"] != ["same_title"]),
)
def test_work_records_merge(result: Evaluation, label: str) -> None:
    missed = [(a, b) for a, b, wa, _, _ in result.missed_merges if wa == label]
    assert missed == [], f"{label}: {missed}"


# Names of many cultures (h60-h74): unwatched co-authors keep their whole name, and people who
# share only a family name (or part of one) are never one author.
WHOLE_NAMES = (
    "Sam Lam",
    "W. Lam",
    "Wing Chan",
    "Mahdi Rostami",
    "MD Abdul Karim",
    "Prince Kumar",
    "Judge Chen",
    "Sheikh Hasib",
    "Rafiqul Islam",
    "Lena Berg",
    "María García",
    "Luis Ortega Ruiz",
)


@pytest.mark.parametrize("name", WHOLE_NAMES)
def test_coauthor_names_are_never_shortened(result: Evaluation, name: str) -> None:
    authorships = result.tables["authorships"]
    rows = authorships.filter(pl.col("author_name") == name)
    family = name.split()[-1]
    shown = sorted({n for n in authorships["author_name"] if n and family in n})
    assert rows.height > 0, f"{name!r} is shown as one of {shown}"
    assert not rows["is_watched"].any()
    same_id = authorships.filter(pl.col("author_id").is_in(rows["author_id"].implode()))
    assert set(same_id["author_name"]) == {name}, same_id.select("author_id", "author_name")

"""Person names of many cultures, ids for any script, one DOI / arXiv-id parser.

The names are real-world shapes (given names a title list would take for honorifics, Scholar
initials, family-name-first orders, particles, double family names, non-Latin scripts).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.sources import nsf_awards
from flows.watchlist import load_watchlist
from transforms import ids, names

ROOT = Path(__file__).resolve().parents[1]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# name -> (display, given, family, suffix, initials only, co-author key)
SPLITS = {
    "Wing Lam": ("Wing Lam", ("Wing",), ("Lam",), "", False, "wing-lam"),
    "Mahdi Cheraghchi": ("Mahdi Cheraghchi", ("Mahdi",), ("Cheraghchi",), "", False, None),
    "Md Rafiqul Islam Rabin": (None, ("Md", "Rafiqul", "Islam"), ("Rabin",), "", False, None),
    "Md. Rafiqul Islam Rabin": (None, ("Md", "Rafiqul", "Islam"), ("Rabin",), "", False, None),
    "MD Rafiqul Islam Rabin": (None, ("MD", "Rafiqul", "Islam"), ("Rabin",), "", False, None),
    "Judge Chen": (None, ("Judge",), ("Chen",), "", False, "judge-chen"),
    "Prince Kumar": (None, ("Prince",), ("Kumar",), "", False, "prince-kumar"),
    "Sheikh Hasina": (None, ("Sheikh",), ("Hasina",), "", False, "sheikh-hasina"),
    # Scholar-style initials
    "SA Los": (None, ("SA",), ("Los",), "", True, "s-los"),
    "ST Lee": (None, ("ST",), ("Lee",), "", True, None),
    "MS Dhoni": (None, ("MS",), ("Dhoni",), "", True, None),
    "JR Smith": (None, ("JR",), ("Smith",), "", True, "j-smith"),
    "Zhuo DY": (None, ("DY",), ("Zhuo",), "", True, "d-zhuo"),
    # honorifics written as honorifics
    "Dr. Jane Smith": ("Dr. Jane Smith", ("Jane",), ("Smith",), "", False, "jane-smith"),
    "Prof. Dr. Hans Müller": (None, ("Hans",), ("Muller",), "", False, "hans-muller"),
    "Dr John Smith": (None, ("John",), ("Smith",), "", False, "john-smith"),
    # suffixes: shown, never keyed
    "Martin Luther King Jr.": (None, ("Martin", "Luther"), ("King",), "Jr.", False, None),
    "Smith, John, V": ("John Smith V", ("John",), ("Smith",), "V", False, "john-smith"),
    "King, Jr., Martin Luther": ("Martin Luther King Jr.", None, ("King",), "Jr.", False, None),
    "Ivanov IV": (None, ("IV",), ("Ivanov",), "", True, None),  # initials, not a suffix
    "Smith, V.": ("V. Smith", ("V",), ("Smith",), "", True, "v-smith"),
    "John Smith, PhD": ("John Smith, PhD", ("John",), ("Smith",), "PhD", False, "john-smith"),
    "Rahman, Md": ("Md Rahman", ("Md",), ("Rahman",), "", False, "md-rahman"),
    "Rahman, MD": ("MD Rahman", ("MD",), ("Rahman",), "", True, "m-rahman"),  # or M. D.
    # structure given by the source
    "Zhuo, Danyang": ("Danyang Zhuo", ("Danyang",), ("Zhuo",), "", False, "danyang-zhuo"),
    "García Márquez, Gabriel": (
        "Gabriel García Márquez",
        None,
        ("Garcia", "Marquez"),
        "",
        False,
        None,
    ),
    "M. Bran, Andres": ("Andres M. Bran", ("Andres",), ("M", "Bran"), "", False, None),
    # particles start the family name
    "Johannes Diderik van der Waals": (None, None, ("van", "der", "Waals"), "", False, None),
    "John von Neumann": (None, ("John",), ("von", "Neumann"), "", False, "john-von-neumann"),
    # other scripts and orders
    "卓丹阳": ("卓丹阳", ("DanYang",), ("Zhuo",), "", False, "danyang-zhuo"),
    "김정은": (None, ("JeongEun",), ("Gim",), "", False, None),
    "Пётр Ёлкин": (None, ("Petr",), ("Elkin",), "", False, "petr-elkin"),
    "Nguyễn Văn Anh": ("Nguyễn Văn Anh", None, ("Anh",), "", False, "nguyen-van-anh"),
    "Erd{\\H{o}}s, P{\\'a}l": ("Pál Erdős", ("Pal",), ("Erdos",), "", False, "pal-erdos"),
    "  Ion \u00a0 Stoica ": ("Ion Stoica", ("Ion",), ("Stoica",), "", False, "ion-stoica"),
}


@pytest.mark.parametrize("raw", sorted(SPLITS))
def test_names_split_without_losing_a_word(raw: str) -> None:
    display, given, family, suffix, only, key = SPLITS[raw]
    n = names.analyse(raw)
    assert n.display == (display or " ".join(raw.split()))
    if given is not None:
        assert n.given == given
    assert n.family == family
    assert (n.suffix, n.initials_only) == (suffix, only)
    if key is not None:
        assert n.key == key
    # every word of the name (honorifics and suffixes aside) is in the co-author key
    dropped = {"dr", "prof", "jr", "v"}
    kept = [w for w in words(" ".join(n.given + n.family)) if w not in dropped]
    assert kept and all(w in n.key.split("-") or len(w) <= 3 for w in kept), (n.key, kept)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Wing Lam", "Lam, Wing"),
        ("Md Rafiqul Islam Rabin", "Rabin, Md Rafiqul Islam"),
        ("Md Rafiqul Islam Rabin", "MD Rafiqul Islam Rabin"),
        ("Md Rafiqul Islam Rabin", "Md. Rafiqul Islam Rabin"),
        ("Erdős Pál", "Pál Erdős"),  # Hungarian family-first order
        ("Kovács Eszter", "Eszter Kovacs"),
        ("Nguyễn Văn Minh", "Minh Van Nguyen"),  # Vietnamese, Western order
        ("Kim Ji-hoon", "Jihoon Kim"),  # Korean, hyphenated given name
        ("Gabriel García Márquez", "García Márquez, Gabriel"),  # Spanish double family name
        ("Gabriel García-Márquez", "García Márquez, Gabriel"),
        ("Lena van der Berg", "van der Berg, Lena"),
        ("Lena van der Berg", "Lena Van Der Berg"),
        ("Abd al-Rahman Khalil", "Abd al Rahman Khalil"),  # Arabic article joined or apart
        ("林婉清", "Wanqing Lin"),
        ("林婉清", "Lin Wanqing"),
        ("Пётр Ёлкин", "Petr Elkin"),
        ("Robert Hallowell Jr.", "Hallowell, Robert, Jr."),
        ("Robert Hallowell Jr.", "Robert Hallowell"),  # a suffix some sources leave out
        ("Peng Fei Zuo", "Pengfei Zuo"),
    ],
)
def test_one_person_written_many_ways_meets(a: str, b: str) -> None:
    assert names.matches(a, names.wanted_keys([b])) and names.matches(b, names.wanted_keys([a]))
    assert names.compatible(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Wing Lam", "Sam Lam"),
        ("Wing Lam", "Lam"),
        ("Md Rafiqul Islam Rabin", "Rafiqul Islam"),
        ("Md Rafiqul Islam Rabin", "Md Rabin"),
        ("Eszter Kovács", "Kovács Péter"),
        ("Lena van der Berg", "Lena Berg"),
        ("María García Márquez", "María García"),
        ("Danyang Zhuo", "Dan Zhuo"),
        ("Pengfei Zuo", "Fei Zuo"),
        ("Wing Lam", "S. Lam"),
    ],
)
def test_namesakes_do_not_meet(a: str, b: str) -> None:
    assert not names.matches(a, names.wanted_keys([b]))
    assert not names.matches(b, names.wanted_keys([a]))
    assert not names.compatible(a, b)


def test_initials_are_weak_evidence() -> None:
    # an initials form meets a full name only where initials are asked for
    assert not names.matches("W. Lam", names.wanted_keys(["Wing Lam"]))
    assert names.matches("W. Lam", names.wanted_keys(["Wing Lam", "W. Lam"]))
    assert names.matches("SA Los", names.wanted_keys(["S. A. Los"]))
    assert names.compatible("W. Lam", "Wing Lam") and names.compatible("D Zhuo", "Zhuo, Danyang")
    assert names.match_keys("SA Los") == ((), ("s los",), True)


def test_fetch_filters_and_resolution_use_one_keyer() -> None:
    """The fetch-time filters of Crossref, DBLP and Scholar Feed, NSF's PI check and the
    resolver's keys all come from transforms.names (flows/sources/names.py is gone)."""
    from flows.sources import crossref, dblp, scholar_feed
    from transforms import normalize

    for module in (crossref, dblp, scholar_feed):
        assert module.matches is names.matches and module.wanted_keys is names.wanted_keys
    assert normalize.match_keys is names.match_keys and normalize.parse_name is names.parse_name
    assert nsf_awards.names_match("Peng Fei Zuo", ["Pengfei Zuo"])
    assert nsf_awards.names_match("卓丹阳", ["Danyang Zhuo"])
    assert not (ROOT / "flows" / "sources" / "names.py").exists()


# --- ids for any script -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Danyang Zhuo", "danyang-zhuo"),
        ("José Álvarez", "jose-alvarez"),
        ("Łukasz Kaiser", "lukasz-kaiser"),
        ("卓丹阳", "zhuo-dan-yang"),
        ("乔雨婷", "qiao-yu-ting"),
        ("김정은", "gim-jeong-eun"),
        ("Пётр Ёлкин", "petr-elkin"),
        ("Γιώργος Παπαδόπουλος", "giorgos-papadopoylos"),
    ],
)
def test_ids_in_any_script_are_readable(name: str, slug: str) -> None:
    assert names.slug(name) == slug


def test_ids_are_never_empty_and_stable() -> None:
    assert re.fullmatch(r"id-[0-9a-f]{10}", names.slug("!!!"))
    assert names.slug("!!!") == names.slug(" !!! ") != names.slug("???")
    assert names.analyse("—").key.startswith("name-")


def test_watchlist_of_non_latin_names_gets_distinct_ids(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        'contact_email = "me@example.org"\n'
        + "".join(
            f'[[researchers]]\nname = "{n}"\n'
            for n in ("卓丹阳", "乔雨婷", "Пётр Ёлкин", "عبد الرحمن الخليل")
        ),
        encoding="utf-8",
    )
    rids = [r.researcher_id for r in load_watchlist(path).researchers]
    assert rids == ["zhuo-dan-yang", "qiao-yu-ting", "petr-elkin", "bd-lrhmn-lkhlyl"]


# --- DOIs and arXiv ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "doi"),
    [
        ("10.1145/3600006.3613165", "10.1145/3600006.3613165"),
        ("https://doi.org/10.1145/3600006.3613165", "10.1145/3600006.3613165"),
        ("http://dx.doi.org/10.1038/S42256-024-00832-8", "10.1038/s42256-024-00832-8"),
        ("doi: 10.1145/X", "10.1145/x"),
        ("https://doi.org/10.1002%2F%28SICI%29", "10.1002/(sici)"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_doi(text: str | None, doi: str | None) -> None:
    assert ids.doi(text) == doi


@pytest.mark.parametrize(
    ("text", "aid"),
    [
        ("2309.06180", "2309.06180"),
        ("2309.06180v2", "2309.06180"),
        ("arXiv:2309.06180v2", "2309.06180"),
        ("https://arxiv.org/abs/2309.06180v1", "2309.06180"),
        ("1501.0001", "1501.0001"),  # four-digit numbers before 2015
        ("hep-ph/0301050", "hep-ph/0301050"),
        ("Astro-Ph/0601001v1", "astro-ph/0601001"),
        ("math.GT/0309136", "math/0309136"),  # subject class dropped
        ("cs.DC/0601001v3", "cs/0601001"),
        ("10.48550/arXiv.2309.06180", None),  # a DOI, see arxiv_id_from_doi
        ("2309.061", None),
        ("see 2309.06180", None),
        ("", None),
    ],
)
def test_arxiv_id(text: str, aid: str | None) -> None:
    assert ids.arxiv_id(text) == aid


@pytest.mark.parametrize(
    ("text", "aid"),
    [
        ("10.48550/arXiv.2309.06180", "2309.06180"),
        ("https://doi.org/10.48550/ARXIV.2309.06180", "2309.06180"),
        ("doi:10.48550/arxiv.hep-th/9901001", "hep-th/9901001"),
        ("https://api.datacite.org/dois/10.48550/arxiv.2304.05376", "2304.05376"),
        ("10.1145/3600006.3613165", None),
    ],
)
def test_arxiv_datacite_doi(text: str, aid: str | None) -> None:
    assert ids.arxiv_id_from_doi(text) == aid
    assert ids.is_arxiv_doi(text) == (aid is not None)


def test_arxiv_in_urls_and_text() -> None:
    assert ids.arxiv_id_from_url("https://arxiv.org/pdf/2309.06180v3.pdf") == "2309.06180"
    assert ids.arxiv_id_from_url("http://arxiv.org/abs/hep-ph/0301050v2") == "hep-ph/0301050"
    assert ids.arxiv_id_in_text("arXiv preprint arXiv:2506.19827v1, 2025") == "2506.19827"
    assert ids.arxiv_id_in_text("Phys. Lett. B 560 (2003)") is None


def test_polars_wrappers_agree_with_the_parser() -> None:
    import polars as pl

    from transforms import normalize as norm

    texts = ["arXiv:2309.06180v2", "Astro-Ph/0601001v1", "math.GT/0309136", "2401.00001"]
    frame = pl.DataFrame({"t": texts}).select(a=norm.arxiv_id(pl.col("t")))
    assert frame["a"].to_list() == [ids.arxiv_id(t) for t in texts]
    dois = ["https://doi.org/10.48550/arXiv.2309.06180", "doi:10.1145/X"]
    got = pl.DataFrame({"d": dois}).select(
        doi=norm.doi(pl.col("d")), aid=norm.arxiv_id_from_doi(pl.col("d"))
    )
    assert got.rows() == [(None, "2309.06180"), ("10.1145/x", None)]


# --- one place --------------------------------------------------------------------------------------


def _code_strings(path: Path) -> list[str]:
    """String constants of a module that are code, not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_doi_and_arxiv_patterns_live_in_one_module() -> None:
    """arXiv's DataCite DOI and the arXiv id shape are written as patterns in transforms/ids.py
    only (the demo's fake upstreams write such DOIs as data, not patterns)."""
    patterns = (r"10\.48550", r"\d{4}\.\d{4,5}", r"v\d+$")
    found = [
        (p.relative_to(ROOT).as_posix(), pattern)
        for folder in ("flows", "transforms")
        for p in sorted((ROOT / folder).rglob("*.py"))
        for s in _code_strings(p)
        for pattern in patterns
        if pattern in s
    ]
    assert {f for f, _ in found} == {"transforms/ids.py"}, found


def test_shared_modules_import_no_polars() -> None:
    """flows/sources import transforms.names and transforms.ids; those must not pull polars."""
    code = (
        "import sys, transforms.names, transforms.ids; "
        "import flows.sources.crossref, flows.sources.dblp, flows.sources.scholar_feed; "
        "sys.exit('polars' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0

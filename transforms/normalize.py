"""Normalisation of identifiers, titles and person names (pure polars expressions).

Library-backed where the job is subtle: pylatexenc turns LaTeX in titles into text, nameparser
splits "Zhuo, Danyang" / "Danyang Zhuo" / "D. Zhuo" into parts. Those run once per distinct value.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from functools import lru_cache

import polars as pl
from anyascii import anyascii
from nameparser import HumanName
from pylatexenc.latex2text import LatexNodes2Text

_DOI_PREFIX = r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)"
_ARXIV_DOI = r"^10\.48550/arxiv\.(.+)$"
_LATEX_HINT = re.compile(r"[\\$^_{}~]")
_latex = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def doi(expr: pl.Expr) -> pl.Expr:
    """Lower-case DOI without resolver prefix; arXiv's DataCite DOIs are not DOIs of a version."""
    cleaned = expr.str.strip_chars().str.to_lowercase().str.replace(_DOI_PREFIX, "")
    return (
        pl.when(cleaned.is_null() | (cleaned == "") | cleaned.str.contains(_ARXIV_DOI))
        .then(None)
        .otherwise(cleaned)
    )


def arxiv_id_from_doi(expr: pl.Expr) -> pl.Expr:
    return arxiv_id(
        expr.str.strip_chars()
        .str.to_lowercase()
        .str.replace(_DOI_PREFIX, "")
        .str.extract(_ARXIV_DOI, 1)
    )


def arxiv_id(expr: pl.Expr) -> pl.Expr:
    """`arXiv:2309.06180v2` -> `2309.06180`; old-style `Astro-Ph/0601001v1` -> `astro-ph/0601001`."""
    cleaned = (
        expr.str.strip_chars()
        .str.replace(r"(?i)^(?:https?://arxiv\.org/abs/|arxiv:)", "")
        .str.replace(r"v\d+$", "")
    )
    old_style = cleaned.str.contains(r"/")
    return (
        pl.when(cleaned.is_null() | (cleaned == ""))
        .then(None)
        .when(old_style)
        .then(cleaned.str.to_lowercase())
        .otherwise(cleaned)
    )


@lru_cache(maxsize=65_536)
def _clean_title(text: str) -> str:
    if _LATEX_HINT.search(text):
        # pylatexenc is lenient; should it still fail, the raw text is kept, never the row dropped
        with contextlib.suppress(Exception):
            text = _latex.latex_to_text(text)
    return " ".join(text.split())


def title(expr: pl.Expr) -> pl.Expr:
    """Readable title: LaTeX rendered as text, whitespace collapsed."""
    return expr.map_elements(_clean_title, return_dtype=pl.String, skip_nulls=True)


def words(expr: pl.Expr) -> pl.Expr:
    """Accents, case and punctuation removed; words separated by single spaces."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def title_key(expr: pl.Expr) -> pl.Expr:
    """Matching key: accents, case, punctuation and spaces removed, so "S^3: Multi-Tenant"
    (LaTeX rendered) and "S3 - MultiTenant" (another source's spelling) meet."""
    return words(expr).str.replace_all(" ", "")


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


@lru_cache(maxsize=131_072)
def parse_name(raw: str) -> tuple[str, str, str]:
    """-> (display "First Last", key "first-last", short key "f-last")."""
    text = " ".join(raw.replace("\u00a0", " ").split())
    name = HumanName(text)
    first, last = name.first.strip(), name.last.strip()
    if not last:  # a single word ("Scholar") or something nameparser could not split
        last, first = first or text, ""
    display = " ".join(p for p in (first, name.middle, last, name.suffix) if p).strip() or text
    key = _ascii_slug(f"{first} {last}") or _ascii_slug(text) or text.lower()
    short = _ascii_slug(f"{first[:1]} {last}") if first else _ascii_slug(last)
    return display, key, short


def name_parts(expr: pl.Expr) -> pl.Expr:
    """Struct {display, key, short} of a person's name."""
    return expr.map_elements(
        lambda s: dict(zip(("display", "key", "short"), parse_name(s), strict=True)),
        return_dtype=pl.Struct({"display": pl.String, "key": pl.String, "short": pl.String}),
        skip_nulls=True,
    )


def name_key(raw: str) -> str:
    return parse_name(raw)[1]


# --- person-name matching keys (entity resolution) -----------------------------------------------

# A list that stops short says so: "A, B, C et al.", a last entry "others" / "et al." / "…".
TRUNCATION_MARKER = r"(?i)^\s*(?:et\.?\s*al\.?|and\s+others|others|\.\.\.|…)\s*$"
ET_AL_SUFFIX = r"(?i)[,;]?\s+(?:et\.?\s*al\.?|and\s+others)\s*$"
_TRUNCATION_MARKER = re.compile(TRUNCATION_MARKER)
_ET_AL_SUFFIX = re.compile(ET_AL_SUFFIX)
_NAME_SUFFIX = re.compile(r"(?i)^(?:jr|sr|ii|iii|iv|phd|md)$")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
# Scripts written without spaces between family and given name (Han, Kana, Hangul).
_UNSPACED_SCRIPT = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def is_truncation_marker(raw: str) -> bool:
    """Whether an author-list entry only says the list goes on ("et al.", "others")."""
    return bool(_TRUNCATION_MARKER.match(raw))


def strip_et_al(raw: str) -> str:
    """ "C. Lee et al." -> "C. Lee" (the last name of a truncated list carries the marker)."""
    return _ET_AL_SUFFIX.sub("", raw).strip()


def _tokens(text: str) -> list[str]:
    # anyascii transliterates every script (Cyrillic, Greek, CJK pinyin) and drops diacritics;
    # joiners go ("Peng-Fei" -> "PengFei", "O'Neil" -> "ONeil"); dots separate initials ("D.Y.")
    ascii_text = anyascii(text)
    ascii_text = re.sub(r"[-\u2010\u2011'\u2019`]", "", ascii_text)
    words = re.split(r"[\s.]+", re.sub(r"[^A-Za-z0-9.\s]", " ", ascii_text))
    return [w for w in words if w and not _NAME_SUFFIX.match(w)]


def _is_initials(token: str, all_upper: bool) -> bool:
    """ "D" / "DY" (PubMed style, only in a name not written all in capitals)."""
    return len(token) == 1 or (not all_upper and token.isupper() and len(token) <= 3)


def _name_form(text: str) -> tuple[list[str], list[str], bool] | None:
    """-> (given tokens, family tokens, given is initials only), or None for a one-word name."""
    if _UNSPACED_SCRIPT.search(text) and " " not in text.strip() and "," not in text:
        # 卓丹阳 -> "ZhuoDanYang": family name first, one syllable per capital
        syllables = re.findall(r"[A-Z][a-z]*", anyascii(text))
        if len(syllables) < 2:
            return None
        return ["".join(syllables[1:])], syllables[:1], False
    if text.count(",") == 1:
        family_part, given_part = (p.strip() for p in text.split(","))
        family, given = _tokens(family_part), _tokens(given_part)
        if family and given:
            upper = text.upper() == text
            return given, family, all(_is_initials(t, upper) for t in given)
        text = family_part or given_part
    tokens = _tokens(text)
    if len(tokens) < 2:
        return None
    upper = text.upper() == text
    initial = [_is_initials(t, upper) for t in tokens]
    if initial[0] and not all(initial):  # "D. Zhuo", "D. Y. Zhuo", "J. Alvarez Perez"
        n = initial.index(False)
        return tokens[:n], tokens[n:], True
    if initial[-1] and not all(initial):  # "Zhuo D", "Zhuo DY" (family name, then initials)
        n = len(tokens) - initial[::-1].index(False)
        return tokens[n:], tokens[:n], True
    return tokens[:-1], tokens[-1:], False


def _keys_of(text: str) -> tuple[list[str], list[str], bool]:
    form = _name_form(text)
    if form is None:
        return [], [], False
    given, family, initials_only = form
    fam = "".join(family).lower()
    initials = [f"{given[0][0].lower()} {fam}"]
    if len(family) == 1 and len(given) >= 2 and len(given[-1]) > 1 and not initials_only:
        # "José Álvarez Pérez" is also "J. Álvarez Pérez": a two-word family name
        initials.append(f"{given[0][0].lower()} {(given[-1] + family[0]).lower()}")
    if initials_only:
        return [], initials, True
    words = sorted(w.lower() for w in (*given, *family) if len(w) > 1)
    full = [" ".join(words)] if len(words) >= 2 else []
    spelled = [w for w in given if len(w) > 1]
    if len(spelled) >= 2:
        # romanised given names are written apart or together ("Peng Fei Zuo" / "Pengfei Zuo")
        joined = sorted(["".join(spelled).lower(), *(w.lower() for w in family if len(w) > 1)])
        full.append(" ".join(joined))
    return full, initials, False


@lru_cache(maxsize=131_072)
def match_keys(raw: str) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """-> (full keys, initials keys, initials only) of a person's name.

    Full key: the name's words (initials dropped) transliterated to ASCII, lower-cased, joined
    words kept together and sorted, so "Zhuo, Danyang", "DANYANG ZHUO", "Zhuo Danyang" and
    "卓丹阳" meet, "José Álvarez" is "jose alvarez", "Peng-Fei" is "pengfei" (and "Peng Fei Zuo"
    also keys as "pengfei zuo": given names written apart or together); German umlauts also
    give their "ue" spelling ("Müller" keys as "muller" and "mueller"). Initials key: first
    initial and family name ("d zhuo"), the only key of "D. Zhuo" / "Zhuo D" (initials only).
    """
    text = " ".join(strip_et_al(raw.replace("\u00a0", " ")).split())
    full, initials, only = _keys_of(text)
    if text.translate(_UMLAUTS) != text:
        alt_full, alt_initials, _ = _keys_of(text.translate(_UMLAUTS))
        full, initials = full + alt_full, initials + alt_initials
    return tuple(dict.fromkeys(full)), tuple(dict.fromkeys(initials)), only


MATCH_KEYS = pl.Struct(
    {
        "full_keys": pl.List(pl.String),
        "initials_keys": pl.List(pl.String),
        "initials_only": pl.Boolean,
    }
)


def _packed_keys(raw: str) -> str:
    full, initials, only = match_keys(raw)
    return "|".join(full) + "\t" + "|".join(initials) + ("\t1" if only else "\t0")


def packed_name_keys(expr: pl.Expr) -> pl.Expr:
    """`match_keys` of each value as one string "full|…<TAB>initials|…<TAB>0/1" (Python per
    value: run it on distinct names, in a column of its own, then `unpack_name_keys`)."""
    return expr.map_elements(_packed_keys, return_dtype=pl.String, skip_nulls=True)


def unpack_name_keys(packed: pl.Expr) -> pl.Expr:
    """Struct {full_keys, initials_keys, initials_only} from `packed_name_keys`."""
    parts = packed.str.split_exact("\t", 2)

    def keys(field: str) -> pl.Expr:
        text = parts.struct.field(field)
        return (
            pl.when(text == "").then(pl.lit([], pl.List(pl.String))).otherwise(text.str.split("|"))
        )

    return pl.struct(
        full_keys=keys("field_0"),
        initials_keys=keys("field_1"),
        initials_only=parts.struct.field("field_2") == "1",
    )


def name_match_keys(expr: pl.Expr) -> pl.Expr:
    """Struct {full_keys, initials_keys, initials_only} (see `match_keys`)."""
    return unpack_name_keys(packed_name_keys(expr))

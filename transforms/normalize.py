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


def title_key(expr: pl.Expr) -> pl.Expr:
    """Matching key: accents, case, punctuation and spaces removed, so "S^3: Multi-Tenant"
    (LaTeX rendered) and "S3 - MultiTenant" (another source's spelling) meet."""
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", "")
    )


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

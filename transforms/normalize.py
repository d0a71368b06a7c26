"""Normalisation of identifiers, titles and person names (pure polars expressions).

Library-backed where the job is subtle: pylatexenc turns LaTeX in titles into text. The rules
for DOIs and arXiv ids live in `transforms.ids`, those for person names in `transforms.names`
(pure Python, shared with the fetch-time filters); this module wraps them for polars. Python
per value runs once per distinct value.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache

import polars as pl
from pylatexenc.latex2text import LatexNodes2Text

from transforms import ids
from transforms.names import (
    ET_AL_SUFFIX,
    TRUNCATION_MARKER,
    is_truncation_marker,
    match_keys,
    parse_name,
    strip_et_al,
)

__all__ = [
    "ET_AL_SUFFIX",
    "TRUNCATION_MARKER",
    "is_truncation_marker",
    "match_keys",
    "parse_name",
    "strip_et_al",
]

_LATEX_HINT = re.compile(r"[\\$^_{}~]")
_latex = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def doi(expr: pl.Expr) -> pl.Expr:
    """Lower-case DOI without resolver prefix; arXiv's DataCite DOIs are not DOIs of a version."""
    cleaned = expr.str.strip_chars().str.to_lowercase().str.replace(ids.DOI_PREFIX, "")
    return (
        pl.when(cleaned.is_null() | (cleaned == "") | cleaned.str.contains(ids.ARXIV_DOI))
        .then(None)
        .otherwise(cleaned)
    )


def arxiv_id_from_doi(expr: pl.Expr) -> pl.Expr:
    return arxiv_id(
        expr.str.strip_chars()
        .str.to_lowercase()
        .str.replace(ids.DOI_PREFIX, "")
        .str.extract(ids.ARXIV_DOI, 1)
    )


def arxiv_id(expr: pl.Expr) -> pl.Expr:
    """`arXiv:2309.06180v2` -> `2309.06180`; old-style `Astro-Ph/0601001v1` -> `astro-ph/0601001`,
    `math.GT/0309136` -> `math/0309136` (the patterns of `transforms.ids`)."""
    cleaned = (
        expr.str.strip_chars().str.replace(ids.ARXIV_PREFIX, "").str.replace(ids.ARXIV_VERSION, "")
    )
    old_style = cleaned.str.contains(r"/")
    return (
        pl.when(cleaned.is_null() | (cleaned == ""))
        .then(None)
        .when(old_style)
        .then(cleaned.str.replace(ids.ARXIV_SUBJECT_CLASS, "$1/").str.to_lowercase())
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


def name_parts(expr: pl.Expr) -> pl.Expr:
    """Struct {display, key, short} of a person's name (`transforms.names.parse_name`)."""
    return expr.map_elements(
        lambda s: dict(zip(("display", "key", "short"), parse_name(s), strict=True)),
        return_dtype=pl.Struct({"display": pl.String, "key": pl.String, "short": pl.String}),
        skip_nulls=True,
    )


# --- person-name matching keys (entity resolution): the rules live in transforms.names ---------


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

"""Person-name matching for sources searched by name (Crossref `query.author`, DBLP author search).

Name searches upstream are fuzzy and relevance-ranked: they return namesakes and near-namesakes.
A search hit counts as the watched researcher only when one of its names equals one of the
researcher's names (or aliases) up to case, accents, punctuation and word order, so "Zhuo,
Danyang", "danyang zhuo" and "Zhuo Danyang" meet, but "Dan Zhuo" does not (list it as an alias).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_JOINERS = re.compile(r"[-\u2010\u2011'\u2019]")  # Peng-Fei / O'Neil: one word
_SEPARATORS = re.compile(r"[^\w]+|_")


def name_key(raw: str) -> str:
    """Order-free key of a person's name: folded words, sorted."""
    folded = unicodedata.normalize("NFKD", raw)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    words = _SEPARATORS.sub(" ", _JOINERS.sub("", folded)).split()
    return " ".join(sorted(words))


def name_keys(names: Iterable[str]) -> set[str]:
    return {k for k in map(name_key, names) if k}


def matches(candidate: str | None, wanted: set[str]) -> bool:
    """Whether a name from a search hit is one of the wanted names (keys from `name_keys`)."""
    return bool(candidate) and name_key(candidate or "") in wanted

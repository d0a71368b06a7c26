"""DOIs and arXiv ids: the one parser (pure Python, no polars; `transforms.normalize` wraps the
same patterns in polars expressions, `flows/sources` parsers call the functions).

arXiv ids come new-style (`2309.06180`, `2309.06180v2`) and old-style (`hep-th/9901001`, with a
subject class `math.GT/0309136`, whose canonical id is `math/0309136`), bare or as `arXiv:…`,
an arxiv.org abs/pdf URL, or arXiv's DataCite DOI `10.48550/arXiv.…`. That DOI names the arXiv
record, not a version of record: it is never a work's DOI.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# Pattern strings valid in Python `re` and in polars (Rust regex) alike.
DOI_PREFIX = r"(?i)^(?:https?://(?:dx\.|www\.)?doi\.org/|doi:\s*)"
DOI_SHAPE = r"^10\.\d{4,9}/\S+$"
# after a resolver prefix or inside a URL (`https://api.datacite.org/dois/10.48550/arxiv.…`)
ARXIV_DOI = r"(?i)(?:^|/)10\.48550/arxiv\.(.+)$"
ARXIV_PREFIX = r"(?i)^(?:https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:\s*)"
ARXIV_VERSION = r"(?i)v\d+(?:\.pdf)?/?$"
ARXIV_NEW = r"\d{4}\.\d{4,5}"
ARXIV_OLD = r"[A-Za-z][A-Za-z\-]*(?:\.[A-Za-z\-]{2})?/\d{7}"
ARXIV_ID = rf"^(?:{ARXIV_NEW}|{ARXIV_OLD})$"
# "math.GT/0309136" -> "math/0309136" (the subject class is not part of the id)
ARXIV_SUBJECT_CLASS = r"^([A-Za-z\-]+)\.[A-Za-z\-]{2}/"
# an id inside free text ("arXiv:2403.19708v2", "arXiv: hep-ph/0301050") or an abs/pdf URL
ARXIV_IN_TEXT = rf"(?i)\barxiv:\s*({ARXIV_NEW}|{ARXIV_OLD})(?:v\d+)?"
ARXIV_URL = r"(?i)arxiv\.org/(?:abs|pdf)/([^\s?#]+?)(?:v\d+)?(?:\.pdf)?/?$"

_DOI_PREFIX = re.compile(DOI_PREFIX)
_DOI_SHAPE = re.compile(DOI_SHAPE)
_ARXIV_DOI = re.compile(ARXIV_DOI)
_ARXIV_PREFIX = re.compile(ARXIV_PREFIX)
_ARXIV_VERSION = re.compile(ARXIV_VERSION)
_ARXIV_ID = re.compile(ARXIV_ID)
_ARXIV_SUBJECT_CLASS = re.compile(ARXIV_SUBJECT_CLASS)
_ARXIV_IN_TEXT = re.compile(ARXIV_IN_TEXT)
_ARXIV_URL = re.compile(ARXIV_URL)


def doi(text: str | None) -> str | None:
    """`https://doi.org/10.1145/X` / `doi:10.1145/x` -> `10.1145/x`; None when not DOI-shaped.
    An arXiv DataCite DOI is returned as it is (see `is_arxiv_doi`)."""
    if not text:
        return None
    cleaned = _DOI_PREFIX.sub("", unquote(text.strip())).strip().lower()
    return cleaned if _DOI_SHAPE.match(cleaned) else None


def is_arxiv_doi(text: str | None) -> bool:
    """Whether a DOI (or a URL ending in one) is arXiv's DataCite DOI `10.48550/arXiv.…`."""
    return bool(text) and bool(_ARXIV_DOI.search(_DOI_PREFIX.sub("", (text or "").strip())))


def arxiv_id(text: str | None) -> str | None:
    """Canonical arXiv id (no prefix, no version; old-style archive lower-cased, subject class
    dropped), or None when the text is no arXiv id."""
    if not text:
        return None
    aid = _ARXIV_VERSION.sub("", _ARXIV_PREFIX.sub("", text.strip()))
    if not _ARXIV_ID.match(aid):
        return None
    if "/" in aid:
        aid = _ARXIV_SUBJECT_CLASS.sub(r"\1/", aid).lower()
    return aid


def arxiv_id_from_doi(text: str | None) -> str | None:
    """The arXiv id named by a DataCite DOI (`10.48550/arXiv.2309.06180`, with or without a
    resolver, or at the end of a URL such as `https://api.datacite.org/dois/…`)."""
    m = _ARXIV_DOI.search(_DOI_PREFIX.sub("", unquote(text.strip()))) if text else None
    return arxiv_id(m.group(1)) if m else None


def arxiv_id_from_url(url: str | None) -> str | None:
    """The arXiv id of an arxiv.org abs/pdf URL."""
    m = _ARXIV_URL.search(url.strip()) if url else None
    return arxiv_id(m.group(1)) if m else None


def arxiv_id_in_text(text: str | None) -> str | None:
    """The first `arXiv:<id>` written in free text (a venue line, a comment)."""
    m = _ARXIV_IN_TEXT.search(text) if text else None
    return arxiv_id(m.group(1)) if m else None

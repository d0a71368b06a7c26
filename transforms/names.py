"""Person names: cleaning, splitting, matching keys and ids (pure Python: no polars here).

The one place that decides whether two name strings can be the same person, for fetch-time
filters (`flows/sources`) and entity resolution (`transforms.authors`) alike; `transforms.
normalize` wraps it in polars expressions. Everything is cached per raw string.

Rules, in short:
- The display name is the source's own string, cleaned (LaTeX to text, Unicode NFC, spaces);
  only "Family, Given" is turned round. Nothing is dropped.
- Splitting never drops a word. The first word is a given name unless it is an honorific written
  as one ("Dr.", "Prof.", "Dr John Smith"); "Wing", "Md", "Judge", "Prince", "Sheikh" are names.
  Capitals before a family name are initials ("SA Los", "JR Smith"); a trailing "Jr."/"III"
  (or ", IV" / ", PhD" after a comma) is a suffix: shown, never part of a key.
- Structure wins over guessing: "Family, Given[, Suffix]" (BibTeX, Crossref via staging).
- Full keys are order-free (family-first names meet), initials keys ("w lam") are weak evidence.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from pylatexenc.latex2text import LatexNodes2Text

_LATEX_HINT = re.compile(r"[\\{}$]")
_latex = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)

# A list that stops short says so: "A, B, C et al.", a last entry "others" / "et al." / "…".
TRUNCATION_MARKER = r"(?i)^\s*(?:et\.?\s*al\.?|and\s+others|others|\.\.\.|…)\s*$"
ET_AL_SUFFIX = r"(?i)[,;]?\s+(?:et\.?\s*al\.?|and\s+others)\s*$"
_TRUNCATION_MARKER = re.compile(TRUNCATION_MARKER)
_ET_AL_SUFFIX = re.compile(ET_AL_SUFFIX)

# Honorifics: with a full stop anywhere before a name; bare ("Dr John Smith") only in title case
# and before two more words, so "DR Smith" stays initials and "Dr Smith" a name.
_HONORIFIC_DOTTED = re.compile(r"^(?:Dr|Prof|Mr|Mrs|Ms|Mx|Rev|Hon)\.$", re.I)
_HONORIFIC_BARE = frozenset({"Dr", "Prof", "Professor"})
# Suffixes at the end of a name; the ambiguous ones only after a comma ("Ivanov IV" is initials).
_SUFFIX_END = re.compile(r"^(?:[JS]r\.?|JR\.|SR\.|II|III)$")
# ("Rahman, Md" is a given name and "Smith, V." an initial: see `_split`)
_SUFFIX_AFTER_COMMA = re.compile(r"^(?:(?i:jr|sr|esq|ph\.?\s?d)\.?|I{2,3}|IV|V|VI|M\.D\.)$")
# Lower-case particles that start a family name after the given names ("van der Waals").
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "dei",
        "degli",
        "di",
        "da",
        "das",
        "dos",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "zu",
        "zur",
        "bin",
        "ibn",
    ]
)
# "Md" / "MD" (Muhammad, common in Bangladesh) before two full words is a name, not initials.
_ABBREVIATED_GIVEN = frozenset({"md", "mohd", "muhd", "mst"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
# Scripts written without spaces between family and given name (Han, Kana, Hangul).
_UNSPACED_SCRIPT = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_JOINERS = re.compile(r"[-\u2010\u2011'\u2019`]")  # Peng-Fei / O'Neil / al-Rahman: one word
_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9.\s]")
_WORD_BREAK = re.compile(r"[\s.]+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Name:
    """A parsed name. given/family: ASCII words (joiners removed, initials as single letters);
    the same parts as written; suffix as written; initials_only: the given names are initials
    ("D. Zhuo")."""

    display: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    given_written: str  # "Bruce M." of "Bruce M. Maggs" (honorific and suffix left out)
    family_written: str  # "Maggs"
    suffix: str
    initials_only: bool
    key: str  # co-author key "danyang-zhuo" (every full word, initials-only: "d-zhuo")
    short: str  # "d-zhuo"
    full_keys: tuple[str, ...]
    initials_keys: tuple[str, ...]


# --- cleaning ---------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def clean(raw: str) -> str:
    """Source text as shown: LaTeX rendered ("Erd{\\H{o}}s"), NFC, whitespace collapsed."""
    text = raw.replace("\u00a0", " ")
    if _LATEX_HINT.search(text):
        # pylatexenc is lenient; should it still fail, the raw text is kept, never the row dropped
        with contextlib.suppress(Exception):
            text = _latex.latex_to_text(text)
    return " ".join(unicodedata.normalize("NFC", text).split())


def is_truncation_marker(raw: str) -> bool:
    """Whether an author-list entry only says the list goes on ("et al.", "others")."""
    return bool(_TRUNCATION_MARKER.match(raw))


def strip_et_al(raw: str) -> str:
    """ "C. Lee et al." -> "C. Lee" (the last name of a truncated list carries the marker)."""
    return _ET_AL_SUFFIX.sub("", raw).strip()


def slug(text: str, prefix: str = "id") -> str:
    """Stable, non-empty ASCII id of any text: "José Álvarez" -> "jose-alvarez", "卓丹阳" ->
    "zhuo-dan-yang", "Пётр" -> "petr"; text with no letter or digit at all -> "<prefix>-<hash>"."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    # one syllable per Han / Hangul character, kept apart: "zhuo-dan-yang", not "zhuodanyang"
    if _UNSPACED_SCRIPT.search(text):
        text = "".join(f" {c} " if _UNSPACED_SCRIPT.match(c) else c for c in text)
    made = _NOT_SLUG.sub("-", (text if text.isascii() else anyascii(text)).lower()).strip("-")
    return made or f"{prefix}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


# --- splitting --------------------------------------------------------------------------------


def _ascii_words(word: str) -> list[str]:
    """One written word -> ASCII tokens: transliterated, joiners dropped, dots split initials."""
    text = _JOINERS.sub("", word if word.isascii() else anyascii(word))
    if text.isalnum():
        return [text]
    return [t for t in _WORD_BREAK.split(_NOT_NAME_CHAR.sub(" ", text)) if t]


def _is_initials(token: str, all_upper: bool) -> bool:
    """ "D" / "DY" (Scholar / PubMed style, only in a name not written all in capitals)."""
    return len(token) == 1 or (not all_upper and token.isupper() and len(token) <= 3)


def _strip_honorifics(words: list[str]) -> list[str]:
    while len(words) >= 2 and (
        _HONORIFIC_DOTTED.match(words[0]) or (words[0] in _HONORIFIC_BARE and len(words) >= 3)
    ):
        words = words[1:]
    return words


def _tokens(words: list[str]) -> list[tuple[str, bool, int]]:
    """(ASCII token, written in lower case, index of its word) of each word."""
    return [(t, w.islower(), i) for i, w in enumerate(words) for t in _ascii_words(w)]


Split = tuple[list[str], list[str], bool, str, str, str]


def _split_unstructured(text: str) -> Split:
    """-> (given, family, initials only, suffix, given as written, family as written) of a
    name written in one string."""
    words = _strip_honorifics(text.split())
    suffix = ""
    if len(words) >= 3 and _SUFFIX_END.match(words[-1]):
        suffix, words = words[-1], words[:-1]
        words[-1] = words[-1].rstrip(",")
    if len(words) == 1 and _UNSPACED_SCRIPT.search(words[0]):
        # 卓丹阳 -> "ZhuoDanYang": family name first, one syllable per capital
        syllables = re.findall(r"[A-Z][a-z]*", anyascii(words[0]))
        if len(syllables) >= 2:
            given, family = ["".join(syllables[1:])], syllables[:1]
            if len(words[0]) == len(syllables):  # one character per syllable
                return given, family, False, suffix, words[0][1:], words[0][:1]
            return given, family, False, suffix, given[0], family[0]
    toks = _tokens(words)
    names = [t for t, _, _ in toks]

    def cut(n: int, family_first: bool = False) -> tuple[str, str]:
        # the written words on each side of token n (ASCII tokens when n falls inside a word)
        if 0 < n < len(toks) and toks[n][2] != toks[n - 1][2]:
            a, b = " ".join(words[: toks[n][2]]), " ".join(words[toks[n][2] :])
        else:
            a, b = " ".join(names[:n]), " ".join(names[n:])
        return (b, a) if family_first else (a, b)

    if len(toks) < 2:
        return [], names, False, suffix, "", " ".join(words)
    upper = text.upper() == text
    initial = [_is_initials(t, upper) for t in names]
    if names[0].lower() in _ABBREVIATED_GIVEN and sum(not i for i in initial[1:]) >= 2:
        initial[0] = False  # "MD Rafiqul Islam Rabin"
    if initial[0] and not all(initial):  # "D. Zhuo", "SA Los", "J. Alvarez Perez"
        n = initial.index(False)
        return names[:n], names[n:], True, suffix, *cut(n)
    if initial[-1] and not all(initial):  # "Zhuo D", "Zhuo DY" (family name, then initials)
        n = len(names) - initial[::-1].index(False)
        return names[n:], names[:n], True, suffix, *cut(n, family_first=True)
    n = len(toks) - 1
    for i in range(1, len(toks) - 1):  # "Johannes Diderik van der Waals"
        token, lower, _ = toks[i]
        if lower and token.lower() in _PARTICLES:
            n = i
            break
    return names[:n], names[n:], False, suffix, *cut(n)


def _split(text: str) -> tuple[Split, str]:
    """-> (split, display) of a cleaned name (see `_split_unstructured`)."""
    parts = [p.strip() for p in text.split(",")]
    suffix = ""
    if len(parts) == 3 and all(parts) and _SUFFIX_AFTER_COMMA.match(parts[1]):
        parts, suffix = [parts[0], parts[2]], parts[1]  # BibTeX "King, Jr., Martin Luther"
    elif len(parts) == 3 and all(parts) and len(parts[-1].split()) == 1:
        parts, suffix = parts[:2], parts[2]  # "Family, Given, Suffix" (Crossref's parts, staged)
    elif len(parts) == 2 and len(parts[0].split()) >= 2 and _SUFFIX_AFTER_COMMA.match(parts[1]):
        suffix, parts = parts[1], parts[:1]  # "John Smith, Jr.", not "Smith, V."
    if len(parts) == 2 and all(parts):
        family_words = _strip_honorifics(parts[0].split())
        given_words = _strip_honorifics(parts[1].split())
        family = [t for t, _, _ in _tokens(family_words)]
        given = [t for t, _, _ in _tokens(given_words)]
        if family and given:
            upper = text.upper() == text
            only = all(_is_initials(t, upper) for t in given)
            display = " ".join([parts[1], parts[0], *([suffix] if suffix else [])])
            written = " ".join(given_words), " ".join(family_words)
            return (given, family, only, suffix, *written), display
    body = ", ".join(p for p in parts if p) if suffix else text
    given, family, only, end_suffix, g_written, f_written = _split_unstructured(body)
    return (given, family, only, suffix or end_suffix, g_written, f_written), text


# --- keys -------------------------------------------------------------------------------------


def _without_particles(family: list[str], lowered: set[str]) -> list[str]:
    rest = list(family)
    while len(rest) > 1 and rest[0].lower() in lowered:
        rest = rest[1:]
    return rest


def _keys(given: list[str], family: list[str], only: bool) -> tuple[list[str], list[str]]:
    """(full keys, initials keys) of a split name."""
    if not given or not family:
        return [], []
    fam = "".join(family).lower()
    initial = given[0][0].lower()
    initials = [f"{initial} {fam}"]
    bare = _without_particles(family, set(_PARTICLES))
    if bare != family:  # "J. D. van der Waals" is also indexed as "J. D. Waals"
        initials.append(f"{initial} {''.join(bare).lower()}")
    if len(family) == 1 and len(given) >= 2 and len(given[-1]) > 1 and not only:
        # "José Álvarez Pérez" is also "J. Álvarez Pérez": a two-word family name
        initials.append(f"{initial} {(given[-1] + family[0]).lower()}")
    if only:
        return [], initials
    spelled_given = [w.lower() for w in given if len(w) > 1]
    spelled_family = [w.lower() for w in family if len(w) > 1]
    words = sorted(spelled_given + spelled_family)
    full = [" ".join(words)] if len(words) >= 2 else []
    if len(spelled_given) >= 2:
        # romanised given names are written apart or together ("Peng Fei Zuo" / "Pengfei Zuo")
        full.append(" ".join(sorted(["".join(spelled_given), *spelled_family])))
    if len(spelled_family) >= 2:
        # a family name written apart or hyphenated ("García Márquez" / "García-Márquez")
        full.append(" ".join(sorted([*spelled_given, "".join(spelled_family)])))
    elif len(spelled_given) >= 2 and spelled_family:
        # an unstructured "María García Márquez" may be a two-word family name
        full.append(" ".join(sorted([*spelled_given[:-1], spelled_given[-1] + spelled_family[0]])))
    return [k for k in full if " " in k], initials


def _ascii_slug(tokens: list[str], fallback: str) -> str:
    """Slug of ASCII tokens (already transliterated), else of the fallback text."""
    made = _NOT_SLUG.sub("-", " ".join(tokens).lower()).strip("-")
    return made or slug(fallback, "name")


def _person_key(given: list[str], family: list[str], only: bool, display: str) -> str:
    if given and family:
        kept = [given[0][0]] if only else [w for w in given if len(w) > 1] or given[:1]
        return _ascii_slug([*kept, *family], display)
    return _ascii_slug(family, display)


@lru_cache(maxsize=262_144)
def analyse(raw: str) -> Name:
    """Everything the pipeline needs of one raw name string (cached: parse each string once)."""
    text = clean(strip_et_al(raw))
    (given, family, only, suffix, g_written, f_written), display = _split(text)
    full, initials = _keys(given, family, only)
    if text.translate(_UMLAUTS) != text:  # "Müller" is also written "Mueller"
        (g2, f2, o2, *_), _ = _split(text.translate(_UMLAUTS))
        alt_full, alt_initials = _keys(g2, f2, o2)
        full, initials = full + alt_full, initials + alt_initials
    key = _person_key(given, family, only, display or raw)
    short = _ascii_slug([given[0][0], *family], display) if given and family else key
    return Name(
        display=display or " ".join(raw.split()),
        given=tuple(given),
        family=tuple(family),
        given_written=g_written,
        family_written=f_written,
        suffix=suffix,
        initials_only=only,
        key=key,
        short=short,
        full_keys=tuple(dict.fromkeys(full)),
        initials_keys=tuple(dict.fromkeys(initials)),
    )


def family_first(raw: str) -> str:
    """ "Family, Given" as written ("Bruce M. Maggs" -> "Maggs, Bruce M."), or the cleaned name
    when it has a single part."""
    n = analyse(raw)
    if n.given_written and n.family_written:
        return f"{n.family_written}, {n.given_written}"
    return n.display


def parse_name(raw: str) -> tuple[str, str, str]:
    """-> (display name, co-author key "danyang-zhuo", short key "d-zhuo")."""
    n = analyse(raw)
    return n.display, n.key, n.short


def match_keys(raw: str) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """-> (full keys, initials keys, initials only) of a person's name.

    Full key: the name's words (initials dropped) transliterated to ASCII, lower-cased, joined
    words kept together and sorted, so "Zhuo, Danyang", "DANYANG ZHUO", "Zhuo Danyang" and
    "卓丹阳" meet; given or family names written apart also key as joined ("Peng Fei Zuo" /
    "Pengfei Zuo", "García Márquez" / "García-Márquez"); German umlauts also give their "ue"
    spelling. Initials key: first initial and family name ("d zhuo"), the only key of an
    initials-only form ("D. Zhuo", "Zhuo D", "SA Los").
    """
    n = analyse(raw)
    return n.full_keys, n.initials_keys, n.initials_only


# --- equivalence --------------------------------------------------------------------------------


def wanted_keys(names: Iterable[str]) -> frozenset[str]:
    """Keys of a researcher's names and aliases for `matches` (initials-only aliases such as
    "D. Zhuo" count by their initials key; full names never do)."""
    keys: set[str] = set()
    for name in names:
        full, initials, only = match_keys(name)
        keys.update(full)
        if only:
            keys.update(f"~{k}" for k in initials)
    return frozenset(keys)


def matches(candidate: str | None, wanted: frozenset[str]) -> bool:
    """Whether a name from a search hit is one of the wanted names (`wanted_keys`): the same
    words up to case, accents, script, joiners and order, so "Peng Fei Zuo", "Zuo, Pengfei" and
    "Pengfei Zuo" meet but "Dan Zhuo" and "Danyang Zhuo" do not (list it as an alias)."""
    if not candidate:
        return False
    full, initials, only = match_keys(candidate)
    if only:
        return any(f"~{k}" in wanted for k in initials)
    return any(k in wanted for k in full)


def compatible(a: str, b: str) -> bool:
    """Whether two names can be one person: the same full name, or, when either gives only
    initials, the same initial and family name ("D. Zhuo" / "Danyang Zhuo")."""
    fa, ia, oa = match_keys(a)
    fb, ib, ob = match_keys(b)
    if set(fa) & set(fb):
        return True
    return (oa or ob) and bool(set(ia) & set(ib))

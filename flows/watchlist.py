"""The watchlist (TOML): who and what to follow, which sources, when.

Validated strictly at start: an unknown key, a wrong type or an empty researcher fails with a
message naming the field and, where it can be found, the line.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import zoneinfo
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import cronsim
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from transforms import ids, names
from transforms.specs import SLUGS

# The sources' slugs, from their specs (transforms/sources/<slug>.py), in the registry's order.
SOURCE_SLUGS: tuple[str, ...] = SLUGS
if TYPE_CHECKING:
    SourceSlug = str
else:  # validated as one of the slugs (pydantic reads the Literal)
    SourceSlug = Literal[SOURCE_SLUGS]

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_OPENALEX_AUTHOR = re.compile(r"^A\d{4,}$")
_OPENALEX_TOPIC = re.compile(r"^T\d{4,}$")
_ARXIV_CATEGORY = re.compile(r"^[a-z\-]+(\.[A-Za-z\-]+)?$")
_CRON = re.compile(r"^\S+(\s+\S+){4}$")


def orcid_check_digit(base: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an ORCID's first 15 digits (dashes ignored),
    as ORCID documents it: "X" stands for 10."""
    total = 0
    for ch in base.replace("-", ""):
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


class WatchlistError(ValueError):
    """A watchlist that cannot be used; the message names file, line and field."""


def slugify(text: str) -> str:
    """Stable, non-empty id of a name in any script (`transforms.names.slug`): "José Álvarez"
    -> "jose-alvarez", "卓丹阳" -> "zhuo-dan-yang", "Пётр Ёлкин" -> "petr-elkin"."""
    return names.slug(text)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Researcher(_Strict):
    name: NonEmpty
    aliases: list[NonEmpty] = []
    orcid: str | None = None
    openalex_id: str | None = None
    semantic_scholar_id: str | None = None
    arxiv_query: NonEmpty | None = None
    # DBLP person id, e.g. "z/DanyangZhuo" (https://dblp.org/pid/<pid>).
    dblp_pid: NonEmpty | None = None
    # Scholar Feed author id; without it the author is found by name (author discover).
    scholar_feed_id: NonEmpty | None = None
    # NSF award ids whose metadata (and linked publications) to fetch from the Awards API.
    nsf_award_ids: list[NonEmpty] = []

    @field_validator("orcid")
    @classmethod
    def _orcid(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.removeprefix("https://orcid.org/")
        if not _ORCID.match(v):
            raise ValueError(f"{v!r} is not an ORCID like 0000-0002-1825-0097")
        if orcid_check_digit(v[:-1]) != v[-1]:
            raise ValueError(
                f"{v!r} is not a valid ORCID: its check digit should be "
                f"{orcid_check_digit(v[:-1])!r} (a typo in the digits?)"
            )
        return v

    @field_validator("openalex_id")
    @classmethod
    def _openalex(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.removeprefix("https://openalex.org/").upper()
        if not _OPENALEX_AUTHOR.match(v):
            raise ValueError("expected an OpenAlex author id like A5023888391")
        return v

    @field_validator("semantic_scholar_id")
    @classmethod
    def _s2(cls, v: str | None) -> str | None:
        if v is not None and not v.isdigit():
            raise ValueError("expected a numeric Semantic Scholar author id")
        return v

    @property
    def researcher_id(self) -> str:
        return slugify(self.name)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


class Topic(_Strict):
    name: NonEmpty
    keywords: list[NonEmpty] = Field(min_length=1)
    arxiv_categories: list[str] = []
    openalex_topic_ids: list[str] = []

    @field_validator("arxiv_categories")
    @classmethod
    def _cats(cls, v: list[str]) -> list[str]:
        for cat in v:
            if not _ARXIV_CATEGORY.match(cat):
                raise ValueError(f"{cat!r} is not an arXiv category like cs.DC")
        return v

    @field_validator("openalex_topic_ids")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        out = []
        for t in v:
            t = t.removeprefix("https://openalex.org/").upper()
            if not _OPENALEX_TOPIC.match(t):
                raise ValueError(f"{t!r} is not an OpenAlex topic id like T10054")
            out.append(t)
        return out

    @property
    def topic_id(self) -> str:
        return slugify(self.name)


class Schedule(_Strict):
    cron: str = "0 6 * * 1"
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        v = v.strip()
        if not _CRON.match(v):
            raise ValueError(f"{v!r} is not a 5-field cron expression like '0 6 * * 1'")
        try:  # values in range, names known (the server's scheduler would refuse it later)
            cronsim.CronSim(v, datetime(2000, 1, 1))
        except cronsim.CronSimError as exc:
            raise ValueError(f"{v!r} is not a valid cron expression: {exc}") from None
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        v = v.strip()
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(v, sorted(zoneinfo.available_timezones()), 1, 0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{v!r} is not an IANA time zone like 'UTC' or 'Europe/Berlin'{hint}"
            ) from None
        return v


class HfPapersOptions(_Strict):
    """[sources.hf_papers]: Hugging Face daily-papers listings, paper search, single papers."""

    # Daily-papers listings cover the `daily_days` days up to `until`, one request set per day
    # ("date"), per ISO week ("week") or per month ("month") that the window touches.
    period: Literal["date", "week", "month"] = "date"
    daily_days: int = Field(default=7, ge=0, le=366)
    # Last day of the window (a TOML date or "YYYY-MM-DD"); unset: today (UTC) at run time.
    until: Annotated[date, Field(strict=False)] | None = None
    # Cap per listing (a day, week or month), paged 100 at a time.
    max_daily_results: int = Field(default=500, ge=1, le=10_000)
    # Results asked for per topic keyword (the search endpoint answers a single page).
    search_limit: int = Field(default=50, ge=1, le=120)
    # Papers looked up one by one every run (their upvotes and stars are tracked).
    arxiv_ids: list[NonEmpty] = []

    @field_validator("arxiv_ids")
    @classmethod
    def _arxiv_ids(cls, v: list[str]) -> list[str]:
        out = []
        for raw in v:
            aid = ids.arxiv_id(raw)
            if not aid:
                raise ValueError(f"{raw!r} is not an arXiv id like 2309.06180")
            out.append(aid)
        return out


ArxivListingKind = Literal["new", "recent"]


class ArxivListingOptions(_Strict):
    """[sources.arxiv_listing]: arxiv.org/list pages of the topics' arxiv_categories."""

    # /new: the latest announcement (new, cross-listed, replaced; with abstracts);
    # /recent: the last five announcement days (no abstracts).
    listings: list[ArxivListingKind] = Field(
        default_factory=lambda: list(get_args(ArxivListingKind)), min_length=1
    )
    # Entries per /recent page: one of arXiv's own `show` steps (it caps `show` at 2000).
    recent_page_size: Literal[25, 50, 100, 250, 500, 1000, 2000] = 500
    # /recent entries read per category; whole pages, so the last page may pass it.
    max_recent: int = Field(default=2000, ge=1, le=10_000)
    # Categories to list besides the topics' arxiv_categories.
    categories: list[str] = []

    @field_validator("categories")
    @classmethod
    def _cats(cls, v: list[str]) -> list[str]:
        for cat in v:
            if not _ARXIV_CATEGORY.match(cat):
                raise ValueError(f"{cat!r} is not an arXiv category like cs.DC")
        return v


class NsfParOptions(_Strict):
    """[sources.nsf_par]"""

    # Result pages (10 records each) fetched per author or keyword search at most.
    max_pages: int = Field(default=20, ge=1, le=500)
    # Also run one keyword search per topic keyword (capped by sources.max_topic_results).
    search_topics: bool = True


class NsfAwardsOptions(_Strict):
    """[sources.nsf_awards]"""

    # Search awards by the researcher's name as PI (pdPIName); nsf_award_ids are always fetched.
    search_by_pi: bool = True
    # Awards fetched per PI-name search at most (the API serves 25 per request).
    max_awards_per_pi: int = Field(default=100, ge=1, le=3000)


class CrossrefOptions(_Strict):
    """[sources.crossref]"""

    # Works per page of a researcher's works (Crossref allows up to 1000).
    rows: int = Field(default=100, ge=1, le=1000)
    # Works read per researcher at most (name searches are relevance-ranked and endless).
    max_results: int = Field(default=1000, ge=1, le=100_000)
    # DOIs looked up one by one (/works/{doi}), e.g. papers a researcher search misses.
    dois: list[NonEmpty] = []

    @field_validator("dois")
    @classmethod
    def _dois(cls, v: list[str]) -> list[str]:
        out = []
        for raw in v:
            doi = ids.doi(raw)
            if not doi:
                raise ValueError(f"{raw!r} is not a DOI like 10.1145/3600006.3613165")
            if ids.is_arxiv_doi(doi):
                raise ValueError(f"{raw!r} is an arXiv DOI (DataCite): Crossref does not know it")
            out.append(doi)
        return out


class DblpOptions(_Strict):
    """[sources.dblp]"""

    # Hits read per publication search (one per topic keyword) at most; DBLP sends up to
    # 1000 hits a page.
    max_hits: int = Field(default=1000, ge=1, le=10_000)


class ScholarFeedOptions(_Strict):
    """[sources.scholar_feed]"""

    # Candidates asked of author discover for a researcher without scholar_feed_id (API max 50).
    discover_limit: int = Field(default=10, ge=1, le=50)
    # Papers kept per profile, in the profile's order (it lists its top 10 by rank score).
    max_papers: int = Field(default=10, ge=1, le=50)


class ProfilesOptions(_Strict):
    """[sources.profiles]"""

    # Pages read per profile at most (a recipe's own max_pages can only lower it).
    max_pages: int = Field(default=10, ge=1, le=100)


class IncrementalOptions(_Strict):
    """[sources.incremental]: live runs ask arXiv, OpenAlex and Crossref only for what changed
    since each watchlist entry's last complete fetch."""

    enabled: bool = True
    # Days asked again before the watermark: late indexing and clock skew upstream.
    overlap_days: int = Field(default=3, ge=0, le=365)
    # An entry is fetched whole again when its last full fetch is this many days old.
    full_refresh_days: int = Field(default=30, ge=1, le=3650)
    # Known OpenAlex works whose citation count is this many days old are fetched again by id.
    citations_refresh_days: int = Field(default=7, ge=1, le=3650)
    # At most this many known works are refreshed per run (oldest counts first).
    max_citation_refresh: int = Field(default=2000, ge=0, le=100_000)


class SourceOptions(_Strict):
    enabled: list[SourceSlug] = Field(default_factory=lambda: list(SOURCE_SLUGS))
    # Topic searches can match hundreds of thousands of works: cap them per topic and source.
    max_topic_results: int = Field(default=200, ge=1, le=10_000)
    # Works published before this year are not fetched by topic searches.
    since_year: int = Field(default=2018, ge=1900, le=2100)
    hf_papers: HfPapersOptions = HfPapersOptions()
    arxiv_listing: ArxivListingOptions = ArxivListingOptions()
    nsf_par: NsfParOptions = NsfParOptions()
    nsf_awards: NsfAwardsOptions = NsfAwardsOptions()
    crossref: CrossrefOptions = CrossrefOptions()
    dblp: DblpOptions = DblpOptions()
    scholar_feed: ScholarFeedOptions = ScholarFeedOptions()
    profiles: ProfilesOptions = ProfilesOptions()
    incremental: IncrementalOptions = IncrementalOptions()


class Group(_Strict):
    """[[groups]]: a named set of watched researchers (a lab, a department) with indices of
    its own, computed over the members' works without double counting."""

    name: NonEmpty
    members: list[NonEmpty] = Field(min_length=1)  # watchlist names or aliases

    @property
    def group_id(self) -> str:
        return slugify(self.name)


class HostLimit(_Strict):
    """[limits."<host>"]: overrides the documented default politeness for one host."""

    min_interval: float | None = Field(default=None, ge=0.0, le=3600.0)
    concurrency: int | None = Field(default=None, ge=1, le=32)
    window_requests: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0.0)


class Profile(_Strict):
    """[[profiles]]: one researcher's page on a profile site, scraped with a recipe."""

    researcher: NonEmpty  # the watchlist name of the researcher the page belongs to
    recipe: NonEmpty  # a shipped recipe (flows/recipes/<name>.toml) or a path to a TOML file
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, v: str) -> str:
        """Checked (loaded) at start, not when the profiles source first needs it."""
        from flows.recipes import RecipeError, load_recipe, shipped

        try:
            load_recipe(v)
        except RecipeError as exc:
            message = str(exc)
            close = difflib.get_close_matches(v, sorted(shipped()), 1, 0.6)
            raise ValueError(
                message + (f" (did you mean {close[0]!r}?)" if close else "")
            ) from None
        return v


class ReportsOptions(_Strict):
    """[reports]: how the CSV reports are written (see the README's "Reports")."""

    # topic_trends lists the watchlist's topics and this many source topics per kind (OpenAlex
    # topic, arXiv category, S2 field), the largest by papers; metrics.topic_trends has them all.
    top_topics: int = Field(default=20, ge=0, le=10_000)
    # Excel flavour: UTF-8 BOM, new-style arXiv ids in *_id columns written as arXiv:<id>.
    excel: bool = False
    # complete report sets kept under reports/runs/<run_id>/ (unchanged files are hard links)
    keep_runs: int = Field(default=10, ge=1, le=10_000)


class Watchlist(_Strict):
    contact_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    schedule: Schedule = Schedule()
    sources: SourceOptions = SourceOptions()
    researchers: list[Researcher] = Field(min_length=1)
    topics: list[Topic] = []
    profiles: list[Profile] = []
    groups: list[Group] = []
    # Per-host politeness overrides, keyed by host name.
    limits: dict[str, HostLimit] = {}
    # Cost units a source may spend per UTC day (see the README's source table for units).
    budgets: dict[SourceSlug, float] = {}
    reports: ReportsOptions = ReportsOptions()

    @field_validator("researchers")
    @classmethod
    def _unique(cls, v: list[Researcher]) -> list[Researcher]:
        seen: set[str] = set()
        for r in v:
            if r.researcher_id in seen:
                raise ValueError(f"researcher {r.name!r} is listed twice")
            seen.add(r.researcher_id)
        return v

    @model_validator(mode="after")
    def _profiles_name_researchers(self) -> Watchlist:
        for i, p in enumerate(self.profiles):
            wanted = p.researcher.casefold()
            owners = [r for r in self.researchers if wanted in {n.casefold() for n in r.all_names}]
            if not owners:
                raise ValueError(
                    f"profiles[{i}].researcher: {p.researcher!r} is not a watchlist researcher"
                )
            if len(owners) > 1:
                raise ValueError(
                    f"profiles[{i}].researcher: {p.researcher!r} names several researchers "
                    f"({', '.join(r.name for r in owners)}): use the researcher's name"
                )
        return self

    @model_validator(mode="after")
    def _groups_name_researchers(self) -> Watchlist:
        seen: set[str] = set()
        for i, g in enumerate(self.groups):
            if g.group_id in seen:
                raise ValueError(f"groups[{i}].name: group {g.name!r} is listed twice")
            seen.add(g.group_id)
            for member in g.members:
                wanted = member.casefold()
                if not any(wanted in {n.casefold() for n in r.all_names} for r in self.researchers):
                    raise ValueError(
                        f"groups[{i}].members: {member!r} is not a watchlist researcher"
                    )
        return self

    def researcher_named(self, name: str) -> Researcher:
        wanted = name.casefold()
        return next(r for r in self.researchers if wanted in {n.casefold() for n in r.all_names})


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "string": "text in quotes",
    "bool": "true or false",
    "list": "a list [ ... ]",
    "dict": "a table",
    "model": "a table",
    "date": "a date like 2026-05-22",
}


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _model_at(
    loc: tuple[int | str, ...], root: type[BaseModel] | None = None
) -> type[BaseModel] | None:
    """The model under `root` (the watchlist) that holds the keys at `loc`, if any."""
    model: type[BaseModel] | None = root or Watchlist
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:  # a key of a free-form table ([limits."<host>"])
            continue
        model = _submodel(field.annotation)
    return model


def _submodel(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in get_args(tp):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, 1, 0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def problem_text(err: Any, root: type[BaseModel] | None = None) -> str:
    """One validation error of a TOML file read into `root` (default: the watchlist) in the
    project's words, never pydantic's; unknown keys and values get a "did you mean"."""
    kind, loc, ctx, value = err["type"], tuple(err["loc"]), err.get("ctx") or {}, err["input"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], root)
        keys = sorted(model.model_fields) if model else []
        known = f" (known here: {', '.join(keys)})" if keys and len(keys) <= 12 else ""
        return f"unknown key{_did_you_mean(str(loc[-1]), keys) or known}"
    if kind == "missing":
        return "required: add it"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or re.findall(
            r"[^\s,]+", str(ctx.get("expected", "")).replace(" or ", ", ")
        )
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return f"{_shown(value)} is not one of: {', '.join(options)}{hint}"
    if kind in ("string_too_short", "too_short"):
        if kind == "string_too_short":
            return "must not be empty"
        n = ctx.get("min_length", 1)
        return f"needs at least {n} {'entry' if n == 1 else 'entries'}"
    if kind.startswith("greater_than") or kind.startswith("less_than"):
        bound = next(iter(ctx.values()), "?")
        words = {
            "greater_than_equal": "at least",
            "greater_than": "above",
            "less_than_equal": "at most",
            "less_than": "below",
        }
        return f"must be {words.get(kind, kind)} {bound}, got {_shown(value)}"
    if kind == "string_pattern_mismatch":
        field = str(loc[-1])
        what = {
            "contact_email": "an email address like team@example.org",
            "url": "an http(s) URL like https://dblp.org/pid/z/DanyangZhuo.html",
        }.get(field, f"text matching {ctx.get('pattern')}")
        return f"{_shown(value)} is not {what}"
    base = kind.split("_")[0]
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        want = _TYPE_WORDS.get(base, base)
        return f"expected {want}, got {_toml_type(value)} {_shown(value)}"
    return str(err["msg"])


def _locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line number of a validation error location in TOML text."""
    lines = text.splitlines()
    table: list[str] = []
    counters: dict[str, int] = {}
    target_table = [str(p) for p in loc[:-1] if not isinstance(p, int)]
    target_index = next((p for p in loc if isinstance(p, int)), None)
    key = str(loc[-1]) if loc and not isinstance(loc[-1], int) else None
    header_line = None
    for n, line in enumerate(lines, 1):
        s = line.strip()
        m = re.match(r"^\[\[\s*([\w.]+)\s*\]\]", s) or re.match(r"^\[\s*([\w.]+)\s*\]", s)
        if m:
            table = m.group(1).split(".")
            if s.startswith("[["):
                counters[m.group(1)] = counters.get(m.group(1), -1) + 1
            in_target = table == target_table and (
                target_index is None or counters.get(m.group(1)) == target_index
            )
            if in_target:
                header_line = n
            continue
        in_target = table == target_table and (
            target_index is None or counters.get(".".join(table)) == target_index
        )
        if in_target and key and re.match(rf"^{re.escape(key)}\s*=", s):
            return n
    return header_line


def load_watchlist(path: Path) -> Watchlist:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot read watchlist ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WatchlistError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Watchlist.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p != "[key]")  # a bad key of a table
            field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(
                ".[", "["
            )
            line = _locate(text, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {field or '(top level)'}: {problem_text(err)}")
        raise WatchlistError("invalid watchlist\n  " + "\n  ".join(problems)) from None

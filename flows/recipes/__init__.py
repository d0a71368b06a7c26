"""Declarative scraping recipes for researcher profile pages (the `profiles` source).

A recipe is a TOML file of CSS selectors: which element is one listed work (`item`), where each
work's fields sit inside it (`[fields]`), the page's own evidence that it lists works (`expect`,
judged apart from `item` so markup drift is noticed), page-level metrics (`[[metrics]]`), how to
reach the next page (`[paging]`), and metadata (name, hosts, description, required fields). A user
adds a profile site by writing one, without code:

    name = "my_site"                      # lower-case identifier
    description = "What the pages are"
    hosts = ["profiles.example.org"]      # a [[profiles]] url must be on one of these
    detect = "main.profile"               # present on every profile page of the site
    item = "article.work"                 # one element per listed work
    expect = "section.works li"           # or { css = "p.count", regex = "(\\d+) works" }
    required = ["title"]                  # empty on every item = scraper drift

    [fields]                              # a selector string, or a table:
    title = "h3"
    link = { css = "h3 a", attr = "href" }            # attr: one name or a list, tried in turn
    authors = { css = "p.by", split = "," }           # list field: every match, split on `split`
    year = { css = "span.year", regex = "(\\d{4})" }   # regex: first group (or whole match)
    venue = { css = "span.venue", strip = "." }       # strip: characters trimmed off both ends

    [[metrics]]
    name = "h_index"
    css = "dd.h-index"
    regex = "(\\d+)"                      # or count = true: how many elements match

    [[metrics]]                           # or by the words printed beside the number:
    name = "citations"
    label = "Citations"                   # (a list gives alternatives)
    row = "table.stats tr"                # rows to look for the label in
    css = "td.value"                      # value cells of that row
    column = 1                            # 1-based: the first value cell

    [paging]                              # a link ...
    next = { css = "a[rel=next]", attr = "href" }
    max_pages = 10
    # ... or an offset parameter: offset_param/size_param/size + `more` (present while more)

Shipped recipes live beside this module (`flows/recipes/<name>.toml`, package data); a
[[profiles]] entry names one of them or gives the path of a TOML file. Every recipe is validated
strictly: an unknown key, a wrong type, a CSS selector soupsieve cannot compile or a regex that
does not compile fails with the file and the key (`RecipeError`).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import soupsieve
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

RECIPES_DIR = Path(__file__).resolve().parent

# Work fields a recipe can fill; the list-valued ones collect every match.
FieldName = Literal[
    "title", "authors", "year", "venue", "abstract", "link", "links", "citations", "key"
]
LIST_FIELDS = frozenset({"authors", "links"})


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


def _selector(value: str) -> str:
    try:
        soupsieve.compile(value)
    except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"bad CSS selector {value!r}: {first}") from None
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


Selector = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_selector)
]
Regex = Annotated[str, StringConstraints(min_length=1), AfterValidator(_regex)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Host = Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+$", to_lower=True)]


def _shorthand(value: Any) -> Any:
    """`title = "h3"` is `title = { css = "h3" }`."""
    return {"css": value} if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Extract(_Strict):
    """Where one value sits: text of the first match (or every match, for list fields).
    `css = ":scope"` is the item element itself (to read one of its attributes)."""

    css: Selector
    # Read this attribute instead of the text; a list is tried in order (e.g. data-href, href).
    attr: str | list[str] | None = None
    # Keep the first group of the first match of this regex (the whole match without a group).
    regex: Regex | None = None
    # Characters trimmed off both ends after whitespace is collapsed (DBLP titles end in ".").
    strip: str = ""
    # List fields only: split each match's text on this separator (e.g. "A Zhuo, B Su").
    split: str | None = None


Spec = Annotated[Extract, BeforeValidator(_shorthand)]


class Expect(_Strict):
    """The page's own evidence that it lists works: an element (whose regex group, when a regex
    is given, is a number above zero, as in "9 published items")."""

    css: Selector
    regex: Regex | None = None


class Fields(_Strict):
    title: Spec
    authors: Spec | None = None
    year: Spec | None = None
    venue: Spec | None = None
    abstract: Spec | None = None
    link: Spec | None = None
    # Every link of the item, searched for a DOI or an arXiv id (DBLP's electronic editions).
    links: Spec | None = None
    citations: Spec | None = None
    # The site's own stable id of the work (DBLP's record key in li.entry[id]); with the profile
    # URL it keys the record. Without it the link, else the title, does.
    key: Spec | None = None

    @model_validator(mode="after")
    def _split_only_on_lists(self) -> Fields:
        for name in type(self).model_fields:
            spec = getattr(self, name)
            if spec is not None and spec.split is not None and name not in LIST_FIELDS:
                raise ValueError(
                    f"{name}.split: only list fields ({', '.join(sorted(LIST_FIELDS))}) split"
                )
        return self


class Metric(_Strict):
    """One page-level number (h-index, citations, works count), in one of three forms:

    - `css` (+ `attr`, `regex`): the first match's text or attribute;
    - `count = true`: the number of elements `css` matches;
    - `label`: by the words the page prints beside it, not by position. `row` selects the
      candidate rows (e.g. every `tr` of a metrics table), `label_css` the label cell inside a row
      (default: its first `th`/`td`), and the row whose label reads `label` (one string or a list
      of alternatives, compared case-insensitively with whitespace collapsed) gives the value:
      its `column`-th match of `css` (1-based: Scholar's "All" is 1, "Since <year>" is 2).
    """

    name: Identifier
    css: Selector
    attr: str | list[str] | None = None
    regex: Regex | None = None
    count: bool = False
    label: str | list[str] | None = None
    row: Selector | None = None
    label_css: Selector | None = None
    column: int = Field(default=1, ge=1, le=50)

    @model_validator(mode="after")
    def _one_form(self) -> Metric:
        if self.count and (self.label is not None or self.regex or self.attr is not None):
            raise ValueError("count = true takes only css (no label, regex or attr)")
        if self.label is None:
            if self.row is not None or self.label_css is not None or self.column != 1:
                raise ValueError("row, label_css and column belong to a metric with a label")
            return self
        labels = [self.label] if isinstance(self.label, str) else self.label
        if not labels or not all(lbl.strip() for lbl in labels):
            raise ValueError("label: give the words the page prints beside the number")
        if self.row is None:
            raise ValueError("a metric with a label needs `row` (the rows to look for it in)")
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        """The label alternatives, normalised for comparison."""
        raw = [self.label] if isinstance(self.label, str) else (self.label or [])
        return tuple(" ".join(lbl.split()).casefold() for lbl in raw)


class ProfileInfo(_Strict):
    """Page-level facts about the profile itself."""

    name: Spec | None = None  # the researcher's name as the page shows it
    canonical: Spec | None = None  # the profile's own URL (used when a page is imported)


class Paging(_Strict):
    """Either a next-page link, or an offset query parameter advanced by `size` while the `more`
    selector matches (Google Scholar's cstart/pagesize)."""

    next: Spec | None = None
    offset_param: str | None = None
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1, le=1000)
    more: Selector | None = None
    max_pages: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _one_mode(self) -> Paging:
        offset = (self.offset_param, self.size, self.more)
        if self.next is not None and any(v is not None for v in offset):
            raise ValueError("use either `next` or offset_param/size/more, not both")
        if any(v is not None for v in offset) and not all(v is not None for v in offset):
            raise ValueError("offset paging needs offset_param, size and more")
        if self.size_param is not None and self.size is None:
            raise ValueError("size_param needs size")
        return self


class Recipe(_Strict):
    name: Identifier
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    hosts: list[Host] = Field(min_length=1)
    # Politeness and terms notes for people reading the recipe (opt-in, rate, robots.txt).
    notes: str = ""
    detect: Selector
    item: Selector
    expect: Annotated[Expect, BeforeValidator(_shorthand)]
    # A page that is a block or CAPTCHA interstitial, not the profile.
    blocked: Selector | None = None
    required: list[FieldName] = ["title"]
    profile: ProfileInfo = ProfileInfo()
    fields: Fields
    metrics: list[Metric] = []
    paging: Paging | None = None

    @model_validator(mode="after")
    def _required_fields_have_selectors(self) -> Recipe:
        for name in self.required:
            if getattr(self.fields, name) is None:
                raise ValueError(f"required field {name!r} has no selector in [fields]")
        names = [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metrics listed twice: {', '.join(dupes)}")
        return self

    @property
    def max_pages(self) -> int:
        return self.paging.max_pages if self.paging else 1


def _key(loc: tuple[int | str, ...]) -> str:
    """("fields", "title", "css") -> "fields.title.css"; ("required", 0) -> "required[0]"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def parse_recipe(text: str, origin: str) -> Recipe:
    """Validate recipe TOML text; `origin` (the file) names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{origin}: invalid TOML: {exc}") from None
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _key(tuple(p for p in err["loc"] if not str(p).startswith("function-")))
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{origin}: {key}: {msg.removeprefix('Value error, ')}")
        raise RecipeError("invalid recipe\n  " + "\n  ".join(problems)) from None


def load_recipe_file(path: Path) -> Recipe:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe ({exc.strerror})") from None
    return parse_recipe(text, str(path))


@cache
def shipped() -> dict[str, Recipe]:
    """The recipes shipped with scholarflow, by name (each file is named after its recipe)."""
    out: dict[str, Recipe] = {}
    for path in sorted(RECIPES_DIR.glob("*.toml")):
        recipe = load_recipe_file(path)
        if recipe.name != path.stem:
            raise RecipeError(f"{path}: name: {recipe.name!r} differs from the file name")
        out[recipe.name] = recipe
    return out


def load_recipe(ref: str) -> Recipe:
    """A shipped recipe by name, or a recipe file by path (relative to the working directory)."""
    if ref.endswith(".toml") or "/" in ref or "\\" in ref:
        return load_recipe_file(Path(ref).expanduser())
    recipes = shipped()
    if ref not in recipes:
        raise RecipeError(
            f"no shipped recipe named {ref!r} (shipped: {', '.join(sorted(recipes))}); "
            "give a path to a .toml file for your own"
        )
    return recipes[ref]

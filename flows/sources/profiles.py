"""Researcher profile pages (HTML), scraped with declarative recipes (`flows/recipes/*.toml`).

Endpoints: whatever page a watchlist `[[profiles]]` entry points at (`researcher`, `recipe`,
`url`); the shipped recipes read Google Scholar author profiles
(`https://scholar.google.com/citations?user=<id>&hl=en`, opt-in, first page only: robots.txt
disallows `cstart` paging) and DBLP person pages (`https://dblp.org/pid/<pid>.html`). A recipe
file (a path instead of a shipped name) adds any other site without code.
Key: none. Rate limit: the shared client's host policy (scholar.google.com one request per 10 s,
dblp.org one per second; any other host one per second on one connection). A robots.txt
Crawl-delay longer than that (dblp.org asks 4 s) becomes the host's interval. Every request
checks robots.txt (`robots=True`): a disallowed profile is skipped and logged, never fetched.
Terms: Google Scholar's terms do not allow automated access; its recipe is opt-in, one profile
at a time. DBLP data is CC0 (ODC-BY as a secondary licence).

Paging: a recipe's next-page link, or an offset parameter (Scholar's cstart/pagesize) while a
"more" element shows; capped per profile by min(recipe `max_pages`, `[sources.profiles]
max_pages`), never revisiting a URL and never leaving the recipe's hosts.

Drift: the recipe's `expect` selector (the page's own evidence of listed works, independent of
the item selector) showing works that parse to none, or a `required` field empty on every item,
raises ScrapeDrift (the source stops and the page is saved). A page the recipe's `detect`
selector does not recognise is drift too; a block/CAPTCHA page (`blocked`) is an error and no
further profile on that host is requested in the run.

Import (`scholarflow import profiles FILE`): the parser takes only (bytes, where, status), so the
recipe is detected from the page: the first shipped recipe whose `detect` selector matches. The
profile URL then comes from the page's canonical link (else the file), the researcher from the
name the page shows.

Damaged pages: a page cut short (no closing </html>) keeps its complete items and quarantines
the last one (it ends mid-item). Odd encodings: BOM, then the Content-Type charset, then <meta>
charset; latin-1 labels decode as windows-1252, as browsers do.

Upstream quirks: Scholar shows a blank citation cell for 0 (kept as unknown, not 0) and cuts
long author lists with "..." (kept as the list's last entry, `authors_truncated` set); its
title link may sit in data-href with href="javascript:void(0)"; an arXiv preprint's venue reads
"arXiv preprint arXiv:<id>" (the arXiv id is taken from it); its metrics table put the header
row inside <tbody> in 2014 and in <thead> later (metrics are read by label, never by row
position; impossible figures are refused as drift). DBLP titles end in a period; DBLP lists a
preprint (CoRR) and its published version as two entries.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from flows.http import HttpClient, public_url
from flows.recipes import (
    LIST_FIELDS,
    Extract,
    Metric,
    Recipe,
    RecipeError,
    load_recipe,
    shipped,
)
from flows.sources.base import (
    Fetched,
    FetchReport,
    Page,
    Quarantined,
    Record,
    ScrapeDrift,
    SourceError,
    check_drift,
    decode_html,
    item_key,
)
from flows.watchlist import Profile, Watchlist, slugify
from transforms import ids
from transforms.specs import KNOWN_METRICS
from transforms.specs import PROFILES as SPEC

log = logging.getLogger("scholarflow.sources.profiles")

SLUG = SPEC.slug

# Tree builder: lxml, chosen by measurement on this source's fixtures (see
# tests/test_profiles.py::test_tree_builders_on_damaged_pages). With the optional end tags
# (</li> </tr> </td> </p>) left out, lxml and html5lib keep every item intact (Scholar 9/9,
# DBLP 13/13, BZPEER 5/5) while html.parser nests each item inside the previous one (1/9, 0/13,
# 0/5 intact: its `li` children lose the `ul >` parent, list fields swallow later items). Cut
# at 50/75/90 % of the bytes, all three keep the same items. lxml is the fastest of the three
# (html5lib ~1.5-2x slower) and already a dependency; html5lib is not.
BUILDER = "lxml"

_DOI = re.compile(r"(?:doi\.org/|^doi:\s*)(10\.\d{4,9}/[^\s?#]+)", re.I)
_ELLIPSES = {"...", "…"}


class ProfileBlocked(SourceError):
    """The site answered with a block or CAPTCHA page instead of the profile."""


# ---------------------------------------------------------------- extraction


def _text(el: Tag) -> str:
    return " ".join(el.get_text().split())


def _matches(scope: Tag, css: str) -> list[Tag]:
    """Elements under `scope` matching `css`; ":scope" is the element itself."""
    if css.strip() == ":scope":
        return [scope]
    return list(scope.select(css))


def _raw_value(el: Tag, attr: str | list[str] | None) -> str | None:
    if attr is None:
        return _text(el)
    for name in [attr] if isinstance(attr, str) else attr:
        value = el.get(name)
        if isinstance(value, list):
            value = " ".join(value)
        if value and not value.strip().lower().startswith("javascript:"):
            return value.strip()
    return None


def _refine(raw: str | None, regex: str | None, strip: str = "") -> str | None:
    if raw is None:
        return None
    if regex:
        m = re.search(regex, raw)
        if m is None:
            return None
        raw = m.group(1) if m.groups() else m.group(0)
        if raw is None:
            return None
    value = " ".join(raw.split())
    if strip:
        value = value.strip(strip).strip()
    return value or None


def _first(scope: Tag, spec: Extract) -> str | None:
    for el in _matches(scope, spec.css):
        value = _refine(_raw_value(el, spec.attr), spec.regex, spec.strip)
        if value is not None:
            return value
    return None


def _all(scope: Tag, spec: Extract) -> list[str]:
    out: list[str] = []
    for el in _matches(scope, spec.css):
        value = _refine(_raw_value(el, spec.attr), spec.regex, spec.strip)
        if value is None:
            continue
        parts = value.split(spec.split) if spec.split else [value]
        for part in parts:
            part = " ".join(part.split())
            if spec.strip:
                part = part.strip(spec.strip).strip()
            if part in _ELLIPSES:  # Scholar cuts long author lists with "...": kept as the
                part = "..."  # list's last entry (the list is incomplete), never dropped
            if part:
                out.append(part)
    return out


def extract_item(el: Tag, recipe: Recipe) -> dict[str, Any]:
    """The raw field values of one item element (strings; lists for list fields)."""
    item: dict[str, Any] = {}
    for name in type(recipe.fields).model_fields:
        spec: Extract | None = getattr(recipe.fields, name)
        if name in LIST_FIELDS:
            item[name] = _all(el, spec) if spec else []
        else:
            item[name] = _first(el, spec) if spec else None
    return item


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    cleaned = re.sub(r"[\s,\u00a0\u202f']", "", text)
    try:
        return float(cleaned)
    except ValueError:
        return None


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    cleaned = re.sub(r"[\s,\u00a0\u202f]", "", value)
    if not cleaned.isdigit():
        raise ValueError(f"{name} {value!r} is not a whole number")
    return int(cleaned)


def ids_from_links(links: list[str]) -> tuple[str | None, str | None]:
    """(DOI, arXiv id) revealed by a work's links: doi.org URLs (arXiv's DataCite DOI
    10.48550/arXiv.<id> gives the arXiv id) and arxiv.org abs/pdf URLs."""
    doi = arxiv = None
    for link in links:
        m = _DOI.search(unquote(link))
        if m:
            found = m.group(1).rstrip(".")
            if ids.is_arxiv_doi(found):
                arxiv = arxiv or ids.arxiv_id_from_doi(found)
            else:
                doi = doi or found
            continue
        arxiv = arxiv or ids.arxiv_id_from_url(link)
    return doi, arxiv


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _title_key(title: str) -> str:
    return re.sub(r"[\W_]+", "", title.casefold())


def _expect(soup: BeautifulSoup, recipe: Recipe) -> bool:
    """The page's own evidence (apart from the item selector) that it lists works."""
    els = soup.select(recipe.expect.css)
    if not els:
        return False
    if recipe.expect.regex is None:
        return True
    for el in els:
        n = _number(_refine(_text(el), recipe.expect.regex))
        if n is not None and n > 0:
            return True
    return False


def _next_url(soup: BeautifulSoup, recipe: Recipe, url: str | None, found: int) -> str | None:
    paging = recipe.paging
    if paging is None or url is None:
        return None
    if paging.next is not None:
        href = _first(soup, paging.next)
        return urljoin(url, href) if href else None
    assert paging.offset_param and paging.size and paging.more
    if found == 0 or soup.select_one(paging.more) is None:
        return None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    current = next((int(v) for k, v in query if k == paging.offset_param and v.isdigit()), 0)
    query = [(k, v) for k, v in query if k != paging.offset_param]
    query.append((paging.offset_param, str(current + paging.size)))
    if paging.size_param and not any(k == paging.size_param for k, _ in query):
        query.append((paging.size_param, str(paging.size)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def first_url(recipe: Recipe, url: str) -> str:
    """The profile's first page: with the page-size parameter when the recipe pages by offset
    (appended, so the profile's own parameters keep their order for robots.txt)."""
    paging = recipe.paging
    if paging is None or not paging.size_param or paging.size is None:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == paging.size_param for k, _ in query):
        return url
    query.append((paging.size_param, str(paging.size)))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Context:
    """What the caller knows about the page beyond its bytes."""

    url: str | None = None  # the page's URL (relative links and paging resolve against it)
    profile_url: str | None = None  # the profile's URL (watchlist), the same for every page
    researcher_id: str | None = None  # the watchlist researcher the profile belongs to
    content_type: str = ""  # the response's Content-Type (its charset wins over <meta>)
    metrics: bool = True  # read page-level metrics (the first page of a profile only)


def parse_page(
    body: bytes, where: str, recipe: Recipe, status: int = 200, ctx: Context | None = None
) -> Page:
    """One profile page read with `recipe` -> works (and the profile's metrics). Pure."""
    ctx = ctx or Context()
    text = decode_html(body, ctx.content_type)
    if status != 200:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        shown = " ".join(title.group(1).split())[:120] if title else text[:120].strip()
        raise SourceError(SLUG, where, f"HTTP {status} from {recipe.name}: {shown!r}")
    if not text.strip():
        raise SourceError(SLUG, where, f"empty page from {recipe.name}")
    soup = BeautifulSoup(text, BUILDER)
    if recipe.blocked and soup.select_one(recipe.blocked) is not None:
        raise ProfileBlocked(
            SLUG, where, f"{recipe.name} answered with a block/CAPTCHA page, not the profile"
        )
    if soup.select_one(recipe.detect) is None:
        raise ScrapeDrift(
            SLUG,
            where,
            f"not a {recipe.name} profile page: its detect selector {recipe.detect!r} matches "
            "nothing",
            body,
        )
    canonical = _first(soup, recipe.profile.canonical) if recipe.profile.canonical else None
    shown_name = _first(soup, recipe.profile.name) if recipe.profile.name else None
    base = ctx.url or canonical or f"https://{recipe.hosts[0]}/"
    profile_url = ctx.profile_url or (urljoin(base, canonical) if canonical else None) or where
    researcher_id = ctx.researcher_id or (slugify(shown_name) if shown_name else None) or None

    rows = [extract_item(el, recipe) for el in soup.select(recipe.item)]
    check_drift(
        SLUG,
        where,
        body,
        rows,
        lists_results=_expect(soup, recipe),
        required=tuple(recipe.required),
    )
    page = Page()
    seen: dict[str, int] = {}
    # A page cut short (no closing </html>) ends inside its last item: that one is quarantined,
    # not loaded with half its fields.
    truncated = not re.search(r"</html\s*>\s*$", text, re.I)
    for i, row in enumerate(rows):
        try:
            if truncated and i == len(rows) - 1:
                raise ValueError("page is truncated (no closing </html>): last item incomplete")
            record = _work(row, recipe, base, profile_url, researcher_id)
        except ValueError as exc:
            page.quarantined.append(
                Quarantined.of(SLUG, "works", item_key(where, i), str(exc), row)
            )
            continue
        n = seen[record["work_id"]] = seen.get(record["work_id"], 0) + 1
        if n > 1:  # the same work listed twice on one page: keep both
            record["work_id"] = f"{record['work_id']}~{n}"
        page.add("works", record)
    if ctx.metrics and recipe.metrics:
        page.add(
            "metrics",
            _metrics(soup, recipe, profile_url, researcher_id, shown_name, where, body),
        )
    page.next_token = _next_url(soup, recipe, ctx.url, len(rows))
    return page


def _work(
    row: dict[str, Any],
    recipe: Recipe,
    base: str,
    profile_url: str,
    researcher_id: str | None,
) -> Record:
    title = row["title"]
    if not title:
        raise ValueError("item without a title")
    link = urljoin(base, row["link"]) if row["link"] else None
    links = [urljoin(base, u) for u in row["links"]]
    doi, arxiv_id = ids_from_links([u for u in (link, *links) if u])
    if arxiv_id is None and row["venue"]:  # Scholar's "arXiv preprint arXiv:2506.19827"
        arxiv_id = ids.arxiv_id_in_text(row["venue"])
    anchor = row["key"] or link or "title:" + _title_key(title)
    return {
        "work_id": f"{recipe.name}:{_digest(profile_url, anchor)}",
        "researcher_id": researcher_id,
        "recipe": recipe.name,
        "profile_url": profile_url,
        "site_id": row["key"],
        "title": title,
        # as printed, "..." included: the transforms read it as "the list goes on"
        "authors": list(row["authors"]),
        "authors_truncated": bool(row["authors"]) and row["authors"][-1] == "...",
        "year": _int(row["year"], "year"),
        "venue": row["venue"],
        "abstract": row["abstract"],
        "link": link,
        "doi": doi,
        "arxiv_id": arxiv_id,
        "citations": _int(row["citations"], "citations"),
    }


def _label_of(row: Tag, metric: Metric) -> str:
    if metric.label_css is not None:
        el = row.select_one(metric.label_css)
    else:
        el = row.find(["th", "td"])
    return " ".join(_text(el).split()).casefold() if isinstance(el, Tag) else ""


def metric_value(soup: BeautifulSoup | Tag, metric: Metric) -> float | None:
    """One metric as the recipe reads it: by its printed label (the row whose label cell reads
    the label, then its `column`-th value cell), by count, or by the first match."""
    if metric.count:
        return float(len(soup.select(metric.css)))
    if metric.label is not None:
        assert metric.row is not None  # the recipe's validation requires it
        for row in soup.select(metric.row):
            if _label_of(row, metric) not in metric.labels:
                continue
            cells = row.select(metric.css)
            if len(cells) < metric.column:
                return None
            return _number(_refine(_raw_value(cells[metric.column - 1], metric.attr), metric.regex))
        return None
    el = soup.select_one(metric.css)
    return _number(_refine(_raw_value(el, metric.attr), metric.regex)) if el else None


# "since <year>" figures are counted over a window inside "all": never above them.
_SINCE = {
    "citations_since": "citations",
    "h_index_since": "h_index",
    "i10_index_since": "i10_index",
}


def implausible(values: dict[str, float | None]) -> list[str]:
    """Why these profile metrics cannot all be true (empty: plausible). Upstream quirk: a recipe
    that reads the wrong row or column (Scholar's header row moved from <tbody> to <thead>)
    still yields numbers, only impossible ones."""
    problems = [f"{k} is negative ({v:g})" for k, v in values.items() if v is not None and v < 0]
    for since, total in _SINCE.items():
        s, a = values.get(since), values.get(total)
        if s is not None and a is not None and s > a:
            problems.append(f"{since} ({s:g}) is above {total} ({a:g})")
    for suffix in ("", "_since"):
        c = values.get("citations" + suffix)
        h = values.get("h_index" + suffix)
        i10 = values.get("i10_index" + suffix)
        if c is not None and h is not None and h * h > c:
            problems.append(f"h_index{suffix} {h:g} needs at least {h * h:g} citations, not {c:g}")
        if c is not None and i10 is not None and 10 * i10 > c:
            problems.append(
                f"i10_index{suffix} {i10:g} needs at least {10 * i10:g} citations, not {c:g}"
            )
        if h is not None and i10 is not None and h >= 10 and i10 < h:
            problems.append(f"i10_index{suffix} {i10:g} is below h_index{suffix} {h:g} (h >= 10)")
    return problems


def _metrics(
    soup: BeautifulSoup,
    recipe: Recipe,
    profile_url: str,
    researcher_id: str | None,
    shown_name: str | None,
    where: str,
    body: bytes,
) -> Record:
    by_name: dict[str, float | None] = {m.name: metric_value(soup, m) for m in recipe.metrics}
    values = [{"name": name, "value": value} for name, value in by_name.items()]
    problems = implausible(by_name)
    if problems:
        # The recipe reads numbers that cannot be true: refused, and the page saved as drift.
        raise ScrapeDrift(
            SLUG, where, f"implausible {recipe.name} metrics: {'; '.join(problems)}", body
        )
    for name in (*KNOWN_METRICS, *_SINCE):
        v = by_name.get(name)
        if v is not None and not float(v).is_integer():  # counts: never truncated silently
            raise ScrapeDrift(
                SLUG, where, f"{recipe.name} metric {name} {v:g} is not a whole number", body
            )
    record: Record = {
        "profile_id": f"{recipe.name}:{profile_url}",
        "researcher_id": researcher_id,
        "recipe": recipe.name,
        "profile_url": profile_url,
        "profile_name": shown_name,
        "metrics": values,
    }
    for name in KNOWN_METRICS:
        v = by_name.get(name)
        record[name] = int(v) if v is not None else None
    return record


def detect_recipe(body: bytes, where: str) -> Recipe:
    """The shipped recipe whose `detect` selector matches the page."""
    soup = BeautifulSoup(decode_html(body), BUILDER)
    for recipe in shipped().values():
        if soup.select_one(recipe.detect) is not None:
            return recipe
    raise SourceError(
        SLUG,
        where,
        "no shipped recipe recognises this page (tried "
        + ", ".join(f"{r.name} {r.detect!r}" for r in shipped().values())
        + "); fetch it through a [[profiles]] entry naming its recipe",
    )


def parse_profile(body: bytes, where: str, status: int = 200) -> Page:
    """The registry parser (saved pages, `scholarflow import profiles FILE`): the recipe is
    detected from the page among the shipped ones."""
    if status != 200:
        raise SourceError(SLUG, where, f"HTTP {status} for a profile page")
    return parse_page(body, where, detect_recipe(body, where), status)


# ---------------------------------------------------------------- fetch


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _profile_pages(
    client: HttpClient,
    index: int,
    profile: Profile,
    researcher_id: str,
    cap: int,
    blocked: set[str],
) -> Iterator[Fetched]:
    label = f"profiles[{index}] {profile.url}"
    try:
        recipe = load_recipe(profile.recipe)
    except RecipeError as exc:
        raise SourceError(SLUG, label, str(exc)) from None
    host = _host(profile.url)
    if host not in recipe.hosts:
        raise SourceError(
            SLUG,
            label,
            f"recipe {recipe.name!r} reads {', '.join(recipe.hosts)}, not {host or 'this URL'}",
        )
    if host in blocked:
        raise SourceError(SLUG, label, f"skipped: {host} served a block page earlier this run")
    limit = min(cap, recipe.max_pages)
    url: str | None = first_url(recipe, profile.url)
    visited: set[str] = set()
    pages = 0
    while url and pages < limit:
        key = public_url(url)
        if key in visited:
            log.warning("[%s] %s: next page %s was already read; stopping", SLUG, label, url)
            return
        if _host(url) not in recipe.hosts:
            log.warning("[%s] %s: next page %s leaves %s; stopping", SLUG, label, url, host)
            return
        visited.add(key)
        resp = client.get(SLUG, url, robots=True)
        ctx = Context(
            url=url,
            profile_url=profile.url,
            researcher_id=researcher_id,
            content_type=resp.content_type,
            metrics=pages == 0,
        )
        try:
            page = parse_page(resp.body, f"GET {resp.url}", recipe, resp.status, ctx)
        except ProfileBlocked:
            blocked.add(host)
            raise
        yield Fetched(resp, page)
        pages += 1
        url = page.next_token
    if url:
        log.warning(
            "[%s] %s: stopped after %d page(s) (cap); the profile lists more", SLUG, label, pages
        )


def fetch(client: HttpClient, watchlist: Watchlist) -> FetchReport:
    """Every [[profiles]] entry in turn: its pages through its recipe."""
    report = FetchReport(SLUG)
    cap = watchlist.sources.profiles.max_pages
    blocked: set[str] = set()
    for i, profile in enumerate(watchlist.profiles):
        researcher = watchlist.researcher_named(profile.researcher)
        report.collect(_profile_pages(client, i, profile, researcher.researcher_id, cap, blocked))
    return report

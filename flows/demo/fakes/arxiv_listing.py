"""Fake arxiv.org listing pages (`/list/<category>/new`, `/list/<category>/recent`).

Rendered to the markup of arXiv's own `arxiv-browse` templates (list/new.html, list/recent.html,
list/list_macros.html): a `<dl id='articles'>` per section with an `<h3>` heading such as
"New submissions (showing 4 of 4 entries)" or "Fri, 16 Jan 2026 (showing 10 of 10 entries )",
a `<dt>` with the `/abs/<id>` link and a `<dd>` with `div.meta` (`div.list-title`,
`div.list-authors`, `div.list-comments`, `div.list-journal-ref`, `div.list-subjects` with
`span.primary-subject`, and on /new the abstract in `p.mathjax`), and the paging lines
"Total of N entries" / "Showing up to N entries per page" above and below the list.

`render_page` is also what wrote the hand-checked HTML fixtures in tests/fixtures/arxiv_listing.
The demo handler takes its announcement days and replaced versions from `arxiv_listing.json`
(facts only: ids, dates, versions, category names); abstracts are placeholders.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

HOST = "arxiv.org"
SHOW_VALUES = (5, 10, 25, 50, 100, 250, 500, 1000, 2000)
MAX_SHOW = SHOW_VALUES[-1]
DEFAULT_RECENT_SHOW = 25
_FACTS = Path(__file__).with_suffix(".json")
# What arxiv.org/robots.txt says for every agent (the lines that matter here): /list is allowed.
ROBOTS_TXT = (
    "# robots.txt for http://arxiv.org/ and mirror sites http://*.arxiv.org/\n"
    "User-agent: *\nCrawl-delay: 15\nAllow: /archive\nAllow: /year\nAllow: /list\nAllow: /abs\n"
    "Allow: /pdf\nAllow: /html\nAllow: /catchup\nDisallow: /user\nDisallow: /e-print\n"
    "Disallow: /src\nDisallow: /format\nDisallow: /IgnoreMe\nDisallow: /oai2\nDisallow: /auth\n"
    "Disallow: /api\nDisallow: /search\nDisallow: /show-email\n"
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def long_date(d: date) -> str:
    """`Friday, 16 January 2026` (strftime('%A, %-d %B %Y') without the locale)."""
    return f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}"


def short_date(d: date) -> str:
    """`Fri, 16 Jan 2026` (strftime('%a, %-d %b %Y'))."""
    return f"{_DAYS[d.weekday()][:3]}, {d.day} {_MONTHS[d.month - 1][:3]} {d.year}"


# An author list as arXiv renders it: linked names and the plain text between them
# (", ", affiliation markers such as " (1)" and a trailing "((1) Institute)").
AuthorPart = str | tuple[str, str]


@dataclass
class Entry:
    arxiv_id: str
    title: str
    authors: Sequence[AuthorPart]
    subjects: Sequence[tuple[str, str]]  # (name, code); the first is the primary subject
    kind: str = "new"  # new | cross | rep
    version: int | None = 1  # None: no HTML rendering, so no versioned link on the page
    comments: str | None = None
    journal_ref: str | None = None
    abstract: str | None = None  # HTML (already escaped); shown on /new only
    other_formats: bool = True


@dataclass
class Section:
    label: str  # "New" / "Cross" / "Replacement" on /new; "Fri, 16 Jan 2026" on /recent
    entries: list[Entry]
    total: int  # entries of the section in the whole listing
    continued: bool = False
    last: bool = True


@dataclass
class Listing:
    category: str
    category_name: str
    kind: str  # new | recent
    sections: list[Section]
    total: int
    skip: int = 0
    show: int = MAX_SHOW
    announced: date | None = None  # /new
    pubdates: list[tuple[date, int]] = field(default_factory=list)  # /recent: day, entries


def author_query_url(name: str, archive: str) -> str:
    """arXiv's author search link: `Ng,+J+S` for "Jer Shyuan Ng"."""
    parts = name.replace(",", "").split()
    if len(parts) == 1:
        query = parts[0]
    else:
        query = parts[-1] + "," + "".join("+" + p[0] for p in parts[:-1])
    return f"https://arxiv.org/search/{archive}?searchtype=author&amp;query={query}"


def _showing(sec: Section) -> str:
    showing = "showing "
    if sec.continued:
        showing = "continued, " + showing + ("last " if sec.last else "")
    elif not sec.last:
        showing += "first "
    return showing


def _heading(listing: Listing, sec: Section) -> str:
    counts = f"{_showing(sec)}{len(sec.entries)} of {sec.total} entries"
    if listing.kind == "new":
        return f"{sec.label} submissions ({counts})"
    return f"{sec.label} ({counts} )"


def _entry(e: Entry, index: int, listing_kind: str) -> str:
    i, aid = index, e.arxiv_id
    kind = ""
    if e.kind == "cross":
        kind = f"\n      (cross-list from {e.subjects[0][1]})"
    elif e.kind == "rep":
        kind = "\n      (replaced)"
    links = (
        f'[<a href="/pdf/{aid}" title="Download PDF" id="pdf-{aid}" '
        f'aria-labelledby="pdf-{aid}">pdf</a>'
    )
    if e.version is not None:
        links += (
            f', <a href="https://arxiv.org/html/{aid}v{e.version}" title="View HTML" '
            f'id="html-{aid}" aria-labelledby="html-{aid}" rel="noopener noreferrer" '
            f'target="_blank">html</a>'
        )
    if e.other_formats:
        links += (
            f', <a href="/format/{aid}" title="Other formats" id="oth-{aid}" '
            f'aria-labelledby="oth-{aid}">other</a>'
        )
    links += "]"
    archive = e.subjects[0][1].split(".")[0] if e.subjects else "cs"
    if e.authors:
        authors = "".join(
            escape(p, quote=False)
            if isinstance(p, str)
            else f'<a href="{escape(p[1]) if p[1] else author_query_url(p[0], archive)}" '
            f'rel="nofollow">{escape(p[0], quote=False)}</a>'
            for p in e.authors
        )
    else:
        authors = "(author list is unavailable)"
    out = [
        "    <dt>",
        f"      <a name='item{i}'>[{i}]</a>",
        f'      <a href ="/abs/{aid}" title="Abstract" id="{aid}">',
        f"        arXiv:{aid}",
        f"      </a>{kind}",
        f"      {links}",
        "    </dt>",
        "    <dd>",
        "      <div class='meta'>",
        "        <div class='list-title mathjax'><span class='descriptor'>Title:</span>",
        f"          {escape(e.title, quote=False)}",
        "        </div>",
        f"        <div class='list-authors'>{authors}</div>",
    ]
    if e.comments:
        out += [
            "        <div class='list-comments mathjax'><span class='descriptor'>Comments:</span>",
            f"          {escape(e.comments, quote=False)}",
            "        </div>",
        ]
    if e.journal_ref:
        out += [
            "        <div class='list-journal-ref'><span class='descriptor'>Journal-ref:</span>",
            f"          {escape(e.journal_ref, quote=False)}",
            "        </div>",
        ]
    if e.subjects:
        (name, code), rest = e.subjects[0], e.subjects[1:]
        secondary = "".join(f"; {escape(n, quote=False)} ({c})" for n, c in rest)
        out += [
            "        <div class='list-subjects'><span class='descriptor'>Subjects:</span>",
            f'          <span class="primary-subject">{escape(name, quote=False)} ({code})</span>'
            f"{secondary}",
            "        </div>",
        ]
    if listing_kind == "new":
        out += ["        <p class='mathjax'>", f"          {e.abstract or ''}", "        </p>"]
    out += ["      </div>", "    </dd>"]
    return "\n".join(out)


def _link(listing: Listing, skip: int, show: int, text: str) -> str:
    url = f"/list/{listing.category}/{listing.kind}?skip={skip}&amp;show={show}"
    return f'<a href={url} rel="nofollow">{text}</a>'


def _page_divs(listing: Listing) -> str:
    count, skip, shown = listing.total, listing.skip, listing.show
    if count <= 0:
        return ""
    pages = ""
    if shown < count:
        parts = []
        for start in range(0, count, shown):
            span = f"{start + 1}-{min(count, start + shown)}"
            parts.append(
                f"<span>{span}</span>" if start == skip else _link(listing, start, shown, span)
            )
        pages = ": " + "\n      ".join(parts)
    fewer = next((n for n, n1 in itertools.pairwise(SHOW_VALUES) if n < shown <= n1), None)
    more = next((n for n in SHOW_VALUES if shown < n < count), None)
    show_all = MAX_SHOW if shown < count and shown < MAX_SHOW else None

    def opt(text: str, n: int | None) -> str:
        if n is None:
            return f'<span style="color: #454545">{text}</span>'
        return _link(listing, skip, n, text)

    return (
        f"  <div class='paging'>Total of {count} entries {pages}\n  </div>\n"
        f"  <div class='morefewer'>Showing up to {shown} entries per page:\n"
        f"    {opt('fewer', fewer)} |\n    {opt('more', more)} |\n    {opt('all', show_all)}\n"
        "  </div>\n"
    )


def render_page(listing: Listing) -> str:
    cat, name = listing.category, escape(listing.category_name, quote=False)
    if listing.kind == "new":
        index = []
        start = listing.skip + 1
        for sec in listing.sections:
            label = {"New": "New submissions", "Cross": "Cross-lists"}.get(
                sec.label, "Replacements"
            )
            index.append(f'  <li><a href="#item{start}" rel="nofollow">{label}</a></li>')
            start += len(sec.entries)
        announced = listing.announced or date(1970, 1, 1)
        head = (
            "<ul>\n" + "\n".join(index) + "\n</ul>\n\n"
            f'<p>See <a id="recent-{cat}" aria-labelledby="recent-{cat}" '
            f'href="/list/{cat}/recent">recent</a> articles</p>\n'
            f"<h3>Showing new listings for {long_date(announced)}</h3>\n"
        )
    else:
        days, cumulative = [], 0
        for day, n in listing.pubdates:
            days.append(
                f"  <li>\n    {_link(listing, cumulative, listing.show, short_date(day))}\n  </li>"
            )
            cumulative += n
        head = (
            "<h2>Authors and titles for recent submissions</h2>\n<ul>\n"
            + "\n".join(days)
            + "\n</ul>\n"
            f'<p>See today\'s <a id="new-{cat}" aria-labelledby="new-{cat}" '
            f'href="/list/{cat}/new">new</a> changes</p>\n'
        )
    items, index_no = [], listing.skip + 1
    for sec in listing.sections:
        rows = []
        for e in sec.entries:
            rows.append(_entry(e, index_no, listing.kind))
            index_no += 1
        items.append(
            "<dl id='articles'>\n"
            f"    <h3>{_heading(listing, sec)}</h3>\n"
            + ("    <p>No updates for this time period.</p>\n" if not sec.entries else "")
            + "\n".join(rows)
            + "\n</dl>\n"
        )
    if listing.kind == "new" and not listing.sections:
        items.append("    <p>No updates today.</p>\n")
    paging = _page_divs(listing)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">\n'
        "<head>\n"
        f"  <title>{name}</title>\n"
        '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '  <link rel="stylesheet" type="text/css" media="screen" '
        'href="/static/browse/0.3.4/css/arXiv.css?v=20241206" />\n'
        "</head>\n\n"
        '<body  class="with-cu-identity">\n'
        '  <div class="flex-wrap-footer">\n'
        "    <header>\n"
        '      <a href="#content" class="is-sr-only">Skip to main content</a>\n'
        '      <div class="columns is-vcentered is-hidden-mobile" id="cu-identity">\n'
        '        <div class="column" id="support-ack">\n'
        '          <span id="support-ack-url">We gratefully acknowledge support from the '
        'Simons Foundation, <a href="https://info.arxiv.org/about/ourmembers.html">member '
        'institutions</a>, and all contributors. <a href="https://info.arxiv.org/about/'
        'donate.html">Donate</a></span>\n'
        "        </div>\n"
        "      </div>\n"
        '      <div id="header" class="is-hidden-mobile">\n'
        '        <a aria-hidden="true" tabindex="-1" href="/IgnoreMe"></a>\n'
        '        <div class="header-breadcrumbs">\n'
        '          <a href="/"><img src="/static/browse/0.3.4/images/'
        'arxiv-logo-one-color-white.svg" alt="arxiv logo" style="height:40px;"/></a> '
        f'<span>&gt;</span>\n          <a href="/list/{cat}/recent">{cat}</a>\n'
        "        </div>\n"
        '        <div class="search-block level-right">\n'
        '          <form class="level-item mini-search" method="GET" '
        'action="https://arxiv.org/search">\n'
        '            <input class="input is-small" type="text" name="query" '
        'placeholder="Search..." aria-label="Search term or terms" />\n'
        '            <button class="button is-small is-cul-darker">Search</button>\n'
        "          </form>\n"
        "        </div>\n"
        "      </div>\n"
        "    </header>\n\n"
        "    <main>\n"
        '      <div id="content">\n'
        "<div id='content-inner'>\n"
        "<div id='dlpage'>\n"
        f"  <h1>{name}</h1>\n\n"
        f"{head}\n{paging}\n{''.join(items)}\n{paging}"
        "</div>\n"
        "</div>\n"
        "      </div>\n"
        "    </main>\n\n"
        '    <footer style="clear: both;">\n'
        '      <div class="columns is-desktop" role="navigation" aria-label="Secondary">\n'
        '        <ul style="list-style: none; line-height: 2;">\n'
        '          <li><a href="https://info.arxiv.org/about">About</a></li>\n'
        '          <li><a href="https://info.arxiv.org/help">Help</a></li>\n'
        '          <li><a href="https://info.arxiv.org/help/license/index.html">'
        "Copyright</a></li>\n"
        "        </ul>\n"
        "      </div>\n"
        "    </footer>\n"
        "  </div>\n"
        "</body>\n\n"
        "</html>\n"
    )


def page_slice(listing: Listing, skip: int, show: int) -> Listing:
    """The page `skip`..`skip+show` of a whole listing (sections cut and flagged as arXiv does)."""
    out: list[Section] = []
    start = 0
    for sec in listing.sections:
        lo, hi = max(skip, start), min(skip + show, start + len(sec.entries))
        if lo < hi:
            out.append(
                Section(
                    sec.label,
                    sec.entries[lo - start : hi - start],
                    len(sec.entries),
                    continued=lo > start,
                    last=hi >= start + len(sec.entries),
                )
            )
        start += len(sec.entries)
    return Listing(
        listing.category,
        listing.category_name,
        listing.kind,
        out,
        listing.total,
        skip,
        show,
        listing.announced,
        listing.pubdates,
    )


# ---------------------------------------------------------------- demo upstream


def _facts() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_FACTS.read_text(encoding="utf-8"))
    return data


def announcement_day(submitted: date) -> date:
    """The weekday after submission (arXiv announces each weekday's submissions next day)."""
    day = submitted + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _demo_entry(work: dict[str, Any], kind: str, version: int, names: dict[str, str]) -> Entry:
    cats = work.get("arxiv_categories") or ["cs.DC"]
    return Entry(
        arxiv_id=work["arxiv_id"],
        title=work["title"],
        authors=[
            part
            for i, name in enumerate(work["authors"])
            for part in ((", ",) if i else ()) + ((name, ""),)
        ],
        subjects=[(names.get(c, c), c) for c in cats],
        kind=kind,
        version=version,
        journal_ref=work["venue"] if work.get("venue") not in (None, "arXiv") else None,
        abstract="Placeholder abstract written for the scholarflow demo recording.",
    )


def _demo_listing(upstream: Any, category: str, kind: str) -> Listing:
    facts = _facts()
    names: dict[str, str] = facts["category_names"]
    announced = date.fromisoformat(facts["announced"])
    works = [w for w in upstream.works if w.get("arxiv_id")]

    def announced_on(w: dict[str, Any]) -> date:
        return announcement_day(date.fromisoformat(w["date"]))

    def of(day: date, kinds: tuple[str, ...]) -> list[Entry]:
        out = []
        for w in sorted(works, key=lambda w: w["arxiv_id"]):
            cats = w.get("arxiv_categories") or ["cs.DC"]
            if category not in cats or announced_on(w) != day:
                continue
            entry_kind = "new" if cats[0] == category else "cross"
            if entry_kind in kinds:
                out.append(_demo_entry(w, entry_kind, 1, names))
        return out

    name = names.get(category, category)
    if kind == "new":
        replaced = facts["replaced"].get(announced.isoformat(), {})
        reps = [
            _demo_entry(w, "rep", int(replaced[w["arxiv_id"]]), names)
            for w in sorted(works, key=lambda w: w["arxiv_id"])
            if w["arxiv_id"] in replaced and category in (w.get("arxiv_categories") or [])
        ]
        groups = [("New", of(announced, ("new",))), ("Cross", of(announced, ("cross",)))]
        groups.append(("Replacement", reps))
        sections = [Section(label, es, len(es)) for label, es in groups if es]
        total = sum(len(s.entries) for s in sections)
        return Listing(category, name, "new", sections, total, announced=announced)
    days: list[date] = []
    day = announced
    while len(days) < int(facts["recent_days"]):
        days.append(day)
        day -= timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
    per_day = [(d, of(d, ("new", "cross"))) for d in days]
    sections = [Section(short_date(d), es, len(es)) for d, es in per_day if es]
    total = sum(len(es) for _, es in per_day)
    return Listing(
        category, name, "recent", sections, total, pubdates=[(d, len(es)) for d, es in per_day]
    )


def handler(upstream: Any, request: httpx.Request) -> httpx.Response:
    parts = request.url.path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "list" or parts[2] not in ("new", "recent"):
        return httpx.Response(
            404,
            text="<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
            "<p>The requested URL was not found on the server.</p></body></html>",
            headers={"content-type": "text/html"},
        )
    q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    category, kind = parts[1], parts[2]
    default = MAX_SHOW if kind == "new" else DEFAULT_RECENT_SHOW
    show = min(int(q["show"]), MAX_SHOW) if q.get("show", "").isdigit() else default
    skip = int(q["skip"]) if q.get("skip", "").isdigit() else 0
    page = page_slice(_demo_listing(upstream, category, kind), skip, show)
    return httpx.Response(
        200,
        content=render_page(page).encode("utf-8"),
        headers={"content-type": "text/html; charset=utf-8"},
    )

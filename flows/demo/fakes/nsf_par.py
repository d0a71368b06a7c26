"""Fake par.nsf.gov: NSF PAR search result pages (HTML with schema.org microdata), 10 per page.

Author searches (`/search/author:"Last, First"[/page:N]`) list the researcher's published demo
works (not arXiv-only preprints: PAR holds journal articles and conference papers) plus the
deposits in `nsf_par.json`; keyword searches (`/search/term:"<keyword>"/sort:...`) list the
published works of the topic whose keywords include it, newest first.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

FACTS: dict[str, Any] = json.loads(Path(__file__).with_suffix(".json").read_text(encoding="utf-8"))
PER_PAGE = 10
PLACEHOLDER = "Placeholder abstract written for the scholarflow demo recording."
_MONTHS = list(calendar.month_name)[1:]


def last_first(name: str) -> str:
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else name


def par_id(title: str) -> str:
    return "105" + str(int(hashlib.sha256(("par:" + title).encode()).hexdigest(), 16))[:5]


def _long_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{_MONTHS[m - 1]} {d}, {y}"


def _work(w: dict[str, Any]) -> dict[str, Any]:
    return {
        "par_id": par_id(w["title"]),
        "title": w["title"],
        "authors": [last_first(a) for a in w["authors"]],
        "date": w["date"],
        "venue": w["venue"],
        "doi": w.get("doi"),
        "description": PLACEHOLDER,
    }


def _deposit(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "authors": [last_first(a) for a in d["authors"]]}


def _published(up: Any) -> list[dict[str, Any]]:
    return [w for w in up.works if w.get("venue", "arXiv") != "arXiv"]


def _matches(up: Any, field: str, value: str) -> list[dict[str, Any]]:
    if field == "author":
        r = next(
            (
                r
                for r in up.researchers.values()
                if value in {last_first(r["name"]), *r.get("name_variants", [])}
            ),
            None,
        )
        if r is None:
            return []
        hits = [_work(w) for w in _published(up) if r["key"] in w["watched"]]
        hits += [_deposit(d) for d in FACTS["deposits"] if r["name"] in d["authors"]]
    elif field == "term":
        keys = [t["key"] for t in up.topics.values() if value in t["keywords"]]
        hits = [_work(w) for w in _published(up) if set(keys) & set(w.get("topics", []))]
    else:
        return []
    return sorted(hits, key=lambda h: (h["date"], h["par_id"]), reverse=True)


def _item(h: dict[str, Any]) -> str:
    y, m, _ = (int(x) for x in h["date"].split("-"))
    title = f'<span itemprop="name">{escape(h["title"])}</span>' if h.get("title") else ""
    slug = re.sub(r"[^a-z0-9]+", "-", (h.get("title") or "record").lower()).strip("-")[:60]
    authors = "; ".join(
        '<span class="author" itemprop="author" itemscope itemtype="http://schema.org/Person">'
        f'<span itemprop="name">{escape(a)}</span></span>'
        for a in h["authors"]
    )
    meta = [
        f'<span class="authors">{authors}</span>',
        f'<span class="year">(<time itemprop="datePublished" datetime="{h["date"]}">'
        f"{_MONTHS[m - 1]} {y}</time>)</span>",
    ]
    if h.get("venue"):
        meta.append(f'<span class="journal" itemprop="isPartOf">{escape(h["venue"])}</span>')
    if h.get("doi"):
        meta.append(
            '<span class="doi-link"><a class="misc external-link" itemprop="identifier" '
            f'href="https://doi.org/{escape(h["doi"])}" title="Document DOI URL">'
            f"https://doi.org/{escape(h['doi'])}</a></span>"
        )
    lines = [
        "<li>",
        '<div class="article item document" itemscope itemtype="http://schema.org/ScholarlyArticle">',
        '<div class="item-info">',
        f'<div class="title"><a class="title-link" href="https://par.nsf.gov/biblio/'
        f'{h["par_id"]}-{slug}" itemprop="url">{title}</a></div>',
        '<div class="metadata">' + "\n".join(meta) + "</div>",
    ]
    if h.get("description"):
        lines.append(
            f'<div class="abstract" itemprop="description"><p>{escape(h["description"])}</p> '
            '<a href="#" class="more-link">more »</a> <a href="#" class="less-link">« less</a></div>'
        )
    if h.get("embargo"):
        lines.append(
            '<div class="reader-count-wrap"><span class="reader-count">Free, publicly-accessible '
            f"full text available {_long_date(h['embargo'])}</span></div>"
        )
    lines += ["</div>", "</div>", "</li>"]
    return "\n".join(lines)


def _page(hits: list[dict[str, Any]], base: str, label: str, page: int) -> str:
    last = -(-len(hits) // PER_PAGE)
    chunk = hits[(page - 1) * PER_PAGE : page * PER_PAGE]
    if chunk:
        links = [
            f'<li class="active"><span>{n}</span></li>'
            if n == page
            else f'<li><a href="{base}{"" if n == 1 else f"/page:{n}"}">{n}</a></li>'
            for n in range(1, last + 1)
        ]
        if page < last:
            links.append(
                f'<li class="next"><a rel="next" href="{base}/page:{page + 1}">Next »</a></li>'
            )
        paging = (
            '<nav class="paging"><span class="paging-label">Page '
            f'<span class="paging-current">{page}</span> of <span class="paging-max">{last}</span>'
            f'</span>\n<ul class="pagination">{"".join(links)}</ul></nav>'
        )
        tabs = (
            f'<ul class="nav nav-tabs search-tabs"><li class="active"><a href="{base}">All Records '
            f'<span class="item-count badge" id="item-count-everything">{len(hits)}</span></a></li></ul>'
        )
        results = (
            '<ol class="item-list documents">\n' + "\n".join(_item(h) for h in chunk) + "\n</ol>"
        )
    else:
        paging = tabs = ""
        results = '<div class="no-results alert alert-info"><p>No results found for this search.</p></div>'
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>NSF Public Access Repository: Search for: All records</title>\n</head>\n<body>\n"
        '<a class="skip-link" href="#main-content">skip to main content</a>\n'
        '<section class="usa-banner"><p>An official website of the United States government</p>'
        "</section>\n"
        '<main id="main-content">\n<div class="breadcrumbs"><span class="breadcrumb-label">Search '
        'for:</span> <span class="breadcrumb-item">All records</span></div>\n'
        f'<div class="search-summary"><p class="search-terms">{escape(label)}</p></div>\n'
        f"{tabs}\n{paging}\n{results}\n{paging}\n</main>\n</body>\n</html>\n"
    )


def handle(up: Any, request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if not path.startswith("/search/"):
        return httpx.Response(
            404,
            text="<!DOCTYPE html><html><head><title>Page not found</title></head></html>\n",
            headers={"content-type": "text/html; charset=utf-8"},
        )
    params = dict(
        seg.split(":", 1) for seg in path.removeprefix("/search/").split("/") if ":" in seg
    )
    page = int(params.pop("page", "1"))
    sort = params.pop("sort", None)
    (field, raw), *_ = params.items()
    value = raw.strip('"')
    base = "/search/" + quote(f"{field}:{raw}", safe=":")
    if sort:
        base += "/" + quote(f"sort:{sort}", safe=":")
    label = {
        "author": f'Creators/Authors contains: "{value}"',
        "term": f'Subject(s)/Keyword(s) contains: "{value}"',
    }.get(field, value)
    html = _page(_matches(up, field, value), base, label, page)
    return httpx.Response(
        200, content=html.encode(), headers={"content-type": "text/html; charset=utf-8"}
    )

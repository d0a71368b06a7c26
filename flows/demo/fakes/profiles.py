"""Fake profile sites for the demo: Google Scholar author profiles and DBLP person pages,
rendered from the demo facts in the sites' markup (the selectors of `flows/recipes/*.toml`).

Profile ids are illustrative (`profiles.json`); Scholar citation counts are the facts' OpenAlex
counts (else Semantic Scholar's). scholar.google.com serves its real robots.txt rules, under
which the shared client skips profile pages.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

import httpx

IDS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).with_name("profiles.json")).read_text(encoding="utf-8")
)
SCHOLAR_ROBOTS = """User-agent: *
Disallow: /search
Disallow: /index.html
Disallow: /scholar
Disallow: /citations?
Allow: /citations?user=
Disallow: /citations?*cstart=
Disallow: /citations?user=*%40
Disallow: /citations?user=*@
Allow: /citations?view_op=list_classic_articles
Allow: /citations?view_op=metrics_intro
Allow: /citations?view_op=new_profile
Allow: /citations?view_op=sitemap
Allow: /citations?view_op=top_venues

User-agent: PetalBot
Disallow: /
"""
_NOT_FOUND = "<!doctype html><html><head><title>Error 404 (Not Found)</title></head></html>\n"


def _html(body: str, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=body.encode(), headers={"content-type": "text/html; charset=utf-8"}
    )


def _h(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _works_of(up: Any, key: str) -> list[dict[str, Any]]:
    return [w for w in up.works if key in w["watched"]]


def _cites(w: dict[str, Any]) -> int:
    c = w["citations"]
    return int(c.get("openalex", c.get("semantic_scholar", 0)))


# ---------------------------------------------------------------- Google Scholar


def _scholar_short(name: str) -> str:
    """Scholar prints authors as initials and family name: "Bruce M. Maggs" -> "BM Maggs"."""
    parts = name.replace(".", "").split()
    return "".join(p[0] for p in parts[:-1]) + " " + parts[-1]


def _article_id(title: str) -> str:
    digits = int(hashlib.sha256(title.encode()).hexdigest(), 16)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    out = ""
    for _ in range(11):
        out += chars[digits % 64]
        digits //= 64
    return out + "C"


def _scholar_row(w: dict[str, Any], user: str) -> str:
    names = [_scholar_short(a) for a in w["authors"]]
    authors = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    year = w["date"][:4]
    venue = f"arXiv preprint arXiv:{w['arxiv_id']}" if w["venue"] == "arXiv" else w["venue"]
    view = (
        f"/citations?view_op=view_citation&amp;hl=en&amp;user={user}"
        f"&amp;citation_for_view={user}:{_article_id(w['title'])}"
    )
    c = _cites(w)
    cell = (
        f'<a href="https://scholar.google.com/scholar?oi=bibs&amp;hl=en&amp;cites='
        f'{int(_h(w["title"], 8), 16)}" class="gsc_a_ac gs_ibl">{c}</a>'
        if c
        else '<a href="javascript:void(0)" class="gsc_a_ac gs_ibl gsc_a_acm"></a>'
    )
    return (
        f'<tr class="gsc_a_tr"><td class="gsc_a_t"><a href="javascript:void(0)" '
        f'data-href="{view}" class="gsc_a_at">{escape(w["title"])}</a>'
        f'<div class="gs_gray">{escape(authors)}</div><div class="gs_gray">{escape(venue)}'
        f'<span class="gs_oph">, {year}</span></div></td><td class="gsc_a_c">{cell}'
        f'<span class="gsc_a_m"></span></td><td class="gsc_a_y">'
        f'<span class="gsc_a_h gsc_a_hc gs_ibl">{year}</span></td></tr>\n'
    )


def _scholar_metrics(works: list[dict[str, Any]]) -> str:
    def row(label: str, values: list[int], fmt: str = "{:,}") -> str:
        cells = "".join(f'<td class="gsc_rsb_std">{fmt.format(v)}</td>' for v in values)
        return (
            f'<tr><td class="gsc_rsb_sc1"><a href="javascript:void(0)" '
            f'class="gsc_rsb_f gs_ibl">{label}</a></td>{cells}</tr>'
        )

    def h_index(cs: list[int]) -> int:
        return sum(1 for i, c in enumerate(sorted(cs, reverse=True), 1) if c >= i)

    every = [_cites(w) for w in works]
    recent = [_cites(w) for w in works if w["date"] >= "2021"]
    return (
        '<table id="gsc_rsb_st"><thead><tr><th class="gsc_rsb_sth"></th>'
        '<th class="gsc_rsb_sth">All</th><th class="gsc_rsb_sth">Since 2021</th></tr></thead>'
        "<tbody>"
        + row("Citations", [sum(every), sum(recent)])
        + row("h-index", [h_index(every), h_index(recent)], "{}")
        + row("i10-index", [sum(c >= 10 for c in every), sum(c >= 10 for c in recent)], "{}")
        + "</tbody></table>"
    )


def scholar(up: Any, request: httpx.Request) -> httpx.Response:
    q = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    if request.url.path != "/citations":
        return _html(_NOT_FOUND, 404)
    key = next((k for k, u in IDS["scholar_users"].items() if u == q.get("user")), None)
    if key is None or key not in up.researchers:
        return _html(_NOT_FOUND, 404)
    r = up.researchers[key]
    works = sorted(_works_of(up, key), key=lambda w: (-_cites(w), w["title"]))
    start, size = int(q.get("cstart", 0)), int(q.get("pagesize", 20))
    chunk = works[start : start + size]
    rows = "".join(_scholar_row(w, q["user"]) for w in chunk) or (
        '<tr class="gsc_a_t"><td class="gsc_a_e" colspan="3">'
        "There are no articles in this profile.</td></tr>"
    )
    more = "" if start + size < len(works) else ' disabled=""'
    page = (
        f"<!doctype html><html><head><title>{escape(r['name'])} - Google Scholar</title>"
        '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"></head><body>'
        '<div id="gs_top"><div id="gsc_bdy"><div id="gsc_prf_w"><div id="gsc_prf">'
        f'<div id="gsc_prf_i"><div id="gsc_prf_in">{escape(r["name"])}</div>'
        f'<div class="gsc_prf_il">{escape(r.get("affiliation") or "")}</div></div></div></div>'
        f'<div id="gsc_rsb"><div class="gsc_rsb_s gsc_prf_pnl" id="gsc_rsb_cit">'
        f"{_scholar_metrics(works)}</div></div>"
        f'<div id="gsc_art"><form method="post" action="/citations?hl=en&amp;user={q["user"]}" '
        'id="citationsForm"><table id="gsc_a_t"><thead><tr><th class="gsc_a_t">Title</th>'
        '<th class="gsc_a_c">Cited by</th><th class="gsc_a_y">Year</th></tr></thead>'
        f'<tbody id="gsc_a_b">\n{rows}</tbody></table><div id="gsc_lwp"><div id="gsc_bpf">'
        f'<button type="button" id="gsc_bpf_more" class="gs_btnPD gs_in_ib gs_btn_flat '
        f'gs_btn_lrge gs_btn_lsu"{more}><span class="gs_lbl">Show more</span></button>'
        "</div></div></form></div></div></div></body></html>\n"
    )
    return _html(page)


# ---------------------------------------------------------------- DBLP person pages


def _dblp_author(name: str, me: str) -> str:
    if name == me:
        inner = f'<span class="this-person" itemprop="name">{escape(name)}</span>'
    else:
        pid = f"{_h('pid:' + name, 3)}/{_h('pid2:' + name, 4)}"
        inner = (
            f'<a href="https://dblp.org/pid/{pid}.html" itemprop="url">'
            f'<span itemprop="name" title={quoteattr(name)}>{escape(name)}</span></a>'
        )
    return f'<span itemprop="author" itemscope itemtype="http://schema.org/Person">{inner}</span>'


def _dblp_entry(w: dict[str, Any], me: str, kind: str, number: str) -> str:
    year = w["date"][:4]
    letters = "".join(a.split()[-1][0] for a in w["authors"][1:])
    tag = f"{w['authors'][0].split()[-1]}{letters}{year[2:]}"
    if kind == "informal":
        aid = w["arxiv_id"]
        key = "journals/corr/abs-" + aid.replace(".", "-")
        links = [
            (f"https://doi.org/10.48550/arXiv.{aid}", "electronic edition via DOI (open access)"),
            (f"https://arxiv.org/abs/{aid}", "electronic edition @ arxiv.org (open access)"),
        ]
        venue = (
            f'<a href="https://dblp.org/db/journals/corr/corr{aid[:4]}.html#abs-'
            f'{aid.replace(".", "-")}"><span itemprop="isPartOf" itemscope '
            'itemtype="http://schema.org/Periodical"><span itemprop="name">CoRR</span></span> '
            '<span itemprop="isPartOf" itemscope itemtype="http://schema.org/PublicationVolume">'
            f'<span itemprop="volumeNumber">abs/{aid}</span></span></a> '
            f'(<span itemprop="datePublished">{year}</span>)'
        )
    else:
        name, _, vyear = w["venue"].rpartition(" ")
        if not vyear.isdigit():
            name, vyear = w["venue"], year
        stream = re.sub("[^a-z]", "", name.lower())
        year = vyear
        key = f"conf/{stream}/{tag}"
        links = (
            [(f"https://doi.org/{w['doi']}", "electronic edition via DOI")] if w.get("doi") else []
        )
        venue = (
            f'<a href="https://dblp.org/db/conf/{stream}/{stream}{vyear}.html#{tag}">'
            '<span itemprop="isPartOf" itemscope itemtype="http://schema.org/BookSeries">'
            f'<span itemprop="name">{escape(name)}</span></span> '
            f'<span itemprop="datePublished">{vyear}</span></a>'
        )
    ees = "".join(
        f'<li class="ee"><a href="{escape(u)}" itemprop="url">{label}</a></li>'
        for u, label in links
    )
    head = links[0][0] if links else f"https://dblp.org/rec/{key}.html"
    authors = ", ".join(_dblp_author(a, me) for a in w["authors"])
    return (
        f'<li class="entry {kind} toc" id="{key}" itemscope '
        'itemtype="http://schema.org/ScholarlyArticle">'
        f'<div class="nr" id="{number}">[{number}]</div><nav class="publ"><ul>'
        f'<li class="drop-down"><div class="head"><a href="{escape(head)}"></a></div>'
        f'<div class="body"><p><b>view</b></p><ul>{ees}</ul></div></li></ul></nav>'
        f'<cite class="data tts-content" itemprop="headline">{authors}:<br> '
        f'<span class="title" itemprop="name">{escape(w["title"])}.</span> {venue}</cite></li>'
    )


def dblp_person(up: Any, request: httpx.Request) -> httpx.Response:
    m = re.fullmatch(r"/pid/(.+)\.html", request.url.path)
    key = next((k for k, p in IDS["dblp_pids"].items() if m and p == m.group(1)), None)
    if key is None or key not in up.researchers:
        return _html(_NOT_FOUND, 404)
    me = up.researchers[key]["name"]
    # DBLP lists a published paper and its CoRR preprint as two entries, newest year first.
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    for w in _works_of(up, key):
        if w["venue"] != "arXiv":
            year = w["venue"].rpartition(" ")[2]
            rows.append((year if year.isdigit() else w["date"][:4], "inproceedings", w["title"], w))
        if w.get("arxiv_id"):
            rows.append((w["date"][:4], "informal", w["title"], w))
    rows.sort(key=lambda r: (r[0], r[2]), reverse=True)
    counts = {"inproceedings": 0, "informal": 0}
    for _, kind, _, _ in rows:
        counts[kind] += 1
    items, last = [], ""
    for year, kind, _, w in rows:
        if year != last:
            items.append(f'<li class="year">{year}</li>')
            last = year
        number = ("c" if kind == "inproceedings" else "i") + str(counts[kind])
        counts[kind] -= 1
        items.append(_dblp_entry(w, me, kind, number))
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"><title>dblp: {escape(me)}'
        '</title></head><body class="pers"><div id="main">'
        '<header id="headline" class="headline noline"><h1>'
        f'<span class="name primary" itemprop="name">{escape(me)}</span></h1></header>'
        '<div id="publ-section" class="section"><div class="hide-body">'
        '<ul class="publ-list" data-style="ydvspc">\n'
        + "\n".join(items)
        + "\n</ul></div></div></div></body></html>\n"
    )
    return _html(page)

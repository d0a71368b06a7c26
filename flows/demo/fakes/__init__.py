"""Fake upstreams for the demo generator, one module per source host (`<slug>.py`).

Each module renders the demo facts in its source's real response format. A handler takes the
generator's `FakeUpstream` (facts, researchers, topics, id helpers) and the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from flows.demo.fakes import (
    arxiv_listing,
    crossref,
    dblp,
    hf_papers,
    nsf_awards,
    nsf_par,
    profiles,
    scholar_feed,
)

Handler = Callable[[Any, httpx.Request], httpx.Response]


def _dblp(up: Any, request: httpx.Request) -> httpx.Response:
    """dblp.org serves two sources: person pages (`/pid/….html`, the profiles recipe) and the
    APIs (`/search/…`, `/pid/….xml`, the dblp source)."""
    if request.url.path.endswith(".html"):
        return profiles.dblp_person(up, request)
    return dblp.handle(up, request)


# host -> handler; the arXiv API, OpenAlex and Semantic Scholar live in generate.py.
HANDLERS: dict[str, Handler] = {
    "huggingface.co": hf_papers.handle,
    "api.scholarfeed.org": scholar_feed.handle,
    "scholar.google.com": profiles.scholar,
    "api.crossref.org": crossref.handle,
    "dblp.org": _dblp,
    arxiv_listing.HOST: arxiv_listing.handler,
    "par.nsf.gov": nsf_par.handle,
    "api.nsf.gov": nsf_awards.handle,
}

# robots.txt bodies served by the fake hosts (a host not listed allows everything).
ROBOTS: dict[str, str] = {
    "scholar.google.com": profiles.SCHOLAR_ROBOTS,
    arxiv_listing.HOST: arxiv_listing.ROBOTS_TXT,
    # search pages are allowed; full texts and exports are not crawled
    "par.nsf.gov": "User-agent: *\nDisallow: /servlets/\nDisallow: /export/\n",
}

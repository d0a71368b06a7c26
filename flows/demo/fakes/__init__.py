"""Fake upstreams for the demo generator, one module per source host (`<slug>.py`).

Each module renders the demo facts in its source's real response format. A handler takes the
generator's `FakeUpstream` (facts, researchers, topics, id helpers) and the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from flows.demo.fakes import arxiv_listing

Handler = Callable[[Any, httpx.Request], httpx.Response]

# host -> handler; the arXiv API, OpenAlex and Semantic Scholar live in generate.py.
HANDLERS: dict[str, Handler] = {
    arxiv_listing.HOST: arxiv_listing.handler,
}

# robots.txt bodies served by the fake hosts (a host not listed allows everything).
ROBOTS: dict[str, str] = {
    arxiv_listing.HOST: arxiv_listing.ROBOTS_TXT,
}

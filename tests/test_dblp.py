"""DBLP source: the genuine recorded search page, project fixtures written to DBLP's shapes
(person XML, multi-hit and empty search pages, author search, error page), the single-object
JSON quirk, titles, ids, quarantine, and the live code (person records, author resolution,
f/h paging, caps, topic filters) through MockTransport."""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl
import pytest
from conftest import (
    ROOT,
    demo_context,
    documented,
    fixture_bytes,
    needs_shared,
    shared_files,
    source_watchlist,
)

from flows import fetch, settings, steps
from flows.http import HttpClient
from flows.sources import SOURCES, dblp
from flows.sources.base import FetchReport, Page, SourceError
from flows.watchlist import DblpOptions
from transforms.sources import dblp as staging

SLUG = "dblp"
FILES = shared_files(SLUG)
DOCS = documented(SLUG)
GENUINE = "zotero-validate__dblp_search_publ_api_attention.json"
OWN = ROOT / "tests" / "fixtures" / SLUG
PERSON = OWN / "person_z_DanyangZhuo.xml"
DISAMBIGUATION = OWN / "person_disambiguation.xml"
PAGE_1 = OWN / "search_publ_llm_serving_f0_h3.json"
PAGE_2 = OWN / "search_publ_llm_serving_f3_h3.json"
EMPTY = OWN / "search_publ_empty.json"
AUTHORS = OWN / "search_author_danyang_zhuo.json"
SINGLE = OWN / "search_author_single_object.json"
ERROR_500 = OWN / "error_500.html"
# the genuine search answer is in ../shared (absent in a bare clone: its case is then left out)
DATA_FILES = [*(p for p in FILES if p.name == GENUINE), PERSON, PAGE_1, PAGE_2, EMPTY, SINGLE]
ClientFor = Callable[..., HttpClient]


def parse(path: Path, where: str = "GET there") -> Page:
    return dblp.parse_response(path.read_bytes(), where)


def pubs(page: Any) -> dict[str, dict[str, Any]]:
    return {p["key"]: p for p in page.records.get("publications", [])}


# ---------------------------------------------------------------- recorded and own payloads


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert (
        {p.name for p in FILES}
        == set(DOCS)
        == {GENUINE, "papis__dblp_rec_series_sci_2023-1062.bib"}
    )


def test_the_recorded_search_page() -> None:
    body = fixture_bytes(SLUG, GENUINE)
    page = dblp.parse_response(body, f"GET recorded:{GENUINE}")
    assert DOCS[GENUINE]["shape"] == "dblp hits @total=112 sent=1"
    assert (page.total, page.next_token, page.quarantined) == (112, "1", [])
    (p,) = page.records["publications"]
    assert p == {
        "key": "conf/dac/ZhangYY21",
        "title": "Attentional Transfer is All You Need: Technology-aware Layout Pattern Generation",
        "authors": [
            {"position": 0, "name": "Xiaopeng Zhang", "pid": "167/1261-9", "orcid": None},
            {"position": 1, "name": "Haoyu Yang", "pid": "17/8386", "orcid": None},
            {"position": 2, "name": "Evangeline F. Y. Young", "pid": "y/EFYYoung", "orcid": None},
        ],
        "venue": "DAC",
        "year": 2021,
        "type": "Conference and Workshop Papers",
        "doi": "10.1109/DAC18074.2021.9586227",
        "arxiv_id": None,
        "ee": ["https://doi.org/10.1109/DAC18074.2021.9586227"],
        "volume": None,
        "pages": "169-174",
        "url": "https://dblp.org/rec/conf/dac/ZhangYY21",
        "mdate": None,
    }


@needs_shared
def test_the_bibtex_export_is_reference_only_and_not_a_response() -> None:
    (bib,) = [p for p in FILES if p.suffix == ".bib"]
    with pytest.raises(SourceError, match="not JSON"):
        dblp.parse_response(bib.read_bytes(), str(bib))


def test_person_record() -> None:
    page = parse(PERSON)
    (person,) = page.records["persons"]
    assert person == {
        "pid": "z/DanyangZhuo",
        "name": "Danyang Zhuo",
        "aliases": [],
        "affiliations": ["Duke University, Durham, NC, USA"],
        "urls": ["https://example.org/~danyang/"],
        "orcid": "0000-0002-1825-0097",
        "publication_count": 5,
        "profile_type": None,
    }
    assert page.quarantined == [] and page.total == 5
    by_key = pubs(page)
    assert list(by_key) == [
        "conf/osdi/ZhengLZZCHWXZXG22",
        "journals/pvldb/WuLZL22",
        "journals/corr/abs-2205-04713",
        "journals/corr/abs-2201-12023",
        "conf/fast/MillerZCJCZA21",
    ]
    alpa = by_key["conf/osdi/ZhengLZZCHWXZXG22"]
    assert alpa["title"] == (
        "Alpa: Automating Inter- and Intra-Operator Parallelism for Distributed Deep Learning"
    )
    assert (alpa["venue"], alpa["year"], alpa["type"]) == (
        "OSDI",
        2022,
        "Conference and Workshop Papers",
    )
    assert (alpa["doi"], alpa["arxiv_id"], alpa["mdate"]) == (None, None, date(2022, 7, 20))
    assert alpa["url"] == "https://dblp.org/rec/conf/osdi/ZhengLZZCHWXZXG22"
    assert alpa["authors"][2] == {
        "position": 2,
        "name": "Hao Zhang",
        "pid": "h/HaoZhang0045",
        "orcid": None,
    }
    assert alpa["authors"][8]["orcid"] == "0000-0002-1825-0097"
    pvldb = by_key["journals/pvldb/WuLZL22"]
    assert (pvldb["venue"], pvldb["volume"], pvldb["type"]) == (
        "Proc. VLDB Endow.",
        "16",
        "Journal Articles",
    )
    assert pvldb["doi"] == "10.14778/3570690.3570692"  # from the doi.org ee, not the PDF link
    assert len(pvldb["ee"]) == 2
    corr = by_key["journals/corr/abs-2205-04713"]
    assert (corr["type"], corr["venue"], corr["volume"]) == (
        "Informal and Other Publications",
        "CoRR",
        "abs/2205.04713",
    )
    assert (corr["arxiv_id"], corr["doi"]) == ("2205.04713", "10.48550/arXiv.2205.04713")
    # an arxiv.org link is enough too
    assert by_key["journals/corr/abs-2201-12023"]["arxiv_id"] == "2201.12023"


def test_search_pages_and_the_single_object_quirk() -> None:
    first = parse(PAGE_1)
    assert (first.total, first.next_token) == (5, "3")
    by_key = pubs(first)
    atc = by_key["conf/usenix/GaoHSKJDYYZ24"]
    assert atc["ee"] == ["https://www.usenix.org/conference/atc24/presentation/gao-bin-cost"]
    assert atc["doi"] is None and atc["authors"][7]["name"] == "Zhou Yu"
    vllm = by_key["conf/sosp/KwonLZ0ZYGZS23"]
    assert (vllm["doi"], len(vllm["ee"])) == ("10.1145/3600006.3613165", 2)
    survey = by_key["journals/corr/abs-2401-12345"]  # one author: an object, not a list
    assert survey["authors"] == [
        {"position": 0, "name": "Yuanzhong Xu", "pid": "y/YuanzhongXu", "orcid": None}
    ]
    assert (survey["arxiv_id"], survey["title"]) == ("2401.12345", "Serving LLMs: A Survey")
    second = parse(PAGE_2)
    assert (second.total, second.next_token) == (5, None)
    assert pubs(second)["conf/www/XuY16"]["title"] == "What Is Serving? A Look at Early Web Caches"
    empty = parse(EMPTY)
    assert (empty.count(), empty.total, empty.next_token, empty.quarantined) == (0, 0, None, [])


def test_author_search_pages() -> None:
    page = parse(AUTHORS, "GET https://dblp.org/search/author/api?q=Danyang+Zhuo")
    people = page.records["persons"]
    assert [(p["pid"], p["name"]) for p in people] == [
        ("z/DanyangZhuo", "Danyang Zhuo"),
        ("311/4521", "Danyang Zhuoma"),
    ]
    assert people[0]["affiliations"] == ["Duke University, Durham, NC, USA"]
    assert people[1]["aliases"] == ["D. Zhuoma", "Zhuoma Danyang"]
    (single,) = parse(SINGLE).records["persons"]  # hit, alias and one note: bare objects
    assert (single["pid"], single["aliases"]) == ("s/ZhaoyuanSu", ["Zhao-Yuan Su"])
    assert single["affiliations"] == ["University of Virginia, Charlottesville, VA, USA"]
    assert single["publication_count"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ("x", ["x"]), ({"a": 1}, [{"a": 1}]), ([1, 2], [1, 2]), ([], [])],
)
def test_as_list(value: Any, expected: list[Any]) -> None:
    assert dblp.as_list(value) == expected


def test_a_venue_list_keeps_its_first_venue() -> None:
    info = json.loads(PAGE_1.read_bytes())["result"]["hits"]["hit"][0]["info"]
    info["venue"] = ["USENIX ATC", "USENIX ATC (2)"]
    assert dblp.hit_publication(info)["venue"] == "USENIX ATC"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Attention Is All You Need.", "Attention Is All You Need"),
        ("What Is Serving?", "What Is Serving?"),
        ("Wait for it...", "Wait for it..."),
        ("  Spaced   out .", "Spaced out"),
        ("Don&apos;t Stop.", "Don't Stop"),
    ],
)
def test_titles(title: str, expected: str) -> None:
    info = {"key": "conf/x/Y24", "title": title}
    assert dblp.hit_publication(info)["title"] == expected


XML_HEAD = b'<?xml version="1.0" encoding="US-ASCII"?>\n<dblpperson name="A B" pid="1/2" n="1">\n'


def person_with(record: bytes) -> bytes:
    return (
        XML_HEAD
        + b'<person key="homepages/1/2" mdate="2024-01-01"><author pid="1/2">A B</author></person>\n<r>'
        + record
        + b"</r>\n</dblpperson>\n"
    )


def test_xml_markup_entities_and_homonyms() -> None:
    body = person_with(
        b'<article key="journals/x/Ren24" mdate="2024-02-02"><author pid="9/9">Ren&eacute; M&#252;ller 0002</author>'
        b"<title>Faster <i>k</i>-Means for H<sub>2</sub>O &amp; CO<sub>2</sub>.</title><year>2024</year>"
        b"<journal>J. Ex.</journal></article>"
    )
    (p,) = dblp.parse_response(body, "x").records["publications"]
    assert p["title"] == "Faster k-Means for H2O & CO2"
    assert p["authors"][0]["name"] == "René Müller"


def test_old_style_corr_ids() -> None:
    body = person_with(
        b'<article key="journals/corr/cs-DC-0101001" publtype="informal"><author>A B</author>'
        b"<title>Old.</title><year>2001</year><journal>CoRR</journal><volume>cs.DC/0101001</volume></article>"
    )
    (p,) = dblp.parse_response(body, "x").records["publications"]
    assert p["arxiv_id"] == "cs/0101001"


@pytest.mark.parametrize(
    ("tag", "publtype", "expected"),
    [
        ("inproceedings", None, "Conference and Workshop Papers"),
        ("article", None, "Journal Articles"),
        ("article", "informal", "Informal and Other Publications"),
        ("proceedings", None, "Editorship"),
        ("incollection", None, "Parts in Books or Collections"),
        ("incollection", "encyclopedia", "Reference Works"),
        ("phdthesis", None, "Books and Theses"),
        ("data", None, "Data and Artifacts"),
    ],
)
def test_xml_record_types_use_the_search_api_labels(
    tag: str, publtype: str | None, expected: str
) -> None:
    attrs = f' publtype="{publtype}"' if publtype else ""
    body = person_with(
        f'<{tag} key="x/y/Z24"{attrs}><author>A B</author><title>T.</title><year>2024</year></{tag}>'.encode()
    )
    (p,) = dblp.parse_response(body, "x").records["publications"]
    assert p["type"] == expected


# ---------------------------------------------------------------- errors and quarantine


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (ERROR_500.read_bytes(), 500, "HTTP 500 from DBLP: HTML error page"),
        (ERROR_500.read_bytes(), 200, "HTML page where DBLP data was expected"),
        (b"Too Many Requests", 429, "HTTP 429 from DBLP: Too Many Requests"),
        (b"", 503, "HTTP 503 from DBLP: empty body"),
        (b"oops", 200, "response is not JSON"),
        (
            b'{"result": {"query": "x", "status": {"@code": "400", "text": "Bad Request"}, "hits": {}}}',
            200,
            "DBLP search status 400: Bad Request",
        ),
        (b'{"result": {"query": "x"}}', 200, "not a DBLP search result"),
        (
            b'<?xml version="1.0"?><dblp><article key="a"/></dblp>',
            200,
            "XML root <dblp> is not a DBLP person record",
        ),
        (PERSON.read_bytes()[:700], 200, "malformed XML"),
        (
            b'<?xml version="1.0"?><dblpperson name="A" pid="1/2"><r><article key="a">&nosuch;</article></r></dblpperson>',
            200,
            "malformed XML",
        ),
        (
            b'<?xml version="1.0"?><dblpperson name="A"></dblpperson>',
            200,
            "person record unusable: dblpperson without a pid",
        ),
    ],
    ids=[
        "500-html",
        "html-at-200",
        "429-text",
        "503-empty",
        "not-json",
        "status-400",
        "no-hits",
        "wrong-root",
        "truncated-xml",
        "unknown-entity",
        "no-pid",
    ],
)
def test_error_bodies_raise_naming_source_and_request(
    body: bytes, status: int, fragment: str
) -> None:
    with pytest.raises(SourceError, match=re.escape(fragment)) as info:
        dblp.parse_response(body, "GET there", status)
    assert str(info.value).startswith("[dblp] ") and str(info.value).endswith("(GET there)")


def test_malformed_xml_records_are_quarantined_and_the_rest_kept() -> None:
    text = PERSON.read_text(encoding="ascii")
    text = text.replace("<title>High Velocity Kernel File Systems with Bento.</title>", "")
    text = text.replace(
        '<article key="journals/pvldb/WuLZL22" mdate="2023-01-02">', '<article mdate="2023-01-02">'
    )
    text = text.replace(
        "<year>2022</year>\n<volume>abs/2205.04713</volume>",
        "<year>MMXXII</year>\n<volume>abs/2205.04713</volume>",
    )
    page = dblp.parse_response(text.encode("ascii"), "GET https://dblp.org/pid/z/DanyangZhuo.xml")
    assert sorted(pubs(page)) == ["conf/osdi/ZhengLZZCHWXZXG22", "journals/corr/abs-2201-12023"]
    reasons = {q.record_key: q.reason for q in page.quarantined}
    assert reasons == {
        "conf/fast/MillerZCJCZA21": "publication without a title",
        "GET https://dblp.org/pid/z/DanyangZhuo.xml [item 1]": "publication without a DBLP key",
        "journals/corr/abs-2205-04713": "invalid literal for int() with base 10: 'MMXXII'",
    }
    assert all(q.entity == "publications" and q.payload.startswith("<") for q in page.quarantined)


def test_malformed_json_hits_are_quarantined_and_the_rest_kept() -> None:
    data = json.loads(PAGE_1.read_bytes())
    hits = data["result"]["hits"]["hit"]
    del hits[0]["info"]["key"]
    hits[1]["info"]["year"] = "20x3"
    hits.append({"@score": "1", "@id": "1", "url": "URL#1"})
    page = dblp.parse_response(json.dumps(data).encode(), "GET list")
    assert list(pubs(page)) == ["journals/corr/abs-2401-12345"]
    assert [(q.record_key, q.reason) for q in page.quarantined] == [
        ("GET list [item 0]", "publication without a DBLP key"),
        ("conf/sosp/KwonLZ0ZYGZS23", "invalid literal for int() with base 10: '20x3'"),
        ("GET list [item 3]", "hit without info"),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("@total", "many"), ("@sent", "3.5"), ("@first", "-3"), ("@total", [5]), ("@sent", {})],
)
def test_bad_hit_counts_raise_naming_the_request(field: str, value: Any) -> None:
    data = json.loads(PAGE_1.read_bytes())
    data["result"]["hits"][field] = value
    with pytest.raises(SourceError, match=re.escape(f"hits.{field} {value!r} is not a count")) as e:
        dblp.parse_response(json.dumps(data).encode(), "GET https://dblp.org/search/publ/api?q=x")
    assert e.value.where == "GET https://dblp.org/search/publ/api?q=x"


# ---------------------------------------------------------------- fetch


class Server:
    def __init__(self, route: Callable[[httpx.Request], httpx.Response | bytes | Path]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "dblp.org"
        answer = self.route(request)
        if isinstance(answer, Path):
            answer = answer.read_bytes()
        if isinstance(answer, bytes):
            kind = "application/xml" if answer.lstrip()[:1] == b"<" else "application/json"
            return httpx.Response(200, content=answer, headers={"content-type": kind})
        return answer

    def urls(self) -> list[str]:
        return [str(r.url).removeprefix("https://dblp.org") for r in self.requests]


def site(request: httpx.Request) -> httpx.Response | bytes | Path:
    path, q = request.url.path, request.url.params
    if path == "/pid/z/DanyangZhuo.xml":
        return PERSON
    if path == "/pid/s/ZhaoyuanSu.xml":
        return (
            PERSON.read_bytes()
            .replace(b"z/DanyangZhuo", b"s/ZhaoyuanSu")
            .replace(b'name="Danyang Zhuo"', b'name="Zhaoyuan Su"')
        )
    if path == "/pid/w/WeiWang.xml":
        return DISAMBIGUATION
    if path == "/search/author/api":
        return {"Danyang Zhuo": AUTHORS, "Zhaoyuan Su": SINGLE}.get(q["q"], EMPTY)
    if path == "/search/publ/api":
        if q["q"] != "LLM serving":
            return EMPTY
        return {"0": PAGE_1, "3": PAGE_2}[q["f"]]
    return httpx.Response(
        404, content=ERROR_500.read_bytes().replace(b"500 Internal Server Error", b"404 Not Found")
    )


make_watchlist = functools.partial(source_watchlist, SLUG)
TOPIC = [{"name": "LLM serving", "keywords": ["LLM serving", "KV cache"]}]


def keys(report: FetchReport, start: int = 0) -> list[str]:
    return [p["key"] for f in report.items[start:] for p in f.page.records.get("publications", [])]


def test_person_records_by_pid_and_by_author_search(client_for: ClientFor) -> None:
    server = Server(site)
    wl = make_watchlist(
        [
            {"name": "Danyang Zhuo", "dblp_pid": "z/DanyangZhuo"},
            {"name": "Zhaoyuan Su"},
        ]
    )
    report = dblp.fetch(client_for(server), wl)
    assert report.errors == []
    assert server.urls() == [
        "/pid/z/DanyangZhuo.xml",
        "/search/author/api?q=Zhaoyuan+Su&format=json&h=30",
        "/pid/s/ZhaoyuanSu.xml",
    ]
    persons = [p["pid"] for f in report for p in f.page.records.get("persons", [])]
    assert persons == ["z/DanyangZhuo", "s/ZhaoyuanSu", "s/ZhaoyuanSu"]
    assert len(keys(report)) == 10


def test_author_search_takes_the_one_person_so_named(client_for: ClientFor) -> None:
    server = Server(site)
    report = dblp.fetch(client_for(server), make_watchlist([{"name": "Danyang Zhuo"}]))
    assert report.errors == []
    (search, person) = report.items
    assert [p["pid"] for p in search.page.records["persons"]] == ["z/DanyangZhuo"]  # not Zhuoma
    assert person.response.url == "https://dblp.org/pid/z/DanyangZhuo.xml"


def test_no_such_person_and_ambiguous_names_are_clear_errors(client_for: ClientFor) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes | Path:
        if request.url.params.get("q") == "Danyang Zhuoma":
            data = json.loads(AUTHORS.read_bytes())
            data["result"]["hits"]["hit"][0]["info"]["author"] = "Danyang Zhuoma 0001"
            return json.dumps(data).encode()
        return site(request)

    server = Server(route)
    wl = make_watchlist(
        [{"name": "Nobody Here"}, {"name": "Danyang Zhuoma"}, {"name": "Zhaoyuan Su"}]
    )
    report = dblp.fetch(client_for(server), wl)
    first, second = report.errors
    assert str(first).startswith("[dblp] no DBLP person named 'Nobody Here'; set dblp_pid")
    assert (
        "2 DBLP persons are named 'Danyang Zhuoma' (z/DanyangZhuo, 311/4521); set dblp_pid"
        in str(second)
    )
    assert second.where.startswith("GET https://dblp.org/search/author/api?")
    assert [u.split("?")[0] for u in server.urls()] == ["/search/author/api"] * 3 + [
        "/pid/s/ZhaoyuanSu.xml"
    ]


def test_a_disambiguation_profile_is_refused(client_for: ClientFor) -> None:
    report = dblp.fetch(
        client_for(Server(site)), make_watchlist([{"name": "Wei Wang", "dblp_pid": "w/WeiWang"}])
    )
    (err,) = report.errors
    assert "pid w/WeiWang is a disambiguation profile" in str(err)
    assert report.items == []


def test_an_unknown_pid_is_reported_and_the_next_researcher_goes_on(client_for: ClientFor) -> None:
    server = Server(site)
    wl = make_watchlist(
        [{"name": "Gone", "dblp_pid": "0/0"}, {"name": "Danyang Zhuo", "dblp_pid": "z/DanyangZhuo"}]
    )
    report = dblp.fetch(client_for(server), wl)
    (err,) = report.errors
    assert (
        str(err) == "[dblp] HTTP 404 from DBLP: HTML error page (GET https://dblp.org/pid/0/0.xml)"
    )
    assert len(keys(report)) == 5


def test_topic_search_pages_with_f_and_h_to_the_end(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dblp, "MAX_PAGE", 3)
    server = Server(site)
    wl = make_watchlist([{"name": "Nobody", "dblp_pid": "z/DanyangZhuo"}], TOPIC, since_year=2010)
    report = dblp.fetch(client_for(server), wl)
    assert report.errors == []
    assert server.urls()[1:] == [
        "/search/publ/api?q=LLM+serving&format=json&h=3&f=0",
        "/search/publ/api?q=LLM+serving&format=json&h=3&f=3",
        "/search/publ/api?q=KV+cache&format=json&h=3&f=0",
    ]
    assert keys(report, 1) == [
        "conf/usenix/GaoHSKJDYYZ24",
        "conf/sosp/KwonLZ0ZYGZS23",
        "journals/corr/abs-2401-12345",
        "journals/corr/abs-2309-06180",
        "conf/www/XuY16",
    ]


def test_topic_filters_since_year_and_works_known_from_person_records(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dblp, "MAX_PAGE", 3)

    def route(request: httpx.Request) -> httpx.Response | bytes | Path:
        if request.url.path == "/pid/z/DanyangZhuo.xml":  # pretend the researcher wrote vLLM
            return PERSON.read_bytes().replace(
                b"conf/fast/MillerZCJCZA21", b"conf/sosp/KwonLZ0ZYGZS23"
            )
        return site(request)

    server = Server(route)
    wl = make_watchlist(
        [{"name": "Danyang Zhuo", "dblp_pid": "z/DanyangZhuo"}], TOPIC, since_year=2018
    )
    report = dblp.fetch(client_for(server), wl)
    assert keys(report, 1) == [
        "conf/usenix/GaoHSKJDYYZ24",
        "journals/corr/abs-2401-12345",
        "journals/corr/abs-2309-06180",
    ]  # the 2016 paper is older than since_year; vLLM came with the person record
    assert report.items[1].page.total == 5  # what the page said is kept


def test_topic_results_and_hits_are_capped(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dblp, "MAX_PAGE", 3)
    server = Server(site)
    wl = make_watchlist([{"name": "N", "dblp_pid": "z/DanyangZhuo"}], TOPIC, max_topic_results=2)
    report = dblp.fetch(client_for(server), wl)
    assert keys(report, 1) == ["conf/usenix/GaoHSKJDYYZ24", "conf/sosp/KwonLZ0ZYGZS23"]
    assert len(server.requests) == 2  # the topic budget was spent: no second page, no "KV cache"
    server = Server(site)
    wl = make_watchlist([{"name": "N", "dblp_pid": "z/DanyangZhuo"}], TOPIC, dblp={"max_hits": 3})  # type: ignore[arg-type]
    report = dblp.fetch(client_for(server), wl)
    assert server.urls()[1:] == [
        "/search/publ/api?q=LLM+serving&format=json&h=3&f=0",
        "/search/publ/api?q=KV+cache&format=json&h=3&f=0",
    ]


def test_paging_stops_when_upstream_does_not_move_on(client_for: ClientFor) -> None:
    """A server that ignores `f` (answers @first 0 every time) must not be read forever."""
    data = json.loads(PAGE_1.read_bytes())
    data["result"]["hits"]["@total"] = "100"
    page = json.dumps(data).encode()

    def route(request: httpx.Request) -> httpx.Response | bytes | Path:
        if request.url.path == "/search/publ/api":
            assert len(server.requests) < 10, "paging did not stop"
            return page if request.url.params["q"] == "LLM serving" else EMPTY
        return site(request)

    server = Server(route)
    wl = make_watchlist([{"name": "N", "dblp_pid": "z/DanyangZhuo"}], TOPIC, since_year=2010)
    report = dblp.fetch(client_for(server), wl)
    assert report.errors == []
    assert server.urls()[1:] == [
        "/search/publ/api?q=LLM+serving&format=json&h=1000&f=0",
        "/search/publ/api?q=LLM+serving&format=json&h=1000&f=3",
        "/search/publ/api?q=KV+cache&format=json&h=1000&f=0",
    ]


def test_topic_hits_left_out_are_logged_with_counts_and_keys(
    client_for: ClientFor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dblp, "MAX_PAGE", 3)

    def route(request: httpx.Request) -> httpx.Response | bytes | Path:
        if request.url.path == "/pid/z/DanyangZhuo.xml":  # pretend the researcher wrote vLLM
            return PERSON.read_bytes().replace(
                b"conf/fast/MillerZCJCZA21", b"conf/sosp/KwonLZ0ZYGZS23"
            )
        return site(request)

    def logged(**sources: int) -> list[str]:
        caplog.clear()
        wl = make_watchlist([{"name": "D", "dblp_pid": "z/DanyangZhuo"}], TOPIC, **sources)
        with caplog.at_level(logging.INFO, logger="scholarflow"):
            dblp.fetch(client_for(Server(route)), wl)
        return [r.getMessage() for r in caplog.records if r.name == "scholarflow.sources.dblp"]

    assert logged(since_year=2018) == [
        "[dblp] search 'LLM serving' (f=0): 1 of 3 hit(s) left out: 1 already read from a "
        "person record (conf/sosp/KwonLZ0ZYGZS23)",
        "[dblp] search 'LLM serving' (f=3): 1 of 2 hit(s) left out: 1 older than 2018 "
        "(conf/www/XuY16)",
    ]
    assert logged(since_year=2010, max_topic_results=1) == [
        "[dblp] search 'LLM serving' (f=0): 2 of 3 hit(s) left out: 1 already read from a "
        "person record (conf/sosp/KwonLZ0ZYGZS23); 1 over the topic budget "
        "(journals/corr/abs-2401-12345)",
    ]


def test_api_requests_are_not_held_to_the_crawler_robots_rules(client_for: ClientFor) -> None:
    server = Server(site)
    wl = make_watchlist([{"name": "Danyang Zhuo"}], TOPIC)
    robots = "User-agent: *\nDisallow: /search\nDisallow: /*.xml\n"
    report = dblp.fetch(client_for(server, robots=robots), wl)
    assert report.skipped == [] and report.errors == []
    assert not any(u.startswith("/robots.txt") for u in server.urls())


def test_429_honours_retry_after_and_500_is_retried_then_reported() -> None:
    answers: list[httpx.Response] = [
        httpx.Response(429, headers={"Retry-After": "5"}, text="Too Many Requests"),
        httpx.Response(200, content=PERSON.read_bytes()),
        *[httpx.Response(500, content=ERROR_500.read_bytes()) for _ in range(5)],
    ]
    sleeps: list[float] = []
    server = Server(lambda r: answers.pop(0))
    client = HttpClient(
        "a@b.org", transport=httpx.MockTransport(server), intervals={}, sleep=sleeps.append
    )
    wl = make_watchlist(
        [{"name": "A", "dblp_pid": "z/DanyangZhuo"}, {"name": "B", "dblp_pid": "z/B"}]
    )
    with client:
        report = dblp.fetch(client, wl)
    assert 5.0 in sleeps and len(keys(report)) == 5
    (err,) = report.errors
    assert "HTTP 500 from DBLP: HTML error page" in str(err) and len(server.requests) == 7


# ---------------------------------------------------------------- options, registry, staging


def test_options_and_registry() -> None:
    assert DblpOptions().max_hits == 1000
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        DblpOptions(max_hits=0)
    source = SOURCES[SLUG]
    assert source.keys == {"publications": "key", "persons": "pid"}
    assert source.signals == {"persons": ("pid", ("publication_count",))}
    assert source.citations is None


def _raw(page_records: dict[str, list[dict[str, Any]]]) -> dict[str, pl.LazyFrame]:
    at = {"_run_id": "r1", "_fetched_at": datetime(2026, 1, 1, tzinfo=UTC)}
    lineage = {"_run_id": pl.String, "_fetched_at": pl.Datetime("us", "UTC")}
    return {
        f"raw_dblp__{entity}": pl.DataFrame(
            [{**r, **at} for r in rows], schema={**staging.SCHEMAS[entity], **lineage}, strict=True
        ).lazy()
        for entity, rows in page_records.items()
    }


def test_staged_works_and_authorships() -> None:
    person = parse(PERSON).records
    editorship = dblp.parse_response(
        person_with(
            b'<proceedings key="conf/ex/2023"><editor pid="z/DanyangZhuo">Danyang Zhuo</editor><title>Proceedings of an Example Workshop.</title><year>2023</year></proceedings>'
        ),
        "x",
    ).records["publications"]
    raw = _raw(
        {
            "publications": [
                *person["publications"],
                *editorship,
                *parse(PAGE_1).records["publications"],
            ],
            "persons": person["persons"],
        }
    )
    staged = {r["source_work_id"]: r for r in staging.works(raw).collect().to_dicts()}
    assert "conf/ex/2023" not in staged  # an edited volume is not a work of its editors
    assert len(staged) == 8
    corr = staged["journals/corr/abs-2205-04713"]
    assert (corr["work_type"], corr["arxiv_id"], corr["doi"], corr["venue"]) == (
        "preprint",
        "2205.04713",
        None,
        "CoRR",
    )
    pvldb = staged["journals/pvldb/WuLZL22"]
    assert (pvldb["work_type"], pvldb["doi"], pvldb["year"]) == (
        "journal-article",
        "10.14778/3570690.3570692",
        2022,
    )
    assert staged["conf/osdi/ZhengLZZCHWXZXG22"]["work_type"] == "proceedings-article"
    assert staged["conf/sosp/KwonLZ0ZYGZS23"]["doi"] == "10.1145/3600006.3613165"
    assert all(r["cited_by_count"] is None and r["source"] == "dblp" for r in staged.values())
    authors = staging.authorships(raw).collect()
    alpa = authors.filter(pl.col("source_work_id") == "conf/osdi/ZhengLZZCHWXZXG22").sort(
        "position"
    )
    assert alpa["raw_name"].to_list()[8] == "Danyang Zhuo"
    assert alpa["source_author_id"].to_list()[8] == "z/DanyangZhuo"
    assert alpa["orcid"].to_list()[8] == "0000-0002-1825-0097"
    assert authors.filter(pl.col("source_work_id") == "conf/ex/2023").height == 0


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name[:60])
def test_import_and_build_each_data_file(tmp_path: Path, path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [path])
    expected = report.items[0].page
    n_pubs = len(expected.records.get("publications", []))
    n_persons = len(expected.records.get("persons", []))
    if n_pubs == 0:  # a page without works cannot build a warehouse on its own: add the person
        report = fetch.import_files(SLUG, [PERSON, path])
    summary = steps.load_and_build(demo_context(warehouse), [report], {})
    (src,) = summary.sources
    assert (src.source, src.quarantined, src.errors) == (SLUG, 0, [])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw = con.execute("select count(*) from raw_dblp__publications").fetchone()
        persons = (
            con.execute("select count(*) from raw_dblp__persons").fetchone() if n_persons else (0,)
        )
        papers = con.execute(
            "select count(*) from papers where list_contains(sources, 'dblp')"
        ).fetchone()
    finally:
        con.close()
    if n_pubs:
        assert raw == (n_pubs,)
        assert persons == (n_persons,)
    assert papers is not None and papers[0] >= 1


def test_import_of_an_error_page_fails_naming_the_file() -> None:
    with pytest.raises(SourceError, match="HTML page where DBLP data was expected") as info:
        fetch.import_files(SLUG, [ERROR_500])
    assert str(ERROR_500) in str(info.value)


# ---------------------------------------------------------------- demo fake


def test_fetch_against_the_demo_fake() -> None:
    from flows.demo.generate import FakeUpstream

    facts = json.loads((settings.DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    wl = source_watchlist(
        SLUG,
        [
            {
                "name": "Danyang Zhuo",
                "aliases": ["Zhuo, Danyang", "D. Zhuo"],
                "dblp_pid": "z/DanyangZhuo",
            },
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {
                "name": "Pengfei Zuo",
                "aliases": ["Zuo, Pengfei", "P. Zuo"],
                "dblp_pid": "z/PengfeiZuo",
            },
        ],
        [{"name": "LLM serving", "keywords": ["LLM serving", "LLM inference", "KV cache"]}],
        dblp={"max_hits": 200},  # type: ignore[arg-type]
    )
    client = HttpClient(
        "a@b.org",
        transport=httpx.MockTransport(FakeUpstream(copy.deepcopy(facts))),
        intervals={},
        max_attempts=1,
    )
    with client:
        report = dblp.fetch(client, wl)
    assert report.errors == [] and report.stopped is None
    assert all(not f.page.quarantined for f in report)
    urls = [f.response.url.removeprefix("https://dblp.org") for f in report]
    assert urls == [
        "/pid/z/DanyangZhuo.xml",
        "/search/author/api?format=json&h=30&q=Zhaoyuan+Su",
        "/pid/s/ZhaoyuanSu.xml",
        "/pid/z/PengfeiZuo.xml",
        "/search/publ/api?f=0&format=json&h=200&q=LLM+serving",
        "/search/publ/api?f=0&format=json&h=200&q=LLM+inference",
        "/search/publ/api?f=0&format=json&h=200&q=KV+cache",
    ]
    persons = {p["pid"]: p for f in report for p in f.page.records.get("persons", [])}
    assert persons["z/DanyangZhuo"]["affiliations"] == ["Duke University"]
    by_person = {
        f.response.url.rsplit("/pid/", 1)[-1]: pubs(f.page)
        for f in report
        if "/pid/" in f.response.url
    }
    zhuo = by_person["z/DanyangZhuo.xml"]
    (alpa,) = [p for k, p in zhuo.items() if k.startswith("conf/osdi/")]
    assert (alpa["arxiv_id"], alpa["venue"], alpa["year"]) == (None, "OSDI", 2022)
    assert alpa["title"].startswith("Alpa: Automating") and not alpa["title"].endswith(".")
    assert zhuo["journals/corr/abs-2201-12023"]["arxiv_id"] == "2201.12023"
    assert zhuo["journals/pvldb/WuLZL22"]["doi"] == "10.14778/3570690.3570692"
    assert len(by_person["s/ZhaoyuanSu.xml"]) == 6  # preprints only: one CoRR record each
    topic = [p for f in report.items[4:] for p in f.page.records.get("publications", [])]
    assert len({p["key"] for p in topic}) == len(topic) > 0
    assert all(p["year"] >= 2018 for p in topic)

"""NSF Awards API source: the genuine recorded list response, error payloads, quarantine,
publication strings, and fetch (offset/rpp paging, caps, namesakes, award ids, HTTP errors)
through httpx.MockTransport; the demo fake end to end; import + load into a warehouse."""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from conftest import (
    demo_context,
    documented,
    fixture_bytes,
    needs_shared,
    shared_files,
    source_watchlist,
)

from flows import fetch, steps
from flows.http import HttpClient
from flows.settings import DEMO_DIR
from flows.sources import SOURCES, nsf_awards
from flows.sources.base import FetchReport, SourceError

SLUG = "nsf_awards"
FILES = shared_files(SLUG)
NCAR = "kmaull__nsf_awards_api_ncar_2015.json"
DOCS = documented(SLUG)
WHERE = "GET https://api.nsf.gov/services/v1/awards.json?id=1"


def payload(name: str) -> bytes:
    return fixture_bytes(SLUG, name)


def awards(page: Any) -> list[dict[str, Any]]:
    return list(page.records.get("awards", []))


# ---------------------------------------------------------------- recorded payloads


@needs_shared
def test_every_fixture_file_is_documented() -> None:
    assert FILES, "no recorded NSF Awards payloads found"
    assert {p.name for p in FILES} <= set(DOCS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_recorded_payload_parses(path: Path) -> None:
    page = nsf_awards.parse_response(path.read_bytes(), f"GET recorded:{path.name}")
    raw = json.loads(path.read_bytes())["response"]["award"]
    m = re.match(r"awards=(\d+)", DOCS[path.name]["shape"])
    assert m and page.count() == len(raw) == int(m.group(1))
    assert page.quarantined == []
    for item, rec in zip(raw, awards(page), strict=True):
        assert rec["award_id"] == item["id"]
        assert rec["title"] == " ".join(item["title"].split())
        assert rec["awardee"] == item["awardeeName"]
        assert rec["estimated_total_amount"] == int(item["estimatedTotalAmt"])
        month, day, year = (int(x) for x in item["date"].split("/"))
        assert rec["award_date"] == date(year, month, day)


def test_ncar_award_values() -> None:
    first = awards(nsf_awards.parse_response(payload(NCAR), "ncar"))[0]
    assert first == {
        "award_id": "1513102",
        "title": "Engineering experiences: Research on student competency, motivation and "
        "persistence in STEM for underserved youth",
        "agency": None,
        "pi_name": None,
        "co_pi_names": [],
        "awardee": "University Corporation For Atmospheric Res",
        "awardee_city": None,
        "awardee_state": None,
        "award_date": date(2015, 9, 17),  # upstream "09/17/2015"
        "start_date": None,
        "end_date": None,
        "estimated_total_amount": 608513,
        "funds_obligated_amount": None,
        "program": None,
        "transaction_type": None,
        "abstract": None,
        "publications": [],
    }


@needs_shared
def test_ncar_file_imports_and_builds(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    report = fetch.import_files(SLUG, [FILES[0]])
    summary = steps.load_and_build(demo_context(path), [report], {})
    (s,) = summary.sources
    assert (s.source, s.records, s.new, s.quarantined, s.errors) == (SLUG, 21, 21, 0, [])
    con = duckdb.connect(str(path), read_only=True)
    try:
        n, total, first = con.execute(
            "select count(*), sum(estimated_total_amount), min(award_date) "
            "from raw_nsf_awards__awards"
        ).fetchone()  # type: ignore[misc]
        metric = con.execute(
            "select count(*) from metric_snapshots where source = 'nsf_awards'"
        ).fetchone()  # type: ignore[index]
    finally:
        con.close()
    raw = json.loads(payload(NCAR))["response"]["award"]
    assert (n, total) == (21, sum(int(a["estimatedTotalAmt"]) for a in raw))
    assert first == min(
        date(int(a["date"][6:]), int(a["date"][:2]), int(a["date"][3:5])) for a in raw
    )
    assert metric == (0,)  # this list has no fundsObligatedAmt: no metric rows


# ---------------------------------------------------------------- full records


def full_award(**overrides: Any) -> dict[str, Any]:
    award = {
        "id": "2400101",
        "title": "Placeholder award title",
        "agency": "NSF",
        "awardeeName": "Duke University",
        "awardeeCity": "Durham",
        "awardeeStateCode": "NC",
        "date": "02/01/2024",
        "startDate": "03/01/2024",
        "expDate": "02/28/2029",
        "estimatedTotalAmt": "600000",
        "fundsObligatedAmt": "240,000.00",
        "pdPIName": "Danyang Zhuo",
        "piFirstName": "Danyang",
        "piLastName": "Zhuo",
        "coPDPI": ["Matthew Lentz ~000800123", "Jane Doe"],
        "fundProgramName": "CSR-Computer Systems Research",
        "transType": "Standard Grant",
        "abstractText": "Placeholder &amp; abstract.",
        "publicationResearch": [
            "PVLDB 2022~2022~16~Wu, Yongji and Zhuo, Danyang~10.14778/3570690.3570692~"
            "Serving and Optimizing Machine Learning Workflows on Heterogeneous "
            "Infrastructures~2022-05-10 09:00:00.0"
        ],
        "publicationConference": [
            "Miller, Samantha and Zhuo, Danyang~High Velocity Kernel File Systems with Bento~"
            "FAST 2021~~2021~65~"
        ],
    }
    award.update(overrides)
    return award


def body_of(*items: Any, **response: Any) -> bytes:
    return json.dumps({"response": {**response, "award": list(items)}}).encode()


def test_full_award_record() -> None:
    (rec,) = awards(nsf_awards.parse_response(body_of(full_award()), WHERE))
    assert rec["pi_name"] == "Danyang Zhuo"
    assert rec["co_pi_names"] == ["Matthew Lentz", "Jane Doe"]
    assert (rec["start_date"], rec["end_date"]) == (date(2024, 3, 1), date(2029, 2, 28))
    assert (rec["estimated_total_amount"], rec["funds_obligated_amount"]) == (600000, 240000)
    assert (rec["program"], rec["transaction_type"]) == (
        "CSR-Computer Systems Research",
        "Standard Grant",
    )
    assert rec["abstract"] == "Placeholder & abstract."
    research, conference = rec["publications"]
    assert research == {
        "kind": "research",
        "citation": full_award()["publicationResearch"][0],
        "title": "Serving and Optimizing Machine Learning Workflows on Heterogeneous "
        "Infrastructures",
        "venue": "PVLDB 2022",
        "year": 2022,
        "doi": "10.14778/3570690.3570692",
        "authors": "Wu, Yongji and Zhuo, Danyang",
    }
    assert (conference["kind"], conference["title"], conference["venue"], conference["year"]) == (
        "conference",
        "High Velocity Kernel File Systems with Bento",
        "FAST 2021",
        2021,
    )
    assert conference["authors"] == "Miller, Samantha and Zhuo, Danyang"


def test_pi_name_from_first_and_last_name() -> None:
    award = full_award(pdPIName=None)
    (rec,) = awards(nsf_awards.parse_response(body_of(award), WHERE))
    assert rec["pi_name"] == "Danyang Zhuo"


@pytest.mark.parametrize(
    ("citation", "title", "venue", "year", "doi", "authors"),
    [
        (  # current layout without pages: the parts shift, the title is still last
            "Journal of Placeholders~2021~In Pres~Doe, J.~10.1000/jp.2021.1~A Title~"
            "2021-12-06 08:27:14.013",
            "A Title",
            "Journal of Placeholders",
            2021,
            "10.1000/jp.2021.1",
            "Doe, J.",
        ),
        (  # no DOI: the names are the part that reads like names
            "OSDI 2022~2022~Zheng, Lianmin and Stoica, Ion~Alpa~2022-01-28 09:00:00.0",
            "Alpa",
            "OSDI 2022",
            2022,
            None,
            "Zheng, Lianmin and Stoica, Ion",
        ),
        (  # older layout: authors~title~journal~volume~year~pages~
            "Doe, J.~What people know~Placeholder Studies~5~2015~54~",
            "What people know",
            "Placeholder Studies",
            2015,
            None,
            "Doe, J.",
        ),
        (  # the DOI stands in for the journal: no DOI part after the year
            "https://doi.org/10.1145/1234~2020~12~Doe, J.~Title~2021-01-01",
            "Title",
            None,
            2020,
            "10.1145/1234",
            "Doe, J.",
        ),
        ("N", None, None, None, None, None),
    ],
)
def test_publication_strings(
    citation: str,
    title: str | None,
    venue: str | None,
    year: int | None,
    doi: str | None,
    authors: str | None,
) -> None:
    pub = nsf_awards.parse_publication(citation, "research")
    assert (pub["title"], pub["venue"], pub["year"], pub["doi"], pub["authors"]) == (
        title,
        venue,
        year,
        doi,
        authors,
    )
    assert pub["citation"] == citation


def test_doi_in_the_journal_part_parses_within_the_award() -> None:
    citation = "https://doi.org/10.1145/1234~2020~12~Doe, J.~Title~2021-01-01"
    page = nsf_awards.parse_response(body_of(full_award(publicationResearch=[citation])), WHERE)
    assert page.quarantined == []
    ((pub, *_),) = [a["publications"] for a in awards(page)]
    assert (pub["doi"], pub["title"], pub["year"]) == ("10.1145/1234", "Title", 2020)


_PIECES = (
    "",
    " ",
    "N",
    "2020",
    "1999",
    "12",
    "Doe, J.",
    "A and B",
    "Title",
    "10.1145/1234",
    "https://doi.org/10.1145/1234",
    "doi:10.1/x",
    "10.1000/a~b",
    "2021-01-01",
    "2022-05-10 09:00:00.0",
    "~",
    "~~",
    "Journal of X 10.5555/y.z.",
    "\u00e9",
    "10.",
)


def test_any_publication_string_parses_without_raising() -> None:
    rng = random.Random(20260612)
    for _ in range(5000):
        raw = "~".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 9)))
        pub = nsf_awards.parse_publication(raw, "research")
        assert pub["citation"] == raw


@pytest.mark.parametrize("exc", [StopIteration(), IndexError("x"), RuntimeError("y")])
def test_a_publication_the_parse_cannot_read_quarantines_its_award(
    monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    real = nsf_awards.parse_publication

    def parse(raw: str, kind: str) -> dict[str, Any]:
        if raw.startswith("Bad~"):
            raise exc
        return real(raw, kind)

    monkeypatch.setattr(nsf_awards, "parse_publication", parse)
    bad = full_award(publicationConference=["Fine~Title~Venue~", "Bad~2020~x"])
    page = nsf_awards.parse_response(body_of(bad, full_award(id="2100202")), WHERE)
    assert [a["award_id"] for a in awards(page)] == ["2100202"]
    (q,) = page.quarantined
    assert q.record_key == "2400101"
    assert "publicationConference[1] 'Bad~2020~x' unparseable" in q.reason


def test_metadata_total_and_single_award_object() -> None:
    body = json.dumps({"response": {"metadata": {"totalCount": 1}, "award": full_award()}}).encode()
    page = nsf_awards.parse_response(body, WHERE)
    assert page.total == 1 and [a["award_id"] for a in awards(page)] == ["2400101"]


@pytest.mark.parametrize(
    "body", [b'{"response": {"award": []}}', b'{"response": {}}', b'{"response": {"award": null}}']
)
def test_no_match_is_an_empty_page(body: bytes) -> None:
    page = nsf_awards.parse_response(body, WHERE)
    assert page.count() == 0 and page.quarantined == []


# ---------------------------------------------------------------- errors and quarantine

NOTE = {
    "notificationType": "ERROR",
    "notificationCode": "1",
    "notificationMessage": "Invalid parameter: pdPIName1",
}


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (json.dumps({"response": {"serviceNotification": [NOTE]}}), 200, "Invalid parameter"),
        (json.dumps({"response": {"serviceNotification": NOTE}}), 200, "ERROR 1: Invalid"),
        (
            json.dumps({"response": {"serviceNotification": [NOTE]}}),
            400,
            "HTTP 400 from the NSF Awards API: ERROR 1: Invalid parameter",
        ),
        ("<html><title>502 Bad Gateway</title></html>", 502, "HTTP 502 from the NSF Awards API"),
        ("<!DOCTYPE html><html>maintenance</html>", 200, "HTML error page"),
        ("Not Found", 404, "HTTP 404 from the NSF Awards API: Not Found"),
        ("Service Unavailable", 200, "response is not JSON"),
        ('{"response": "nothing"}', 200, '{"response": ...} object'),
        ("[]", 200, '{"response": ...} object'),
        ('{"response": {"award": "x"}}', 200, "neither a list nor an award"),
    ],
)
def test_error_payloads_raise_naming_source_and_request(
    body: str, status: int, fragment: str
) -> None:
    with pytest.raises(SourceError) as info:
        nsf_awards.parse_response(body.encode(), WHERE, status)
    assert fragment in str(info.value)
    assert str(info.value).startswith("[nsf_awards] ") and str(info.value).endswith(f"({WHERE})")
    assert info.value.source == SLUG and info.value.where == WHERE


@pytest.mark.parametrize(
    ("mutate", "key", "reason"),
    [
        ({"id": None}, f"{WHERE} [item 0]", "award without an id"),
        ({"date": "2024-02-01"}, "2400101", "date '2024-02-01' is not a MM/DD/YYYY date"),
        ({"expDate": "13/40/2029"}, "2400101", "expDate '13/40/2029' is not a MM/DD/YYYY"),
        ({"fundsObligatedAmt": "about 5k"}, "2400101", "fundsObligatedAmt 'about 5k' is not"),
    ],
)
def test_malformed_award_is_quarantined_others_kept(
    mutate: dict[str, Any], key: str, reason: str
) -> None:
    other = full_award(id="2100202")
    page = nsf_awards.parse_response(body_of(full_award(**mutate), other), WHERE)
    assert [a["award_id"] for a in awards(page)] == ["2100202"]
    (q,) = page.quarantined
    assert (q.source, q.entity, q.record_key) == (SLUG, "awards", key)
    assert reason in q.reason
    assert json.loads(q.payload)["title"] == "Placeholder award title"


def test_non_object_award_is_quarantined() -> None:
    page = nsf_awards.parse_response(body_of(full_award(), "junk"), WHERE)
    (q,) = page.quarantined
    assert (q.record_key, q.reason) == (f"{WHERE} [item 1]", "not a JSON object")
    assert page.count() == 1


# ---------------------------------------------------------------- fetch


class Server:
    def __init__(self, route: Callable[[httpx.Request], httpx.Response | bytes]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.host == "api.nsf.gov"
        assert request.url.path == "/services/v1/awards.json"
        answer = self.route(request)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer, headers={"content-type": "application/json"})
        return answer

    def params(self, name: str) -> list[str | None]:
        return [r.url.params.get(name) for r in self.requests]


make_watchlist = functools.partial(source_watchlist, SLUG)
ZHUO = {"name": "Danyang Zhuo", "aliases": ["Zhuo, Danyang"]}


def numbered(n: int, start: int = 0, pi: str = "Danyang Zhuo") -> list[dict[str, Any]]:
    return [full_award(id=f"{2400000 + start + i}", pdPIName=pi) for i in range(n)]


def award_ids(report: FetchReport) -> list[str]:
    return [a["award_id"] for f in report for a in f.page.records.get("awards", [])]


def test_pi_search_pages_with_offset_to_the_end(client_for: Callable[..., HttpClient]) -> None:
    pool = numbered(60)

    def route(request: httpx.Request) -> bytes:
        offset, rpp = int(request.url.params["offset"]), int(request.url.params["rpp"])
        return body_of(*pool[offset - 1 : offset - 1 + rpp])

    server = Server(route)
    report = nsf_awards.fetch(client_for(server), make_watchlist([ZHUO]))
    assert report.errors == []
    assert server.params("offset") == ["1", "26", "51"]
    assert set(server.params("rpp")) == {"25"}
    assert set(server.params("pdPIName")) == {"Danyang Zhuo"}
    assert set(server.params("printFields")) == {nsf_awards.PRINT_FIELDS}
    assert award_ids(report) == [a["id"] for a in pool]


def test_pi_search_stops_at_the_reported_total(client_for: Callable[..., HttpClient]) -> None:
    pool = numbered(25)
    server = Server(lambda r: body_of(*pool, metadata={"totalCount": 25}))
    report = nsf_awards.fetch(client_for(server), make_watchlist([ZHUO]))
    assert server.params("offset") == ["1"] and len(award_ids(report)) == 25


def test_pi_search_cap(client_for: Callable[..., HttpClient]) -> None:
    server = Server(lambda r: body_of(*numbered(25, int(r.url.params["offset"]))))
    wl = source_watchlist(SLUG, [ZHUO], nsf_awards={"max_awards_per_pi": 30})
    report = nsf_awards.fetch(client_for(server), wl)
    assert server.params("offset") == ["1", "26"]  # 50 seen >= 30: no third request
    assert len(award_ids(report)) == 50


def test_namesakes_are_left_out_co_pis_kept(
    client_for: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="scholarflow.sources.nsf_awards")
    mine = full_award(id="1")
    namesake = full_award(id="2", pdPIName="Danyang Li", coPDPI=[])
    as_co_pi = full_award(id="3", pdPIName="Jane Doe", coPDPI=["D. Zhuo ~000900001"])
    other_zhuo = full_award(id="4", pdPIName="Wei Zhuo", coPDPI=[])
    server = Server(lambda r: body_of(mine, namesake, as_co_pi, other_zhuo))
    report = nsf_awards.fetch(client_for(server), make_watchlist([ZHUO]))
    assert award_ids(report) == ["1", "3"]
    assert "2 award(s) of namesakes of 'Danyang Zhuo' left out: 2, 4" in caplog.text


def test_award_ids_are_fetched_by_id(client_for: Callable[..., HttpClient]) -> None:
    def route(request: httpx.Request) -> bytes:
        if request.url.params.get("id") == "2100202":
            return body_of(full_award(id="2100202", pdPIName="Matthew Lentz"))
        if request.url.params.get("id") == "9999999":
            return body_of()
        return body_of()

    server = Server(route)
    wl = source_watchlist(
        SLUG,
        [{**ZHUO, "nsf_award_ids": ["2100202", "9999999"]}],
        nsf_awards={"search_by_pi": False},
    )
    report = nsf_awards.fetch(client_for(server), wl)
    assert server.params("id") == ["2100202", "9999999"]
    assert "offset" not in server.requests[0].url.params
    assert award_ids(report) == ["2100202"]  # a co-PI award found by id is kept as is
    (err,) = report.errors
    assert str(err).startswith("[nsf_awards] no NSF award '9999999'")
    assert "id=9999999" in err.where


@pytest.mark.parametrize(
    ("response", "fragment", "attempts"),
    [
        (httpx.Response(404, text="Not Found"), "HTTP 404 from the NSF Awards API: Not Found", 1),
        (httpx.Response(500, text="<html>oops</html>"), "HTTP 500", 5),
        (httpx.Response(429, text="slow down", headers={"Retry-After": "1"}), "HTTP 429", 5),
        (
            httpx.Response(200, json={"response": {"serviceNotification": [NOTE]}}),
            "NSF Awards API error: ERROR 1: Invalid parameter",
            1,
        ),
    ],
)
def test_http_errors_are_reported_and_the_next_researcher_goes_on(
    response: httpx.Response,
    fragment: str,
    attempts: int,
    client_for: Callable[..., HttpClient],
) -> None:
    def route(request: httpx.Request) -> httpx.Response | bytes:
        if request.url.params.get("pdPIName") == "Danyang Zhuo":
            return response
        return body_of(full_award(id="7", pdPIName="Pengfei Zuo"))

    server = Server(route)
    wl = make_watchlist([ZHUO, {"name": "Pengfei Zuo"}])
    report = nsf_awards.fetch(client_for(server), wl)
    (err,) = report.errors
    assert fragment in str(err) and "pdPIName=Danyang+Zhuo" in err.where
    assert server.params("pdPIName") == ["Danyang Zhuo"] * attempts + ["Pengfei Zuo"]
    assert award_ids(report) == ["7"]


def test_names_match() -> None:
    wanted = ["Danyang Zhuo", "Zhuo, Danyang"]
    assert nsf_awards.names_match("DANYANG ZHUO", wanted)
    assert nsf_awards.names_match("Zhuo, D.", wanted)
    assert not nsf_awards.names_match("Danyang Li", wanted)
    assert not nsf_awards.names_match("Wei Zhuo", wanted)
    assert not nsf_awards.names_match("", wanted)


# ---------------------------------------------------------------- demo fake


def test_fetch_against_the_demo_fake(client_for: Callable[..., HttpClient]) -> None:
    from flows.demo.generate import FakeUpstream

    facts = json.loads((DEMO_DIR / "facts.json").read_text(encoding="utf-8"))
    upstream = FakeUpstream(facts)
    wl = make_watchlist(
        [
            {**ZHUO, "aliases": ["Zhuo, Danyang", "D. Zhuo"], "nsf_award_ids": ["2100202"]},
            {"name": "Zhaoyuan Su", "aliases": ["Su, Zhaoyuan"]},
            {"name": "Pengfei Zuo", "aliases": ["Zuo, Pengfei", "P. Zuo"]},
        ]
    )
    report = nsf_awards.fetch(client_for(upstream), wl)
    assert report.errors == [] and report.stopped is None
    assert award_ids(report) == ["2400101", "2100202", "2100202"]  # the namesake's is left out
    for f in report:  # every recorded response parses again as stored
        again = SOURCES[SLUG].parse(f.response.body, f.response.url, f.response.status)
        assert again.quarantined == []
    by_id = {a["award_id"]: a for f in report for a in f.page.records.get("awards", [])}
    assert by_id["2100202"]["co_pi_names"] == ["Matthew Lentz"]
    assert by_id["2100202"]["award_date"] == date(2021, 6, 15)
    pubs = [p for a in by_id.values() for p in a["publications"]]
    assert {p["title"] for p in pubs} == {
        w["title"]
        for w in facts["works"]
        if "danyang-zhuo" in w["watched"] and w["venue"] != "arXiv"
    }
    assert [p["doi"] for p in pubs if p["doi"]] == ["10.14778/3570690.3570692"]

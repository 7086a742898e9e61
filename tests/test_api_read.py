"""The read side of the REST API over a real uvicorn server: invoices (filters, cursor pages),
one invoice in full, documents, translate, validate, inbound, auth, body limits, the docs."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from api_harness import (
    GOLDEN_UBL,
    T0,
    Api,
    create_api_key,
    example_records,
    served,
    submit_records,
)
from store_backends import pg_schema_url, sqlite_url

from gateway.store import DeliveryState, Store
from gateway.web.limits import WebLimits

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _cxml_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")


def _store(url: str) -> Store:
    store = Store.open(url)
    store.migrate()
    return store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The API on a SQLite store holding the first 8 example invoices."""
    store = _store(sqlite_url(tmp_path))
    submit_records(store, example_records(8))
    with served(store) as running:
        yield running
    store.close()


@pytest.fixture
def reader(api: Api) -> httpx.Client:
    """A client with a read key of the default tenant."""
    return api.client(create_api_key(api.store, "default", ["read"]))


@pytest.fixture
def submitter(api: Api) -> httpx.Client:
    """A client with a submit key of the default tenant."""
    return api.client(create_api_key(api.store, "default", ["submit"]))


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def _all(client: httpx.Client, url: str) -> list[dict[str, object]]:
    """Every item of a list, following ``next``."""
    items: list[dict[str, object]] = []
    next_url: str | None = url
    while next_url is not None:
        page = client.get(next_url)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        next_url = page.json()["next"]
    return items


def test_invoices_are_listed_oldest_first_with_their_summary(reader: httpx.Client) -> None:
    """GET /invoices lists every invoice with number, dates, buyer, total, state and link."""
    page = reader.get("/api/v1/invoices")
    assert page.status_code == 200
    items = page.json()["items"]
    numbers = [r["number"] for r in example_records(8)]
    assert [i["number"] for i in items] == numbers
    first = items[0]
    assert first["issue_date"] == "2026-10-01" and first["due_date"] == "2026-10-31"
    assert first["state"] == "QUEUED" and first["buyers"] == ["de-public"]
    assert first["currency"] == "EUR" and first["total"] is not None
    assert first["link"] == f"/api/v1/invoices/{first['id']}"
    assert page.json()["next"] is None and page.json()["next_cursor"] is None


def test_cursor_pages_never_repeat_or_skip_while_invoices_arrive(
    api: Api, reader: httpx.Client
) -> None:
    """limit=3 pages walk every invoice once; invoices inserted mid-walk appear at the end."""
    first = reader.get("/api/v1/invoices", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    submit_records(api.store, example_records(10)[8:])  # two new invoices mid-walk
    rest = _all(reader, first["next"])
    ids = [i["id"] for i in first["items"]] + [i["id"] for i in rest]
    assert len(ids) == len(set(ids)) == 10
    assert ids == sorted(ids)
    assert "limit=3" in first["next"]


def test_filters_buyer_state_issue_dates_and_overdue(api: Api, reader: httpx.Client) -> None:
    """buyer, state, from/to and overdue each narrow the list to the invoices they describe."""
    everything = reader.get("/api/v1/invoices").json()["items"]
    by_number = {i["number"]: i for i in everything}
    hanse = reader.get("/api/v1/invoices", params={"buyer": "hanse-logistik"}).json()["items"]
    assert (
        {i["number"] for i in hanse}
        == {n for n, i in by_number.items() if "hanse-logistik" in i["buyers"]}
        != set()
    )
    ranged = reader.get("/api/v1/invoices", params={"from": "2026-10-03", "to": "2026-10-20"})
    assert {i["number"] for i in ranged.json()["items"]} == {
        "NB-2026-10002",
        "NB-2026-10003",
        "NB-2026-90001",
    }
    # NB-2026-10001 is due 2026-10-31 (before T0): overdue until it is cancelled
    overdue = {i["number"] for i in reader.get("/api/v1/invoices?overdue=true").json()["items"]}
    assert "NB-2026-10001" in overdue
    assert "NB-2026-10008" not in overdue  # due 2026-12-04
    assert "NB-2026-10006" not in overdue  # no due date
    delivery = api.store.deliveries(buyer="de-public")[0]
    api.store.mark(delivery.id, DeliveryState.CANCELLED, now=T0, kind="cancelled")
    overdue = {i["number"] for i in reader.get("/api/v1/invoices?overdue=true").json()["items"]}
    assert delivery.invoice_number not in overdue
    cancelled = reader.get("/api/v1/invoices", params={"state": "CANCELLED"}).json()["items"]
    assert [i["number"] for i in cancelled] == [delivery.invoice_number]


def test_bad_list_parameters_are_problems_naming_the_value(reader: httpx.Client) -> None:
    """from after to, an unknown state, a forged cursor and limit 501 are refused, naming why."""
    body = _problem(reader.get("/api/v1/invoices?from=2026-11-02&to=2026-11-01"), 400)
    assert "2026-11-02" in str(body["detail"]) and "accepted" in str(body["detail"])
    body = _problem(reader.get("/api/v1/invoices?cursor=bm9wZQ"), 400)
    assert "bm9wZQ" in str(body["detail"])
    assert reader.get("/api/v1/invoices?state=LOST").status_code in (400, 422)
    assert reader.get("/api/v1/invoices?limit=501").status_code in (400, 422)


def test_one_invoice_has_its_canonical_model_documents_deliveries_and_timeline(
    api: Api, reader: httpx.Client
) -> None:
    """GET /invoices/{id}: the stored canonical JSON, document links, deliveries, events."""
    listed = reader.get("/api/v1/invoices").json()["items"][1]
    detail = reader.get(listed["link"]).json()
    assert detail["number"] == listed["number"] == detail["invoice"]["number"]
    (document,) = detail["documents"]
    stored = api.store.document(document["id"])
    assert document["sha256"] == stored.sha256 and document["size"] == len(stored.content)
    assert document["link"] == f"/api/v1/documents/{document['id']}"
    (delivery,) = detail["deliveries"]
    assert delivery["state"] == "QUEUED" and delivery["attempts"] == 0
    assert delivery["acks"] == {"transport": None, "syntax": None, "business": None}
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "accepted"
    assert [e["id"] for e in detail["timeline"]] == sorted(e["id"] for e in detail["timeline"])
    assert len(kinds) == len(api.store.timeline(listed["number"]))


def test_unknown_ids_are_404_problems(reader: httpx.Client) -> None:
    """An invoice, document or inbound id that does not exist is a 404 problem naming it."""
    for url in ("/api/v1/invoices/999", "/api/v1/documents/999", "/api/v1/inbound/999"):
        body = _problem(reader.get(url), 404)
        assert "999" in str(body["detail"])


def test_ids_beyond_64_bits_either_sign_are_404_problems(api: Api) -> None:
    """A path id too large for the store (2**70, or -2**63 - 1) on any id route is a 404
    problem, never a 500 from the database driver."""
    admin = api.client(create_api_key(api.store, "default", ["admin"]))
    for big in (str(2**70), str(-(2**63) - 1)):
        for url in (f"/api/v1/invoices/{big}", f"/api/v1/webhooks/{big}", f"/api/v1/inbound/{big}"):
            response = admin.get(url)
            assert response.status_code in (404, 422), (url, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_document_is_its_bytes_with_media_type_and_file_name(
    api: Api, reader: httpx.Client
) -> None:
    """GET /documents/{id} answers the stored bytes, their media type and a file name."""
    invoice = reader.get("/api/v1/invoices").json()["items"][0]
    document = reader.get(invoice["link"]).json()["documents"][0]
    got = reader.get(document["link"])
    assert got.status_code == 200
    assert got.content == api.store.document(document["id"]).content
    assert got.headers["content-type"].startswith(document["media_type"])
    assert hashlib.sha256(got.content).hexdigest() == document["sha256"]
    assert f'filename="{invoice["number"]}.' in got.headers["content-disposition"]


def test_translate_renders_an_erp_record_into_the_format_asked(reader: httpx.Client) -> None:
    """POST /translate?format=peppol-bis3 with a record answers the UBL document, base64."""
    record = next(r for r in example_records(8) if r["number"] == "NB-2026-10002")
    answer = reader.post(
        "/api/v1/translate", params={"format": "peppol-bis3"}, json=record, timeout=120
    )
    assert answer.status_code == 200, answer.text
    (outcome,) = answer.json()["outcomes"]
    assert outcome["ok"] and outcome["format"] == "peppol-bis3"
    xml = base64.b64decode(outcome["content_base64"])
    assert b"<cbc:ID>NB-2026-10002</cbc:ID>" in xml
    assert hashlib.sha256(xml).hexdigest() == outcome["sha256"]


def test_translate_refuses_an_unknown_format_and_a_broken_record(reader: httpx.Client) -> None:
    """An unknown alias is a 400 naming it; a record missing its number is not ok, with the
    finding naming the field and BT id."""
    body = _problem(reader.post("/api/v1/translate?format=pepol", json={}), 400)
    assert "pepol" in str(body["detail"])
    record = dict(example_records(1)[0])
    del record["number"]
    answer = reader.post("/api/v1/translate?format=peppol-bis3&validate=false", json=record)
    (outcome,) = answer.json()["outcomes"]
    assert not outcome["ok"] and outcome["content_base64"] is None
    assert any(f["bt"] == "BT-1" for f in outcome["findings"]), outcome["findings"]
    _problem(reader.post("/api/v1/translate?format=peppol-bis3", content=b"  "), 400)


def test_validate_reports_like_igw_validate(reader: httpx.Client) -> None:
    """POST /validate: a Peppol invoice passes with its scenario; broken XML fails with a
    finding; rules and format together are a 400."""
    answer = reader.post("/api/v1/validate", content=GOLDEN_UBL.read_bytes(), timeout=120)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["passed"] and report["syntax"] == "ubl" and report["scenario"]
    broken = reader.post("/api/v1/validate", content=b"<Invoice>").json()
    assert not broken["passed"] and broken["findings"][0]["rule"] == "XML-PARSE"
    _problem(reader.post("/api/v1/validate?rules=en16931&format=x", content=b"<a/>"), 400)
    body = _problem(reader.post("/api/v1/validate?rules=nope", content=b"<a/>"), 400)
    assert "nope" in str(body["detail"])


def test_inbound_is_stored_parsed_listed_and_shown_with_its_bytes(
    api: Api, submitter: httpx.Client, reader: httpx.Client
) -> None:
    """POST /inbound stores and parses a UBL invoice (201); again it is a duplicate (200);
    GET /inbound lists it, GET /inbound/{id} shows invoice, findings and original bytes."""
    content = GOLDEN_UBL.read_bytes()
    first = submitter.post(
        "/api/v1/inbound", content=content, headers={"Content-Type": "application/xml"}
    )
    assert first.status_code == 201, first.text
    received = first.json()
    assert received["state"] == "PARSED" and not received["duplicate"]
    assert received["channel"] == "api" and received["invoice"]["number"]
    again = submitter.post("/api/v1/inbound", content=content)
    assert again.status_code == 200 and again.json()["duplicate"]
    assert again.json()["id"] == received["id"]
    listed = reader.get("/api/v1/inbound").json()["items"]
    assert [i["id"] for i in listed] == [received["id"]]
    shown = reader.get(listed[0]["link"]).json()
    assert base64.b64decode(shown["content_base64"]) == content
    assert shown["invoice"] == received["invoice"]
    raw = reader.get(shown["content_link"])
    assert raw.content == content and raw.headers["content-type"].startswith("application/xml")


def test_inbound_junk_is_kept_as_unreadable(submitter: httpx.Client) -> None:
    """A body that is no invoice is stored UNREADABLE with the reason, never a 5xx."""
    answer = submitter.post("/api/v1/inbound", content=b"hello, not an invoice")
    assert answer.status_code == 201
    assert answer.json()["state"] == "UNREADABLE" and answer.json()["detail"]
    _problem(submitter.post("/api/v1/inbound", content=b""), 400)


def test_keys_and_scopes_are_required(api: Api, reader: httpx.Client) -> None:
    """No key or an unknown key is 401; a read key cannot POST /inbound (403)."""
    _problem(api.client(None).get("/api/v1/invoices"), 401)
    _problem(api.client("igw_unknown").get("/api/v1/invoices"), 401)
    _problem(reader.post("/api/v1/inbound", content=b"<a/>"), 403)


def test_document_routes_take_their_own_body_limit(tmp_path: Path) -> None:
    """POST /api/v1/translate over api_body is a 413 problem; a small route keeps max_body."""
    store = _store(sqlite_url(tmp_path))
    with served(store, limits=WebLimits(max_body=100, api_body=2000)) as api:
        client = api.client(create_api_key(store, "default", ["read"]))
        big = client.post("/api/v1/translate?format=peppol-bis3", content=b"x" * 3000)
        body = _problem(big, 413)
        assert "2000" in str(body["detail"]) and "--api-max-body" in str(body["detail"])
        fits = client.post("/api/v1/translate?format=peppol-bis3", content=b"{" + b" " * 1500)
        assert fits.status_code == 400  # read (within 2000), then refused as unreadable JSON
    store.close()


def test_docs_pages_load_only_same_origin_files(api: Api) -> None:
    """/docs and /redoc reference only URLs of this server, and each answers 200."""
    client = api.client(None)
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html.text)
        urls += re.findall(r"url: '([^']+)'", html.text)
        assert urls, html.text
        for url in urls:
            absolute = urljoin(api.base + page, url)
            assert urlsplit(absolute).netloc == urlsplit(api.base).netloc, url
            assert client.get(absolute).status_code == 200, url
        assert "cdn" not in html.text.lower()


def test_openapi_document_is_3_1_and_every_operation_declares_responses_and_security(
    api: Api,
) -> None:
    """/api/v1/openapi.json: OpenAPI 3.1, bearer security, every operation with a 2xx schema,
    401 as problem+json and its security requirement."""
    document = api.client(None).get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) >= 8
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert path.startswith("/api/v1/"), where
        assert op.get("security"), where
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok and all(op["responses"][s].get("content") for s in ok if s != "204"), where
        for status in ("401", "403"):
            assert PROBLEM in op["responses"][status]["content"], where
        assert op.get("summary") and op.get("operationId"), where


def test_the_read_side_answers_the_same_on_postgresql() -> None:
    """On PostgreSQL: list with filters and pages, one invoice, its document, inbound."""
    with pg_schema_url() as url:
        store = _store(url)
        submit_records(store, example_records(6))
        with served(store) as api:
            client = api.client(create_api_key(store, "default", ["read", "submit"]))
            items = _all(client, "/api/v1/invoices?limit=4")
            assert [i["number"] for i in items] == [r["number"] for r in example_records(6)]
            ranged = client.get("/api/v1/invoices?from=2026-10-03&to=2026-10-20&overdue=true")
            assert {i["number"] for i in ranged.json()["items"]} == {
                "NB-2026-10002",
                "NB-2026-10003",
                "NB-2026-90001",
            }
            detail = client.get(items[0]["link"]).json()
            document = client.get(detail["documents"][0]["link"])
            assert document.content == store.document(detail["documents"][0]["id"]).content
            posted = client.post("/api/v1/inbound", content=GOLDEN_UBL.read_bytes())
            assert posted.status_code == 201 and posted.json()["state"] == "PARSED"
            assert client.get(posted.json()["link"]).json()["invoice"]["number"]
        store.close()


def test_a_mistyped_query_parameter_is_refused_not_ignored(reader: httpx.Client) -> None:
    """?stat=QUEUED (for state) is a 400 naming it and the accepted parameters, not a list of
    everything."""
    body = _problem(reader.get("/api/v1/invoices?stat=QUEUED"), 400)
    assert "'stat'" in str(body["detail"]) and "state" in str(body["detail"])


def test_a_wrong_method_names_every_allowed_one(reader: httpx.Client) -> None:
    """DELETE /inbound is a 405 problem whose Allow lists GET and POST (both routes)."""
    answer = reader.delete("/api/v1/inbound")
    _problem(answer, 405)
    assert answer.headers["allow"] == "GET, POST"


def test_serve_takes_the_api_body_limit(capsys: pytest.CaptureFixture[str]) -> None:
    """igw serve --api-max-body 5MiB sets the API document routes' limit; a bad size is a
    usage error naming the value."""
    from gateway.cli.main import build_parser

    args = build_parser().parse_args(["serve", "--api-max-body", "5MiB"])
    assert args.api_max_body == 5 * 1024 * 1024
    assert build_parser().parse_args(["serve"]).api_max_body == WebLimits.api_body
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--api-max-body", "lots"])
    assert "lots" in capsys.readouterr().err


def test_serve_gives_each_tenant_its_own_buyer_profiles(tmp_path: Path) -> None:
    """igw serve's tenant directory: the default tenant has --profiles, another tenant its
    config/tenants/<t>/buyers folder (none: no profiles), never the default tenant's."""
    from api_harness import DEMO_PROFILES, demo_profiles

    from gateway.cli.main import build_parser
    from gateway.web.serve import _tenant_directory

    args = build_parser().parse_args(["serve", "--profiles", str(DEMO_PROFILES)])
    args.as2_config = str(tmp_path / "as2")
    directory = _tenant_directory(args, demo_profiles())
    assert directory.config("default").buyers_dir == DEMO_PROFILES
    assert len(directory.profiles("default").profiles) == len(demo_profiles().profiles) > 0
    assert directory.profiles("elsewhere").profiles == ()

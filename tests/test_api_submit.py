"""POST /api/v1/invoices over a real uvicorn server: one and many records, CSV, every kind of
rejection, 201/207/422, the same outcome as igw submit, Idempotency-Key replay, conflict and
concurrency, the audit log; SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_submit_harness import (
    DEMO_PROFILES,
    EXAMPLES_CSV,
    OTHER_TENANT,
    REPO,
    Api,
    api_key,
    backend_param,
    backend_store,
    demo_profiles,
    example_records,
    problem,
    profiles_without_default,
    served,
)
from store_backends import sqlite_url

from gateway.cli.main import main
from gateway.store import DeliveryState, Store
from gateway.store.audit import list_audit
from gateway.web.limits import WebLimits

URL = "/api/v1/invoices"
BROKEN = REPO / "examples" / "broken" / "broken.json"


@pytest.fixture(autouse=True)
def _cxml_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The API on an empty SQLite store with the demo profiles."""
    with backend_store("sqlite", tmp_path) as store, served(store, demo_profiles()) as running:
        yield running


@pytest.fixture
def client(api: Api) -> Iterator[httpx.Client]:
    """A client with a submit key of the default tenant."""
    with api.client(api_key(api.store, "default", ["submit"])) as opened:
        yield opened


def _post(client: httpx.Client, data: object, **headers: str) -> httpx.Response:
    return client.post(
        URL,
        content=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def _statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["records"]]


@backend_param()
def test_one_record_is_stored_and_queued(backend: str, tmp_path: Path) -> None:
    """One JSON record: 201, status accepted, the stored invoice id and its QUEUED delivery."""
    with backend_store(backend, tmp_path) as store, served(store, demo_profiles()) as api:
        with api.client(api_key(store, "default", ["submit"])) as client:
            response = _post(client, example_records(1)[0])
        assert response.status_code == 201, response.text
        body = response.json()
        (record,) = body["records"]
        assert record["index"] == 0 and record["record"] == "NB-2026-10001"
        assert record["status"] == "accepted" and record["outcome"] == "stored"
        assert record["buyer"] == "de-public" and record["format"] == "xrechnung-ubl"
        (delivery_id,) = record["deliveries"]
        row = store.delivery(delivery_id)
        assert row.state == DeliveryState.QUEUED and row.invoice_id == record["invoice_id"]
        assert body["summary"] == {**body["summary"], "records": 1, "accepted": 1, "rejected": 0}


@backend_param()
def test_many_records_each_get_their_outcome_in_order(backend: str, tmp_path: Path) -> None:
    """An array of 10 records: 201, one outcome per record in request order, 10 deliveries."""
    data = example_records(10)
    with backend_store(backend, tmp_path) as store, served(store, demo_profiles()) as api:
        with api.client(api_key(store, "default", ["submit"])) as client:
            response = _post(client, data)
        assert response.status_code == 201, response.text
        records = response.json()["records"]
        assert [r["index"] for r in records] == list(range(10))
        assert [r["record"] for r in records] == [d["number"] for d in data]
        assert set(_statuses(response.json())) == {"accepted"}
        assert len(store.deliveries()) == 10


def test_csv_body_is_read_as_igw_submit_reads_a_csv_file(client: httpx.Client, api: Api) -> None:
    """text/csv: the CSV export's invoices are stored (one row per line item, grouped); the
    one whose attachment is a file path is rejected saying so (the server reads no file)."""
    response = client.post(
        URL, content=EXAMPLES_CSV.read_bytes(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 207, response.text
    records = response.json()["records"]
    assert _statuses(response.json()) == ["accepted"] * 3 + ["rejected", "accepted"]
    (attachment,) = records[3]["problems"]
    assert (attachment["bt"], attachment["message"]) == (
        "BT-125",
        "attachment paths need a CSV file on disk",
    )
    assert attachment["accepted"] == "base64 in attachment.content"
    assert len(api.store.deliveries()) == 4


def test_csv_charset_parameter_names_the_encoding(client: httpx.Client) -> None:
    """text/csv; charset=cp1252: the body is decoded as cp1252 (the export has accented
    names); the same bytes without the parameter are not UTF-8 and are refused saying so."""
    text = EXAMPLES_CSV.read_text(encoding="utf-8")
    assert any(ord(c) > 127 for c in text)
    data = text.encode("cp1252")
    plain = client.post(URL, content=data, headers={"Content-Type": "text/csv"})
    assert plain.status_code == 422
    assert "utf-8" in json.dumps(plain.json()["records"][0]["problems"]).lower()
    response = client.post(URL, content=data, headers={"Content-Type": "text/csv; charset=cp1252"})
    assert response.status_code == 207, response.text
    assert _statuses(response.json()) == ["accepted"] * 3 + ["rejected", "accepted"]


def test_unknown_charset_is_415_naming_it(client: httpx.Client) -> None:
    """A charset Python does not know is a 415 problem naming it and what is accepted."""
    response = client.post(
        URL, content=b"x", headers={"Content-Type": "text/csv; charset=klingon-8"}
    )
    body = problem(response, 415)
    assert "klingon-8" in body["detail"] and "utf-8" in body["detail"]


def test_schema_error_rule_failure_and_unknown_buyer_are_207(tmp_path: Path) -> None:
    """A schema error (intake), a business-rule failure and an unknown buyer are each rejected
    with their problem (field, BT id, value, accepted); the good record is stored: 207."""
    good, schema_bad, rule_bad, unknown = copy.deepcopy(example_records(4))
    schema_bad["issue_date"] = "2026-13-45"
    del rule_bad["buyer_reference"]  # NB-2026-10001 routes to de-public: XRechnung BR-DE-15
    rule_bad["number"] = "RULE-01"
    unknown["buyer"]["identifier"] = {"value": "NOBODY-42", "scheme": "0088"}
    unknown["buyer"].pop("electronic_address", None)
    unknown["buyer"].pop("vat_id", None)
    unknown["buyer"].pop("legal_registration", None)
    unknown["buyer_reference"] = "NOBODY"
    rule_bad.update({k: good[k] for k in ("buyer", "seller")})
    records = [good, schema_bad, rule_bad, unknown]
    profiles = demo_profiles(profiles_without_default(tmp_path))
    with backend_store("sqlite", tmp_path) as store, served(store, profiles) as api:
        with api.client(api_key(store, "default", ["submit"])) as client:
            response = _post(client, records)
        assert response.status_code == 207, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert _statuses(body) == ["accepted", "rejected", "rejected", "rejected"]
        assert body["summary"]["accepted"] == 1 and body["summary"]["rejected"] == 3
        schema = body["records"][1]["problems"]
        date = next(p for p in schema if p["path"] == "issue_date")
        assert (date["rule"], date["bt"], date["value"]) == ("INPUT", "BT-2", "2026-13-45")
        assert date["accepted"]
        rule = [p for p in body["records"][2]["problems"] if p["flag"] == "fatal"]
        assert ("BR-DE-15", "buyer_reference", "BT-10") in {
            (p["rule"], p["path"], p["bt"]) for p in rule
        }
        (routing,) = body["records"][3]["problems"]
        assert routing["path"] == "buyer" and "NOBODY-42" in json.dumps(routing)
        assert routing["accepted"]
        assert [r.invoice_number for r in store.deliveries()] == [good["number"]]


def test_nothing_accepted_is_422_problem_with_every_record(client: httpx.Client, api: Api) -> None:
    """When no record is accepted: 422 application/problem+json whose records member holds each
    record's problems; nothing is stored."""
    bad = copy.deepcopy(example_records(2))
    for record in bad:
        record["issue_date"] = "2026-13-45"
    body = problem(_post(client, bad), 422)
    assert body["type"].endswith("/records-rejected")
    assert "2 record(s), none accepted" in body["detail"]
    assert _statuses(body) == ["rejected", "rejected"]
    assert {p["bt"] for r in body["records"] for p in r["problems"]} >= {"BT-2"}
    assert api.store.deliveries() == []


def test_unreadable_json_is_422_naming_line_and_column(client: httpx.Client) -> None:
    """A body that is not JSON is the one rejected input igw submit reports: line and column."""
    response = client.post(
        URL, content=b'[{"number": "X",\n  oops}]', headers={"Content-Type": "application/json"}
    )
    body = problem(response, 422)
    (record,) = body["records"]
    assert record["record"] == "request body" and record["status"] == "rejected"
    assert "line 2" in record["problems"][0]["message"]
    assert "line 2" in str(body["detail"])
    assert str(body["detail"]).count("request body") == 1  # the place is named once


def test_empty_array_is_422_no_records(client: httpx.Client) -> None:
    """An empty array: 422, the problem says there are no records and what is accepted."""
    body = problem(_post(client, []), 422)
    (record,) = body["records"]
    assert "no records" in record["problems"][0]["message"]
    assert record["problems"][0]["accepted"]


def test_unsupported_media_type_is_415(client: httpx.Client) -> None:
    """A form body (curl's default) is a 415 problem listing the accepted media types."""
    response = client.post(
        URL, content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    body = problem(response, 415)
    assert "application/json" in body["detail"] and "text/csv" in body["detail"]


def test_without_key_401_and_read_key_403(api: Api) -> None:
    """No key: 401; a key with only the read scope: 403 naming the submit scope."""
    with api.client(None) as anonymous:
        problem(_post(anonymous, example_records(1)), 401)
    with api.client(api_key(api.store, "default", ["read"])) as reader:
        body = problem(_post(reader, example_records(1)), 403)
    assert "submit" in body["detail"]
    assert api.store.deliveries() == []


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    """A body over the API body limit is a 413 problem before anything is read."""
    limits = WebLimits(api_body=1000)
    with (
        backend_store("sqlite", tmp_path) as store,
        served(store, demo_profiles(), limits=limits) as api,
        api.client(api_key(store, "default", ["submit"])) as client,
    ):
        problem(_post(client, example_records(3)), 413)
        assert store.deliveries() == []


def test_the_same_records_again_without_a_key_are_duplicates(
    client: httpx.Client, api: Api
) -> None:
    """Re-posting the same records without Idempotency-Key: every record is a duplicate
    naming the deliveries of the first post; nothing is queued a second time."""
    data = example_records(3)
    first = _post(client, data).json()
    again = _post(client, data)
    assert again.status_code == 201
    assert _statuses(again.json()) == ["duplicate"] * 3
    assert [r["deliveries"] for r in again.json()["records"]] == [
        r["deliveries"] for r in first["records"]
    ]
    assert [r["invoice_id"] for r in again.json()["records"]] == [
        r["invoice_id"] for r in first["records"]
    ]
    assert len(api.store.deliveries()) == 3


def _igw_submit(
    path: Path, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    monkeypatch.chdir(path.parent)  # no ./config/sellers: no seller master data, as the API
    capsys.readouterr()
    main(["submit", str(path), "--json", "--store", url, "--profiles", str(DEMO_PROFILES)])
    outcomes: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["outcomes"]
    return outcomes


def test_outcomes_equal_what_igw_submit_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broken-records example and the good examples, through igw submit (the CLI, its own
    store) and through the API (another store): every record's outcome is the same —
    status, buyer, format, channel, deliveries, hash, message and every problem."""
    data = json.loads(BROKEN.read_text(encoding="utf-8")) + example_records()
    source = tmp_path / "cli" / "records.json"
    source.parent.mkdir()
    source.write_text(json.dumps(data), encoding="utf-8")
    expected = _igw_submit(source, sqlite_url(source.parent), capsys, monkeypatch)
    (tmp_path / "api").mkdir()
    with (
        backend_store("sqlite", tmp_path / "api") as store,
        served(store, demo_profiles()) as api,
        api.client(api_key(store, "default", ["submit"])) as client,
    ):
        response = _post(client, data)
    assert response.status_code == 207, response.text
    got = [
        {
            "record": r["record"],
            "status": r["outcome"],
            "invoice": r["invoice"],
            "seller": r["seller"],
            "buyer": r["buyer"],
            "format": r["format"],
            "channel": r["channel"],
            "deliveries": r["deliveries"],
            "sha256": r["sha256"],
            "message": r["message"],
            "problems": r["problems"],
            "batch": r["batch"],
        }
        for r in response.json()["records"]
    ]
    assert len(got) == len(expected) == len(data)
    assert {o["status"] for o in expected} >= {"stored", "rejected"}
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs


def test_idempotency_key_replays_the_first_answer_byte_for_byte(
    client: httpx.Client, api: Api
) -> None:
    """A repeat with the same Idempotency-Key and body gets the first status and body byte for
    byte, with Idempotent-Replayed: true; nothing new is stored."""
    data = example_records(3)
    data[1]["currency"] = "EURO"
    first = _post(client, data, **{"Idempotency-Key": "batch-0001"})
    assert first.status_code == 207 and "idempotent-replayed" not in first.headers
    events = len(api.store.timeline("NB-2026-10001"))
    again = _post(client, data, **{"Idempotency-Key": "batch-0001"})
    assert again.status_code == 207
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert len(api.store.deliveries()) == 2
    assert len(api.store.timeline("NB-2026-10001")) == events


def test_idempotency_key_replays_a_422_too(client: httpx.Client) -> None:
    """The first answer is kept whatever it was: a 422 is replayed as the same 422."""
    bad = example_records(1)
    bad[0]["currency"] = "EURO"
    first = _post(client, bad, **{"Idempotency-Key": "bad-1"})
    again = _post(client, bad, **{"Idempotency-Key": "bad-1"})
    assert first.status_code == again.status_code == 422
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/problem+json")


def test_idempotency_key_with_another_body_is_422_naming_the_key(
    client: httpx.Client, api: Api
) -> None:
    """The same key with a different body: 422 problem naming the key; nothing stored."""
    assert _post(client, example_records(1), **{"Idempotency-Key": "k-77"}).status_code == 201
    body = problem(_post(client, example_records(2), **{"Idempotency-Key": "k-77"}), 422)
    assert body["key"] == "k-77" and "'k-77'" in body["detail"]
    assert body["type"].endswith("/idempotency-key-reused")
    assert len(api.store.deliveries()) == 1


def test_idempotency_keys_are_per_tenant(api: Api) -> None:
    """Another tenant's request with the same key is its own request (not a replay, no 422)."""
    records = example_records(1)
    with api.client(api_key(api.store, "default", ["submit"])) as mine:
        assert _post(mine, records, **{"Idempotency-Key": "shared"}).status_code == 201
    with api.client(api_key(api.store, OTHER_TENANT, ["submit"])) as theirs:
        other = _post(theirs, example_records(2), **{"Idempotency-Key": "shared"})
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    assert len(api.store.for_tenant(OTHER_TENANT).deliveries()) == 2
    assert len(api.store.deliveries()) == 1


def _race(api: Api, key: str, data: object, threads: int) -> list[httpx.Response]:
    """``threads`` clients post the same body with the same key at the same moment."""
    secret = api_key(api.store, "default", ["submit"])
    barrier = threading.Barrier(threads)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with api.client(secret) as client:
            barrier.wait()
            answer = _post(client, data, **{"Idempotency-Key": key})
        with lock:
            answers.append(answer)

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert len(answers) == threads
    return answers


@backend_param()
def test_concurrent_requests_with_one_key_store_once_and_replay(
    backend: str, tmp_path: Path
) -> None:
    """Four threads post the same 20 records with one key at once: one answer is fresh, the
    three others replay it byte for byte (they wait for it); 20 deliveries, not 80."""
    data = example_records(20)
    with backend_store(backend, tmp_path) as store, served(store, demo_profiles()) as api:
        answers = _race(api, "race-1", data, 4)
        fresh = [a for a in answers if "idempotent-replayed" not in a.headers]
        assert len(fresh) == 1 and fresh[0].status_code == 201, [a.text for a in fresh]
        for answer in answers:
            assert answer.status_code == 201 and answer.content == fresh[0].content
        assert len(store.deliveries()) == 20


@backend_param()
def test_concurrent_request_that_cannot_wait_gets_409(backend: str, tmp_path: Path) -> None:
    """With no waiting (idempotency_wait 0), a repeat arriving while the first request with
    its key is answered gets 409 with Retry-After (or, if it came after, the replay)."""
    data = example_records(20)
    with backend_store(backend, tmp_path) as store, served(store, demo_profiles()) as api:
        api.app.state.idempotency_wait = 0.0
        answers = _race(api, "race-2", data, 4)
        fresh = [
            a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers
        ]
        assert len(fresh) == 1
        others = [a for a in answers if a is not fresh[0]]
        busy = [a for a in others if a.status_code == 409]
        for answer in busy:
            body = problem(answer, 409)
            assert body["key"] == "race-2" and answer.headers["retry-after"] == "1"
        for answer in others:
            assert answer in busy or answer.content == fresh[0].content
        assert busy, "no request met the first one in progress"
        assert len(store.deliveries()) == 20


def test_submission_is_in_the_audit_log(client: httpx.Client, api: Api) -> None:
    """Each submission is one audit entry: actor the API key, the invoice ids it stored."""
    body = _post(client, example_records(2), **{"Idempotency-Key": "audit-1"}).json()
    (entry,) = [e for e in list_audit(api.store) if e.action == "submit"]
    assert entry.actor.startswith("key:") and entry.actor.endswith(":erp")
    assert entry.detail["invoice_ids"] == [r["invoice_id"] for r in body["records"]]
    assert entry.detail["idempotency_key"] == "audit-1"
    assert entry.target_kind == "invoice"


def test_other_tenants_store_is_untouched(api: Api) -> None:
    """A key of tenant acme stores into acme: the default tenant sees nothing of it."""
    with api.client(api_key(api.store, OTHER_TENANT, ["submit"])) as client:
        assert _post(client, example_records(2)).status_code == 201
    acme: Store = api.store.for_tenant(OTHER_TENANT)
    assert len(acme.deliveries()) == 2
    assert api.store.deliveries() == []


def test_a_request_that_fails_unexpectedly_frees_its_key(
    client: httpx.Client, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that crashes (500) keeps no answer under its key: the retry runs for real."""
    import gateway.web.api.submit as module

    def broken(*args: object) -> tuple[int, bytes, str]:
        raise RuntimeError("store went away")

    monkeypatch.setattr(module, "_submit", broken)
    try:  # the app's answer to an unexpected error: 500, or the connection closed
        failed = _post(client, example_records(1), **{"Idempotency-Key": "retry-1"})
        assert failed.status_code == 500
    except httpx.TransportError:
        pass
    assert api.store.deliveries() == []
    monkeypatch.undo()
    with api.client(api_key(api.store, "default", ["submit"])) as again:
        retried = _post(again, example_records(1), **{"Idempotency-Key": "retry-1"})
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert len(api.store.deliveries()) == 1


def test_each_tenant_routes_by_its_own_buyer_profiles(tmp_path: Path) -> None:
    """With a tenant directory (igw serve's), a key of acme routes by config/tenants/acme's
    profiles (one default profile), a key of the default tenant by the default folder."""
    from gateway.tenants import DEFAULT_TENANT
    from gateway.tenants.config import TenantConfig
    from gateway.tenants.directory import TenantDirectory

    acme = tmp_path / "tenants" / OTHER_TENANT / "buyers"
    acme.mkdir(parents=True)
    (acme / "default.toml").write_text(
        (DEMO_PROFILES / "default.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    default = TenantConfig(DEFAULT_TENANT, DEMO_PROFILES, tmp_path / "no-sellers", tmp_path)
    directory = TenantDirectory(tmp_path / "tenants", default)
    record = example_records(1)
    with backend_store("sqlite", tmp_path) as store, served(store, demo_profiles()) as api:
        api.app.state.tenants = directory
        with api.client(api_key(store, "default", ["submit"])) as mine:
            (ours,) = _post(mine, record).json()["records"]
        with api.client(api_key(store, OTHER_TENANT, ["submit"])) as theirs:
            (acmes,) = _post(theirs, record).json()["records"]
    assert (ours["status"], ours["buyer"]) == ("accepted", "de-public")
    assert (acmes["status"], acmes["buyer"]) == ("accepted", "default")


def test_openapi_describes_the_bodies_and_every_answer() -> None:
    """The OpenAPI document of POST /invoices names the three body media types, the
    Idempotency-Key header, 201/207 as SubmitResult and the problem answers."""
    from fastapi import FastAPI
    from fastapi.openapi.utils import get_openapi

    from gateway.web.api import build_api

    app = FastAPI()
    app.include_router(build_api(("submit", "deliveries")))
    document = get_openapi(title="t", version="1", openapi_version="3.1.0", routes=app.routes)
    operation = document["paths"][URL]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-ndjson",
        "text/csv",
    }
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    assert {"201", "207", "409", "413", "415", "422"} <= set(operation["responses"])
    for status in ("201", "207"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/SubmitResult"}
    assert "RecordOutcome" in document["components"]["schemas"]

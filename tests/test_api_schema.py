"""The OpenAPI document drives a property-based test (schemathesis) over every /api/v1
operation on a real uvicorn server: no 5xx, and every response matches the document (status
codes, content types, bodies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from api_harness import Api, create_api_key, example_records, served, submit_records
from hypothesis import HealthCheck, settings
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import positive_data_acceptance
from store_backends import sqlite_url

from gateway.store import Store
from gateway.web.app import create_app


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API on a SQLite store with three example invoices (one server for the module)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
        store = Store.open(sqlite_url(tmp_path_factory.mktemp("api-schema")))
        store.migrate()
        submit_records(store, example_records(3))
        with served(store) as api:
            yield api
        store.close()


@pytest.fixture(scope="module")
def key(running: Api) -> str:
    """A key with every scope of the default tenant (the operations' own scopes are proven in
    the contract tests)."""
    return create_api_key(running.store, "default", ["read", "submit", "admin"])


# EDIFACT and JSON Lines bodies are bytes like the XML ones (generated as binary strings)
schemathesis.serializer.alias("application/edifact", "application/octet-stream")
schemathesis.serializer.alias("application/x-ndjson", "application/octet-stream")


def _document() -> dict[str, Any]:
    """The document the app publishes at /api/v1/openapi.json (built once at collection; the
    test below also checks the served one is the same)."""
    store = Store.open("sqlite://")
    try:
        return create_app(store=store, as2=None).openapi()
    finally:
        store.close()


DOCUMENT = _document()
schema = from_dict(DOCUMENT)
#: "a schema-valid request is accepted" cannot hold for values whose validity a schema cannot
#: state: an opaque cursor the API did not give out, ``from`` after ``to``, an option key the
#: format does not read. Those are 400 problems naming the value (tests/test_api_read.py).
SEMANTIC = [positive_data_acceptance]


def test_the_served_document_is_the_one_tested(running: Api) -> None:
    """/api/v1/openapi.json serves the document the property-based test is generated from."""
    served = httpx.get(f"{running.base}/api/v1/openapi.json").json()
    assert served == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, running: Api, key: str
) -> None:
    """Generated requests to every operation: no 5xx, responses conform to the document."""
    case.call_and_validate(
        base_url=running.base,
        headers={"Authorization": f"Bearer {key}"},
        excluded_checks=SEMANTIC,
    )

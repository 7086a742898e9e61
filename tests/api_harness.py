"""The REST API over a real uvicorn server, for tests/test_api_*.py: a migrated store with the
demo invoices submitted, an app on it, API keys per tenant and scope."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.delivery.submit import SubmitReport, submit
from gateway.intake import read_records
from gateway.peers.serve import serve_in_thread
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.store import Store
from gateway.web.app import create_app
from gateway.web.limits import WebLimits

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = REPO / "config" / "demo" / "buyers"
GOLDEN_UBL = REPO / "tests" / "golden" / "ubl" / "simple-peppol.xml"
T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
"""Submission time, and the API's clock (``overdue`` is judged on this day)."""


def example_records(count: int | None = None) -> list[dict[str, Any]]:
    """The first ``count`` records of examples/erp-export.json."""
    data: list[dict[str, Any]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return data[:count] if count is not None else data


def demo_profiles() -> ProfileSet:
    """The demo buyer profiles (IGW_DEMO_CXML_SECRET must be set by the caller)."""
    return load_profiles(DEMO_PROFILES)


def submit_records(
    store: Store, records: Sequence[dict[str, Any]], now: dt.datetime = T0
) -> SubmitReport:
    """Submit ERP records as ``igw submit`` does (without XSD/schematron, for speed)."""
    report = submit(
        read_records(json.dumps(list(records)).encode(), "json"),
        store,
        demo_profiles(),
        now=now,
        run_validation=False,
    )
    assert report.count("stored") == len(records), [o.problems for o in report.outcomes]
    return report


def create_api_key(store: Store, tenant: str, scopes: Sequence[str], name: str = "test") -> str:
    """A new API key of ``tenant`` with ``scopes`` (the keys helper's create_key); the secret."""
    from gateway.store.keys import create_key

    if not store.has_tenant(tenant):
        store.create_tenant(tenant, f"Tenant {tenant}", T0)
    return create_key(store.for_tenant(tenant), name, list(scopes), T0).key


@dataclass
class Api:
    """A served app: ``base`` URL, the store, ``client(key)`` for requests with a key."""

    base: str
    store: Store
    app: Any

    def client(self, key: str | None) -> httpx.Client:
        """An httpx client on the API with ``Authorization: Bearer key`` (none: no header)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)


@contextmanager
def served(store: Store, *, limits: WebLimits | None = None) -> Iterator[Api]:
    """The app on ``store`` over uvicorn on loopback, its clock at :data:`T0`."""
    app = create_app(
        store=store, as2=None, clock=lambda: T0, limits=limits, profile_set=demo_profiles()
    )
    with serve_in_thread(app) as base:
        yield Api(base, store, app)

"""The write side of the REST API over a real uvicorn server, for tests/test_api_submit.py and
tests/test_api_deliveries.py: a migrated store per backend, the app with a buyer profile set,
API keys per tenant and scope."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from store_backends import pg_schema_url, sqlite_url

from gateway.peers.serve import serve_in_thread
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.store import Store
from gateway.store.keys import create_key
from gateway.tenants import DEFAULT_TENANT
from gateway.tenants.directory import TenantDirectory
from gateway.web.api import build_api
from gateway.web.api.problems import install_problem_handlers
from gateway.web.app import create_app
from gateway.web.limits import WebLimits

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
EXAMPLES_CSV = REPO / "examples" / "erp-export.csv"
DEMO_PROFILES = REPO / "config" / "demo" / "buyers"
T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PROBLEM = "application/problem+json"
OTHER_TENANT = "acme"
#: the API modules these tests serve (the read side has its own tests)
WRITE_ROUTERS = ("submit", "deliveries")


def example_records(count: int | None = None) -> list[dict[str, Any]]:
    """The first ``count`` records of examples/erp-export.json."""
    data: list[dict[str, Any]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return data[:count] if count is not None else data


def profiles_without_default(tmp_path: Path) -> Path:
    """A copy of the demo profiles without the default one: an unknown buyer is rejected."""
    folder = tmp_path / "buyers"
    shutil.copytree(DEMO_PROFILES, folder)
    (folder / "default.toml").unlink()
    return folder


def open_store(url: str) -> Store:
    """A migrated store on ``url`` with the second tenant created."""
    store = Store.open(url)
    store.migrate()
    store.create_tenant(OTHER_TENANT, "Acme Supplies", T0)
    return store


@contextmanager
def backend_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on ``backend`` (sqlite or postgresql; skipped when PostgreSQL is
    unreachable)."""
    if backend == "sqlite":
        store = open_store(sqlite_url(tmp_path))
        yield store
        store.close()
        return
    with pg_schema_url() as url:
        store = open_store(url)
        yield store
        store.close()


def api_key(store: Store, tenant: str, scopes: Sequence[str], name: str = "erp") -> str:
    """A new API key of ``tenant`` with ``scopes``; the full key."""
    return create_key(store.for_tenant(tenant), name, scopes, T0).key


@dataclass
class Api:
    """A served app: ``base`` URL, the store, the app, ``client(key)``."""

    base: str
    store: Store
    app: Any

    def client(self, key: str | None) -> httpx.Client:
        """An httpx client on the API with ``Authorization: Bearer key`` (none: no header)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=120)


@contextmanager
def served(store: Store, profiles: ProfileSet, *, limits: WebLimits | None = None) -> Iterator[Api]:
    """The app on ``store`` with ``profiles`` over uvicorn on loopback, its clock at T0, with
    the write side's routers (submit, deliveries) under /api/v1 and the API's problem
    handlers."""
    both = TenantDirectory(preloaded={DEFAULT_TENANT: profiles, OTHER_TENANT: profiles})
    app = create_app(
        store=store, as2=None, clock=lambda: T0, limits=limits, tenants=both, api=False
    )
    install_problem_handlers(app)
    app.include_router(build_api(WRITE_ROUTERS))
    with serve_in_thread(app) as base:
        yield Api(base, store, app)


def demo_profiles(folder: Path = DEMO_PROFILES) -> ProfileSet:
    """The buyer profiles of ``folder`` (IGW_DEMO_CXML_SECRET must be set by the caller)."""
    return load_profiles(folder)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem details of ``response``, which must have ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


BACKENDS = ["sqlite", "postgresql"]


def backend_param() -> Any:
    """``@pytest.mark.parametrize("backend", ...)`` over SQLite and PostgreSQL."""
    return pytest.mark.parametrize("backend", BACKENDS)

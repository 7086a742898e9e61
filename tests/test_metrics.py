"""``/metrics`` (gateway/ops/metrics.py): request counts by route template over a real uvicorn
server, the AS2 fast path counted, bounded labels, the network allowlist, and business gauges
that match the store after a submit + deliver run (SQLite, and PostgreSQL once)."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from as2_peer import running_endpoint
from prometheus_client.parser import text_string_to_metric_families
from store_backends import T0, pg_schema_url, sqlite_url

from connectors.memory import MemoryConnector
from gateway.delivery.submit import submit
from gateway.delivery.worker import Worker
from gateway.errors import ConfigError
from gateway.intake import read_records
from gateway.ops.counters import SUBMIT_REJECTED
from gateway.ops.metrics import UNMATCHED, StoreCollector
from gateway.peers.serve import serve_in_thread
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.store import Store
from gateway.store.schema import documents
from gateway.web import create_app
from gateway.web.limits import WebLimits

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = REPO / "config" / "demo" / "buyers"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    """GET /metrics, parsed by prometheus_client's own parser: (sample, labels) -> value."""
    answer = httpx.get(f"{base}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def labelled(samples: Samples, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def values(samples: Samples, name: str, label: str) -> set[str]:
    """Every value label ``label`` takes in sample ``name``."""
    return {dict(labels)[label] for n, labels in samples if n == name}


@contextmanager
def served(store: Store, **options: object) -> Iterator[str]:
    """The app over ``store`` (no AS2 identity) on loopback."""
    with serve_in_thread(create_app(store=store, as2=None, **options)) as base:  # type: ignore[arg-type]
        yield base


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()


def test_requests_are_counted_by_route_template(store: Store) -> None:
    """/things/1 and /things/2 are one series under the route template /things/{id}, with
    method and status; /health its own; the latency histogram has the same labels."""
    app = create_app(store=store, as2=None)

    @app.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    with serve_in_thread(app) as base:
        for n in (1, 2, 3):
            assert httpx.get(f"{base}/things/{n}").status_code == 200
        assert httpx.get(f"{base}/things/x").status_code == 422
        assert httpx.get(f"{base}/health").status_code == 200
        samples = scrape(base)
    req = "igw_http_requests_total"
    assert labelled(samples, req, route="/things/{thing_id}", method="GET", status="200") == 3
    assert labelled(samples, req, route="/things/{thing_id}", method="GET", status="422") == 1
    assert labelled(samples, req, route="/health", method="GET", status="200") == 1
    count = "igw_http_request_duration_seconds_count"
    assert labelled(samples, count, route="/things/{thing_id}", method="GET") == 4
    assert not any("/things/1" in v for v in values(samples, req, "route"))


def test_the_api_sub_app_is_labelled_with_its_full_template(store: Store) -> None:
    """Requests to the REST API (a sub-app mounted at /api/v1) are labelled with the full
    template /api/v1/invoices/{invoice_id}, never the id."""
    with served(store) as base:
        for number in ("123", "456"):
            assert httpx.get(f"{base}/api/v1/invoices/{number}").status_code == 401
        samples = scrape(base)
    req = "igw_http_requests_total"
    route = "/api/v1/invoices/{invoice_id}"
    assert labelled(samples, req, route=route, method="GET", status="401") == 2
    assert not any("123" in v for v in values(samples, req, "route"))


def test_a_refusal_before_routing_is_labelled_with_its_route(store: Store) -> None:
    """A body over the limit, refused 413 before FastAPI's routing, is counted under the
    route's own path, not <unmatched>."""
    app = create_app(store=store, as2=None, limits=WebLimits(max_body=1000))

    @app.post("/upload")
    async def upload() -> dict[str, str]:
        return {}

    with serve_in_thread(app) as base:
        assert httpx.post(f"{base}/upload", content=b"x" * 5000).status_code == 413
        samples = scrape(base)
    req = "igw_http_requests_total"
    assert labelled(samples, req, route="/upload", method="POST", status="413") == 1


def test_a_thousand_random_paths_stay_one_label_value(store: Store) -> None:
    """1,000 random paths and WebDAV methods: every one is counted, under ONE route label
    (<unmatched>) and a bounded method label (OTHER), so no client can grow the series."""
    rng = random.Random(11)
    with served(store) as base, httpx.Client() as client:
        for _ in range(1000):
            path = "/" + "/".join(f"{rng.getrandbits(40):x}" for _ in range(rng.randint(1, 4)))
            assert client.get(base + path).status_code == 404
        for method in ("PROPFIND", "MKCOL", "REPORT"):  # methods the HTTP parser knows
            client.request(method, f"{base}/nowhere-{method}")
        samples = scrape(base)
    req = "igw_http_requests_total"
    assert labelled(samples, req, route=UNMATCHED, method="GET", status="404") == 1000
    assert values(samples, req, "route") <= {UNMATCHED, "/metrics"}
    assert values(samples, req, "method") <= {"GET", "OTHER"}
    assert sum(v for (n, _), v in samples.items() if n == req) == 1003


def test_the_as2_fast_path_is_counted(tmp_path: Path) -> None:
    """POST /as2 answered by the fast path (before FastAPI's routing) is counted as route
    /as2 with its status."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    try:
        with running_endpoint(opened) as (base, _):
            for _ in range(3):
                assert httpx.post(f"{base}/as2", content=b"hello").status_code == 400
            samples = scrape(base)
    finally:
        opened.close()
    req = "igw_http_requests_total"
    assert labelled(samples, req, route="/as2", method="POST", status="400") == 3


def test_metrics_are_refused_outside_the_allowed_networks(store: Store) -> None:
    """With metrics_allow naming other networks, a loopback client gets 403 naming its
    address; naming loopback, 200; no API key involved either way."""
    with served(store, metrics_allow="10.0.0.0/8, 192.168.1.7") as base:
        refused = httpx.get(f"{base}/metrics")
    assert refused.status_code == 403
    assert "127.0.0.1" in refused.text and "not in the allowed networks" in refused.text
    with served(store, metrics_allow="127.0.0.1") as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
        assert httpx.post(f"{base}/metrics").status_code == 405


def test_the_default_allows_loopback_and_the_environment_overrides(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default loopback reads /metrics; IGW_SERVE_METRICS_ALLOW=none refuses everyone."""
    with served(store) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
    monkeypatch.setenv("IGW_SERVE_METRICS_ALLOW", "none")
    with served(store) as base:
        assert httpx.get(f"{base}/metrics").status_code == 403


def test_a_bad_network_is_refused_at_start(store: Store) -> None:
    """A value that is no network fails create_app naming it and what is accepted."""
    with pytest.raises(ConfigError, match=r"'10\.0\.0\.0/33'.*accepted: a comma list"):
        create_app(store=store, as2=None, metrics_allow="127.0.0.1,10.0.0.0/33")


def _demo_profiles(monkeypatch: pytest.MonkeyPatch) -> ProfileSet:
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    return load_profiles(DEMO_PROFILES)


def _records(bad: int = 0) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    for n in range(bad):
        broken = dict(data[0])
        broken["number"] = f"BAD-{n}"
        broken["issue_date"] = "not a date"
        data.append(broken)
    return data


def _submit_and_deliver(store: Store, profiles: ProfileSet, *, bad: int) -> None:
    """Submit the examples (+ ``bad`` broken records), then deliver a part of them."""
    raw = json.dumps(_records(bad)).encode()
    report = submit(read_records(raw, "json"), store, profiles, now=T0)
    assert report.count("stored") == 27, report.summary()
    memory = MemoryConnector()
    worker = Worker(
        store,
        profiles,
        clock=lambda: T0,
        worker_id="w1",
        connectors=lambda _spec: memory,
        batch_size=10,
    )
    assert worker.run_once() == 10  # ten delivered, the rest still queued and due


def _expected(store: Store) -> dict[str, dict[tuple[str, ...], int]]:
    """What the store says, read the slow way (every row)."""
    rows = store.deliveries()
    by_state: dict[tuple[str, ...], int] = {}
    acks: dict[tuple[str, ...], int] = {}
    for r in rows:
        key = (store.tenant, r.channel, r.state.value)
        by_state[key] = by_state.get(key, 0) + 1
        for level, status in (("transport", r.transport_ack), ("syntax", r.syntax_ack)):
            if status is not None:
                acks[(store.tenant, level, status)] = acks.get((store.tenant, level, status), 0) + 1
    with store.engine.connect() as db:
        formats = db.execute(
            sa.select(documents.c.format).where(documents.c.tenant_id == store.tenant)
        ).all()
    by_format: dict[tuple[str, ...], int] = {}
    for (fmt,) in formats:
        by_format[(store.tenant, fmt)] = by_format.get((store.tenant, fmt), 0) + 1
    return {"deliveries": by_state, "acks": acks, "formats": by_format}


def _family(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], int]:
    return {
        tuple(dict(found)[label] for label in labels): int(v)
        for (n, found), v in samples.items()
        if n == name
    }


def _check_business_gauges(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    profiles = _demo_profiles(monkeypatch)
    other = store.for_tenant("beta")
    store.create_tenant("beta", "Beta GmbH", T0)
    rejected = SUBMIT_REJECTED.labels("default", "intake")._value.get()
    _submit_and_deliver(store, profiles, bad=2)
    report = submit(read_records(EXAMPLES), other, profiles, now=T0)  # nothing delivered
    assert report.count("stored") == 27
    with served(store) as base:
        samples = scrape(base)
    assert labelled(samples, "igw_store_up") == 1
    expected = _expected(store)
    tenants = ("tenant", "channel", "state")
    found = _family(samples, "igw_deliveries", *tenants)
    assert {k: v for k, v in found.items() if k[0] == "default"} == expected["deliveries"]
    assert {k: v for k, v in found.items() if k[0] == "beta"} == _expected(other)["deliveries"]
    acks = _family(samples, "igw_acks", "tenant", "level", "status")
    assert {k: v for k, v in acks.items() if k[0] == "default"} == expected["acks"]
    assert expected["acks"] == {("default", "transport", "received"): 10}
    formats = _family(samples, "igw_invoices_accepted", "tenant", "format")
    assert {k: v for k, v in formats.items() if k[0] == "default"} == expected["formats"]
    queued = sum(v for k, v in expected["deliveries"].items() if k[2] == "QUEUED")
    assert labelled(samples, "igw_queue_depth", tenant="default") == queued
    assert labelled(samples, "igw_queue_depth", tenant="beta") == 27
    age = labelled(samples, "igw_queue_oldest_due_seconds", tenant="default")
    since_t0 = (dt.datetime.now(dt.UTC) - T0).total_seconds()
    assert since_t0 - 60 < age <= since_t0 + 1
    after = labelled(samples, "igw_submit_rejected_total", tenant="default", reason="intake")
    assert after - rejected == 2


def test_business_gauges_match_the_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a submit + deliver run on two tenants, /metrics reports per tenant what the store
    holds: deliveries by channel and state, acks by level and status, invoices by format, the
    queue and its oldest due delivery's age, and the records rejected at submit."""
    _check_business_gauges(store, monkeypatch)


def test_business_gauges_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same gauges, the same truth, on PostgreSQL."""
    with pg_schema_url() as url:
        opened = Store.open(url)
        opened.migrate()
        try:
            _check_business_gauges(opened, monkeypatch)
        finally:
            opened.close()


def test_webhook_failures_counted_when_the_outbox_exists(store: Store) -> None:
    """No webhook_outbox table (a store before the webhooks migration): no
    igw_webhooks_failed family; with one, its FAILED rows per tenant."""
    with store.engine.begin() as db:
        db.exec_driver_sql("DROP TABLE IF EXISTS webhook_attempts")
        db.exec_driver_sql("DROP TABLE IF EXISTS webhook_outbox")
    with served(store) as base:
        assert not values(scrape(base), "igw_webhooks_failed", "tenant")
        with store.engine.begin() as db:
            db.exec_driver_sql(
                "CREATE TABLE webhook_outbox (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64), "
                "state VARCHAR(20))"
            )
            db.exec_driver_sql(
                "INSERT INTO webhook_outbox (tenant_id, state) VALUES ('default', 'FAILED'), "
                "('default', 'FAILED'), ('default', 'DELIVERED'), ('beta', 'FAILED')"
            )
        samples = scrape(base)
    assert labelled(samples, "igw_webhooks_failed", tenant="default") == 2
    assert labelled(samples, "igw_webhooks_failed", tenant="beta") == 1


def test_a_slow_store_does_not_hold_the_scrape(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store queries slower than the scrape timeout: the scrape answers at the timeout with
    igw_store_up 0 and no business gauges; the next scrape does not pile up queries."""
    calls: list[float] = []

    def slow(self: StoreCollector) -> list[object]:
        calls.append(time.monotonic())
        time.sleep(1.5)
        return []

    monkeypatch.setattr(StoreCollector, "_families", slow)
    collector = StoreCollector(store, timeout=0.3)
    started = time.monotonic()
    first = {m.name: m for m in collector.collect()}
    second = {m.name: m for m in collector.collect()}
    took = time.monotonic() - started
    collector.close()
    assert took < 1.2
    assert first["igw_store_up"].samples[0].value == 0
    assert second["igw_store_up"].samples[0].value == 0
    assert "still running" in collector.last_error
    assert len(calls) == 1

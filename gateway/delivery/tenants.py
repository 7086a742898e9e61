"""One worker per tenant in one process: ``igw run --all-tenants``.

Every store object is scoped to one tenant (:attr:`gateway.store.Store.tenant`), so a worker
sends the deliveries of exactly one tenant with that tenant's buyer profiles. To serve many
tenants from one process, a thread per tenant runs :func:`gateway.delivery.worker.run_worker`;
they share the stop event (SIGTERM/SIGINT in the main thread sets it) and their counts are
added up. Tenants without buyer profiles are skipped with a log line (nothing of theirs could be
routed), so a tenant created in the store but not yet configured costs nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gateway.delivery.worker import WorkerStats, run_worker, stop_on_signals
from gateway.tenants.directory import TenantDirectory

log = logging.getLogger(__name__)


def add_stats(total: WorkerStats, more: WorkerStats) -> WorkerStats:
    """The counts of two workers added up (elapsed: the longer of the two)."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(WorkerStats):
        a, b = getattr(total, field.name), getattr(more, field.name)
        values[field.name] = max(a, b) if field.name == "elapsed" else a + b
    return WorkerStats(**values)


def run_tenant_workers(
    store_url: str | None,
    tenants: Sequence[str],
    directory: TenantDirectory,
    *,
    stop: threading.Event | None = None,
    runner: Callable[..., WorkerStats] = run_worker,
    **options: Any,
) -> WorkerStats:
    """Run a worker for each of ``tenants`` (their profiles from ``directory``) until ``stop``
    (or, with ``until_empty=True`` in ``options``, until each queue is empty); the summed
    counts. A worker that fails stops the others and its error is raised."""
    stop = stop or threading.Event()
    results: dict[str, WorkerStats] = {}
    errors: list[BaseException] = []

    def one(tenant: str) -> None:
        try:
            folder = directory.config(tenant).buyers_dir
            results[tenant] = runner(store_url, folder, tenant=tenant, stop=stop, **options)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = []
    for tenant in tenants:
        if not directory.config(tenant).buyers_dir.is_dir():
            log.info(
                "igw run: tenant %s has no buyer profiles (%s): skipped",
                tenant,
                directory.config(tenant).buyers_dir,
                extra={"tenant": tenant},
            )
            continue
        thread = threading.Thread(target=one, args=(tenant,), name=f"igw-worker-{tenant}")
        threads.append(thread)
    with stop_on_signals(stop):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    if errors:
        raise errors[0]
    total = WorkerStats()
    for stats in results.values():
        total = add_stats(total, stats)
    return total

"""Operations: readiness (``/ready``), Prometheus metrics (``/metrics``) and the in-process
counters the engine increments.

* :mod:`gateway.ops.ready` — is the store reachable and its schema at the code's head revision;
* :mod:`gateway.ops.metrics` — the pure ASGI request-metrics middleware, the store collector
  (business gauges computed at scrape time) and the ``/metrics`` network allowlist;
* :mod:`gateway.ops.counters` — counters kept in the process (records rejected at submit);
  imports nothing of the engine, so the delivery package may increment them;
* :mod:`gateway.ops.install` — :func:`~gateway.ops.install.install_ops`, what the web app calls.

This ``__init__`` imports nothing: ``gateway.ops.counters`` stays cheap to import.
"""

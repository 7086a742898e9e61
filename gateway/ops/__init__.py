"""Operations: readiness (``/ready``), Prometheus metrics (``/metrics``) and the in-process
counters the engine increments.

* :mod:`gateway.ops.ready` — is the store reachable and its schema at the code's head revision;
* :mod:`gateway.ops.metrics` — the pure ASGI request-metrics middleware, the store collector
  (business gauges computed at scrape time) and the ``/metrics`` network allowlist;
* :mod:`gateway.ops.counters` — counters kept in the process (records rejected at submit);
  imports nothing of the engine, so the delivery package may increment them;
* :mod:`gateway.ops.install` — :func:`~gateway.ops.install.install_ops`, what the web app calls.

This ``__init__`` imports nothing: ``gateway.ops.counters`` stays cheap to import, and the
settings (``[serve] metrics_allow``) read the default below without loading the metrics.
"""

#: who may read ``/metrics`` unless configured: loopback and the private ranges (a scraper sits
#: inside the deployment's network; the public internet gets 403)
DEFAULT_ALLOW = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
#: the environment variable (and ``[serve] metrics_allow`` in gateway.toml) naming them
ALLOW_ENV = "IGW_SERVE_METRICS_ALLOW"

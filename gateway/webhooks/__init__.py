"""Webhooks: signed HTTP POSTs (Standard Webhooks) to the URLs a tenant subscribed, for the
events the store records (delivery state changes, acknowledgements, inbound messages).

* :mod:`gateway.store.webhooks` — subscriptions, the outbox (written in the event's own
  transaction), the attempt log;
* :mod:`gateway.webhooks.secrets` — ``whsec_`` signing secrets, generated or referenced;
* :mod:`gateway.webhooks.urls` — which targets a webhook may POST to;
* :mod:`gateway.webhooks.dispatch` — the dispatcher (``igw run``, ``igw webhooks dispatch``).
"""

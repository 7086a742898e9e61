"""gateway.store.idempotency: one claim per (tenant, key), the first answer kept and replayed,
another request under the key refused, a dead request's claim taken over; both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.store import Store
from gateway.store.idempotency import (
    STALE_AFTER,
    KeyInProgress,
    KeyReused,
    claim,
    complete,
    prune,
    release,
    request_sha256,
)

SHA = request_sha256("application/json", b"[1]")


def test_first_claim_is_ours_and_the_answer_is_replayed(store: Store) -> None:  # noqa: F811
    """The first claim returns None; after complete, the same request gets the kept answer."""
    assert claim(store, "k1", SHA, now=T0) is None
    complete(store, "k1", status=207, body=b'{"a":1}', media_type="application/json", now=T0)
    answer = claim(store, "k1", SHA, now=T0 + dt.timedelta(seconds=5))
    assert answer is not None
    assert (answer.status, answer.body, answer.media_type) == (207, b'{"a":1}', "application/json")


def test_same_key_other_request_is_refused(store: Store) -> None:  # noqa: F811
    """Another body (or media type) under a used key raises KeyReused naming the key."""
    assert claim(store, "k2", SHA, now=T0) is None
    other = request_sha256("text/csv", b"[1]")
    with pytest.raises(KeyReused, match="'k2'"):
        claim(store, "k2", other, now=T0)
    assert other != SHA != request_sha256("application/json", b"[2]")


def test_in_progress_then_stale_claim_is_taken_over(store: Store) -> None:  # noqa: F811
    """While the first request runs a repeat gets KeyInProgress; once its claim is older than
    STALE_AFTER (its process died) the repeat takes the key over."""
    assert claim(store, "k3", SHA, now=T0) is None
    with pytest.raises(KeyInProgress):
        claim(store, "k3", SHA, now=T0 + dt.timedelta(seconds=30))
    later = T0 + STALE_AFTER + dt.timedelta(seconds=1)
    assert claim(store, "k3", SHA, now=later) is None
    with pytest.raises(KeyInProgress):
        claim(store, "k3", SHA, now=later + dt.timedelta(seconds=1))


def test_release_frees_the_key(store: Store) -> None:  # noqa: F811
    """A released claim (the request failed) lets the next request with the key run."""
    assert claim(store, "k4", SHA, now=T0) is None
    release(store, "k4")
    assert claim(store, "k4", request_sha256("text/csv", b"x"), now=T0) is None


def test_keys_are_per_tenant(store: Store) -> None:  # noqa: F811
    """The same key in another tenant is another key."""
    store.create_tenant("acme", "ACME", T0)
    assert claim(store, "k5", SHA, now=T0) is None
    assert claim(store.for_tenant("acme"), "k5", request_sha256("text/csv", b"x"), now=T0) is None


def test_prune_forgets_old_answers_only(store: Store) -> None:  # noqa: F811
    """prune removes answered keys created before the cut, not newer ones or open claims."""
    for key, at in (("old", T0), ("new", T0 + dt.timedelta(days=2))):
        assert claim(store, key, SHA, now=at) is None
        complete(store, key, status=201, body=b"{}", media_type="application/json", now=at)
    assert claim(store, "open", SHA, now=T0) is None
    assert prune(store, T0 + dt.timedelta(days=1)) == 1
    assert claim(store, "old", SHA, now=T0 + dt.timedelta(days=3)) is None
    assert claim(store, "new", SHA, now=T0 + dt.timedelta(days=3)) is not None

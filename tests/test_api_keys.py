"""API keys and the audit log in the store, on SQLite and PostgreSQL: only a hash is kept,
revoked keys never authenticate, every list and change is scoped by tenant."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import sqlalchemy as sa
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.errors import ConfigError
from gateway.store import Store
from gateway.store import keys as keys_module
from gateway.store.audit import cli_actor, key_actor, list_audit, record_audit
from gateway.store.keys import (
    LAST_USED_EVERY,
    UnknownKey,
    authenticate,
    check_scopes,
    create_key,
    list_keys,
    parse_key,
    revoke_key,
)
from gateway.store.schema_keys import api_keys

KEY = re.compile(r"^igw_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$")


def _acme(store: Store) -> Store:  # noqa: F811
    store.create_tenant("acme", "Acme Ltd", T0)
    return store.for_tenant("acme")


def _stored(store: Store, key_id: int) -> dict[str, object]:  # noqa: F811
    with store.engine.connect() as db:
        row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().one()
    return dict(row)


def test_a_new_key_has_the_documented_form(store: Store) -> None:  # noqa: F811
    """create_key returns igw_<8 a-z0-9>_<43 URL-safe> with the scopes and name asked for."""
    new = create_key(store, "erp", ["submit", "read"], T0)
    assert KEY.match(new.key)
    assert new.row.scopes == {"submit", "read"} and new.row.name == "erp"
    assert new.row.tenant == "default" and new.key.startswith(f"igw_{new.row.prefix}_")


def test_only_the_sha256_of_the_secret_is_stored(store: Store) -> None:  # noqa: F811
    """The row holds the prefix and sha256(secret); no column holds the secret or the key."""
    new = create_key(store, "erp", ["read"], T0)
    parsed = parse_key(new.key)
    assert parsed is not None
    row = _stored(store, new.row.id)
    assert row["secret_hash"] == hashlib.sha256(parsed.secret.encode()).hexdigest()
    assert row["prefix"] == parsed.prefix
    for value in row.values():
        assert parsed.secret not in str(value)


def test_the_right_key_authenticates_with_its_tenant_and_scopes(store: Store) -> None:  # noqa: F811
    """authenticate(key) finds the key's row: id, tenant, name, scopes."""
    new = create_key(store, "erp", ["read"], T0)
    row = authenticate(store, new.key, T0)
    assert row is not None
    assert (row.id, row.tenant, row.name, row.scopes) == (new.row.id, "default", "erp", {"read"})


def test_wrong_secret_unknown_prefix_and_malformed_keys_do_not_authenticate(
    store: Store,  # noqa: F811
) -> None:
    """A right prefix with a wrong secret, an unknown prefix and a malformed key are None."""
    new = create_key(store, "erp", ["read"], T0)
    prefix = new.row.prefix
    wrong_secret = f"igw_{prefix}_{'A' * 43}"
    unknown_prefix = "igw_zzzzzzzz_" + new.key.split("_", 2)[2]
    for presented in (wrong_secret, unknown_prefix, new.key[:-1], "igw_x", "", new.key + "x"):
        assert authenticate(store, presented, T0) is None, presented


def test_a_revoked_key_never_authenticates(store: Store) -> None:  # noqa: F811
    """After revoke_key, the same key is refused; list_keys shows when it was revoked."""
    new = create_key(store, "erp", ["read"], T0)
    revoked = revoke_key(store, new.row.id, T0 + dt.timedelta(minutes=1))
    assert revoked.revoked_at == T0 + dt.timedelta(minutes=1)
    assert authenticate(store, new.key, T0 + dt.timedelta(minutes=2)) is None
    assert list_keys(store)[0].revoked


def test_revoking_twice_keeps_the_first_time(store: Store) -> None:  # noqa: F811
    """A second revoke changes nothing: revoked_at stays the first revocation's time."""
    new = create_key(store, "erp", ["read"], T0)
    revoke_key(store, new.row.id, T0)
    assert revoke_key(store, new.row.id, T0 + dt.timedelta(hours=1)).revoked_at == T0


def test_the_lookup_by_prefix_crosses_tenants(store: Store) -> None:  # noqa: F811
    """A key of tenant acme authenticates through any scope of the store and names acme."""
    acme = _acme(store)
    new = create_key(acme, "acme-erp", ["submit"], T0)
    row = authenticate(store, new.key, T0)
    assert row is not None and row.tenant == "acme"


def test_list_and_revoke_are_scoped_by_tenant(store: Store) -> None:  # noqa: F811
    """The default tenant lists none of acme's keys and cannot revoke one: UnknownKey, as for
    an id that does not exist; the key still authenticates."""
    acme = _acme(store)
    new = create_key(acme, "acme-erp", ["read"], T0)
    create_key(store, "default-erp", ["read"], T0)
    assert [k.name for k in list_keys(store)] == ["default-erp"]
    assert [k.name for k in list_keys(acme)] == ["acme-erp"]
    with pytest.raises(UnknownKey, match="no such key in tenant 'default'"):
        revoke_key(store, new.row.id, T0)
    with pytest.raises(UnknownKey):
        revoke_key(store, 9999, T0)
    assert authenticate(store, new.key, T0) is not None


def test_last_used_is_written_at_most_once_a_minute(store: Store) -> None:  # noqa: F811
    """First use sets last_used_at; uses within 60 s leave it; a use after 60 s moves it."""
    new = create_key(store, "erp", ["read"], T0)
    authenticate(store, new.key, T0)
    authenticate(store, new.key, T0 + dt.timedelta(seconds=30))
    assert list_keys(store)[0].last_used_at == T0
    later = T0 + LAST_USED_EVERY + dt.timedelta(seconds=1)
    authenticate(store, new.key, later)
    assert list_keys(store)[0].last_used_at == later


def test_uses_within_a_minute_write_nothing(store: Store) -> None:  # noqa: F811
    """Twenty uses within a minute issue one UPDATE of api_keys, not twenty."""
    new = create_key(store, "erp", ["read"], T0)
    updates: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            updates.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        for second in range(20):
            assert authenticate(store, new.key, T0 + dt.timedelta(seconds=second)) is not None
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert len(updates) == 1


def test_the_secret_is_compared_in_constant_time(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """authenticate compares the hashes with hmac.compare_digest (no early exit), also for a
    wrong secret."""
    new = create_key(store, "erp", ["read"], T0)
    calls: list[tuple[str, str]] = []
    real = keys_module.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    assert authenticate(store, new.key, T0) is not None
    assert authenticate(store, f"igw_{new.row.prefix}_{'B' * 43}", T0) is None
    stored = _stored(store, new.row.id)["secret_hash"]
    assert len(calls) == 2 and all(b == stored for _, b in calls)


def test_a_prefix_collision_is_retried(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the drawn prefix is taken, create_key draws again (the unique constraint holds)."""
    prefixes = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(keys_module, "_new_prefix", lambda: next(prefixes))
    first = create_key(store, "one", ["read"], T0)
    second = create_key(store, "two", ["read"], T0)
    assert (first.row.prefix, second.row.prefix) == ("aaaaaaaa", "bbbbbbbb")


def test_unknown_or_missing_scopes_name_the_accepted_ones() -> None:
    """check_scopes refuses an unknown scope and an empty list, naming submit, read, admin."""
    with pytest.raises(ConfigError, match=r"scope 'write': unknown; accepted: submit, read, admin"):
        check_scopes(["read", "write"])
    with pytest.raises(ConfigError, match="no scope given; accepted: submit, read, admin"):
        check_scopes([" ", ""])
    assert check_scopes([" admin "]) == {"admin"}


def test_audit_entries_come_back_newest_first_with_their_detail(store: Store) -> None:  # noqa: F811
    """record_audit then list_audit: newest first, detail as stored, since and limit apply."""
    actor = key_actor(3, "erp")
    for minute, action in enumerate(("submit", "resend", "cancel")):
        at = T0 + dt.timedelta(minutes=minute)
        record_audit(store, actor, action, "delivery", str(10 + minute), {"n": minute}, at)
    entries = list_audit(store)
    assert [e.action for e in entries] == ["cancel", "resend", "submit"]
    assert entries[0].actor == "key:3:erp" and entries[0].detail == {"n": 2}
    assert (entries[0].target_kind, entries[0].target_id) == ("delivery", "12")
    since = list_audit(store, since=T0 + dt.timedelta(minutes=1))
    assert [e.action for e in since] == ["cancel", "resend"]
    assert [e.action for e in list_audit(store, limit=1)] == ["cancel"]


def test_audit_entries_are_scoped_by_tenant(store: Store) -> None:  # noqa: F811
    """An entry of acme is not in the default tenant's log and vice versa."""
    acme = _acme(store)
    record_audit(acme, key_actor(1, "a"), "submit", "invoice", "A-1", None, T0)
    record_audit(store, cli_actor(), "key.create", "api_key", "2", {}, T0)
    assert [e.target_id for e in list_audit(acme)] == ["A-1"]
    assert [e.target_id for e in list_audit(store)] == ["2"]
    assert list_audit(acme)[0].tenant == "acme"


def test_the_cli_actor_names_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """cli_actor is cli:<login name>; without one it is cli:unknown, not an error."""
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    assert cli_actor() == "cli:alice"

    def no_user() -> str:
        raise OSError("no login name")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert cli_actor() == "cli:unknown"

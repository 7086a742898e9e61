"""API keys: create (the key is returned once), list, revoke, authenticate.

A key is ``igw_<prefix>_<secret>``: ``prefix`` 8 characters ``[a-z0-9]`` (public: the row is
found by it and ``igw keys list`` shows it), ``secret`` 43 URL-safe characters from
``secrets.token_urlsafe(32)`` (256 bits). Only the sha256 of the secret is stored.

Functions take a :class:`gateway.store.Store` and run one transaction each, scoped by the
store's tenant; :func:`authenticate` alone looks across tenants (the presented key names its
tenant by its row). Times come in as ``now``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from gateway.errors import ConfigError
from gateway.store.errors import StoreError
from gateway.store.schema_keys import api_keys

if TYPE_CHECKING:
    from gateway.store import Store

SCOPES = ("submit", "read", "admin")  # admin implies every scope
KEY_PREFIX = "igw_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 43  # len(secrets.token_urlsafe(32))
# last_used_at is written at most this often per key: no write per request
LAST_USED_EVERY = dt.timedelta(seconds=60)

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_KEY = re.compile(
    rf"^{KEY_PREFIX}(?P<prefix>[a-z0-9]{{{PREFIX_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{{SECRET_LENGTH}}})$"
)


class UnknownKey(StoreError):
    """No key with that id in this tenant (a key of another tenant is not there either)."""

    def __init__(self, key_id: int, tenant: str) -> None:
        self.key_id = key_id
        self.tenant = tenant
        super().__init__(f"API key {key_id}: no such key in tenant {tenant!r} (igw keys list)")


@dataclass(frozen=True)
class ApiKeyRow:
    """One stored key, without its secret or hash."""

    id: int
    tenant: str
    prefix: str
    name: str
    scopes: frozenset[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked (it never authenticates again)."""
        return self.revoked_at is not None


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``key`` is the full key, shown once and never stored."""

    row: ApiKeyRow
    key: str


@dataclass(frozen=True)
class PresentedKey:
    """A key as a client sent it, split into its public prefix and its secret."""

    prefix: str
    secret: str


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes as a set; :class:`ConfigError` naming an unknown one and the accepted ones,
    or an empty list."""
    names = [s.strip() for s in scopes if s.strip()]
    for name in names:
        if name not in SCOPES:
            raise ConfigError(f"scope {name!r}: unknown; accepted: {', '.join(SCOPES)}")
    if not names:
        raise ConfigError(f"no scope given; accepted: {', '.join(SCOPES)}")
    return frozenset(names)


def parse_key(text: str) -> PresentedKey | None:
    """``igw_<prefix>_<secret>`` split; None when ``text`` does not have that form."""
    match = _KEY.match(text)
    if match is None:
        return None
    return PresentedKey(match["prefix"], match["secret"])


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret: hex sha256.

    A plain, unsalted hash is the standard choice for API keys (GitHub, Stripe): the secret is
    256 random bits, so neither a dictionary nor a precomputed table can reach it and a slow
    password hash (bcrypt, argon2) would only add tens of milliseconds to every request."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _row(r: RowMapping) -> ApiKeyRow:
    return ApiKeyRow(
        id=r["id"],
        tenant=r["tenant_id"],
        prefix=r["prefix"],
        name=r["name"],
        scopes=frozenset(s for s in r["scopes"].split(",") if s),
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
        last_used_at=r["last_used_at"],
    )


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def create_key(store: Store, name: str, scopes: Iterable[str], now: dt.datetime) -> NewKey:
    """A new key of the store's tenant with ``scopes`` (checked: :func:`check_scopes`)."""
    wanted = check_scopes(scopes)
    tenant = store.tenant
    for _ in range(5):  # 36**8 prefixes: a collision is rare, five in a row is not chance
        prefix = _new_prefix()
        secret = secrets.token_urlsafe(32)
        values = {
            "tenant_id": tenant,
            "prefix": prefix,
            "secret_hash": hash_secret(secret),
            "name": name,
            "scopes": ",".join(sorted(wanted)),
            "created_at": now,
        }
        try:
            with store._write() as db:
                key_id = db.scalar(api_keys.insert().values(values).returning(api_keys.c.id))
        except sa.exc.IntegrityError:
            continue
        assert isinstance(key_id, int)
        row = ApiKeyRow(key_id, tenant, prefix, name, wanted, now, None, None)
        return NewKey(row, f"{KEY_PREFIX}{prefix}_{secret}")
    raise StoreError("could not find a free API key prefix in 5 tries")


def list_keys(store: Store) -> list[ApiKeyRow]:
    """Every key of the store's tenant, oldest first (revoked ones included)."""
    with store._read() as db:
        rows = db.execute(
            sa.select(api_keys).where(api_keys.c.tenant_id == store.tenant).order_by(api_keys.c.id)
        ).mappings()
        return [_row(r) for r in rows]


def revoke_key(store: Store, key_id: int, now: dt.datetime) -> ApiKeyRow:
    """Revoke key ``key_id`` of the store's tenant (already revoked: unchanged);
    :class:`UnknownKey` when the tenant has no such key."""
    tenant = store.tenant
    with store._write() as db:
        where = (api_keys.c.id == key_id) & (api_keys.c.tenant_id == tenant)
        db.execute(
            api_keys.update().where(where, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        row = db.execute(sa.select(api_keys).where(where)).mappings().first()
    if row is None:
        raise UnknownKey(key_id, tenant)
    return _row(row)


def authenticate(store: Store, presented: str, now: dt.datetime) -> ApiKeyRow | None:
    """The key row ``presented`` belongs to, of whichever tenant; None when it is malformed,
    unknown, its secret is wrong or it was revoked. Records ``last_used_at`` (at most once per
    :data:`LAST_USED_EVERY` per key)."""
    parsed = parse_key(presented)
    if parsed is None:
        return None
    with store._read() as db:
        found = db.execute(sa.select(api_keys).where(api_keys.c.prefix == parsed.prefix))
        r = found.mappings().first()
    # compared in constant time: a byte-by-byte early exit would let a client learn the
    # stored hash one character at a time from response times
    stored = r["secret_hash"] if r is not None else hash_secret("x" * SECRET_LENGTH)
    matches = hmac.compare_digest(hash_secret(parsed.secret), stored)
    if r is None or not matches or r["revoked_at"] is not None:
        return None
    row = _row(r)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        with store._write() as db:
            db.execute(
                api_keys.update()
                .where(
                    api_keys.c.id == row.id,
                    sa.or_(
                        api_keys.c.last_used_at.is_(None),
                        api_keys.c.last_used_at <= now - LAST_USED_EVERY,
                    ),
                )
                .values(last_used_at=now)
            )
    return row

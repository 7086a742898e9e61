"""The audit log: who (which API key, which OS user at the CLI) submitted, resent, cancelled
what, and who created or revoked a key.

Functions take a :class:`gateway.store.Store` and run one transaction each, scoped by the
store's tenant; :func:`insert_audit` writes the row inside a transaction the caller holds (the
same transaction as the change it records). Example::

    record_audit(store, principal.actor, "resend", "delivery", str(delivery_id),
                 {"force": False}, now)
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.store.schema_keys import audit_log

if TYPE_CHECKING:
    from gateway.store import Store

DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class AuditRow:
    """One audit entry; ``detail`` is the JSON object stored with it."""

    id: int
    tenant: str
    at: dt.datetime
    actor: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (``at`` in ISO 8601)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target_kind": self.target_kind,
            "target_id": self.target_id,
            "detail": self.detail,
        }


def cli_actor() -> str:
    """The actor of an ``igw`` command: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = "unknown"
    return f"cli:{user}"


def key_actor(key_id: int, name: str) -> str:
    """The actor of an API request: ``key:<id>:<name>``."""
    return f"key:{key_id}:{name}"


def insert_audit(  # noqa: PLR0917 - record_audit's fields, in the audit row's order
    db: Connection,
    tenant: str,
    actor: str,
    action: str,
    target_kind: str,
    target_id: str,
    detail: Mapping[str, Any] | None,
    now: dt.datetime,
) -> int:
    """Write one entry in the caller's transaction ``db``; its id."""
    values = {
        "tenant_id": tenant,
        "at": now,
        "actor": actor[:300],
        "action": action,
        "target_kind": target_kind,
        "target_id": str(target_id)[:200],
        "detail": json.dumps(dict(detail or {}), sort_keys=True, default=str),
    }
    entry_id = db.scalar(audit_log.insert().values(values).returning(audit_log.c.id))
    assert isinstance(entry_id, int)
    return entry_id


def record_audit(  # noqa: PLR0917 - the audit row's fields in order (the API codes to it)
    store: Store,
    actor: str,
    action: str,
    target_kind: str,
    target_id: str,
    detail: Mapping[str, Any] | None,
    now: dt.datetime,
) -> int:
    """Write one entry for the store's tenant (its own transaction); its id."""
    with store._write() as db:
        return insert_audit(db, store.tenant, actor, action, target_kind, target_id, detail, now)


def list_audit(
    store: Store, since: dt.datetime | None = None, limit: int = DEFAULT_LIMIT
) -> list[AuditRow]:
    """The store's tenant's entries at or after ``since``, newest first, at most ``limit``."""
    query = sa.select(audit_log).where(audit_log.c.tenant_id == store.tenant)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    with store._read() as db:
        rows = db.execute(query).mappings().all()
    return [
        AuditRow(
            id=r["id"],
            tenant=r["tenant_id"],
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            target_kind=r["target_kind"],
            target_id=r["target_id"],
            detail=json.loads(r["detail"]) if r["detail"] else {},
        )
        for r in rows
    ]

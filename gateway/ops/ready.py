"""Readiness of a gateway process: the store answers and its schema is the code's head.

``/health`` is liveness (the process answers); ``/ready`` is this check, so a load balancer
sends no traffic to an instance whose store is away or not migrated yet (``igw serve`` migrates
at start; an instance started against a store another version migrated may be behind)::

    verdict = readiness(store)
    verdict.ready, verdict.as_dict()
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gateway.store import Store
from gateway.store.core import MIGRATIONS
from gateway.store.engine import mask_url, one_line

_heads: tuple[str, ...] | None = None


def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code (read once)."""
    global _heads  # noqa: PLW0603 - the shipped migrations do not change while running
    if _heads is None:
        script = ScriptDirectory(str(MIGRATIONS))
        _heads = tuple(sorted(script.get_heads()))
    return _heads


@dataclass(frozen=True)
class Readiness:
    """The verdict: ``ready``, and when not, ``reason`` (``store unreachable`` /
    ``migrations behind``: any revision but the code's head, also a newer one) with the
    detail (the masked URL and the driver's reason, or the store's revision against the
    code's head)."""

    ready: bool
    reason: str | None = None
    detail: str | None = None
    store: str = ""
    current: tuple[str, ...] = ()
    head: tuple[str, ...] = field(default_factory=code_heads)

    def as_dict(self) -> dict[str, object]:
        """The JSON body of ``/ready``."""
        body: dict[str, object] = {
            "status": "ready" if self.ready else "unavailable",
            "store": self.store,
            "migrations": {"current": list(self.current), "head": list(self.head)},
        }
        if not self.ready:
            body["reason"] = self.reason
            body["detail"] = self.detail
        return body


def readiness(store: Store) -> Readiness:
    """Connect to ``store``, read its Alembic revision and compare it with the code's head.

    Never raises for a store problem: an unreachable store is a verdict, its reason on one line
    with the URL's password masked (also inside the driver's text)."""
    url = store.engine.url
    masked = mask_url(url)
    try:
        with store.engine.connect() as db:
            db.execute(sa.text("SELECT 1"))
            current = MigrationContext.configure(db).get_current_heads()
    except sa.exc.SQLAlchemyError as exc:
        reason = one_line(exc)
        if url.password:
            reason = reason.replace(str(url.password), "***")
        return Readiness(False, "store unreachable", f"{masked}: {reason}", masked)
    head = code_heads()
    current = tuple(sorted(current))
    if current != head:
        have = ", ".join(current) or "none (never migrated)"
        return Readiness(
            False,
            "migrations behind",
            f"store at revision {have}, code at {', '.join(head)}: restart igw serve (it "
            "migrates the store at start) or run igw submit / igw run once",
            masked,
            current,
            head,
        )
    return Readiness(True, store=masked, current=current, head=head)

"""Tenants: one supplier organisation each (its sellers, buyer profiles, AS2 identity, master
data, API keys, webhooks). Every stored row that belongs to a tenant carries its id and every
store query is scoped by it (:attr:`gateway.store.Store.tenant`).

The embedded default is the tenant ``default``: it exists in every store (migration 0008) and
keeps the folders the gateway always used (``config/buyers``, ``config/sellers``,
``config/as2``), so the CLI and the demo need no set-up. Other tenants are created with
``igw tenants create ID --name NAME`` and keep their configuration in
``config/tenants/<id>/`` (:mod:`gateway.tenants.config`).
"""

from __future__ import annotations

import re

from gateway.errors import ConfigError

DEFAULT_TENANT = "default"

_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
ACCEPTED_TENANT_ID = (
    "1-63 characters: lower-case letters a-z, digits and '-', not starting with '-'"
)


class UnknownTenant(ConfigError):
    """A tenant id the store does not hold."""

    def __init__(self, tenant: str, known: list[str]) -> None:
        self.tenant = tenant
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        super().__init__(
            f"tenant {tenant!r}: unknown; known: {shown or 'none'} "
            f"(create it with `igw tenants create {tenant} --name NAME`)"
        )


def check_tenant_id(value: str) -> str:
    """``value`` when it is a valid tenant id, else :class:`ConfigError` naming it and what is
    accepted (ids go into folder names, log lines and metrics labels: kept plain)."""
    if not isinstance(value, str) or not _TENANT_ID.match(value):
        raise ConfigError(f"tenant id {value!r}: not accepted; accepted: {ACCEPTED_TENANT_ID}")
    return value


__all__ = ["ACCEPTED_TENANT_ID", "DEFAULT_TENANT", "UnknownTenant", "check_tenant_id"]

"""Where a tenant's configuration lives.

The default tenant uses the folders given to the command (``--profiles``, ``--sellers``,
``--as2-config``; by default ``config/buyers``, ``config/sellers``, ``config/as2``). Every other
tenant ``T`` has its own below the tenants root (``config/tenants`` unless configured)::

    config/tenants/T/buyers/*.toml     buyer profiles
    config/tenants/T/sellers/*.toml    seller master data
    config/tenants/T/as2/local.toml    its AS2 identity and partners (optional)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.tenants import DEFAULT_TENANT, check_tenant_id

DEFAULT_TENANTS_ROOT = "config/tenants"


@dataclass(frozen=True)
class TenantConfig:
    """The configuration folders of one tenant."""

    tenant: str
    buyers_dir: Path
    sellers_dir: Path
    as2_dir: Path


def tenant_config(
    tenant: str,
    *,
    root: str | Path = DEFAULT_TENANTS_ROOT,
    default: TenantConfig | None = None,
) -> TenantConfig:
    """The folders of ``tenant``: ``default`` for the default tenant (when given), else
    ``root/<tenant>/{buyers,sellers,as2}``."""
    check_tenant_id(tenant)
    if tenant == DEFAULT_TENANT and default is not None:
        return default
    if tenant == DEFAULT_TENANT:
        return TenantConfig(
            tenant, Path("config/buyers"), Path("config/sellers"), Path("config/as2")
        )
    base = Path(root) / tenant
    return TenantConfig(tenant, base / "buyers", base / "sellers", base / "as2")

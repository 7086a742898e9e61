"""``TenantDirectory``: each tenant's configuration and loaded buyer profiles, for the web app
and the worker (one instance serves every tenant of a store)."""

from __future__ import annotations

import threading
from pathlib import Path

from gateway.profiles.load import ProfileSet, load_profiles
from gateway.tenants import DEFAULT_TENANT, check_tenant_id
from gateway.tenants.config import DEFAULT_TENANTS_ROOT, TenantConfig, tenant_config


class TenantDirectory:
    """Resolves a tenant to its :class:`TenantConfig` and its buyer profiles.

    Profiles are loaded once per tenant and kept (restart to reload, as for the default
    tenant). A tenant without a buyers folder has no profiles: its submissions are refused as
    "no buyer profile", like the default tenant's with an empty folder. A folder with a broken
    profile raises :class:`~gateway.errors.ConfigError` naming file and key, at first use."""

    def __init__(
        self,
        root: str | Path = DEFAULT_TENANTS_ROOT,
        default: TenantConfig | None = None,
        *,
        preloaded: dict[str, ProfileSet] | None = None,
    ) -> None:
        self.root = Path(root)
        self.default = default or tenant_config(DEFAULT_TENANT)
        self._profiles: dict[str, ProfileSet] = dict(preloaded or {})
        self._lock = threading.Lock()

    def config(self, tenant: str) -> TenantConfig:
        """The folders of ``tenant``."""
        return tenant_config(tenant, root=self.root, default=self.default)

    def profiles(self, tenant: str) -> ProfileSet:
        """The buyer profiles of ``tenant`` (loaded at first use, then cached)."""
        check_tenant_id(tenant)
        with self._lock:
            found = self._profiles.get(tenant)
            if found is None:
                folder = self.config(tenant).buyers_dir
                found = load_profiles(folder) if folder.is_dir() else ProfileSet(profiles=())
                self._profiles[tenant] = found
            return found

    def configured(self) -> list[str]:
        """The default tenant and every tenant with a folder below the root, sorted."""
        found = {DEFAULT_TENANT}
        if self.root.is_dir():
            found.update(p.name for p in self.root.iterdir() if p.is_dir())
        return sorted(found)

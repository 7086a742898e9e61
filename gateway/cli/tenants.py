"""``igw tenants``: create and list the tenants of a store (one supplier organisation each).

Wired into the CLI with one line in ``gateway.cli.main``::

    add_tenants_command(sub)

Every store command takes ``--tenant ID`` (env ``IGW_TENANT``; default ``default``)::

    igw tenants create acme --name "ACME GmbH"   # also makes config/tenants/acme/{buyers,sellers}
    igw tenants list --json
    igw submit export.json --tenant acme          # acme's buyer profiles and master data
    igw run --all-tenants                         # one worker per tenant with buyer profiles
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.store import Store
from gateway.store.errors import StoreError
from gateway.tenants import ACCEPTED_TENANT_ID, DEFAULT_TENANT, check_tenant_id
from gateway.tenants.config import DEFAULT_TENANTS_ROOT, tenant_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STORE_URL = "sqlite:///var/gateway.db"


def tenant_option(p: argparse.ArgumentParser) -> None:
    """``--tenant ID`` on a command that opens the store."""
    p.add_argument(
        "--tenant",
        metavar="ID",
        help=f"the tenant whose data the command sees (env IGW_TENANT; default "
        f"{DEFAULT_TENANT}); accepted: {ACCEPTED_TENANT_ID}",
    )


def add_tenants_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``tenants`` (``create``, ``list``) to the ``igw`` subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "tenants", help="create and list tenants (supplier organisations) of the store"
    )
    sub = p.add_subparsers(dest="tenants_command", metavar="{create,list}", required=True)
    create = sub.add_parser("create", help="create a tenant and its configuration folders")
    create.add_argument("id", help=f"tenant id; accepted: {ACCEPTED_TENANT_ID}")
    create.add_argument("--name", required=True, help="the organisation's name")
    create.add_argument(
        "--config-root",
        default=DEFAULT_TENANTS_ROOT,
        help=f"where tenant folders live (default {DEFAULT_TENANTS_ROOT})",
    )
    create.add_argument("--store", help="store URL (env IGW_STORE_URL)")
    create.set_defaults(func=cmd_tenants_create)
    listing = sub.add_parser("list", help="every tenant of the store")
    listing.add_argument("--store", help="store URL (env IGW_STORE_URL)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_tenants_list)
    return p


def _store(args: argparse.Namespace, *, create: bool) -> Store:
    store = Store.open(
        args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL, create=create
    )
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def cmd_tenants_create(args: argparse.Namespace) -> int:
    """Create the tenant in the store and its buyers/sellers folders below the config root."""
    tenant = check_tenant_id(args.id)
    if tenant == DEFAULT_TENANT:
        raise ConfigError(f"tenant {tenant!r}: exists in every store; accepted: another id")
    store = _store(args, create=True)
    try:
        row = store.create_tenant(tenant, args.name, dt.datetime.now(dt.UTC))
    except StoreError as exc:
        print(f"igw: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    config = tenant_config(tenant, root=Path(args.config_root))
    for folder in (config.buyers_dir, config.sellers_dir):
        folder.mkdir(parents=True, exist_ok=True)
    print(f"tenant {row.id} ({row.name}) created")
    print(f"  buyer profiles: {config.buyers_dir}/*.toml")
    print(f"  seller master data: {config.sellers_dir}/*.toml")
    print(f"  AS2 identity (optional): {config.as2_dir}/local.toml")
    print(f"  API key: igw keys create --tenant {row.id} --scope submit,read")
    return EXIT_OK


def cmd_tenants_list(args: argparse.Namespace) -> int:
    """Print the tenants of the store."""
    store = _store(args, create=False)
    try:
        rows = store.tenants()
    finally:
        store.close()
    if args.json:
        data = [{"id": r.id, "name": r.name, "created_at": r.created_at.isoformat()} for r in rows]
        json.dump(data, sys.stdout, indent=2)
        print()
        return EXIT_OK
    width = max(len(r.id) for r in rows)
    for r in rows:
        print(f"{r.id:<{width}}  {r.created_at:%Y-%m-%d %H:%M}  {r.name}")
    return EXIT_OK

"""``igw keys`` (create, list, revoke API keys) and ``igw audit`` (who did what).

Wired into the CLI with one line in ``gateway.cli.main`` (``_add_engine_commands``)::

    add_keys_commands(sub)

Examples::

    igw keys create --tenant acme --scope submit,read --name erp   # prints the key once
    igw keys list --tenant acme --format json                      # never a secret or hash
    igw keys revoke --tenant acme 3
    igw audit --tenant acme --since 2026-12-01 --limit 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from gateway.cli.tenants import tenant_option
from gateway.errors import ConfigError
from gateway.store.audit import DEFAULT_LIMIT, AuditRow, cli_actor, list_audit, record_audit
from gateway.store.keys import (
    SCOPES,
    ApiKeyRow,
    check_scopes,
    create_key,
    list_keys,
    revoke_key,
)

if TYPE_CHECKING:
    from gateway.store import Store

EXIT_OK = 0
NAME_MAX = 200
SINCE = 'an ISO 8601 date or time, e.g. "2026-12-01" or "2026-12-01T09:00:00Z" (no zone: UTC)'


def add_keys_commands(subparsers: Any) -> None:
    """Add ``keys`` (create, list, revoke) and ``audit`` to the ``igw`` subcommands."""
    keys: argparse.ArgumentParser = subparsers.add_parser(
        "keys", help="API keys of a tenant: create (shown once), list, revoke"
    )
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="create|list|revoke")

    p = sub.add_parser("create", help="a new API key, printed once (only its hash is kept)")
    _common(p)
    p.add_argument(
        "--scope",
        required=True,
        help=f"scopes, comma-separated: {', '.join(SCOPES)} (admin implies every scope)",
    )
    p.add_argument("--name", default="", help="what the key is for (e.g. the ERP's name)")
    p.set_defaults(func=cmd_keys_create)

    p = sub.add_parser("list", help="the tenant's keys (never their secret)")
    _common(p)
    _format(p)
    p.set_defaults(func=cmd_keys_list)

    p = sub.add_parser("revoke", help="revoke a key: it never authenticates again")
    _common(p)
    p.add_argument("key_id", type=int, metavar="ID", help="the key's id (igw keys list)")
    p.set_defaults(func=cmd_keys_revoke)

    p = subparsers.add_parser("audit", help="who (API key, CLI user) did what, newest first")
    _common(p)
    p.add_argument("--since", help=f"entries at or after: {SINCE}")
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"at most this many ({DEFAULT_LIMIT})"
    )
    _format(p)
    p.set_defaults(func=cmd_audit)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store URL (env IGW_STORE_URL; default as the other commands)")
    tenant_option(p)


def _format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output (text)")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _open(args: argparse.Namespace, *, create: bool) -> Store:
    """The store (migrated), scoped to ``--tenant`` / IGW_TENANT (``args.tenant`` is set to
    the tenant chosen): ConfigError for a malformed tenant id or one the store lacks."""
    from gateway.cli.main import _open_store, _store_url, _tenant

    args.tenant = _tenant(args)
    store = _open_store(_store_url(args), create=create)
    try:
        return store.require_tenant(args.tenant)
    except BaseException:
        store.close()
        raise


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "-"


def _key_dict(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant": row.tenant,
        "prefix": row.prefix,
        "name": row.name,
        "scopes": sorted(row.scopes),
        "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def _check_name(name: str) -> str:
    name = name.strip()
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ConfigError(
            f"--name {name[:40]!r}: accepted: up to {NAME_MAX} characters, no control characters"
        )
    return name or "unnamed"


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Create a key and print it once."""
    scopes = check_scopes(args.scope.split(","))
    name = _check_name(args.name)
    store = _open(args, create=True)
    try:
        now = _now()
        new = create_key(store, name, scopes, now)
        detail = {"name": name, "prefix": new.row.prefix, "scopes": sorted(scopes)}
        record_audit(store, cli_actor(), "key.create", "api_key", str(new.row.id), detail, now)
    finally:
        store.close()
    print(new.key)
    print(
        f"igw: API key {new.row.id} ({name}) of tenant {new.row.tenant}, scopes "
        f"{', '.join(sorted(scopes))}: shown this once and will not be shown again "
        "(only its hash is kept); store it now",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_keys_list(args: argparse.Namespace) -> int:
    """The tenant's keys: id, prefix, name, scopes, created, last used, revoked."""
    store = _open(args, create=False)
    try:
        rows = list_keys(store)
    finally:
        store.close()
    if args.format == "json":
        json.dump([_key_dict(r) for r in rows], sys.stdout, indent=2)
        print()
        return EXIT_OK
    if not rows:
        print(f"no API keys in tenant {args.tenant} (igw keys create)")
        return EXIT_OK
    table: list[tuple[str, ...]] = [
        ("ID", "PREFIX", "NAME", "SCOPES", "CREATED", "LAST USED", "REVOKED")
    ]
    table += [
        (
            str(r.id),
            r.prefix,
            r.name,
            ",".join(sorted(r.scopes)),
            _when(r.created_at),
            _when(r.last_used_at),
            _when(r.revoked_at),
        )
        for r in rows
    ]
    _print_table(table)
    return EXIT_OK


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke one key of the tenant (a key of another tenant: no such key, exit 1)."""
    store = _open(args, create=False)
    try:
        now = _now()
        row = revoke_key(store, args.key_id, now)
        if row.revoked_at == now:
            detail = {"name": row.name, "prefix": row.prefix}
            record_audit(store, cli_actor(), "key.revoke", "api_key", str(row.id), detail, now)
    finally:
        store.close()
    if row.revoked_at == now:
        print(f"revoked API key {row.id} ({row.name}) of tenant {row.tenant}")
    else:
        print(f"API key {row.id} ({row.name}) was already revoked at {_when(row.revoked_at)}")
    return EXIT_OK


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: accepted: {SINCE}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def cmd_audit(args: argparse.Namespace) -> int:
    """The tenant's audit entries, newest first."""
    since = _since(args.since)
    if args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: accepted: a whole number >= 1")
    store = _open(args, create=False)
    try:
        rows = list_audit(store, since=since, limit=args.limit)
    finally:
        store.close()
    if args.format == "json":
        json.dump([r.as_dict() for r in rows], sys.stdout, indent=2)
        print()
        return EXIT_OK
    if not rows:
        print(
            f"no audit entries in tenant {args.tenant}" + (f" since {args.since}" if since else "")
        )
        return EXIT_OK
    table: list[tuple[str, ...]] = [("AT", "ACTOR", "ACTION", "TARGET", "DETAIL")]
    table += [_audit_line(r) for r in rows]
    _print_table(table)
    return EXIT_OK


def _audit_line(row: AuditRow) -> tuple[str, ...]:
    detail = json.dumps(row.detail, sort_keys=True, ensure_ascii=False)
    return (_when(row.at), row.actor, row.action, f"{row.target_kind} {row.target_id}", detail)


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        line = "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True))
        print(line.rstrip())

"""``igw webhooks``: the webhook subscriptions of a tenant, their delivery log, redelivery and
the dispatcher.

Wired into the CLI with one line in ``gateway.cli.main``::

    add_webhooks_command(sub)

Examples::

    igw webhooks add --tenant acme --url https://erp.acme.example/hooks \\
        --events delivery.state_changed,inbound.received      # prints the secret ONCE
    igw webhooks add --url https://x.example/h --events delivery.ack_received --secret env:HOOK
    igw webhooks list [--json]
    igw webhooks log --subscription 3
    igw webhooks redeliver 42                 # outbox row 42 again (same webhook-id)
    igw webhooks redeliver --subscription 3   # every FAILED row of subscription 3
    igw webhooks dispatch --until-empty --allow-network 127.0.0.1/32
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
from typing import Any

from gateway.cli.tenants import tenant_option
from gateway.errors import ConfigError
from gateway.store import Store
from gateway.store.webhooks import EVENT_TYPES, UnknownSubscription, WebhookStore
from gateway.tenants import DEFAULT_TENANT, check_tenant_id

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STORE_URL = "sqlite:///var/gateway.db"


def add_webhooks_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``webhooks`` to the ``igw`` subcommands (``subparsers`` from ``add_subparsers``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "webhooks", help="webhook subscriptions, their delivery log, redelivery, the dispatcher"
    )
    p.add_argument("--store", help="store URL (env IGW_STORE_URL; default as the other commands)")
    tenant_option(p)
    sub = p.add_subparsers(dest="webhooks_command", required=True)

    a = sub.add_parser("add", help="subscribe a URL to events (prints a generated secret once)")
    a.add_argument("--url", required=True, help="where to POST (http or https)")
    a.add_argument("--events", required=True, help="comma-separated: " + ", ".join(EVENT_TYPES))
    a.add_argument(
        "--secret",
        help="signing secret reference env:NAME or file:/path (default: generate a whsec_ key)",
    )
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(webhooks_func=_add)

    ls = sub.add_parser("list", help="the tenant's subscriptions")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(webhooks_func=_list)

    for name, help_text, func in (
        ("remove", "delete a subscription with its outbox and log", _remove),
        ("enable", "enable a subscription (after a 410 Gone, say)", _enable),
        ("disable", "disable a subscription (its messages wait)", _disable),
    ):
        q = sub.add_parser(name, help=help_text)
        q.add_argument("id", type=int, help="the subscription id")
        q.set_defaults(webhooks_func=func)

    lg = sub.add_parser("log", help="the delivery log (attempts), newest last")
    lg.add_argument("--subscription", type=int, help="of one subscription")
    lg.add_argument("--outbox", action="store_true", help="the outbox rows instead of attempts")
    lg.add_argument("--limit", type=int, default=50, help="the newest this many (default 50)")
    lg.add_argument("--json", action="store_true", help="machine-readable output")
    lg.set_defaults(webhooks_func=_log)

    r = sub.add_parser("redeliver", help="send an outbox row (or a subscription's FAILED) again")
    r.add_argument("id", type=int, nargs="?", help="the outbox row id")
    r.add_argument("--subscription", type=int, help="every FAILED row of this subscription")
    r.set_defaults(webhooks_func=_redeliver)

    d = sub.add_parser("dispatch", help="run the webhook dispatcher")
    d.add_argument("--until-empty", action="store_true", help="stop when nothing is due")
    d.add_argument(
        "--allow-network",
        action="append",
        default=None,
        metavar="CIDR",
        help="a private network targets may be on (repeatable; env IGW_WEBHOOKS_ALLOW_NETWORKS)",
    )
    d.add_argument("--concurrency", type=int, default=16, help="POSTs in flight (default 16)")
    d.add_argument("--lease", type=float, default=60.0, help="claim lease in seconds")
    d.add_argument("--poll-interval", type=float, default=1.0, help="seconds between polls")
    d.set_defaults(webhooks_func=_dispatch)
    p.set_defaults(func=cmd_webhooks)
    return p


def cmd_webhooks(args: argparse.Namespace) -> int:
    """Run one ``igw webhooks`` subcommand."""
    tenant = check_tenant_id(args.tenant or os.environ.get("IGW_TENANT") or DEFAULT_TENANT)
    store = Store.open(args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL)
    try:
        store.migrate()
        scoped = store.require_tenant(tenant)  # an unknown tenant: ConfigError, exit 2
        status: int = args.webhooks_func(args, WebhookStore.of(scoped), store)
        return status
    except UnknownSubscription as exc:
        print(f"igw webhooks: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _add(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    from gateway.store.webhooks import check_event_types
    from gateway.webhooks.secrets import check_secret, generate_secret
    from gateway.webhooks.urls import check_url

    url = check_url(args.url)
    events = check_event_types(args.events)
    if args.secret is not None and not args.secret.startswith(("env:", "file:")):
        raise ConfigError(
            "--secret: give a reference (env:NAME or file:/path), never the secret itself "
            "(it would stay in the shell history); without --secret a key is generated"
        )
    secret = check_secret(args.secret) if args.secret is not None else generate_secret()
    sub = hooks.add_subscription(url, events, secret, _now())
    shown = None if args.secret is not None else secret
    if args.json:
        print(json.dumps({**sub.as_dict(), "secret": shown or sub.secret}, indent=2))
        return EXIT_OK
    print(f"subscription {sub.id}: {sub.url} ({', '.join(sub.events)}) for tenant {sub.tenant}")
    if shown is not None:
        print(f"secret: {shown}")
        print("(shown once: store it in the receiver now; it is not shown again)")
    return EXIT_OK


def _list(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    subs = hooks.subscriptions()
    if args.json:
        print(json.dumps([s.as_dict() for s in subs], indent=2))
        return EXIT_OK
    if not subs:
        print(f"no webhook subscriptions for tenant {hooks.tenant}")
    for s in subs:
        state = "enabled" if s.enabled else f"disabled ({s.disabled_reason or 'by hand'})"
        print(f"{s.id:>5}  {state:<10}  {s.url}  {','.join(s.events)}")
    return EXIT_OK


def _remove(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    hooks.remove_subscription(args.id)
    print(f"subscription {args.id} removed")
    return EXIT_OK


def _enable(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    hooks.update_subscription(args.id, _now(), enabled=True)
    print(f"subscription {args.id} enabled")
    return EXIT_OK


def _disable(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    hooks.update_subscription(args.id, _now(), enabled=False, reason="disabled with igw")
    print(f"subscription {args.id} disabled")
    return EXIT_OK


def _log(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    if args.subscription is not None and hooks.subscription(args.subscription) is None:
        raise UnknownSubscription("subscription", args.subscription, hooks.tenant)
    if args.outbox:
        rows = hooks.outbox(args.subscription, limit=args.limit)
        if args.json:
            print(json.dumps([r.as_dict() for r in rows], indent=2))
            return EXIT_OK
        for r in rows:
            print(
                f"{r.id:>6}  {r.state:<9}  sub {r.subscription_id}  {r.type:<22}  "
                f"attempts {r.attempts}  {r.msg_id}  {r.last_error or ''}"
            )
        return EXIT_OK
    attempts = hooks.attempts(args.subscription, limit=args.limit)
    if args.json:
        print(json.dumps([a.as_dict() for a in attempts], indent=2))
        return EXIT_OK
    if not attempts:
        print("no webhook attempts logged")
    for a in attempts:
        status = "-" if a.status_code is None else str(a.status_code)
        print(
            f"{a.at.isoformat(timespec='seconds')}  outbox {a.outbox_id}  sub "
            f"{a.subscription_id}  {status:>3}  {a.duration_ms} ms  {a.error or ''}"
        )
    return EXIT_OK


def _redeliver(args: argparse.Namespace, hooks: WebhookStore, _store: Store) -> int:
    if (args.id is None) == (args.subscription is None):
        raise ConfigError("igw webhooks redeliver: give an outbox row id or --subscription ID")
    if args.id is not None:
        hooks.redeliver(_now(), outbox_id=args.id)
        print(f"outbox row {args.id} is due again")
        return EXIT_OK
    count = hooks.redeliver(_now(), subscription_id=args.subscription)
    print(f"{count} FAILED row(s) of subscription {args.subscription} are due again")
    return EXIT_OK


def _dispatch(args: argparse.Namespace, _hooks: WebhookStore, store: Store) -> int:
    from gateway.delivery.worker import stop_on_signals
    from gateway.webhooks.dispatch import Dispatcher
    from gateway.webhooks.urls import parse_networks

    allow = None if args.allow_network is None else parse_networks(args.allow_network)
    dispatcher = Dispatcher(
        store.engine,
        concurrency=args.concurrency,
        lease_seconds=args.lease,
        allow_networks=allow,
    )
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            dispatcher.run(stop, until_empty=args.until_empty, poll_interval=args.poll_interval)
    finally:
        dispatcher.close()
    print(
        f"webhooks: {dispatcher.sent} attempt(s), {dispatcher.delivered} delivered, "
        f"{dispatcher.failed} failed"
    )
    return EXIT_OK

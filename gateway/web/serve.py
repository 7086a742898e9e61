"""``igw serve``: run the web app (AS2 endpoint, MDN receiver, health) with uvicorn; the app's
lifespan runs the async MDN outbox sweep in a background thread (``--mdn-sweep-interval``) and
checkpoints a SQLite store on shutdown. At start it reports (stderr) every ``as2`` channel of the
buyer profiles (``--profiles``, else IGW_PROFILES or config/buyers) whose partner, own AS2 id or
partner certificate the AS2 folder does not know: their async MDNs would be refused.

Wired into the CLI with one line in ``gateway.cli`` (``_add_engine_commands``)::

    add_serve_command(sub)
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.as2_config import As2Config
    from gateway.profile import BuyerProfile

DEFAULT_CONFIG = "config/as2"


def add_serve_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``igw`` subcommands (``subparsers`` from ``add_subparsers``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the web app: AS2 endpoint (/as2), async MDNs (/as2/mdn), /health"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--store",
        default=None,
        help="store URL (env IGW_STORE_URL; default as the other igw commands)",
    )
    p.add_argument(
        "--as2-config",
        default=DEFAULT_CONFIG,
        help=f"AS2 folder with local.toml and partners/ (default {DEFAULT_CONFIG})",
    )
    p.add_argument(
        "--profiles",
        default=None,
        help="buyer profile folder (acks are matched per buyer; as2 channels checked at start)",
    )
    p.add_argument(
        "--rules",
        default="en16931",
        help="in-process rule sets every inbound invoice gets (comma list), in addition to those "
        "of its scenario (BT-24: Peppol, XRechnung, ...)",
    )
    p.add_argument(
        "--mdn-sweep-interval",
        type=float,
        default=30.0,
        help="seconds between sweeps of the async MDN outbox (retries MDNs partners did not "
        "take; default 30)",
    )
    p.add_argument("--ssl-keyfile", default=None, help="TLS key (PEM) to serve HTTPS")
    p.add_argument("--ssl-certfile", default=None, help="TLS certificate (PEM) to serve HTTPS")
    p.set_defaults(func=cmd_serve)
    return p


def _channel_warnings(
    config: As2Config, args: argparse.Namespace, profiles: list[BuyerProfile]
) -> list[str]:
    """The as2 channels of the buyer profiles (``--profiles``, else IGW_PROFILES or the default
    folder when it loads) that this configuration does not know."""
    from gateway.as2_config import channel_problems
    from gateway.cli import DEFAULT_PROFILES
    from gateway.profiles import load_profiles

    if not profiles and not args.profiles:
        try:
            profiles = list(load_profiles(os.environ.get("IGW_PROFILES") or DEFAULT_PROFILES))
        except (ConfigError, OSError):
            return []  # only checked here; igw run reports a broken profile folder
    return channel_problems(config, profiles, folder=args.as2_config)


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the AS2 configuration and the store, then serve until interrupted."""
    import uvicorn

    from gateway.as2_config import load_as2_config
    from gateway.cli import DEFAULT_STORE_URL
    from gateway.profiles import load_profiles
    from gateway.store import Store
    from gateway.store.engine import checkpoint
    from gateway.web import create_app

    url = args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL
    try:
        config = load_as2_config(args.as2_config)
        profiles = list(load_profiles(args.profiles)) if args.profiles else []
    except ConfigError as exc:
        print(f"igw serve: {exc}", file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"igw serve: warning: {warning}", file=sys.stderr)
    for warning in _channel_warnings(config, args, profiles):
        print(f"igw serve: warning: {warning}", file=sys.stderr)
    store = Store.open(url)
    store.migrate()
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    try:
        app = create_app(
            store=store,
            as2=config,
            rule_sets=rules,
            profiles=profiles,
            mdn_sweep_interval=args.mdn_sweep_interval,
        )
    except ConfigError as exc:
        store.close()
        print(f"igw serve: {exc}", file=sys.stderr)
        return 2
    tls: dict[str, Any] = {}
    if args.ssl_keyfile or args.ssl_certfile:
        tls = {"ssl_keyfile": args.ssl_keyfile, "ssl_certfile": args.ssl_certfile}
    print(
        f"igw serve: AS2 id {config.identity.as2_id}, {len(config.partners)} partner(s), "
        f"listening on {args.host}:{args.port}",
        file=sys.stderr,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", **tls)
    finally:
        checkpoint(store.engine)  # the app's shutdown did too; this covers a failed start
        store.close()
    return 0

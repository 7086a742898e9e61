"""``igw serve``: run the web app (AS2 endpoint, MDN receiver, health, the REST API under
``/api/v1`` with its docs at ``/docs``) with uvicorn; the app's
lifespan runs the async MDN outbox sweep in a background thread (``--mdn-sweep-interval``) and
checkpoints a SQLite store on shutdown. At start it reports (stderr) every ``as2`` channel of the
buyer profiles (``--profiles``, else IGW_PROFILES or config/buyers) whose partner, own AS2 id or
partner certificate the AS2 folder does not know: their async MDNs would be refused.

With no ``--as2-config`` and no usable default folder (``config/as2``: missing, or its key file
not there yet) it still starts, on the default store: ``/health`` answers and ``/as2`` answers
503 with how to create an identity (``igw as2 identity``). Requests are bounded
(:mod:`gateway.web.limits`): ``--header-timeout``, ``--body-timeout``, and ``--max-body`` for
every route but ``POST /as2``, whose limit is the AS2 channel's ``max_size`` (``local.toml``), and
``--api-max-body`` for the API's document and batch routes.

Wired into the CLI with one line in ``gateway.cli.main`` (``_add_engine_commands``)::

    add_serve_command(sub)
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import ConfigError
from gateway.web.limits import WebLimits, guarded_protocol

if TYPE_CHECKING:
    from gateway.as2.config import As2Config
    from gateway.profiles.load import ProfileSet
    from gateway.profiles.profile import BuyerProfile
    from gateway.store import Store
    from gateway.tenants.directory import TenantDirectory

DEFAULT_CONFIG = "config/as2"


def add_serve_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``igw`` subcommands (``subparsers`` from ``add_subparsers``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the web app: AS2 endpoint (/as2), async MDNs (/as2/mdn), /health, the REST "
        "API (/api/v1, docs at /docs)",
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
        default=None,
        help=f"AS2 folder with local.toml and partners/ (default {DEFAULT_CONFIG}; when the "
        "default cannot be loaded, AS2 answers 503 until an identity exists)",
    )
    p.add_argument(
        "--header-timeout",
        type=_seconds,
        default=WebLimits.header_timeout,
        help="seconds a connection may take to send its request headers before it is closed "
        f"(default {WebLimits.header_timeout:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=_seconds,
        default=WebLimits.body_timeout,
        help="seconds a request body may stall (no bytes arriving) before it is answered 408 "
        f"(default {WebLimits.body_timeout:g})",
    )
    p.add_argument(
        "--max-body",
        type=_size,
        default=WebLimits.max_body,
        help="largest request body of every route but POST /as2 (whose limit is the AS2 "
        "channel's max_size in local.toml), e.g. 1MiB (default 1 MiB); larger: 413",
    )
    p.add_argument(
        "--api-max-body",
        type=_size,
        default=WebLimits.api_body,
        help="largest request body of the REST API's document and batch routes (POST "
        "/api/v1/invoices, /inbound, /translate, /validate), e.g. 20MiB (default 20 MiB)",
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
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes answering on the one port (default 1; one process uses one core at "
        "most: give the number of cores to answer AS2 messages on all of them)",
    )
    p.add_argument(
        "--metrics-allow",
        default=None,
        help="client networks that may read /metrics (no API key: the network decides): "
        "addresses or CIDRs, 'any' or 'none' (default loopback and the private ranges)",
    )
    p.add_argument("--ssl-keyfile", default=None, help="TLS key (PEM) to serve HTTPS")
    p.add_argument("--ssl-certfile", default=None, help="TLS certificate (PEM) to serve HTTPS")
    p.set_defaults(func=cmd_serve)
    return p


def _workers(value: str) -> int:
    if not (value.isdigit() and 1 <= int(value) <= 64):
        raise argparse.ArgumentTypeError(f"{value!r}: accepted: a number of processes, 1 to 64")
    return int(value)


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 3600:
        raise argparse.ArgumentTypeError(f"{value!r}: accepted: seconds, more than 0, e.g. 10")
    return number


def _size(value: str) -> int:
    from gateway.limits import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _url_profiles(args: argparse.Namespace, profiles: list[BuyerProfile]) -> list[BuyerProfile]:
    """The buyer profiles whose as2 channel URLs allow partners' async MDNs by default:
    ``--profiles``, else IGW_PROFILES or the default folder when it loads."""
    from gateway.cli.main import DEFAULT_PROFILES
    from gateway.profiles.load import load_profiles

    if profiles or args.profiles:
        return profiles
    try:
        return list(load_profiles(os.environ.get("IGW_PROFILES") or DEFAULT_PROFILES))
    except (ConfigError, OSError):
        return []


def _channel_warnings(
    config: As2Config, args: argparse.Namespace, profiles: list[BuyerProfile]
) -> list[str]:
    """The as2 channels of the buyer profiles (``--profiles``, else IGW_PROFILES or the default
    folder when it loads) that this configuration does not know."""
    from gateway.as2.config import channel_problems

    return channel_problems(config, _url_profiles(args, profiles), folder=args.as2_config)


def _tenant_directory(args: argparse.Namespace, profiles: ProfileSet | None) -> TenantDirectory:
    """Each tenant's configuration for the API: the default tenant's folders are those of the
    command (``--profiles``, else IGW_PROFILES or config/buyers; IGW_SELLERS or config/sellers;
    the AS2 folder), every other tenant's below config/tenants/<tenant>/."""
    from gateway.cli.main import DEFAULT_PROFILES, DEFAULT_SELLERS
    from gateway.tenants import DEFAULT_TENANT
    from gateway.tenants.config import TenantConfig
    from gateway.tenants.directory import TenantDirectory

    default = TenantConfig(
        DEFAULT_TENANT,
        Path(args.profiles or os.environ.get("IGW_PROFILES") or DEFAULT_PROFILES),
        Path(os.environ.get("IGW_SELLERS") or DEFAULT_SELLERS),
        Path(args.as2_config),
    )
    preloaded = {DEFAULT_TENANT: profiles} if profiles is not None else None
    return TenantDirectory(default=default, preloaded=preloaded)


def _log_to_stderr() -> None:
    """Our own log lines (refusals, slow clients, disconnects) on stderr, one line each, as
    uvicorn logs its own; left alone when logging is already set up."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def _uvicorn_logging() -> dict[str, Any]:
    """uvicorn's own lines (start, access) through the igw handler, in its format (text or
    JSON) at its level (``--log-level``, IGW_LOG_LEVEL, ``[log] level``), not uvicorn's."""
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
    return {"log_config": None, "log_level": level}


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the AS2 configuration and the store, then serve until interrupted."""
    import uvicorn

    from gateway.as2.config import load_as2_config
    from gateway.cli.main import DEFAULT_STORE_URL
    from gateway.profiles.load import load_profiles
    from gateway.store import Store
    from gateway.store.engine import checkpoint
    from gateway.web import create_app
    from gateway.web.app import as2_missing_text

    url = args.store or os.environ.get("IGW_STORE_URL") or DEFAULT_STORE_URL
    explicit = args.as2_config is not None
    args.as2_config = args.as2_config or DEFAULT_CONFIG
    config: As2Config | None = None
    missing = ""
    try:
        profile_set = load_profiles(args.profiles) if args.profiles else None
        profiles = list(profile_set) if profile_set is not None else []
    except ConfigError as exc:
        print(f"igw serve: {exc}", file=sys.stderr)
        return 2
    try:
        config = load_as2_config(args.as2_config)
    except ConfigError as exc:
        if explicit:
            print(f"igw serve: {exc}", file=sys.stderr)
            return 2
        first = str(exc).splitlines()[1:2] or [str(exc)]
        missing = f"the default AS2 folder {args.as2_config} cannot be used: {first[0]}"
        print(f"igw serve: warning: {as2_missing_text(missing)}", file=sys.stderr)
    if config is not None:
        for warning in config.warnings:
            print(f"igw serve: warning: {warning}", file=sys.stderr)
        for warning in _channel_warnings(config, args, profiles):
            print(f"igw serve: warning: {warning}", file=sys.stderr)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        store = Store.open(url)
        store.migrate()
    except (ConfigError, SQLAlchemyError, OSError) as exc:
        print(f"igw serve: store {url}: {str(exc).splitlines()[0][:300]}", file=sys.stderr)
        return 2
    _log_to_stderr()  # after the migration, whose INFO lines are not ours
    limits = WebLimits(
        header_timeout=args.header_timeout,
        max_body=args.max_body,
        body_timeout=args.body_timeout,
        api_body=args.api_max_body,
    )
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())

    tenants = _tenant_directory(args, profile_set)

    def make_app(store: Store) -> Any:
        return create_app(
            store=store,
            as2=config,
            rule_sets=rules,
            profiles=profiles,
            mdn_sweep_interval=args.mdn_sweep_interval,
            mdn_url_profiles=_url_profiles(args, profiles),
            limits=limits,
            as2_missing=missing,
            profile_set=profile_set,
            tenants=tenants,
            metrics_allow=args.metrics_allow,
        )

    try:
        app = make_app(store)
    except ConfigError as exc:
        store.close()
        print(f"igw serve: {exc}", file=sys.stderr)
        return 2
    tls: dict[str, Any] = {}
    if args.ssl_keyfile or args.ssl_certfile:
        tls = {"ssl_keyfile": args.ssl_keyfile, "ssl_certfile": args.ssl_certfile}
    as2 = (
        f"AS2 id {config.identity.as2_id}, {len(config.partners)} partner(s)"
        if config is not None
        else "AS2 not configured (503)"
    )
    workers = f", {args.workers} worker processes" if args.workers > 1 else ""
    print(f"igw serve: {as2}, listening on {args.host}:{args.port}{workers}", file=sys.stderr)
    if args.workers > 1:
        return _serve_workers(args, url=url, make_app=make_app, store=store, limits=limits, tls=tls)
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            http=guarded_protocol(limits),
            **_uvicorn_logging(),
            **tls,
        )
    finally:
        checkpoint(store.engine)  # the app's shutdown did too; this covers a failed start
        store.close()
    return 0


def _serve_workers(
    args: argparse.Namespace,
    *,
    url: str,
    make_app: Callable[[Store], Any],
    store: Store,
    limits: WebLimits,
    tls: dict[str, Any],
) -> int:
    """``--workers N``: the app checked once here, then N forked processes on one socket, each
    with its own store connection and app (:mod:`gateway.web.processes`)."""
    import uvicorn

    from gateway.store import Store
    from gateway.store.engine import checkpoint
    from gateway.web.processes import bind, run_workers

    store.close()  # no connection, pool or thread crosses the fork
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"igw serve: {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    def serve(shared: socket.socket) -> int:
        own = Store.open(url)
        try:
            config = uvicorn.Config(
                make_app(own), http=guarded_protocol(limits), **tls, **_uvicorn_logging()
            )
            uvicorn.Server(config).run(sockets=[shared])
        finally:
            checkpoint(own.engine)
            own.close()
        return 0

    return run_workers(args.workers, sock, serve)

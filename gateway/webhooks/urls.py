"""Where webhooks may go: any http(s) URL on the public internet; a target on a private,
loopback, link-local or otherwise special network only when the configuration allows that
network (``allow_networks``, e.g. ``["127.0.0.1/32"]``; env ``IGW_WEBHOOKS_ALLOW_NETWORKS``,
comma-separated). A customer chooses the URL, so without this anyone with an API key could make
the gateway POST into its own network (server-side request forgery), the same risk as the
return URL of async MDNs (:mod:`gateway.as2.urls`).

The host is resolved before an attempt (the answer is kept :data:`RESOLVE_SECONDS`) and every
address it resolves to must be allowed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Sequence

from gateway.as2.urls import url_parts
from gateway.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ENV_ALLOW = "IGW_WEBHOOKS_ALLOW_NETWORKS"
RESOLVE_SECONDS = 10.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_resolved: dict[tuple[str, int], tuple[float, tuple[Address, ...]]] = {}
_resolved_lock = threading.Lock()


class TargetRefused(Exception):
    """The URL's host is (or resolves to) an address webhooks may not go to."""


def check_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host and without user info; else ConfigError."""
    if url_parts(url) is None:
        raise ConfigError(
            f"webhook URL {url!r} is not an http(s) URL with a host (and no user info); "
            "accepted: e.g. 'https://erp.example.com/hooks/igw'"
        )
    return url


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """The networks of ``values`` (CIDR or single addresses); ConfigError naming a bad one."""
    found: list[Network] = []
    for value in (v.strip() for v in values):
        if not value:
            continue
        try:
            found.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"webhook allowed network {value!r} is not an IP network; accepted: e.g. "
                "'127.0.0.1/32', '10.0.0.0/8' or '::1'"
            ) from exc
    return tuple(found)


def env_networks() -> tuple[Network, ...]:
    """The networks allowed by ``IGW_WEBHOOKS_ALLOW_NETWORKS``."""
    return parse_networks(os.environ.get(ENV_ALLOW, "").split(","))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not address.is_multicast


def check_target(url: str, allow: Sequence[Network]) -> None:
    """:class:`TargetRefused` unless every address the host of ``url`` resolves to is public
    or inside one of ``allow``."""
    parts = url_parts(url)
    if parts is None:
        raise TargetRefused(f"{url!r} is not an http(s) URL with a host")
    for address in _addresses(parts.host, parts.port):
        if _public(address) or any(address in net for net in allow):
            continue
        raise TargetRefused(
            f"{parts.host} resolves to {address}, a private/loopback/link-local address; "
            f"allow its network in {ENV_ALLOW} (or --allow-network) to send there"
        )


def _addresses(host: str, port: int) -> tuple[Address, ...]:
    """The addresses ``host`` resolves to (kept :data:`RESOLVE_SECONDS`); TargetRefused when
    it does not resolve."""
    now = time.monotonic()
    hit = _resolved.get((host, port))
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from exc
    found = tuple(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    with _resolved_lock:
        _resolved[(host, port)] = (now + RESOLVE_SECONDS, found)
    return found

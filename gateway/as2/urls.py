"""Where asynchronous MDNs may go: the ``Receipt-Delivery-Option`` URL of an inbound AS2 message
against the URL prefixes its partner's configuration allows.

A sender chooses the return URL, so following it blindly lets anyone who knows a partner's AS2
id make the gateway POST to any address (server-side request forgery). The endpoint follows it
only when the message's signature verified and the URL is allowed for that partner:

* ``async_mdn_urls = ["https://as2.acme.example/mdn"]`` in ``partners/<name>.toml``: the
  prefixes allowed; ``[]``: none (every MDN is answered synchronously);
* not set: the origins (scheme, host, port) of the URLs of the buyer profiles' ``as2``
  channels to that partner (``as2_to``) — the partner's own AS2 server.

A URL matches a prefix when scheme, host and port are the same (the port defaults to the
scheme's: 80, 443) and its path starts with the prefix's path at a ``/`` boundary. URLs with
user info, without a host or not http(s) never match. Example::

    allowed_url("https://as2.acme.example/mdn/1", ("https://as2.acme.example:443/mdn",))  # True
    allowed_url("https://as2.acme.example.evil.test/", ("https://as2.acme.example",))  # False
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.profiles.profile import BuyerProfile

_DEFAULT_PORTS = {"http": 80, "https": 443}
AS2_CONNECTORS = frozenset({"as2", "connectors.as2.connector:As2Connector"})


@dataclass(frozen=True)
class UrlParts:
    """A URL reduced to what matching compares."""

    scheme: str
    host: str
    port: int
    path: str

    def origin(self) -> str:
        """``scheme://host:port`` (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def url_parts(url: str) -> UrlParts | None:
    """``url`` normalised (lower-case scheme and host, explicit port), or None when it is not
    an http(s) URL with a host and without user info, blanks or control characters."""
    if not url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    scheme = split.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not split.hostname or "@" in split.netloc:
        return None
    return UrlParts(
        scheme, split.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme], split.path
    )


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be an ``async_mdn_urls`` entry, or None when it can."""
    if url_parts(prefix) is None:
        return (
            f"{prefix!r} is not an http(s) URL with a host (and no user info); accepted: e.g. "
            "'https://as2.partner.example/mdn' or 'https://as2.partner.example:4443'"
        )
    return None


def matches(url: str, prefix: str) -> bool:
    """Whether ``url`` falls under ``prefix`` (see the module docstring)."""
    got, want = url_parts(url), url_parts(prefix)
    if got is None or want is None:
        return False
    if (got.scheme, got.host, got.port) != (want.scheme, want.host, want.port):
        return False
    base = want.path.rstrip("/")
    return not base or got.path == base or got.path.startswith(base + "/")


def allowed_url(url: str, prefixes: Sequence[str]) -> bool:
    """Whether ``url`` matches one of ``prefixes``."""
    return any(matches(url, prefix) for prefix in prefixes)


def channel_origins(as2_id: str, profiles: Iterable[BuyerProfile]) -> tuple[str, ...]:
    """The origins of the ``url`` of every ``as2`` channel (and fallback) of ``profiles`` that
    sends to the partner ``as2_id`` (``as2_to``), in order, without repeats."""
    found: list[str] = []
    for profile in profiles:
        for channel in profile.channels():
            if channel.connector not in AS2_CONNECTORS:
                continue
            if str(channel.options.get("as2_to", "")) != as2_id:
                continue
            parts = url_parts(str(channel.options.get("url", "")))
            if parts is not None and parts.origin() not in found:
                found.append(parts.origin())
    return tuple(found)


def async_mdn_prefixes(
    as2_id: str, configured: Sequence[str] | None, profiles: Iterable[BuyerProfile]
) -> tuple[str, ...]:
    """The prefixes async MDNs to partner ``as2_id`` may go to: ``configured`` (the partner's
    ``async_mdn_urls``) when set, else :func:`channel_origins`."""
    if configured is not None:
        return tuple(configured)
    return channel_origins(as2_id, profiles)

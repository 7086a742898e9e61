"""Server-side request forgery through async MDNs (issue 10): a message naming a known partner
asks for its MDN at a ``Receipt-Delivery-Option`` URL of the sender's choosing. The gateway
POSTs there only when the message's signature verified and the partner's configuration allows
the URL (gateway.as2.urls); otherwise the MDN is the HTTP response. A real loopback listener
counts every connection: for the attacks it must receive none, now or from the outbox sweep."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from as2_keys import identity, write_identity
from as2_peer import (
    PARTNER,
    US,
    Listener,
    compressed_message,
    compression_bomb,
    endpoint_config,
    running_endpoint,
)
from store_backends import sqlite_url

from connectors.as2.message import As2Identity, As2Partner, SendOptions, build_message
from gateway.as2.config import load_as2_config
from gateway.as2.urls import allowed_url, async_mdn_prefixes, channel_origins, matches
from gateway.errors import ConfigError
from gateway.profiles.load import load_profiles
from gateway.store import Store
from gateway.store.inbound import list_inbound, list_refusals
from gateway.store.mdn_outbox import NewAsyncMdn, claim_token, list_async_mdns, record_async_mdn
from gateway.web.as2.endpoint import Endpoint, mdn_url_policy, sweep_mdns


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The URL an attacker names (a loopback service the gateway must not be made to call)."""
    started = Listener()
    yield started
    started.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()


def message(
    message_id: str, options: SendOptions, *, signing_key: str = PARTNER
) -> tuple[dict[str, str], bytes]:
    """ACME's message to IGW as ``options`` say, signed (if at all) with ``signing_key``."""
    key, cert = identity(signing_key)
    out = build_message(
        b"<Invoice/>",
        content_type="application/xml",
        filename="invoice.xml",
        sender=As2Identity(PARTNER, key, cert),
        receiver=As2Partner(US, (identity(US)[1],)),
        options=options,
        message_id=message_id,
    )
    return out.headers, out.body


def post(base_url: str, sent: tuple[dict[str, str], bytes]) -> httpx.Response:
    """POST one AS2 message to the endpoint."""
    return httpx.post(f"{base_url}/as2", headers=sent[0], content=sent[1], timeout=10)


def assert_nothing_sent(store: Store, listener: Listener) -> None:
    """No outbox row, nothing the sweep would send, no connection to the listener."""
    assert list_async_mdns(store) == []
    config = endpoint_config()
    assert sweep_mdns(Endpoint(store=store, config=config, clock=_now)) == []
    assert not listener.arrived.wait(0.3)
    assert listener.requests == []


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def async_to(url: str, **options: object) -> SendOptions:
    """Send options asking for an async MDN at ``url``."""
    return SendOptions(mdn="async", async_mdn_url=url, **options)  # type: ignore[arg-type]


def test_unsigned_message_cannot_aim_the_mdn(
    store: Store, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    """An unsigned (encrypted) message from a known partner asking its MDN at the listener —
    even a URL the partner's configuration allows: the error MDN is the HTTP response
    (insufficient-message-security), one log line says why, the listener gets nothing."""
    sent = message("ssrf-1@ACME", async_to(f"{listener.url}/mdn", sign=None))
    with (
        caplog.at_level(logging.WARNING, "gateway.web.as2.endpoint"),
        running_endpoint(store, mdn_urls=(listener.url,)) as (base_url, _),
    ):
        answer = post(base_url, sent)
    assert answer.status_code == 200
    assert b"processed/error: insufficient-message-security" in answer.content
    lines = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(lines) == 1 and "signature did not verify" in lines[0] and "\n" not in lines[0]
    [refusal] = list_refusals(store)
    assert refusal.answer_kind == "sync"
    assert_nothing_sent(store, listener)


def test_forged_signature_cannot_aim_the_mdn(store: Store, listener: Listener) -> None:
    """A message signed with a key that is not the partner's (authentication-failed) asking
    its MDN at the listener: answered synchronously, the listener gets nothing."""
    sent = message("ssrf-2@ACME", async_to(f"{listener.url}/mdn"), signing_key="MALLORY")
    with running_endpoint(store, mdn_urls=(listener.url,)) as (base_url, _):
        answer = post(base_url, sent)
    assert b"processed/error: authentication-failed" in answer.content
    assert_nothing_sent(store, listener)


def test_unsigned_bomb_cannot_aim_the_mdn(store: Store, listener: Listener) -> None:
    """The unsigned compression bomb with a Receipt-Delivery-Option: refused before inflating,
    answered synchronously, the listener gets nothing."""
    sent = compressed_message("ssrf-3@ACME", compression_bomb(64), async_url=f"{listener.url}/mdn")
    with running_endpoint(store, mdn_urls=(listener.url,)) as (base_url, _):
        answer = post(base_url, sent)
    assert b"processed/error: insufficient-message-security" in answer.content
    assert_nothing_sent(store, listener)


def test_accepted_unsigned_message_gets_its_mdn_synchronously(
    store: Store, listener: Listener
) -> None:
    """A partner that allows unsigned messages: the message is received and processed, but
    with no verified signature its MDN is the HTTP response, never a POST to the listener."""
    config = endpoint_config(require_signed=False, async_mdn_urls=(listener.url,))
    sent = message("ssrf-4@ACME", async_to(f"{listener.url}/mdn", sign=None))
    with running_endpoint(store, config) as (base_url, _):
        answer = post(base_url, sent)
    assert answer.status_code == 200 and b"Disposition:" in answer.content
    assert b"processed" in answer.content and b"error" not in answer.content
    assert len(list_inbound(store)) == 1
    assert_nothing_sent(store, listener)


def test_signed_message_to_a_url_not_allowed_gets_a_sync_mdn(
    store: Store, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    """A properly signed and encrypted message asking its MDN at a URL its partner's
    configuration does not allow (no async_mdn_urls and no as2 channel: none): processed,
    the MDN is the HTTP response, one log line names the partner; the listener gets nothing."""
    sent = message("ssrf-5@ACME", async_to(f"{listener.url}/mdn"))
    with (
        caplog.at_level(logging.WARNING, "gateway.web.as2.endpoint"),
        running_endpoint(store) as (base_url, _),
    ):
        answer = post(base_url, sent)
    assert answer.status_code == 200 and b"Disposition:" in answer.content
    lines = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(lines) == 1 and "not allowed for partner 'acme'" in lines[0]
    assert_nothing_sent(store, listener)


def test_signed_message_to_an_allowed_url_gets_its_async_mdn(
    store: Store, listener: Listener, tmp_path: Path
) -> None:
    """The control: a signed message asking its MDN at the origin of the partner's as2
    channel URL (the default policy) gets it POSTed there, and the response says so."""
    profiles = tmp_path / "buyers"
    keys = tmp_path / "keys"
    key, cert = write_identity(keys, "IGW")
    _, partner_cert = write_identity(keys, "ACME")
    profiles.mkdir()
    (profiles / "acme.toml").write_text(
        'format = "peppol-bis3"\ndefault = true\n[channel]\nconnector = "as2"\n'
        f'options = {{ url = "{listener.url}/as2", as2_from = "IGW", as2_to = "ACME", '
        f'key_file = "{key}", cert_file = "{cert}", partner_cert_file = "{partner_cert}" }}\n',
        encoding="utf-8",
    )
    channels = list(load_profiles(profiles))
    sent = message("ssrf-6@ACME", async_to(f"{listener.url}/mdn"))
    with running_endpoint(store, mdn_url_profiles=channels) as (base_url, _):
        answer = post(base_url, sent)
        assert listener.arrived.wait(10)
    assert answer.status_code == 200 and b"MDN follows asynchronously" in answer.content
    assert listener.requests[0].startswith(b"POST /mdn ")
    assert [row.state for row in list_async_mdns(store)] == ["DELIVERED"]


def test_the_sweep_does_not_post_rows_the_policy_does_not_allow(
    store: Store, listener: Listener
) -> None:
    """An outbox row aimed at the listener (written before the policy existed, or before the
    partner's async_mdn_urls changed): the sweep marks it FAILED with the reason and never
    POSTs it; the listener gets nothing."""
    record_async_mdn(
        store,
        NewAsyncMdn(
            "acme",
            "old-1@ACME",
            f"{listener.url}/internal",
            {"Content-Type": "text/plain"},
            b"MDN",
            _now(),
            claimed_by=claim_token("dead"),
            lease=0.0,
        ),
    )
    [sent] = sweep_mdns(Endpoint(store=store, config=endpoint_config(), clock=_now))
    assert sent.outcome == "gave_up"
    [row] = list_async_mdns(store)
    assert row.state == "FAILED" and row.last_error is not None
    assert "is not allowed for partner 'acme'" in row.last_error
    assert not listener.arrived.wait(0.3) and listener.requests == []


def test_url_matching_rules() -> None:
    """Prefixes match on scheme, host and port (default ports filled in) and on the path at a
    '/' boundary; look-alike hosts, user info, other ports and schemes never match."""
    allowed = ("https://as2.acme.example/mdn",)
    assert allowed_url("https://as2.acme.example/mdn", allowed)
    assert allowed_url("https://AS2.ACME.example:443/mdn/42?x=1", allowed)
    assert not allowed_url("https://as2.acme.example/mdnx", allowed)
    assert not allowed_url("https://as2.acme.example.evil.test/mdn", allowed)
    assert not allowed_url("https://evil.test@as2.acme.example/mdn", allowed)
    assert not allowed_url("https://as2.acme.example:8443/mdn", allowed)
    assert not allowed_url("http://as2.acme.example/mdn", allowed)
    assert not allowed_url("file:///etc/passwd", allowed)
    assert not allowed_url("https://as2.acme.example/mdn\r\nX: y", allowed)
    assert matches("http://[::1]:8080/x", "http://[::1]:8080")
    assert not allowed_url("https://as2.acme.example/mdn", ())


def test_default_policy_is_the_origins_of_the_partners_channels(tmp_path: Path) -> None:
    """Without async_mdn_urls a partner's prefixes are the scheme://host:port of the buyer
    profiles' as2 channel URLs to it; [] means none; other partners' channels do not count."""
    profiles = tmp_path / "buyers"
    profiles.mkdir()
    keys = tmp_path / "keys"
    key, cert = write_identity(keys, "IGW")
    _, partner_cert = write_identity(keys, "ACME")
    for name, to, url in (
        ("a", "ACME", "https://as2.acme.example/as2/in"),
        ("b", "OTHER", "https://other.example:4443/as2"),
    ):
        (profiles / f"{name}.toml").write_text(
            'format = "peppol-bis3"\n'
            + ("default = true\n" if name == "a" else '[ids]\nvat_ids = ["DE999999999"]\n')
            + "[channel]\n"
            f'connector = "as2"\noptions = {{ url = "{url}", as2_from = "IGW", as2_to = "{to}", '
            f'key_file = "{key}", cert_file = "{cert}", partner_cert_file = "{partner_cert}" }}\n',
            encoding="utf-8",
        )
    loaded = list(load_profiles(profiles))
    assert channel_origins("ACME", loaded) == ("https://as2.acme.example:443",)
    assert async_mdn_prefixes("ACME", None, loaded) == ("https://as2.acme.example:443",)
    assert async_mdn_prefixes("ACME", [], loaded) == ()
    assert mdn_url_policy(endpoint_config(), loaded) == {"acme": ("https://as2.acme.example:443",)}


def test_partner_file_async_mdn_urls(tmp_path: Path) -> None:
    """partners/<name>.toml async_mdn_urls: read as given ([] kept as none); an entry that is
    not an http(s) URL with a host is a ConfigError naming the file, key and value."""
    folder = tmp_path / "as2"
    write_identity(folder / "keys", "IGW")
    write_identity(folder / "partners", "ACME")
    (folder / "local.toml").write_text(
        'as2_id = "IGW"\nkey_file = "keys/igw.key.pem"\ncert_file = "keys/igw.pem"\n'
        'max_size = "5MB"\n'
    )
    partner = folder / "partners" / "acme.toml"
    partner.write_text(
        'as2_id = "ACME"\ncert_files = ["acme.pem"]\nasync_mdn_urls = ["https://as2.acme.example"]\n'
    )
    config = load_as2_config(folder)
    assert config.partners["acme"].async_mdn_urls == ("https://as2.acme.example",)
    assert config.max_size == 5_000_000
    partner.write_text('as2_id = "ACME"\ncert_files = ["acme.pem"]\nasync_mdn_urls = []\n')
    assert load_as2_config(folder).partners["acme"].async_mdn_urls == ()
    partner.write_text(
        'as2_id = "ACME"\ncert_files = ["acme.pem"]\nasync_mdn_urls = ["ftp://x", "https://u@h"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_as2_config(folder)
    text = str(caught.value)
    assert "acme.toml: async_mdn_urls: 'ftp://x' is not an http(s) URL" in text
    assert "'https://u@h'" in text

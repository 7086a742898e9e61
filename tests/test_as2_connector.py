"""As2Connector: options, Message-ID derivation, and the translation of every HTTP and MDN
outcome into the gateway's delivery errors (table in connectors/as2/connector.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from as2_keys import identity, key_pem, write_identity, write_p12
from as2_peer import (
    PARTNER,
    US,
    endpoint_config,
    make_connector,
    running_endpoint,
    write_partner_files,
)
from connector_harness import NOW, clock, document
from store_backends import sqlite_url

from connectors.as2.connector import As2Connector, derive_message_id, expected_mic
from connectors.as2.mdn import Disposition, build_mdn
from connectors.as2.message import Mic, OpenedMessage, open_message
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    RateLimited,
    Rejected,
    RemoteUnavailable,
    Timeout,
)
from gateway.profiles.load import build_connector
from gateway.profiles.profile import ChannelSpec
from gateway.store import Store

Handler = Callable[[httpx.Request], httpx.Response]


def mocked(tmp_path: Path, handler: Handler, **options: Any) -> As2Connector:
    """A connector whose HTTP client is httpx.MockTransport(handler)."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return make_connector("http://as2.test", tmp_path, client=client, clock=clock, **options)


def opened(request: httpx.Request) -> OpenedMessage:
    """The request opened as the IGW endpoint would (decrypted, verified, MIC computed)."""
    config = endpoint_config()
    return open_message(
        request.headers, request.content, local=config.identity, partner_for=config.partner_for
    )


def mdn_answer(
    disposition: Disposition,
    *,
    mic: Callable[[OpenedMessage], Mic | None] = lambda m: m.mic,
    signed: bool = True,
    original: str | None = None,
) -> Handler:
    """A handler answering a (signed) MDN built by IGW with the given disposition and MIC."""

    def handle(request: httpx.Request) -> httpx.Response:
        message = opened(request)
        request_ = message.mdn_request
        if not signed and request_ is not None:
            request_ = type(request_)(False, request_.digest, None, request_.return_to)
        mdn = build_mdn(
            original_message_id=original or message.message_id,
            original_recipient=US,
            sender=endpoint_config().identity,
            receiver_id=PARTNER,
            disposition=disposition,
            mic=mic(message),
            request=request_,
            text="test MDN",
        )
        return httpx.Response(200, headers=mdn.headers, content=mdn.body)

    return handle


def status(code: int, headers: dict[str, str] | None = None) -> Handler:
    """A handler answering ``code`` with ``headers``."""
    return lambda request: httpx.Response(code, headers=headers or {}, content=b"busy")


def raising(exc: Exception) -> Handler:
    """A handler raising ``exc`` underneath the client."""

    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return handle


def send(connector: As2Connector, key: str = "k-1") -> Any:
    """Send the contract document under ``key``."""
    return connector.send(document(), delivery_id="d-1", idempotency_key=key)


# --- HTTP outcomes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (status(500), RemoteUnavailable),
        (status(503), RemoteUnavailable),
        (status(401), AuthenticationFailed),
        (status(403), AuthenticationFailed),
        (status(404), ConfigurationInvalid),
        (status(405), ConfigurationInvalid),
        (status(413), Rejected),
        (status(400), Rejected),
        (status(408), Timeout),
        (status(504), Timeout),
        (status(302, {"location": "http://elsewhere/"}), ConfigurationInvalid),
    ],
)
def test_http_status_translation(
    tmp_path: Path, handler: Handler, error: type[DeliveryError]
) -> None:
    """Each HTTP status class becomes its delivery error, with the response as evidence."""
    with pytest.raises(error) as caught:
        send(mocked(tmp_path, handler))
    assert type(caught.value) is error
    assert caught.value.evidence.startswith(b"HTTP/1.1 ")
    assert "as2:IGW@http://as2.test/as2: POST <igw-" in str(caught.value)


def test_rate_limited_carries_retry_after(tmp_path: Path) -> None:
    """HTTP 429 with Retry-After: 7 is RateLimited(retry_after=7.0), retryable."""
    with pytest.raises(RateLimited) as caught:
        send(mocked(tmp_path, status(429, {"Retry-After": "7"})))
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("refused"), ConnectionFailed),
        (httpx.ConnectTimeout("slow connect"), ConnectionFailed),
        (httpx.ReadTimeout("no answer"), Timeout),
        (httpx.WriteTimeout("stuck"), Timeout),
        (httpx.RemoteProtocolError("peer closed"), ConnectionFailed),
        (httpx.ReadError("reset"), ConnectionFailed),
    ],
)
def test_transport_errors_are_translated(
    tmp_path: Path, exc: Exception, error: type[DeliveryError]
) -> None:
    """httpx failures become ConnectionFailed / Timeout chained to the httpx exception."""
    with pytest.raises(error) as caught:
        send(mocked(tmp_path, raising(exc)))
    assert caught.value.__cause__ is exc
    assert caught.value.retryable


def test_refused_connection_on_a_real_socket(tmp_path: Path) -> None:
    """A closed port on loopback is ConnectionFailed (real socket, default client)."""
    from as2_peer import closed_port

    connector = make_connector(f"http://127.0.0.1:{closed_port()}", tmp_path, timeout=0.5)
    with pytest.raises(ConnectionFailed) as caught:
        send(connector)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The real endpoint on loopback over SQLite: (base URL, its Stallable wrapper)."""
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    try:
        with running_endpoint(store) as running:
            yield running
    finally:
        store.close()


@pytest.mark.parametrize(
    ("code", "headers", "error"),
    [
        (503, {}, RemoteUnavailable),
        (503, {"Retry-After": "3"}, RateLimited),
        (429, {"Retry-After": "2"}, RateLimited),
    ],
)
def test_real_server_busy(
    live: tuple[str, Any],
    tmp_path: Path,
    code: int,
    headers: dict[str, str],
    error: type[DeliveryError],
) -> None:
    """A real server answering 503 / 429 gives the retryable error (RateLimited when it says
    when to come back, so the worker waits that long); the next send goes through."""
    base_url, app = live
    connector = make_connector(base_url, tmp_path / "keys", clock=clock)
    app.answer_next(code, headers, b"come back later")
    with pytest.raises(error) as caught:
        send(connector, "busy")
    assert b"come back later" in caught.value.evidence
    receipt = send(connector, "busy")
    assert receipt.transport_proof and receipt.sent_at == NOW


def test_real_server_too_slow(live: tuple[str, Any], tmp_path: Path) -> None:
    """A real server that does not answer within the timeout gives Timeout (cause ReadTimeout)."""
    base_url, app = live
    connector = make_connector(base_url, tmp_path / "keys", clock=clock, timeout=0.5)
    app.stall()
    with pytest.raises(Timeout) as caught:
        send(connector, "slow")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "no answer in time" in str(caught.value)


# --- MDN outcomes ---------------------------------------------------------------------------


def test_good_mdn_is_a_receipt(tmp_path: Path) -> None:
    """A signed processed MDN with our MIC: Receipt with the MDN as evidence."""
    receipt = send(mocked(tmp_path, mdn_answer(Disposition())))
    assert receipt.transport_proof is True
    assert (
        receipt.evidence.count(b"Disposition: automatic-action/MDN-sent-automatically; processed")
        == 1
    )
    assert "signed MDN verified" in receipt.detail


def test_warning_mdn_is_a_receipt_with_the_warning(tmp_path: Path) -> None:
    """processed/warning (e.g. duplicate-document) still proves receipt; the detail says so."""
    answer = mdn_answer(Disposition("processed", "duplicate-document", "warning"))
    receipt = send(mocked(tmp_path, answer))
    assert receipt.transport_proof is True
    assert "processed/warning: duplicate-document" in receipt.detail


def test_mic_mismatch_is_rejected(tmp_path: Path) -> None:
    """A signed, positive MDN with another MIC: Rejected naming both MICs."""
    wrong = mdn_answer(
        Disposition(),
        mic=lambda m: Mic("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", m.mic.algorithm),
    )
    with pytest.raises(Rejected, match=r"Received-Content-MIC AAAA.* differs from ours") as caught:
        send(mocked(tmp_path, wrong))
    assert caught.value.evidence


def test_missing_mic_is_rejected(tmp_path: Path) -> None:
    """A positive MDN without Received-Content-MIC proves no integrity: Rejected."""
    with pytest.raises(Rejected, match="differs from ours"):
        send(mocked(tmp_path, mdn_answer(Disposition(), mic=lambda m: None)))


def test_unsigned_mdn_when_signed_requested(tmp_path: Path) -> None:
    """An unsigned MDN where a signed one was requested is Rejected (no non-repudiation)."""
    with pytest.raises(Rejected, match="unsigned, but a signed MDN was requested"):
        send(mocked(tmp_path, mdn_answer(Disposition(), signed=False)))


def test_mdn_for_another_message(tmp_path: Path) -> None:
    """An MDN answering another Message-ID is Rejected."""
    with pytest.raises(Rejected, match="answers Original-Message-ID 'someone-else@x'"):
        send(mocked(tmp_path, mdn_answer(Disposition(), original="<someone-else@x>")))


def test_garbage_instead_of_mdn(tmp_path: Path) -> None:
    """A 200 without an MDN is Rejected as unreadable/unverifiable, chained to the cause."""
    handler = lambda request: httpx.Response(200, content=b"OK thanks")  # noqa: E731
    with pytest.raises(Rejected) as caught:
        send(mocked(tmp_path, handler))
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("disposition", "error"),
    [
        (Disposition("processed", "authentication-failed", "error"), AuthenticationFailed),
        (Disposition("processed", "decryption-failed", "error"), ConfigurationInvalid),
        (Disposition("processed", "insufficient-message-security", "error"), ConfigurationInvalid),
        (Disposition("processed", "unknown-trading-partner", "error"), ConfigurationInvalid),
        (Disposition("processed", "integrity-check-failed", "error"), Rejected),
        (Disposition("processed", "decompression-failed", "error"), Rejected),
        (Disposition("processed", "unexpected-processing-error", "error"), Rejected),
        (Disposition("failed", "unsupported format", "failure"), Rejected),
    ],
)
def test_error_dispositions(
    tmp_path: Path, disposition: Disposition, error: type[DeliveryError]
) -> None:
    """Each processed/error modifier (and failed/...) becomes the error the module table names,
    permanent, with the MDN as evidence."""
    with pytest.raises(error) as caught:
        send(mocked(tmp_path, mdn_answer(disposition, mic=lambda m: None)))
    assert type(caught.value) is error
    assert caught.value.retryable is False
    assert str(disposition).split("; ", 1)[1] in str(caught.value)
    assert b"Disposition:" in caught.value.evidence


# --- Message-ID, async receipt, options -----------------------------------------------------


def test_message_id_is_derived_from_the_key(tmp_path: Path) -> None:
    """Two connector instances (a restart) give one key the same Message-ID; keys and partner
    pairs give different ones."""
    one = make_connector("http://x", tmp_path)
    two = make_connector("http://x", tmp_path)
    assert one.message_id("k-1") == two.message_id("k-1")
    assert one.message_id("k-1") != one.message_id("k-2")
    assert derive_message_id("k-1", "A", "B", "d") != derive_message_id("k-1", "A", "C", "d")
    assert one.message_id("k-1").endswith("@ACME")


def test_async_receipt_names_the_expected_mic(tmp_path: Path) -> None:
    """mdn = "async": a 2xx gives a Receipt without transport proof whose evidence carries the
    MIC the later MDN must return."""
    seen: list[Mic] = []

    def accept(request: httpx.Request) -> httpx.Response:
        message = opened(request)
        seen.append(message.mic)
        assert message.mdn_request is not None
        assert message.mdn_request.async_url == "https://us.example/as2/mdn"
        return httpx.Response(202)

    receipt = send(
        mocked(tmp_path, accept, mdn="async", async_mdn_url="https://us.example/as2/mdn")
    )
    assert receipt.transport_proof is False
    assert expected_mic(receipt.evidence) == str(seen[0])
    assert b"MDN-Signed: yes" in receipt.evidence


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "ftp://x"}, "accepted: an http:// or https:// URL"),
        ({"sign": "md5"}, "sign = 'md5': not supported; accepted: sha1, sha256"),
        ({"encrypt": "rc2"}, "encrypt = 'rc2'"),
        ({"signature_padding": "raw"}, "signature_padding = 'raw'"),
        ({"mdn": "async"}, "needs async_mdn_url"),
        ({"mdn": "maybe"}, "mdn = 'maybe'"),
        (
            {"partner_cert_file": "/nonexistent.pem"},
            "partner_cert_file = '/nonexistent.pem': cannot read",
        ),
        ({"private_key": "-----BEGIN PRIVATE KEY-----"}, "exactly one of key_file"),
    ],
)
def test_bad_options_are_configuration_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    """Wrong channel options fail when the connector is built, naming option and accepted values."""
    settings: dict[str, Any] = {"url": "http://x/as2", "as2_from": PARTNER, "as2_to": US}
    settings.update(write_partner_files(tmp_path))
    settings.update(options)
    with pytest.raises(ConfigurationInvalid, match="as2: ") as caught:
        As2Connector(**settings)
    assert message in str(caught.value)


def test_private_key_from_a_secret_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from a profile channel: private_key and key_password come from env: references,
    a PKCS#12 key file opens with the resolved password."""
    key, cert = identity(PARTNER)
    _, igw_cert = write_identity(tmp_path, US)
    monkeypatch.setenv("IGW_TEST_AS2_KEY", key_pem(key, b"pw").decode())
    monkeypatch.setenv("IGW_TEST_AS2_PW", "pw")
    write_identity(tmp_path, PARTNER)
    spec = ChannelSpec(
        connector="connectors.as2.connector:As2Connector",
        options={
            "url": "https://buyer.example/as2",
            "as2_from": PARTNER,
            "as2_to": US,
            "private_key": "env:IGW_TEST_AS2_KEY",
            "key_password": "env:IGW_TEST_AS2_PW",
            "cert_file": str(tmp_path / "acme.pem"),
            "partner_cert_file": str(igw_cert),
            "sign": "sha512",
            "encrypt": "none",
        },
    )
    built = build_connector(spec, clock=clock)
    assert isinstance(built, As2Connector)
    assert built.identity.cert == cert
    assert built.options.sign == "sha512" and built.options.encrypt is None
    assert built.channel == "as2:IGW@https://buyer.example/as2"
    p12 = write_p12(tmp_path, PARTNER, b"pw")
    other = build_connector(
        spec.model_copy(
            update={
                "options": {
                    **{
                        k: v
                        for k, v in spec.options.items()
                        if k not in ("private_key", "cert_file")
                    },
                    "key_file": str(p12),
                }
            }
        )
    )
    assert other.identity.cert == cert


def test_wrong_key_password(tmp_path: Path) -> None:
    """A PKCS#12 with the wrong password is a ConfigurationInvalid naming the key file."""
    p12 = write_p12(tmp_path, PARTNER, b"right")
    with pytest.raises(ConfigurationInvalid, match=r"key_file = .*acme\.p12"):
        make_connector(
            "http://x", tmp_path, key_file=str(p12), key_password="wrong", cert_file=None
        )


def test_memory_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound of remembered receipts a re-send of an old key goes to the partner again
    (with the same Message-ID, so the partner answers it as a duplicate); recent keys do not."""
    monkeypatch.setattr("connectors.as2.connector.REMEMBERED", 1)
    calls: list[str] = []
    answer = mdn_answer(Disposition())

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["message-id"])
        return answer(request)

    connector = mocked(tmp_path, handle)
    first = send(connector, "k-1")
    send(connector, "k-2")
    send(connector, "k-2")
    again = send(connector, "k-1")
    assert len(calls) == 3
    assert calls[0] == calls[2] == f"<{first.message_id}>"
    assert again.message_id == first.message_id


def test_http_basic_credentials(tmp_path: Path) -> None:
    """basic_username/basic_password are sent as HTTP Basic credentials on the AS2 POST."""
    seen: list[str] = []
    answer = mdn_answer(Disposition())

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return answer(request)

    send(mocked(tmp_path, handle, basic_username="acme", basic_password="s3cret"))
    assert seen == ["Basic " + base64.b64encode(b"acme:s3cret").decode()]


def test_https_trust(tmp_path: Path) -> None:
    """Over HTTPS: a server certificate we do not trust is HostKeyMismatch (permanent); with the
    partner's CA in ca_bundle the same send goes through."""
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from test_connectors_http_tls import CA

    from gateway.delivery.errors import HostKeyMismatch
    from gateway.peers.serve import serve_in_thread
    from gateway.web import create_app

    ca = CA(tmp_path, "as2-ca")
    server = ca.issue("as2-server", ExtendedKeyUsageOID.SERVER_AUTH, ip="127.0.0.1")
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    app = create_app(store=store, as2=endpoint_config())
    tls = {"ssl_keyfile": str(server.key), "ssl_certfile": str(server.cert)}
    try:
        with serve_in_thread(app, ssl_options=tls) as base_url:
            assert base_url.startswith("https://")
            untrusting = make_connector(base_url, tmp_path / "keys", clock=clock)
            with pytest.raises(HostKeyMismatch) as caught:
                send(untrusting, "tls")
            assert caught.value.retryable is False
            untrusting.close()
            trusting = make_connector(
                base_url, tmp_path / "keys", clock=clock, ca_bundle=str(ca.pem)
            )
            assert send(trusting, "tls").transport_proof is True
            trusting.close()
    finally:
        store.close()

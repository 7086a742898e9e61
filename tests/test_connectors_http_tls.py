"""Mutual TLS for real: a throwaway CA, server and client certificates (cryptography), the
portal served over HTTPS requiring a client certificate, and the HttpConnector with and without
the right certificates.

Decisions shown here (table in connectors/http_errors.py): a server certificate we do not trust
is HostKeyMismatch (like an unknown SFTP host key); a client certificate the server refuses (none,
or one from another CA) is AuthenticationFailed when the server says so with a TLS alert (an
OpenSSL server, shown with a blocking ``ssl`` server below) or cuts the TLS 1.2 handshake off
(uvicorn). uvicorn on TLS 1.3 hangs up after the handshake without an alert: the connector cannot
tell that from a dropped connection, so it is ConnectionFailed (retryable); nothing is filed in
any of these cases.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from connectors.http import HttpConnector
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    HostKeyMismatch,
)
from gateway.document import Document
from gateway.peers.portal import Portal
from gateway.peers.serve import serve_in_thread

DOC = Document(b"<Invoice><cbc:ID>INV-1</cbc:ID></Invoice>", "ubl", "peppol-bis3", "INV-1")
NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    """A key and certificate written as PEM files."""

    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(
    folder: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> Issued:
    issued = Issued(folder / f"{stem}.crt", folder / f"{stem}.key")
    issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    issued.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return issued


class CA:
    """A throwaway certificate authority issuing server and client certificates."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.key = folder, ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        self.cert = (
            self._builder(self.name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self.pem = _write(folder, name, self.key, self.cert).cert

    def _builder(
        self, subject: x509.Name, public: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(minutes=5))
            .not_valid_after(NOW + dt.timedelta(days=1))
        )

    def issue(self, stem: str, usage: x509.ObjectIdentifier, ip: str | None = None) -> Issued:
        """A certificate for ``stem`` with extended key usage ``usage`` (and an IP SAN)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_name(stem), key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if ip is not None:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                critical=False,
            )
        return _write(self.folder, stem, key, builder.sign(self.key, hashes.SHA256()))


@dataclass(frozen=True)
class Pki:
    """The portal's CA with a server and a client certificate, and a stranger CA's client."""

    ca: CA
    server: Issued
    client: Issued
    stranger: Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for one module: generated once, thrown away afterwards."""
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder, "portal-ca")
    other = CA(folder, "stranger-ca")
    return Pki(
        ca,
        ca.issue("portal", ExtendedKeyUsageOID.SERVER_AUTH, ip="127.0.0.1"),
        ca.issue("supplier", ExtendedKeyUsageOID.CLIENT_AUTH),
        other.issue("stranger", ExtendedKeyUsageOID.CLIENT_AUTH),
    )


def server_options(pki: Pki, **extra: object) -> dict[str, object]:
    """uvicorn TLS options: the portal's certificate, client certificates from its CA required."""
    return {
        "ssl_certfile": str(pki.server.cert),
        "ssl_keyfile": str(pki.server.key),
        "ssl_ca_certs": str(pki.ca.pem),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        **extra,
    }


@pytest.fixture
def portal(pki: Pki) -> Iterator[tuple[Portal, str]]:
    """The portal over HTTPS (TLS 1.3) on loopback, requiring a client certificate."""
    peer = Portal()
    with serve_in_thread(peer.app, ssl_options=server_options(pki)) as base:
        yield peer, f"{base}/invoices"


@pytest.fixture
def portal_tls12(pki: Pki) -> Iterator[tuple[Portal, str]]:
    """The same portal pinned to TLS 1.2, where the server checks the client certificate
    inside the handshake."""
    peer = Portal()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # uvicorn takes a protocol constant
        served = serve_in_thread(
            peer.app, ssl_options=server_options(pki, ssl_version=ssl.PROTOCOL_TLSv1_2)
        )
        base = served.__enter__()
    try:
        yield peer, f"{base}/invoices"
    finally:
        served.__exit__(None, None, None)


@pytest.fixture
def alerting_server(pki: Pki) -> Iterator[str]:
    """A one-connection HTTPS server on blocking ``ssl`` sockets: OpenSSL sends the TLS alert
    when the client certificate is missing, as nginx or Apache do. Yields its URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server.cert, pki.server.key)
    context.load_verify_locations(pki.ca.pem)
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
            except (ssl.SSLError, OSError):
                pass  # the refusal: OpenSSL has written the alert to the socket

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/invoices"
    finally:
        listener.close()
        thread.join(timeout=5)


def test_mutual_tls_with_the_right_certificates_delivers(
    pki: Pki, portal: tuple[Portal, str]
) -> None:
    """Client cert from the portal's CA + the CA as ca_bundle -> Receipt, invoice filed."""
    peer, url = portal
    assert url.startswith("https://127.0.0.1:")
    connector = HttpConnector(
        url,
        client_cert=str(pki.client.cert),
        client_key=str(pki.client.key),
        ca_bundle=str(pki.ca.pem),
        timeout=5.0,
    )
    with closing(connector):  # an open TLS keep-alive connection would hold up server shutdown
        receipt = connector.send(DOC, delivery_id="1", idempotency_key="k-1")
    assert receipt.message_id == "inv-000001" and receipt.transport_proof
    assert [i.invoice_number for i in peer.invoices] == ["INV-1"]


def test_no_client_certificate_with_an_alert_is_authentication_failed(
    pki: Pki, alerting_server: str
) -> None:
    """A server that answers a missing client certificate with the TLS alert ->
    AuthenticationFailed (permanent), chained to the ssl error."""
    connector = HttpConnector(alerting_server, ca_bundle=str(pki.ca.pem), timeout=5.0)
    with pytest.raises(AuthenticationFailed, match="refused our TLS client certificate") as caught:
        connector.send(DOC, delivery_id="1", idempotency_key="k-1")
    assert caught.value.__cause__ is not None
    assert not caught.value.retryable


@pytest.mark.parametrize("client", ["none", "stranger"])
def test_refused_client_certificate_in_the_tls12_handshake_is_authentication_failed(
    pki: Pki, portal_tls12: tuple[Portal, str], client: str
) -> None:
    """uvicorn on TLS 1.2 cuts the handshake off for no client certificate or one from another
    CA -> AuthenticationFailed, and nothing is filed."""
    peer, url = portal_tls12
    certs = {}
    if client == "stranger":
        certs = {"client_cert": str(pki.stranger.cert), "client_key": str(pki.stranger.key)}
    connector = HttpConnector(url, ca_bundle=str(pki.ca.pem), timeout=5.0, **certs)
    with pytest.raises(AuthenticationFailed, match="cut the TLS handshake off"):
        connector.send(DOC, delivery_id="1", idempotency_key="k-1")
    assert peer.invoices == []


def test_tls12_portal_with_the_right_certificate_delivers(
    pki: Pki, portal_tls12: tuple[Portal, str]
) -> None:
    """The TLS 1.2 portal takes the upload when the client certificate is right (so the
    refusals above are about the certificate, not the pinned protocol)."""
    peer, url = portal_tls12
    connector = HttpConnector(
        url,
        client_cert=str(pki.client.cert),
        client_key=str(pki.client.key),
        ca_bundle=str(pki.ca.pem),
        timeout=5.0,
    )
    with closing(connector):
        assert connector.send(DOC, delivery_id="1", idempotency_key="k-1").transport_proof
    assert len(peer.invoices) == 1


def test_no_client_certificate_on_tls13_uvicorn_is_refused_as_a_dropped_connection(
    pki: Pki, portal: tuple[Portal, str]
) -> None:
    """uvicorn on TLS 1.3 hangs up after the handshake without an alert: refused, nothing
    filed, reported as ConnectionFailed whose message points at the client certificate."""
    peer, url = portal
    connector = HttpConnector(url, ca_bundle=str(pki.ca.pem), timeout=5.0)
    with pytest.raises(ConnectionFailed, match="check client_cert"):
        connector.send(DOC, delivery_id="1", idempotency_key="k-1")
    assert peer.invoices == []


def test_untrusted_server_certificate_is_host_key_mismatch(
    pki: Pki, portal: tuple[Portal, str]
) -> None:
    """Without the portal's CA in ca_bundle the server certificate is untrusted ->
    HostKeyMismatch (permanent), even with the right client certificate."""
    peer, url = portal
    connector = HttpConnector(
        url, client_cert=str(pki.client.cert), client_key=str(pki.client.key), timeout=5.0
    )
    with pytest.raises(HostKeyMismatch, match="not trusted") as caught:
        connector.send(DOC, delivery_id="1", idempotency_key="k-1")
    assert isinstance(caught.value.__cause__, Exception)
    assert peer.invoices == []


def test_unreadable_certificate_files_are_a_configuration_error(tmp_path: Path) -> None:
    """A client_cert path that does not exist is ConfigurationInvalid naming the files."""
    with pytest.raises(ConfigurationInvalid, match="cannot load TLS files") as caught:
        HttpConnector(
            "https://127.0.0.1:1/invoices",
            client_cert=str(tmp_path / "missing.crt"),
            client_key=str(tmp_path / "missing.key"),
        )
    assert "missing.crt" in str(caught.value)

"""AS2 CMS cross-checked with the OpenSSL command line: OpenSSL verifies and decrypts what we
build, and we open what OpenSSL signs and encrypts (every digest, padding, cipher, transport)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from as2_keys import cert_pem, identity, key_pem

from connectors.as2 import cms, mime
from connectors.as2.errors import As2MessageError
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    Mic,
    SendOptions,
    build_message,
    open_message,
)

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="no openssl command line on this machine")
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PAYLOAD = b"ISA*00*          *00*~\nGS*IN~\r\nIEA*1~"
ENTITY = b"Content-Type: application/edi-x12\r\n\r\n" + PAYLOAD


def _openssl(*args: str | Path) -> bytes:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *map(str, args)], capture_output=True, check=False, timeout=30)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """PEM files of the test identity 'OSSL' (key and certificate)."""
    key, cert = identity("OSSL")
    (tmp_path / "k.pem").write_bytes(key_pem(key))
    (tmp_path / "c.pem").write_bytes(cert_pem(cert))
    return {"key": tmp_path / "k.pem", "cert": tmp_path / "c.pem"}


def _me() -> As2Identity:
    return As2Identity("OSSL", *identity("OSSL"))


def _partner() -> As2Partner:
    return As2Partner("OSSL", (identity("OSSL")[1],), require_signed=False, require_encrypted=False)


@pytest.mark.may_skip
@pytest.mark.parametrize("digest", cms.DIGESTS)
@pytest.mark.parametrize("pad", cms.SIGNATURE_PADDINGS)
def test_openssl_verifies_our_signature(
    tmp_path: Path, keys: dict[str, Path], digest: str, pad: str
) -> None:
    """openssl cms -verify accepts our detached signature over the exact signed entity bytes."""
    out = build_message(
        PAYLOAD,
        content_type="application/edi-x12",
        filename=None,
        sender=_me(),
        receiver=_partner(),
        options=SendOptions(sign=digest, signature_padding=pad, encrypt=None),
        message_id="m@x",
        now=NOW,
    )
    boundary = mime.parse_params(out.headers["Content-Type"])[1]["boundary"]
    signed, signature = mime.split_multipart(out.body, boundary)
    (tmp_path / "content").write_bytes(signed)
    (tmp_path / "sig.der").write_bytes(mime.decode_body(mime.parse_entity(signature)))
    content = _openssl(
        "cms",
        "-verify",
        "-noverify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        tmp_path / "sig.der",
        "-content",
        tmp_path / "content",
        "-certfile",
        keys["cert"],
    )
    assert content == signed and content.endswith(b"\r\n\r\n" + PAYLOAD)


@pytest.mark.may_skip
def test_openssl_reads_our_smime_message(tmp_path: Path, keys: dict[str, Path]) -> None:
    """openssl reads our whole multipart/signed message as S/MIME and verifies it (CRLF text:
    OpenSSL's S/MIME reader rewrites line ends, so lone LFs are covered by the DER test above)."""
    payload = PAYLOAD.replace(b"~\n", b"~\r\n")
    out = build_message(
        payload,
        content_type="application/edi-x12",
        filename=None,
        sender=_me(),
        receiver=_partner(),
        options=SendOptions(encrypt=None),
        message_id="m@x",
        now=NOW,
    )
    smime = f"Content-Type: {out.headers['Content-Type']}\r\n\r\n".encode() + out.body
    (tmp_path / "msg").write_bytes(smime)
    content = _openssl(
        "cms", "-verify", "-noverify", "-certfile", keys["cert"], "-in", tmp_path / "msg"
    )
    assert content.endswith(b"\r\n\r\n" + payload)


@pytest.mark.may_skip
@pytest.mark.parametrize("cipher", cms.CIPHERS)
@pytest.mark.parametrize("transport", cms.KEY_TRANSPORTS)
def test_openssl_decrypts_our_envelope(
    tmp_path: Path, keys: dict[str, Path], cipher: str, transport: str
) -> None:
    """openssl cms -decrypt opens our EnvelopedData for every cipher and key transport."""
    _, cert = identity("OSSL")
    der = cms.encrypt(ENTITY, cert=cert, cipher=cipher, oaep=transport == "rsa-oaep")
    (tmp_path / "enc.der").write_bytes(der)
    plain = _openssl(
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        tmp_path / "enc.der",
        "-inkey",
        keys["key"],
        "-recip",
        keys["cert"],
    )
    assert plain == ENTITY


@pytest.mark.may_skip
@pytest.mark.parametrize(
    ("md", "keyopts"),
    [("sha1", []), ("sha256", []), ("sha512", []), ("sha384", ["-keyopt", "rsa_padding_mode:pss"])],
)
def test_we_verify_openssl_signature(
    tmp_path: Path, keys: dict[str, Path], md: str, keyopts: list[str]
) -> None:
    """A message signed by openssl cms -sign (PKCS#1 v1.5 or PSS) opens and verifies here."""
    (tmp_path / "e").write_bytes(ENTITY)
    smime = _openssl(
        "cms",
        "-sign",
        "-binary",
        "-in",
        tmp_path / "e",
        "-signer",
        keys["cert"],
        "-inkey",
        keys["key"],
        "-md",
        md,
        *keyopts,
    )
    fields, offset = mime.split_headers(smime)
    headers = dict(fields) | {"AS2-From": "OSSL", "AS2-To": "OSSL", "Message-ID": "<m@x>"}
    opened = open_message(
        headers,
        smime[offset:],
        local=_me(),
        partner_for=lambda _n: As2Partner("OSSL", (identity("OSSL")[1],), require_encrypted=False),
    )
    assert opened.signed and opened.payload == PAYLOAD
    assert opened.mic.algorithm == md


@pytest.mark.may_skip
@pytest.mark.parametrize(
    ("cipher", "keyopts"),
    [
        ("-aes128", []),
        ("-aes192", []),
        ("-aes256", ["-keyopt", "rsa_padding_mode:oaep"]),
        ("-aes256", ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]),
        ("-des3", []),
    ],
)
def test_we_decrypt_openssl_envelope(
    tmp_path: Path, keys: dict[str, Path], cipher: str, keyopts: list[str]
) -> None:
    """openssl cms -encrypt output (AES, 3DES; PKCS#1 v1.5, OAEP sha1/sha256) decrypts here."""
    (tmp_path / "e").write_bytes(ENTITY)
    der = _openssl(
        "cms",
        "-encrypt",
        "-binary",
        cipher,
        "-recip",
        keys["cert"],
        *keyopts,
        "-outform",
        "DER",
        "-in",
        tmp_path / "e",
    )
    key, cert = identity("OSSL")
    assert cms.decrypt(der, key=key, cert=cert).content == ENTITY


@pytest.mark.may_skip
def test_we_open_opaque_signed_data(tmp_path: Path, keys: dict[str, Path]) -> None:
    """application/pkcs7-mime; smime-type=signed-data (content inside the signature, made by
    openssl cms -sign -nodetach) opens and verifies; the MIC is over the signed entity."""
    (tmp_path / "e").write_bytes(ENTITY)
    der = _openssl(
        "cms",
        "-sign",
        "-nodetach",
        "-binary",
        "-in",
        tmp_path / "e",
        "-signer",
        keys["cert"],
        "-inkey",
        keys["key"],
        "-md",
        "sha256",
        "-outform",
        "DER",
    )
    headers = {
        "Content-Type": "application/pkcs7-mime; smime-type=signed-data; name=smime.p7m",
        "AS2-From": "OSSL",
        "AS2-To": "OSSL",
        "Message-ID": "<m@x>",
    }
    partner = As2Partner("OSSL", (identity("OSSL")[1],), require_encrypted=False)
    opened = open_message(headers, der, local=_me(), partner_for=lambda _n: partner)
    assert opened.signed and opened.payload == PAYLOAD
    assert opened.mic == Mic.of(ENTITY, "sha256")
    stranger = As2Partner("OSSL", (identity("MALLORY")[1],), require_encrypted=False)
    with pytest.raises(As2MessageError) as info:
        open_message(headers, der, local=_me(), partner_for=lambda _n: stranger)
    assert info.value.modifier == "authentication-failed"


@pytest.mark.may_skip
def test_md5_signature_refused(tmp_path: Path, keys: dict[str, Path]) -> None:
    """A message signed with MD5 (openssl cms -sign -md md5) is refused: integrity-check-failed."""
    (tmp_path / "e").write_bytes(ENTITY)
    smime = _openssl(
        "cms",
        "-sign",
        "-binary",
        "-in",
        tmp_path / "e",
        "-signer",
        keys["cert"],
        "-inkey",
        keys["key"],
        "-md",
        "md5",
    )
    fields, offset = mime.split_headers(smime)
    headers = dict(fields) | {"AS2-From": "OSSL", "AS2-To": "OSSL", "Message-ID": "<m@x>"}
    partner = As2Partner("OSSL", (identity("OSSL")[1],), require_encrypted=False)
    with pytest.raises(As2MessageError) as info:
        open_message(headers, smime[offset:], local=_me(), partner_for=lambda _n: partner)
    assert info.value.modifier == "integrity-check-failed" and "md5" in info.value.text

"""CMS (RFC 5652) SignedData, EnvelopedData and CompressedData (RFC 3274) for AS2.

Writing uses fixed DER templates (connectors.as2.der) with per-certificate pieces cached.
Reading walks the few fixed headers of definite-length input to reach the parts that matter
(SignerInfos; recipients, algorithm and ciphertext, the latter as a memoryview) and hands
those to asn1crypto; anything else, e.g. the BER with indefinite lengths and chunked octet
strings that mendelson sends, is read by asn1crypto whole. Errors are raised as
:class:`CmsError` with a reason that maps onto an RFC 4130 disposition modifier.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes

from connectors.as2 import der
from connectors.as2.errors import (
    AUTHENTICATION_FAILED,
    DECOMPRESSION_FAILED,
    DECRYPTION_FAILED,
    INTEGRITY_CHECK_FAILED,
    UNEXPECTED_PROCESSING_ERROR,
)

DIGESTS = ("sha1", "sha256", "sha384", "sha512")
SIGNATURE_PADDINGS = ("pkcs1v15", "pss")
CIPHERS = ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des")
KEY_TRANSPORTS = ("rsa-pkcs1v15", "rsa-oaep")

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}  # no MD5: a partner still signing with it gets integrity-check-failed
#: cipher name -> (OID, key bytes, block bytes)
_CIPHER_OIDS: dict[str, tuple[str, int, int]] = {
    "aes128-cbc": ("2.16.840.1.101.3.4.1.2", 16, 16),
    "aes192-cbc": ("2.16.840.1.101.3.4.1.22", 24, 16),
    "aes256-cbc": ("2.16.840.1.101.3.4.1.42", 32, 16),
    "3des": ("1.2.840.113549.3.7", 24, 8),
}

_OID_DATA = der.oid("1.2.840.113549.1.7.1")
_OID_SIGNED_DATA = der.oid("1.2.840.113549.1.7.2")
_OID_ENVELOPED_DATA = der.oid("1.2.840.113549.1.7.3")
_OID_COMPRESSED_DATA = der.oid("1.2.840.113549.1.9.16.1.9")
_OID_CONTENT_TYPE = der.oid("1.2.840.113549.1.9.3")
_OID_MESSAGE_DIGEST = der.oid("1.2.840.113549.1.9.4")
_OID_SIGNING_TIME = der.oid("1.2.840.113549.1.9.5")
_ALG_ZLIB = der.seq(der.oid("1.2.840.113549.1.9.16.3.8"))
_INT0 = der.integer(0)
_INT1 = der.integer(1)
_ATTR_CONTENT_TYPE = der.seq(_OID_CONTENT_TYPE, der.tlv(0x31, _OID_DATA))
_CIPHER_OID_DER = {name: der.oid(spec[0]) for name, spec in _CIPHER_OIDS.items()}
_CIPHER_BY_OID = {value: name for name, value in _CIPHER_OID_DER.items()}
_DIGEST_BY_OID = {
    der.oid("1.3.14.3.2.26"): "sha1",
    der.oid("2.16.840.1.101.3.4.2.4"): "sha224",
    der.oid("2.16.840.1.101.3.4.2.1"): "sha256",
    der.oid("2.16.840.1.101.3.4.2.2"): "sha384",
    der.oid("2.16.840.1.101.3.4.2.3"): "sha512",
}
_OID_RSA = der.oid("1.2.840.113549.1.1.1")
#: PKCS#1 v1.5 signature algorithm OIDs -> their hash (None: rsaEncryption, the signer's digest)
_PKCS1_SIGNATURES: dict[bytes, str | None] = {
    _OID_RSA: None,
    der.oid("1.2.840.113549.1.1.5"): "sha1",
    der.oid("1.2.840.113549.1.1.14"): "sha224",
    der.oid("1.2.840.113549.1.1.11"): "sha256",
    der.oid("1.2.840.113549.1.1.12"): "sha384",
    der.oid("1.2.840.113549.1.1.13"): "sha512",
}


class CmsError(Exception):
    """A CMS structure we cannot produce or read; ``modifier`` is an RFC 4130 modifier."""

    def __init__(self, modifier: str, text: str) -> None:
        super().__init__(text)
        self.modifier = modifier
        self.text = text


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    """The cryptography hash for a digest name ("sha256")."""
    try:
        return _HASHES[name]()
    except KeyError:
        raise CmsError(
            UNEXPECTED_PROCESSING_ERROR,
            f"digest {name!r} is not supported; use one of {', '.join(DIGESTS)}",
        ) from None


@lru_cache(maxsize=64)
def _digest_alg_der(name: str) -> bytes:
    return bytes(algos.DigestAlgorithm({"algorithm": name}).dump())


def _pss_params(name: str) -> Any:
    return algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": name}},
            "salt_length": hashlib.new(name).digest_size,
        }
    )


@lru_cache(maxsize=64)
def _signature_alg_der(digest: str, pss: bool) -> bytes:
    if pss:
        alg = algos.SignedDigestAlgorithm(
            {"algorithm": "rsassa_pss", "parameters": _pss_params(digest)}
        )
    else:
        alg = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    return bytes(alg.dump())


@lru_cache(maxsize=4)
def _key_transport_der(oaep: bool) -> bytes:
    if oaep:
        alg = cms.KeyEncryptionAlgorithm(
            {
                "algorithm": "rsaes_oaep",
                "parameters": algos.RSAESOAEPParams(
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": "sha256"},
                        },
                    }
                ),
            }
        )
    else:
        alg = cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
    return bytes(alg.dump())


@dataclass(frozen=True)
class _CertParts:
    der: bytes
    issuer_and_serial: bytes
    issuer: bytes
    serial: int


@lru_cache(maxsize=256)
def _cert_parts(cert: x509.Certificate) -> _CertParts:
    """DER pieces of ``cert`` used in every message (parsed once per certificate)."""
    issuer = cert.issuer.public_bytes()
    return _CertParts(
        der=cert.public_bytes(serialization.Encoding.DER),
        issuer_and_serial=der.seq(issuer, der.integer(cert.serial_number)),
        issuer=issuer,
        serial=cert.serial_number,
    )


def _utc_time(now: dt.datetime) -> bytes:
    now = now.astimezone(dt.UTC) if now.tzinfo else now
    if 1950 <= now.year < 2050:
        return der.tlv(0x17, now.strftime("%y%m%d%H%M%SZ").encode())
    return der.tlv(0x18, now.strftime("%Y%m%d%H%M%SZ").encode())


def _signature_padding(digest: str, pss: bool) -> padding.AsymmetricPadding:
    if pss:
        return padding.PSS(
            mgf=padding.MGF1(hash_algorithm(digest)), salt_length=hashlib.new(digest).digest_size
        )
    return padding.PKCS1v15()


# --- SignedData -------------------------------------------------------------------------------


def sign_detached(
    content: bytes,
    *,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    digest: str = "sha256",
    pss: bool = False,
    now: dt.datetime | None = None,
    content_digest: bytes | None = None,
) -> bytes:
    """A detached CMS SignedData (DER) over ``content`` with signed attributes
    (content type, signing time, message digest), the signer's certificate included.

    ``content_digest``: the ``digest`` of ``content`` when the caller already has it (the MIC).
    """
    if digest not in DIGESTS:
        raise CmsError(
            UNEXPECTED_PROCESSING_ERROR,
            f"signing digest {digest!r} is not supported; use one of {', '.join(DIGESTS)}",
        )
    parts = _cert_parts(cert)
    digest_alg = _digest_alg_der(digest)
    attrs = sorted(
        (
            _ATTR_CONTENT_TYPE,
            der.seq(_OID_SIGNING_TIME, der.tlv(0x31, _utc_time(now or dt.datetime.now(dt.UTC)))),
            der.seq(
                _OID_MESSAGE_DIGEST,
                der.tlv(0x31, der.octets(content_digest or _digest(digest, content))),
            ),
        )
    )
    attrs_body = b"".join(attrs)
    signature = key.sign(
        der.tlv(0x31, attrs_body), _signature_padding(digest, pss), hash_algorithm(digest)
    )
    signer_info = der.seq(
        _INT1,
        parts.issuer_and_serial,
        digest_alg,
        der.tlv(0xA0, attrs_body),
        _signature_alg_der(digest, pss),
        der.octets(signature),
    )
    signed_data = der.seq(
        _INT1,
        der.tlv(0x31, digest_alg),
        der.seq(_OID_DATA),
        der.tlv(0xA0, parts.der),
        der.tlv(0x31, signer_info),
    )
    return der.seq(_OID_SIGNED_DATA, der.tlv(0xA0, signed_data))


@dataclass(frozen=True)
class Verified:
    """A verified signature: the digest it used and the content variant that verified."""

    digest: str
    content: bytes
    cert: x509.Certificate
    content_digest: bytes | None = None  # ``digest`` of ``content`` when signed attributes carry it


def _load_content_info(data: bytes, expected: str, modifier: str) -> Any:
    try:
        info = cms.ContentInfo.load(data)
        kind = info["content_type"].native
        content = info["content"]
        _ = content.native if kind == "compressed_data" else None
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/OverflowError...
        raise CmsError(
            modifier, f"not a readable CMS structure ({len(data)} bytes): {exc}"
        ) from exc
    if kind != expected:
        raise CmsError(modifier, f"CMS content type is {kind!r}, expected {expected!r}")
    return content


def _signed_attrs_der(attrs: Any) -> bytes:
    contents = bytes(attrs.contents)
    return b"\x31" + der.length(len(contents)) + contents


def _hash_name(alg: Any) -> str:
    name = str(alg["algorithm"].native)
    if name not in _HASHES:
        raise CmsError(INTEGRITY_CHECK_FAILED, f"signature digest {name!r} is not supported")
    return name


def _signer_matches(signer: Any, cert: x509.Certificate) -> bool:
    """Whether ``signer``'s identifier names ``cert`` (issuer and serial, or key identifier)."""
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        return bool(sid.chosen.dump() == _cert_parts(cert).issuer_and_serial)
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return False
    return bool(sid.chosen.native == ski)


class _Replay:
    """An iterable over ``items`` that computes each item once, on first use, and replays it."""

    def __init__(self, items: Iterable[bytes]) -> None:
        self._source = iter(items)
        self._seen: list[bytes] = []

    def __iter__(self) -> Iterator[bytes]:
        index = 0
        while True:
            if index < len(self._seen):
                yield self._seen[index]
            else:
                try:
                    item = next(self._source)
                except StopIteration:
                    return
                self._seen.append(item)
                yield item
            index += 1


def _digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def _signer_infos_der(data: bytes) -> bytes | None:
    """The SignerInfos of a definite-length SignedData, found by walking its fixed headers
    (the certificates inside are skipped unparsed); None for BER, which asn1crypto then reads."""
    try:
        start, end = _header(data, 0, 0x30)
        if end != len(data) or data[start : start + len(_OID_SIGNED_DATA)] != _OID_SIGNED_DATA:
            return None
        start, _ = _header(data, start + len(_OID_SIGNED_DATA), 0xA0)
        pos, end = _header(data, start, 0x30)
        pos = _header(data, pos, 0x02)[1]  # version
        pos = _header(data, pos, 0x31)[1]  # digestAlgorithms
        pos = _header(data, pos, 0x30)[1]  # encapContentInfo
        for optional in (0xA0, 0xA1):  # certificates, crls
            if pos < end and data[pos] == optional:
                pos = _header(data, pos, optional)[1]
        signer_end = _header(data, pos, 0x31)[1]
        if signer_end != end:
            return None
    except (ValueError, IndexError):
        return None
    return data[pos:signer_end]


@dataclass(frozen=True)
class _Signer:
    """What verifying one SignerInfo needs, read by :func:`_fast_signers` or asn1crypto."""

    digest: str
    expected: bytes | None  # the message digest of the signed attributes; None: no attributes
    attrs_der: bytes | None  # the signed attributes as signed (a DER SET)
    signature: bytes
    scheme: Callable[[], tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]]
    matches: Callable[[x509.Certificate], bool]


def _fast_signers(data: bytes) -> list[_Signer] | None:
    """The SignerInfos DER ``data`` read by walking its headers, for the shape nearly every AS2
    product writes (issuer-and-serial signer id, SHA digest, PKCS#1 v1.5 signature); None for
    anything else (subject key identifier, PSS, unknown algorithms, no message digest), which
    asn1crypto then reads with the full checks and error texts. Parsing SignerInfos with
    asn1crypto cost more than the RSA verification itself."""
    try:
        pos, end = _header(data, 0, 0x31)
        if end != len(data):
            return None
        found: list[_Signer] = []
        while pos < end:
            start, stop = _header(data, pos, 0x30)
            p = _header(data, start, 0x02)[1]  # version
            sid_end = _header(data, p, 0x30)[1]  # issuerAndSerialNumber (SKI: asn1crypto)
            sid = data[p:sid_end]
            alg_start, alg_end = _header(data, sid_end, 0x30)
            digest = _DIGEST_BY_OID.get(data[alg_start : _header(data, alg_start, 0x06)[1]])
            if digest is None:
                return None
            p = alg_end
            attrs_der = expected = None
            if data[p] == 0xA0:
                attrs_start, attrs_end = _header(data, p, 0xA0)
                attrs_der = (
                    b"\x31" + der.length(attrs_end - attrs_start) + data[attrs_start:attrs_end]
                )
                expected = _message_digest(data, attrs_start, attrs_end)
                if expected is None:
                    return None
                p = attrs_end
            sig_alg_start, sig_alg_end = _header(data, p, 0x30)
            sig_oid = data[sig_alg_start : _header(data, sig_alg_start, 0x06)[1]]
            if sig_oid not in _PKCS1_SIGNATURES:
                return None
            hash_name = _PKCS1_SIGNATURES[sig_oid] or digest
            sig_start, sig_end = _header(data, sig_alg_end, 0x04)
            p = sig_end
            if p < stop and data[p] == 0xA1:  # unsigned attributes
                p = _header(data, p, 0xA1)[1]
            if p != stop:
                return None
            found.append(
                _Signer(
                    digest=digest,
                    expected=expected,
                    attrs_der=attrs_der,
                    signature=data[sig_start:sig_end],
                    scheme=functools.partial(_pkcs1, hash_name),
                    matches=functools.partial(_sid_names, sid),
                )
            )
            pos = stop
    except (ValueError, IndexError):
        return None
    return found


def _pkcs1(hash_name: str) -> tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]:
    return padding.PKCS1v15(), hash_algorithm(hash_name)


def _sid_names(sid: bytes, cert: x509.Certificate) -> bool:
    return sid == _cert_parts(cert).issuer_and_serial


def _message_digest(data: bytes, pos: int, end: int) -> bytes | None:
    """The value of the message-digest attribute among the attributes in ``data[pos:end]``."""
    while pos < end:
        start, stop = _header(data, pos, 0x30)
        oid_end = _header(data, start, 0x06)[1]
        if data[start:oid_end] == _OID_MESSAGE_DIGEST:
            values_start, _ = _header(data, oid_end, 0x31)
            value_start, value_end = _header(data, values_start, 0x04)
            return data[value_start:value_end]
        pos = stop
    return None


def _slow_signer(signer: Any) -> _Signer:
    """A SignerInfo as asn1crypto read it (any shape; raises CmsError for what is unsupported)."""
    digest = _hash_name(signer["digest_algorithm"])
    attrs = signer["signed_attrs"]
    expected: bytes | None = None
    attrs_der: bytes | None = None
    if not isinstance(attrs, core.Void) and len(attrs):
        for attr in attrs:
            if attr["type"].native == "message_digest":
                expected = bytes(attr["values"][0].native)
        if expected is None:
            raise CmsError(INTEGRITY_CHECK_FAILED, "signed attributes carry no message digest")
        attrs_der = _signed_attrs_der(attrs)

    def scheme() -> tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]:
        sig_alg = signer["signature_algorithm"]
        if sig_alg.signature_algo == "rsassa_pss":
            params = sig_alg["parameters"]
            pss_hash = _hash_name(params["hash_algorithm"])
            mgf_hash = _hash_name(params["mask_gen_algorithm"]["parameters"])
            pad = padding.PSS(
                mgf=padding.MGF1(hash_algorithm(mgf_hash)),
                salt_length=int(params["salt_length"].native),
            )
            return pad, hash_algorithm(pss_hash)
        try:
            return padding.PKCS1v15(), hash_algorithm(sig_alg.hash_algo)
        except (ValueError, KeyError, CmsError):
            return padding.PKCS1v15(), hash_algorithm(digest)

    return _Signer(
        digest=digest,
        expected=expected,
        attrs_der=attrs_der,
        signature=bytes(signer["signature"].native),
        scheme=scheme,
        matches=functools.partial(_signer_matches, signer),
    )


def _signers(signature: bytes) -> list[Any]:
    """The signers of a SignedData: :class:`_Signer` when the fast reader took them, else
    asn1crypto SignerInfo objects (read with :func:`_slow_signer` when their turn comes)."""
    signer_infos = _signer_infos_der(signature)
    if signer_infos is not None:
        fast = _fast_signers(signer_infos)
        if fast:
            return list(fast)
    else:
        signed_data = _load_content_info(signature, "signed_data", INTEGRITY_CHECK_FAILED)
    try:
        if signer_infos is not None:
            return list(cms.SignerInfos.load(signer_infos))
        return list(signed_data["signer_infos"])
    except Exception as exc:
        raise CmsError(INTEGRITY_CHECK_FAILED, f"unreadable signer infos: {exc}") from exc


def verify_detached(
    candidates: Iterable[bytes], signature: bytes, certs: Iterable[x509.Certificate]
) -> Verified:
    """Verify the detached SignedData ``signature`` over the first of ``candidates`` (content as
    received, then canonical variants) whose digest matches, with any of ``certs``.

    CmsError modifier: "integrity-check-failed" when no candidate matches the signed digest,
    "authentication-failed" when the digest matches but no certificate verifies the signature.
    """
    signers = _signers(signature)
    content_variants = _Replay(candidates)
    cert_list = list(certs)
    if not cert_list:
        raise CmsError(
            AUTHENTICATION_FAILED,
            "no certificate configured for the partner to verify the signature",
        )
    if not signers:
        raise CmsError(INTEGRITY_CHECK_FAILED, "the signature has no signer")
    digest_matched = False
    for lazy in signers:
        signer = lazy if isinstance(lazy, _Signer) else _slow_signer(lazy)
        pairs: list[tuple[bytes, bytes]]
        if signer.expected is not None and signer.attrs_der is not None:
            expected = signer.expected
            matched = next(
                (
                    c
                    for c in content_variants
                    if hmac.compare_digest(_digest(signer.digest, c), expected)
                ),
                None,
            )
            if matched is None:
                continue
            pairs = [(matched, signer.attrs_der)]
            content_digest: bytes | None = expected
        else:
            # no signed attributes (Sterling B2Bi): the signature is over the content itself
            pairs = [(c, c) for c in content_variants]
            content_digest = None
        digest_matched = True
        pad, hash_alg = signer.scheme()
        ordered = (
            sorted(cert_list, key=lambda c: not signer.matches(c))
            if len(cert_list) > 1
            else cert_list
        )
        for cert in ordered:
            public = cert.public_key()
            if not isinstance(public, rsa.RSAPublicKey):
                continue
            for content, to_verify in pairs:
                try:
                    public.verify(signer.signature, to_verify, pad, hash_alg)
                except InvalidSignature:
                    continue
                return Verified(signer.digest, content, cert, content_digest)
    if digest_matched:
        subjects = "; ".join(c.subject.rfc4514_string() for c in cert_list)
        raise CmsError(
            AUTHENTICATION_FAILED,
            f"the signature does not verify with the partner certificate(s) {subjects}",
        )
    raise CmsError(
        INTEGRITY_CHECK_FAILED,
        "the signed content does not match the digest in the signature (altered in transit)",
    )


def verify_attached(signature: bytes, certs: Iterable[x509.Certificate]) -> Verified:
    """Verify an opaque SignedData (content inside, smime-type=signed-data) with any of
    ``certs``; ``Verified.content`` is the encapsulated content."""
    signed_data = _load_content_info(signature, "signed_data", INTEGRITY_CHECK_FAILED)
    try:
        content = signed_data["encap_content_info"]["content"].native
    except Exception as exc:
        raise CmsError(INTEGRITY_CHECK_FAILED, f"unreadable encapsulated content: {exc}") from exc
    if content is None:
        raise CmsError(INTEGRITY_CHECK_FAILED, "signed-data without content (detached signature)")
    return verify_detached([bytes(content)], signature, certs)


# --- EnvelopedData ----------------------------------------------------------------------------


def _cipher(name: str, key: bytes) -> CipherAlgorithm:
    if name == "3des":
        return TripleDES(key)
    return algorithms.AES(key)


def encrypt(
    content: bytes | Sequence[bytes],
    *,
    cert: x509.Certificate,
    cipher: str = "aes256-cbc",
    oaep: bool = False,
) -> bytes:
    """A CMS EnvelopedData (DER) of ``content`` (bytes, or pieces to encrypt as one) for
    ``cert``'s RSA key."""
    try:
        _, key_len, block = _CIPHER_OIDS[cipher]
    except KeyError:
        raise CmsError(
            UNEXPECTED_PROCESSING_ERROR,
            f"cipher {cipher!r} is not supported; use one of {', '.join(CIPHERS)}",
        ) from None
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise CmsError(
            UNEXPECTED_PROCESSING_ERROR,
            f"the partner certificate {cert.subject.rfc4514_string()} has no RSA key",
        )
    pieces = (content,) if isinstance(content, bytes) else content
    key = os.urandom(key_len)
    iv = os.urandom(block)
    encryptor = Cipher(_cipher(cipher, key), modes.CBC(iv)).encryptor()
    encrypted = [encryptor.update(piece) for piece in pieces]
    size = sum(len(piece) for piece in pieces)
    pad = block - size % block
    encrypted.append(encryptor.update(bytes((pad,)) * pad) + encryptor.finalize())
    if oaep:
        transport: padding.AsymmetricPadding = padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
        )
    else:
        transport = padding.PKCS1v15()
    encrypted_key = public.encrypt(key, transport)
    recipients = der.tlv(
        0x31,
        der.seq(
            _INT0,
            _cert_parts(cert).issuer_and_serial,
            _key_transport_der(oaep),
            der.octets(encrypted_key),
        ),
    )
    # lengths first, then one join: the ciphertext is copied once into the result
    ct_len = size + pad
    ct_head = b"\x80" + der.length(ct_len)
    alg = der.seq(_CIPHER_OID_DER[cipher], der.octets(iv))
    eci_len = len(_OID_DATA) + len(alg) + len(ct_head) + ct_len
    eci_head = b"\x30" + der.length(eci_len)
    env_len = len(_INT0) + len(recipients) + len(eci_head) + eci_len
    env_head = b"\x30" + der.length(env_len)
    a0_head = b"\xa0" + der.length(len(env_head) + env_len)
    ci_len = len(_OID_ENVELOPED_DATA) + len(a0_head) + len(env_head) + env_len
    return b"".join(
        (
            b"\x30",
            der.length(ci_len),
            _OID_ENVELOPED_DATA,
            a0_head,
            env_head,
            _INT0,
            recipients,
            eci_head,
            _OID_DATA,
            alg,
            ct_head,
            *encrypted,
        )
    )


@dataclass(frozen=True)
class Decrypted:
    """Decrypted content and what it was encrypted with."""

    content: bytes
    cipher: str
    key_transport: str


def _unwrap_key(ktri: Any, key: rsa.RSAPrivateKey) -> tuple[bytes, str]:
    alg = ktri["key_encryption_algorithm"]
    name = alg["algorithm"].native
    encrypted_key = bytes(ktri["encrypted_key"].native)
    if name == "rsaes_oaep":
        params = alg["parameters"]
        oaep_hash = hash_algorithm(_hash_name(params["hash_algorithm"]))
        mgf_hash = hash_algorithm(_hash_name(params["mask_gen_algorithm"]["parameters"]))
        label = params["p_source_algorithm"]["parameters"].native or None
        return key.decrypt(
            encrypted_key,
            padding.OAEP(mgf=padding.MGF1(mgf_hash), algorithm=oaep_hash, label=label),
        ), "rsa-oaep"
    if name == "rsaes_pkcs1v15":
        return key.decrypt(encrypted_key, padding.PKCS1v15()), "rsa-pkcs1v15"
    raise CmsError(
        DECRYPTION_FAILED,
        f"key transport {name!r} is not supported (RSA PKCS#1 v1.5 or RSAES-OAEP)",
    )


def _header(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    """(content start, content end) of the definite-length element with ``tag`` at ``pos``."""
    if data[pos] != tag:
        raise ValueError(f"tag {data[pos]:#x} at {pos}, expected {tag:#x}")
    first = data[pos + 1]
    if first < 0x80:
        return pos + 2, pos + 2 + first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise ValueError("indefinite or oversized length")
    start = pos + 2 + count
    return start, start + int.from_bytes(data[pos + 2 : start], "big")


def _enveloped_parts(data: bytes) -> tuple[bytes, bytes, memoryview] | None:
    """(RecipientInfos DER, content AlgorithmIdentifier DER, ciphertext view) of a definite-length
    EnvelopedData, found by walking the few fixed headers without copying the ciphertext; None
    for anything else (BER indefinite lengths, chunked content), which asn1crypto then reads."""
    try:
        start, end = _header(data, 0, 0x30)
        if (
            end != len(data)
            or data[start : start + len(_OID_ENVELOPED_DATA)] != _OID_ENVELOPED_DATA
        ):
            return None
        start, _ = _header(data, start + len(_OID_ENVELOPED_DATA), 0xA0)
        pos, _ = _header(data, start, 0x30)
        pos = _header(data, pos, 0x02)[1]  # version
        if data[pos] == 0xA0:  # originatorInfo
            return None
        ri_end = _header(data, pos, 0x31)[1]
        recipients = data[pos:ri_end]
        pos, _ = _header(data, ri_end, 0x30)  # EncryptedContentInfo
        pos = _header(data, pos, 0x06)[1]  # content type
        alg_end = _header(data, pos, 0x30)[1]
        alg = data[pos:alg_end]
        ct_start, ct_end = _header(data, alg_end, 0x80)
        if ct_end > len(data):
            return None
    except (ValueError, IndexError):
        return None
    return recipients, alg, memoryview(data)[ct_start:ct_end]


@dataclass(frozen=True)
class _Recipient:
    """One key transport recipient: its issuer-and-serial id (DER; None for a key identifier)
    and how to unwrap the content key with our private key."""

    rid: bytes | None
    unwrap: Callable[[rsa.RSAPrivateKey], tuple[bytes, str]]


def _pkcs1_unwrap(encrypted_key: bytes, key: rsa.RSAPrivateKey) -> tuple[bytes, str]:
    return key.decrypt(encrypted_key, padding.PKCS1v15()), "rsa-pkcs1v15"


def _fast_recipients(data: bytes) -> list[_Recipient] | None:
    """The key transport recipients of a RecipientInfos DER read by walking its headers (other
    recipient kinds are skipped, as below); OAEP ones are handed to asn1crypto one by one. None
    when the structure is not the plain definite-length shape (asn1crypto then reads it)."""
    try:
        pos, end = _header(data, 0, 0x31)
        if end != len(data):
            return None
        found: list[_Recipient] = []
        while pos < end:
            if data[pos] != 0x30:  # kari [1], kekri [2], pwri [3], ori [4]: not ours to open
                pos = _header(data, pos, data[pos])[1]
                continue
            start, stop = _header(data, pos, 0x30)
            p = _header(data, start, 0x02)[1]  # version
            rid_tag = data[p]
            rid_end = _header(data, p, rid_tag)[1]
            rid = data[p:rid_end] if rid_tag == 0x30 else None
            alg_start, alg_end = _header(data, rid_end, 0x30)
            alg_oid = data[alg_start : _header(data, alg_start, 0x06)[1]]
            key_start, key_end = _header(data, alg_end, 0x04)
            if key_end != stop:
                return None
            if alg_oid == _OID_RSA:
                unwrap = functools.partial(_pkcs1_unwrap, data[key_start:key_end])
            else:
                ktri = cms.KeyTransRecipientInfo.load(data[pos:stop])
                unwrap = functools.partial(_unwrap_key, ktri)
            found.append(_Recipient(rid, unwrap))
            pos = stop
    except (ValueError, IndexError):
        return None
    return found


def _fast_content_alg(data: bytes) -> tuple[str, bytes] | None:
    """(cipher, IV) of a content-encryption AlgorithmIdentifier DER for the CBC ciphers we
    accept; None for anything else (asn1crypto then names it in the error)."""
    try:
        start, end = _header(data, 0, 0x30)
        oid_end = _header(data, start, 0x06)[1]
        cipher = _CIPHER_BY_OID.get(data[start:oid_end])
        iv_start, iv_end = _header(data, oid_end, 0x04)
    except (ValueError, IndexError):
        return None
    if cipher is None or iv_end != end or end != len(data):
        return None
    return cipher, data[iv_start:iv_end]


def _slow_recipient(ktri: Any) -> _Recipient:
    rid = ktri["rid"]
    named = rid.chosen.dump() if rid.name == "issuer_and_serial_number" else None
    return _Recipient(named, functools.partial(_unwrap_key, ktri))


def _read_enveloped(data: bytes) -> tuple[str, bytes, list[_Recipient], bytes | memoryview]:
    """(cipher, IV, key transport recipients, ciphertext) of an EnvelopedData."""
    fast = _enveloped_parts(data)
    if fast is not None:
        content_alg = _fast_content_alg(fast[1])
        recipients = _fast_recipients(fast[0])
        if content_alg is not None and recipients is not None:
            return content_alg[0], content_alg[1], recipients, fast[2]
    try:
        if fast is not None:
            recipient_infos = cms.RecipientInfos.load(fast[0])
            alg = algos.EncryptionAlgorithm.load(fast[1])
            ciphertext: bytes | memoryview | None = fast[2]
        else:
            enveloped = _load_content_info(data, "enveloped_data", DECRYPTION_FAILED)
            recipient_infos = enveloped["recipient_infos"]
            eci = enveloped["encrypted_content_info"]
            alg = eci["content_encryption_algorithm"]
            ciphertext = eci["encrypted_content"].native
        alg_name = alg["algorithm"].native
        slow = [_slow_recipient(ri.chosen) for ri in recipient_infos if ri.name == "ktri"]
    except CmsError:
        raise
    except Exception as exc:
        raise CmsError(DECRYPTION_FAILED, f"unreadable EnvelopedData: {exc}") from exc
    cipher = {
        "aes128_cbc": "aes128-cbc",
        "aes192_cbc": "aes192-cbc",
        "aes256_cbc": "aes256-cbc",
        "tripledes_3key": "3des",
    }.get(alg_name)
    if cipher is None:
        raise CmsError(
            DECRYPTION_FAILED,
            f"content cipher {alg_name!r} is not supported; accepted: {', '.join(CIPHERS)}",
        )
    if ciphertext is None:
        raise CmsError(DECRYPTION_FAILED, "EnvelopedData carries no encrypted content")
    return cipher, bytes(alg["parameters"].native), slow, ciphertext


def decrypt(
    data: bytes, *, key: rsa.RSAPrivateKey, cert: x509.Certificate | None = None
) -> Decrypted:
    """Decrypt a CMS EnvelopedData with ``key``; recipient infos naming ``cert`` are tried first.

    CmsError("decryption-failed") when no recipient info opens with the key or the content
    does not decrypt.
    """
    cipher, iv, recipients, ciphertext = _read_enveloped(data)
    _, key_len, block = _CIPHER_OIDS[cipher]
    if cert is not None and len(recipients) > 1:
        ours = _cert_parts(cert).issuer_and_serial
        recipients.sort(key=lambda r: r.rid != ours)
    last = "no RSA key transport recipient in the message"
    for recipient in recipients:
        try:
            content_key, transport = recipient.unwrap(key)
        except (ValueError, TypeError) as exc:
            reason = exc or type(exc).__name__
            last = f"the content key does not decrypt with our private key ({reason})"
            continue
        if len(content_key) != key_len or len(ciphertext) % block or len(iv) != block:
            last = "the content key does not decrypt with our private key (wrong key length)"
            continue
        decryptor = Cipher(_cipher(cipher, content_key), modes.CBC(iv)).decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        pad = plain[-1] if plain else 0
        if not 1 <= pad <= block or plain[-pad:] != bytes((pad,)) * pad:
            last = "the content does not decrypt (bad padding: wrong key or altered message)"
            continue
        return Decrypted(content=plain[:-pad], cipher=cipher, key_transport=transport)
    raise CmsError(DECRYPTION_FAILED, last)


# --- CompressedData (RFC 3274) ----------------------------------------------------------------


def compress(content: bytes) -> bytes:
    """A CMS CompressedData (zlib, RFC 3274) of ``content``."""
    inner = der.seq(_OID_DATA, der.tlv(0xA0, der.octets(zlib.compress(content))))
    return der.seq(_OID_COMPRESSED_DATA, der.tlv(0xA0, der.seq(_INT0, _ALG_ZLIB, inner)))


#: inflated bytes produced per step: memory grows by at most this much between two checks
INFLATE_CHUNK = 1024 * 1024
#: the smallest inflate limit, whatever the compressed size (a small message may compress well)
MIN_INFLATE_LIMIT = 4 * 1024 * 1024
#: the largest inflate ratio a compressed message is allowed before the size limit
MAX_INFLATE_RATIO = 100


def inflate_limit(compressed_size: int, max_size: int) -> int:
    """How many bytes a CompressedData of ``compressed_size`` bytes may inflate to:
    ``min(max_size, max(4 MiB, 100 x compressed_size))`` (``max_size``: the channel's largest
    document)."""
    return min(max_size, max(MIN_INFLATE_LIMIT, MAX_INFLATE_RATIO * compressed_size))


def decompress(data: bytes, *, max_size: int | None = None) -> bytes:
    """The content of a CMS CompressedData; CmsError("decompression-failed") otherwise.

    ``max_size`` (the channel's largest document; None: no limit) caps the inflated content at
    :func:`inflate_limit`: it is inflated in steps of at most :data:`INFLATE_CHUNK` bytes and
    refused as soon as it passes the cap, so a compression bomb costs at most the cap in
    memory, never its inflated size."""
    compressed = _load_content_info(data, "compressed_data", DECOMPRESSION_FAILED)
    try:
        alg = compressed["compression_algorithm"]["algorithm"].native
        if alg != "zlib":
            raise CmsError(
                DECOMPRESSION_FAILED, f"compression algorithm {alg!r} is not supported (zlib only)"
            )
        packed = bytes(compressed["encap_content_info"]["content"].native)
    except CmsError:
        raise
    except Exception as exc:
        raise CmsError(
            DECOMPRESSION_FAILED, f"the compressed content does not inflate: {exc}"
        ) from exc
    limit = None if max_size is None else inflate_limit(len(packed), max_size)
    return _inflate(packed, limit)


def _inflate(packed: bytes, limit: int | None) -> bytes:
    inflater = zlib.decompressobj()
    pieces: list[bytes] = []
    size = 0
    pending = packed
    try:
        while True:
            piece = inflater.decompress(pending, INFLATE_CHUNK)
            pending = inflater.unconsumed_tail
            size += len(piece)
            if limit is not None and size > limit:
                raise CmsError(
                    DECOMPRESSION_FAILED,
                    f"the compressed content ({len(packed)} bytes) inflates to more than "
                    f"{limit} bytes, the limit for it (at most {MAX_INFLATE_RATIO} times its "
                    "size, at least 4 MiB, at most the channel's largest document); refused "
                    "unread",
                )
            pieces.append(piece)
            if inflater.eof or (not piece and not pending):
                break
        if not inflater.eof:
            raise CmsError(
                DECOMPRESSION_FAILED, "the compressed content does not inflate: it is truncated"
            )
    except zlib.error as exc:
        raise CmsError(
            DECOMPRESSION_FAILED, f"the compressed content does not inflate: {exc}"
        ) from exc
    return b"".join(pieces)


def content_type_of(data: bytes) -> str | None:
    """The CMS content type ("enveloped_data", "compressed_data", "signed_data") or None."""
    try:
        return str(cms.ContentInfo.load(data)["content_type"].native)
    except Exception:
        return None

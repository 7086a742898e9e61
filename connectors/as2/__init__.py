"""AS2 (RFC 4130) message layer on PyCA ``cryptography`` and ``asn1crypto``.

Why our own layer instead of pyas2lib
-------------------------------------
pyas2lib is the usual Python AS2 library, but 1.4.x pins ``oscrypto`` 1.3.0, which refuses to
load on OpenSSL 3.0.10 and later (wbond/oscrypto#75, #78): it cannot be imported on any
current distribution. Patching installed files or depending on an unknown fork is not an
option for a gateway that holds signing keys. What AS2 needs from cryptography is small and
well specified:

* CMS (RFC 5652) SignedData (detached), EnvelopedData (RSA key transport) and CompressedData
  (RFC 3274): a handful of fixed ASN.1 shapes. We write them with a few lines of DER
  (``der.py``: constant parts pre-encoded with asn1crypto, per-certificate parts cached) and
  read them with asn1crypto, which accepts the BER that mendelson, Sterling B2Bi and others
  send (indefinite lengths, chunked octet strings).
* RSA PKCS#1 v1.5 / PSS signatures, RSAES PKCS#1 v1.5 / OAEP, AES-CBC and 3DES: all in
  ``cryptography`` (3DES from its ``decrepit`` module), backed by the system OpenSSL 3.
* MIME: the standard ``email`` package re-serialises what it parses (line ends, folding),
  which breaks signatures; ``mime.py`` keeps every part as the exact bytes received and builds
  entities with CRLF, so the MIC and the signature cover the same bytes on both sides.

The result has no dependency beyond those the gateway already uses, is typed end to end
(``mypy --strict``), maps every failure to an RFC 4130 disposition modifier
(``errors.As2MessageError.modifier``), and is fast: no certificate is parsed per message,
base64 goes through ``binascii``, and the hot path builds DER by concatenation
(see ``bench/as2.py`` for messages/s against RSA-2048 signing alone).

Checked against other implementations: every mendelson AS2 capture in the interop set
(encrypted 3DES, signed, signed+encrypted, compressed, compressed+signed+encrypted; mendelson
puts the bare payload, without MIME headers, inside an encrypted-only message), IBM Sterling
B2Bi's signed+compressed message (a signature without signed attributes; like mendelson's
signed capture, its MIME header lines lost their CRs and verify in canonical CRLF form) and
its signed MDN, mendelson's signed and error MDNs, and the
``openssl cms`` command line in both directions for every digest, padding, cipher and key
transport.

Modules: ``message`` (build_message, open_message), ``mdn`` (build_mdn, parse_mdn, mdn_ack),
``certs`` (load, validity, expiry warnings), ``cms``, ``mime``, ``der``, ``errors``.
"""

from connectors.as2.errors import As2Error, As2MessageError, MdnError
from connectors.as2.mdn import BuiltMdn, Disposition, Mdn, build_mdn, mdn_ack, parse_mdn
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    MdnRequest,
    Mic,
    OpenedMessage,
    OutboundMessage,
    SendOptions,
    build_message,
    open_message,
)

__all__ = [
    "As2Error",
    "As2Identity",
    "As2MessageError",
    "As2Partner",
    "BuiltMdn",
    "Disposition",
    "Mdn",
    "MdnError",
    "MdnRequest",
    "Mic",
    "OpenedMessage",
    "OutboundMessage",
    "SendOptions",
    "build_mdn",
    "build_message",
    "mdn_ack",
    "open_message",
    "parse_mdn",
]

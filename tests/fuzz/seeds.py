"""Seed corpora for the fuzz targets: the repository's samples and golden files (our own
outputs), ../shared's official samples where that folder exists, and acks, answers, AS2
messages and MDNs built here with the gateway's own builders."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"

_FILES: dict[str, tuple[tuple[Path, str], ...]] = {
    "ubl": (
        (ROOT / "tests/golden/ubl", "*.xml"),
        (ROOT / "tests/golden/examples", "**/*ubl*.xml"),
        (ROOT / "tests/golden/examples/peppol-bis3", "*.xml"),
        (SHARED / "conformance/samples/ubl", "**/*.xml"),
    ),
    "cii": (
        (ROOT / "tests/golden/cii", "*.xml"),
        (ROOT / "tests/golden/examples/xrechnung-cii", "*.xml"),
        (SHARED / "conformance/samples/cii", "**/*.xml"),
    ),
    "cxml": ((ROOT / "tests/golden/cxml", "*.xml"), (SHARED / "conformance/samples/cxml", "*")),
    "edifact": (
        (ROOT / "tests/golden/edifact", "*.edi"),
        (ROOT / "examples/eancom", "*.edi"),
        (SHARED / "conformance/samples/edifact", "**/*.edi"),
        (SHARED / "interop/edifact", "**/*.edi"),
    ),
    "as2-message": ((SHARED / "interop/as2", "*.as2"), (SHARED / "interop/as2", "*.msg")),
    "as2-mdn": ((SHARED / "interop/as2", "*.mdn"),),
}

ENVELOPE_AT = dt.datetime(2025, 3, 23, 9, 30)


def _files(kind: str) -> Iterator[bytes]:
    for folder, pattern in _FILES.get(kind, ()):
        if folder.is_dir():
            for path in sorted(folder.glob(pattern)):
                if path.is_file():
                    yield path.read_bytes()


def _contrl() -> Iterator[bytes]:
    from gateway.envelope import Envelope
    from mappings.edifact.contrl import build_contrl

    for k, data in enumerate(_files("edifact")):
        for broken in (data, data.replace(b"'", b"'XYZ+1'", 1), data[: len(data) // 2]):
            try:
                yield build_contrl(
                    broken,
                    our_id="4000000000017",
                    our_qualifier="14",
                    envelope=Envelope(f"C{k}", ENVELOPE_AT),
                )
            except Exception:  # a sample without a readable UNB has nobody to answer
                continue


def _aperak() -> Iterator[bytes]:
    head = "UNA:+.? 'UNB+UNOC:3+4000000000017:14+5412345000013:14+250322:1200+9'"
    for function, erc in (("9", "1"), ("27", "XYZ"), ("23", "0"), ("44", "12")):
        yield (
            f"{head}UNH+1+APERAK:D:96A:UN:EAN001'BGM+23+X1+{function}'"
            "DTM+137:202503221200:203'RFF+IV:INV-1'DTM+171:20250320:102'"
            "NAD+MS+5412345000013::9'NAD+MR+4000000000017::9'"
            f"ERC+{erc}'FTX+AAO+++Order number unknown?: 4711'RFF+ACW:ICR9'"
            "UNT+11+1'UNZ+1+9'"
        ).encode("latin-1")


_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.060/cXML.dtd">\n'
    '<cXML payloadID="1.2@ariba.example" timestamp="2026-11-24T12:30:05+00:00"{reply}>'
    '<Response><Status code="{code}" text="{text}" xml:lang="en-US">{detail}</Status>'
    "</Response></cXML>"
)
_UPDATE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<cXML payloadID="3.4@buyer.example" timestamp="2026-11-25T09:10:05-08:00">'
    '<Header><From><Credential domain="NetworkID"><Identity>AN01</Identity></Credential>'
    '</From><To><Credential domain="NetworkID"><Identity>AN02</Identity></Credential></To>'
    '<Sender><Credential domain="NetworkID"><Identity>AN01</Identity></Credential></Sender>'
    '</Header><Request><StatusUpdateRequest><DocumentReference payloadID="p1@us"/>'
    '<Status code="{code}" text="{text}" xml:lang="en-US"/>{status}'
    "</StatusUpdateRequest></Request></cXML>"
)


def _cxml_status() -> Iterator[bytes]:
    for code, text in (("200", "OK"), ("201", "Accepted"), ("400", "Bad Request"), ("500", "")):
        for reply in ("", ' inReplyTo="p1@us"'):
            yield _RESPONSE.format(reply=reply, code=code, text=text, detail="details").encode()
    for kind in ("processing", "paid", "rejected", None):
        status = (
            f'<InvoiceStatus type="{kind}"><InvoiceIDInfo invoiceID="INV-1"/>'
            "<Comments>PO unknown</Comments></InvoiceStatus>"
            if kind
            else ""
        )
        yield _UPDATE.format(code="200", text="OK", status=status).encode()


def _portal_status() -> Iterator[bytes]:
    entries = [
        {
            "id": f"evt-{k}",
            "object": "invoice_status",
            "invoice_id": f"inv-{k}",
            "invoice_number": f"INV-{k}",
            "status": status,
            "reason": "PO number unknown" if status == "rejected" else None,
            "at": "2026-11-24T12:00:00+00:00",
        }
        for k, status in enumerate(("received", "accepted", "paid", "rejected"))
    ]
    for entry in entries:
        yield json.dumps(entry).encode()
    yield json.dumps({"items": entries, "status": "ok", "data": [{"id": "r1"}]}).encode()
    yield json.dumps(entries).encode()


def _http(headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def _as2_message() -> Iterator[bytes]:
    from connectors.as2.message import As2Partner, SendOptions, build_message
    from fuzz.targets import as2_parties

    partner, us = as2_parties()
    payload = next(_files("edifact"), b"UNB+UNOC:3+A+B+250322:1200+9'UNZ+0+9'")
    for k, options in enumerate(
        (
            SendOptions(sign=None, encrypt=None),
            SendOptions(sign=None, encrypt=None, compress=True),
            SendOptions(encrypt=None),
            SendOptions(),
        )
    ):
        out = build_message(
            payload,
            content_type="application/edifact",
            filename="invoice.edi",
            sender=partner,
            receiver=As2Partner(us.as2_id, (us.cert,)),
            options=options,
            message_id=f"m{k}@fuzz",
            now=ENVELOPE_AT.replace(tzinfo=dt.UTC),
        )
        yield _http(out.headers, out.body)
    yield from _files("as2-message")


def _as2_mdn() -> Iterator[bytes]:
    from connectors.as2.mdn import Disposition, build_mdn
    from connectors.as2.message import MdnRequest, Mic
    from fuzz.targets import as2_parties

    partner, us = as2_parties()
    for signed in (False, True):
        for disposition in (
            Disposition(),
            Disposition(severity="error", modifier="decryption-failed"),
        ):
            built = build_mdn(
                original_message_id="m1@fuzz",
                original_recipient=us.as2_id,
                sender=partner,
                receiver_id=us.as2_id,
                disposition=disposition,
                mic=Mic.of(b"payload", "sha256"),
                request=MdnRequest(
                    signed=signed, digest="sha256", async_url=None, return_to=us.as2_id
                ),
                text="The message was received.",
                now=ENVELOPE_AT.replace(tzinfo=dt.UTC),
            )
            yield _http(built.headers, built.body)
    yield from _files("as2-mdn")


_BUILT: dict[str, Callable[[], Iterator[bytes]]] = {
    "contrl": _contrl,
    "aperak": _aperak,
    "cxml-status": _cxml_status,
    "portal-status": _portal_status,
    "as2-message": _as2_message,
    "as2-mdn": _as2_mdn,
}


def seeds(kinds: tuple[str, ...]) -> list[bytes]:
    """The seed inputs of ``kinds``, duplicates removed, in a stable order."""
    found: dict[bytes, None] = {}
    for kind in kinds:
        source = _BUILT.get(kind)
        for data in source() if source is not None else _files(kind):
            found.setdefault(data, None)
    return list(found)

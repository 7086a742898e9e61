"""AS2 layer robustness: damaged messages and MDNs (seeded random byte changes, truncation)
only ever raise the layer's own errors, never a foreign exception."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from as2_keys import identity

from connectors.as2.errors import As2MessageError, MdnError
from connectors.as2.mdn import Disposition, build_mdn, parse_mdn
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    MdnRequest,
    SendOptions,
    build_message,
    open_message,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def _damaged(data: bytes, rng: random.Random) -> bytes:
    """``data`` with a few random bytes changed, or cut short."""
    if rng.random() < 0.2:
        return data[: rng.randrange(len(data))]
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


@pytest.mark.parametrize(
    "options",
    [
        SendOptions(),
        SendOptions(encrypt=None, compress=True),
        SendOptions(sign=None, encrypt="3des"),
    ],
)
def test_damaged_messages_raise_only_as2_message_error(options: SendOptions) -> None:
    """300 damaged copies: each raises As2MessageError, or (signed) opens to the exact payload."""
    sender = As2Identity("A", *identity("A"))
    receiver = As2Identity("B", *identity("B"))
    out = build_message(
        b"payload " * 100,
        content_type="application/edi-x12",
        filename="f.x12",
        sender=sender,
        receiver=As2Partner("B", (receiver.cert,)),
        options=options,
        message_id="m@a",
        now=NOW,
    )
    partner = As2Partner(
        "A",
        (sender.cert,),
        require_signed=bool(options.sign),
        require_encrypted=bool(options.encrypt),
    )
    rng = random.Random(4130)
    errors = 0
    for _ in range(300):
        try:
            opened = open_message(
                out.headers, _damaged(out.body, rng), local=receiver, partner_for=lambda _n: partner
            )
        except As2MessageError as exc:
            assert exc.modifier and exc.message_id == "m@a"
            errors += 1
        else:
            # CBC has no integrity of its own: garbled plaintext can even lose the signed
            # structure, so only the partner's require_signed keeps damage out
            if options.sign:
                assert opened.signed and opened.payload == b"payload " * 100
    assert errors > (250 if options.sign else 50)


def test_damaged_mdns_raise_only_mdn_error() -> None:
    """300 damaged copies of a signed MDN: each raises MdnError or still reads (damage outside
    the signed part), never anything else."""
    buyer = As2Identity("B", *identity("B"))
    built = build_mdn(
        original_message_id="m@a",
        original_recipient="B",
        sender=buyer,
        receiver_id="A",
        disposition=Disposition(),
        mic=None,
        request=MdnRequest(signed=True, digest="sha256", async_url=None, return_to="A"),
        now=NOW,
    )
    partner = As2Partner("B", (buyer.cert,))
    rng = random.Random(3798)
    for _ in range(300):
        try:
            mdn = parse_mdn(built.headers, _damaged(built.body, rng), partner=partner)
        except MdnError:
            continue
        assert mdn.signature_verified and mdn.original_message_id == "m@a"

"""Compression bombs at the AS2 endpoint (issue 10): a 1 MB unsigned, compressed message naming
a known partner is refused by the partner's security requirements before anything is inflated,
and compressed content is inflated in steps under a cap, so memory stays bounded."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from as2_peer import compressed_message, compression_bomb, endpoint_config
from connector_harness import clock
from store_backends import sqlite_url

from connectors.as2 import cms
from connectors.as2.errors import As2MessageError
from connectors.as2.message import open_message
from gateway.as2.config import As2Config
from gateway.store import Store
from gateway.store.inbound import list_inbound, list_refusals
from gateway.web.as2.endpoint import Answer, Endpoint, receive_message

MiB = 1 << 20


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 1 MB of zlib that inflates to 1 GiB of zeros."""
    packed = compression_bomb(1024)
    assert 900_000 < len(packed) < 1_200_000
    return packed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    yield opened
    opened.close()


def peak_growth(call: Callable[[], object]) -> tuple[object, int]:
    """``call()``'s result and the peak of memory it allocated on top of what was there
    (tracemalloc: every Python and zlib allocation)."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - base


def receive(store: Store, config: As2Config, message: tuple[dict[str, str], bytes]) -> Answer:
    """What the endpoint answers ``message`` with."""
    endpoint = Endpoint(store=store, config=config, clock=clock)
    return receive_message(endpoint, message[0], message[1])


def test_unsigned_bomb_is_refused_before_inflating(store: Store, bomb: bytes) -> None:
    """A 1 MB unsigned compressed message (1 GiB inflated) from a partner that requires
    signed and encrypted messages: an error MDN insufficient-message-security, nothing
    inflated (peak memory growth a few MB, not the 1 GiB), the refusal stored."""
    message = compressed_message("bomb-1@ACME", bomb)
    answer, peak = peak_growth(lambda: receive(store, endpoint_config(), message))
    assert isinstance(answer, Answer) and answer.status == 200
    assert b"processed/error: insufficient-message-security" in answer.body
    assert b"refused before inflating" in answer.body
    assert peak < 24 * MiB, f"peak memory growth {peak / MiB:.1f} MiB"
    [refusal] = list_refusals(store)
    assert refusal.reason == "insufficient-message-security"
    assert list_inbound(store) == []


def test_bomb_from_a_partner_without_requirements_stops_at_the_cap(
    store: Store, bomb: bytes
) -> None:
    """The same bomb from a partner that allows unsigned, unencrypted messages is inflated
    only up to its cap — min(100 MB channel max_size, max(4 MiB, 100 x 1 MB)) — and refused
    decompression-failed; peak memory growth stays near the cap, far from 1 GiB."""
    config = endpoint_config(require_signed=False, require_encrypted=False)
    message = compressed_message("bomb-2@ACME", bomb)
    answer, peak = peak_growth(lambda: receive(store, config, message))
    assert isinstance(answer, Answer) and answer.status == 200
    assert b"processed/error: decompression-failed" in answer.body
    assert peak < 100_000_000 + 24 * MiB, f"peak memory growth {peak / MiB:.1f} MiB"
    assert [r.reason for r in list_refusals(store)] == ["decompression-failed"]


def test_the_ratio_cap_refuses_a_small_bomb_early(store: Store) -> None:
    """64 KB inflating to 64 MiB (ratio 1,000) is refused at max(4 MiB, 100 x 64 KB) =
    6.5 MB: peak memory growth a few MB above that, and the channel's max_size is lower still
    when set (here 5 MB: refused at 5 MB)."""
    packed = compression_bomb(64)
    assert cms.inflate_limit(len(packed), 100_000_000) == 100 * len(packed)
    config = endpoint_config(require_signed=False, require_encrypted=False)
    answer, peak = peak_growth(
        lambda: receive(store, config, compressed_message("small-1@ACME", packed))
    )
    assert isinstance(answer, Answer) and b"processed/error: decompression-failed" in answer.body
    assert peak < 100 * len(packed) + 16 * MiB
    assert cms.inflate_limit(len(packed), 5_000_000) == 5_000_000


def test_decompress_refuses_past_the_limit_with_a_clear_reason() -> None:
    """cms.decompress with a max_size: a CmsError decompression-failed naming the compressed
    size and the limit; without one (the old call), it would inflate everything."""
    data = compressed_message("x@ACME", compression_bomb(16))[1]
    with pytest.raises(cms.CmsError) as caught:
        cms.decompress(data, max_size=100_000_000)
    assert caught.value.modifier == "decompression-failed"
    assert "inflates to more than 4194304 bytes" in caught.value.text
    assert len(cms.decompress(data)) == 16 * MiB  # no max_size: no cap (callers set one)


def test_a_document_within_the_cap_still_inflates() -> None:
    """A compressed 3 MiB document (under the 4 MiB floor) inflates to the same bytes; a
    truncated stream is decompression-failed, not a foreign zlib error."""
    document = b"".join(b"<Line><ID>%d</ID><Qty>1</Qty></Line>\n" % i for i in range(80_000))
    assert len(document) > 3 * MiB
    packed = cms.compress(document)
    assert cms.decompress(packed, max_size=100_000_000) == document
    truncated = compressed_message("t@ACME", compression_bomb(2)[:-200])[1]
    with pytest.raises(cms.CmsError, match="does not inflate") as caught:
        cms.decompress(truncated, max_size=100_000_000)
    assert caught.value.modifier == "decompression-failed"


def test_compression_inside_compression_is_refused() -> None:
    """A second compression layer inside the first (a way round the per-layer cap) is refused
    decompression-failed."""
    inner = cms.compress(
        b"Content-Type: application/pkcs7-mime; smime-type=compressed-data\r\n\r\n"
        + cms.compress(b"Content-Type: text/plain\r\n\r\nhello")
    )
    headers, _ = compressed_message("nest-1@ACME", b"")
    config = endpoint_config(require_signed=False, require_encrypted=False)
    with pytest.raises(As2MessageError) as caught:
        open_message(
            headers,
            inner,
            local=config.identity,
            partner_for=config.partner_for,
            max_size=config.max_size,
        )
    assert caught.value.modifier == "decompression-failed"
    assert "one compression layer" in caught.value.text

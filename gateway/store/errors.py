"""Errors the store raises; each names the record (seller, invoice number, delivery id)."""

from __future__ import annotations

from gateway.errors import GatewayError


class StoreError(GatewayError):
    """Root of the store's own errors."""


class DuplicateInvoice(StoreError):
    """The same invoice number was submitted again for the same seller with different content."""

    def __init__(self, seller_key: str, number: str, stored_hash: str, new_hash: str) -> None:
        self.seller_key = seller_key
        self.number = number
        self.stored_hash = stored_hash
        self.new_hash = new_hash
        super().__init__(
            f"{number}: invoice number (BT-1) already accepted for seller {seller_key!r} with "
            f"different content (stored sha256 {stored_hash}, submitted sha256 {new_hash}); "
            "accepted: the identical invoice again (idempotent), or a new invoice number"
        )


class IllegalTransition(StoreError):
    """A delivery state change that the state table does not allow."""

    def __init__(self, delivery_id: int, old: str, new: str, allowed: list[str]) -> None:
        self.delivery_id = delivery_id
        self.old = old
        self.new = new
        super().__init__(
            f"delivery {delivery_id}: state {old} -> {new} is not allowed; "
            f"accepted from {old}: {', '.join(allowed) or 'nothing (final state)'}"
        )


class UnknownDelivery(StoreError):
    """No delivery with that id."""

    def __init__(self, delivery_id: int) -> None:
        self.delivery_id = delivery_id
        super().__init__(f"delivery {delivery_id}: no such delivery in the store")


class ClaimLost(StoreError):
    """A worker acted on a delivery it no longer holds (its claim expired and was taken over)."""

    def __init__(self, delivery_id: int, worker_id: str, holder: str | None) -> None:
        self.delivery_id = delivery_id
        self.worker_id = worker_id
        super().__init__(
            f"delivery {delivery_id}: worker {worker_id!r} does not hold the claim "
            f"(held by {holder!r}); accepted: only the claiming worker records its attempt"
        )

"""BuyerProfile: what a buyer wants (format now; channel, consolidation and proof policy later)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BuyerProfile(BaseModel):
    """A buyer's choices. Mappings read only ``format`` and ``options``.

    ``options`` holds mapping-specific settings (e.g. EDIFACT sender ids), validated by the mapping.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    format: str = "peppol-bis3"
    options: dict[str, str] = Field(default_factory=dict)


DEFAULT_PROFILE = BuyerProfile()

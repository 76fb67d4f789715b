"""Entitlements' request/response bodies and use-case results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EntitlementView:
    """One entitlement as downloads and exports see it."""

    id: str
    user_id: str
    content_id: str
    vtuber_id: str
    gacha_id: str | None
    item_id: str
    rarity: str
    count: int  # how many times the fan won this item (duplicates)
    serial: int | None  # No. serial / serial_of for limited items
    serial_of: int | None
    status: str  # live | revoked
    granted_at: datetime

"""Entitlements' request/response bodies and use-case results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field


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
    limited: bool = False
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What handling one event did (tests and logs read it)."""

    granted: int = 0  # slots granted now
    duplicates: int = 0  # slots already granted earlier (a redelivery)
    skipped: int = 0  # slots of a draw reversed before its grant arrived
    revoked: int = 0  # grants revoked now
    rejected: bool = False  # the payload broke the contract


class CollectionItem(BaseModel):
    """One thing the fan owns (``GET /api/v1/collection``)."""

    id: str = Field(description="The entitlement id (downloads take it)")
    item_id: str
    gacha_id: str
    vtuber_id: str
    content_id: str
    title: str | None = Field(description="The content's title; null while it is unknown")
    kind: str | None = Field(description="image | audio | video | pdf; null while unknown")
    preview_url: str | None = Field(description="The public preview, if the content has one")
    rarity: str
    count: int = Field(description="How many times the fan won it (duplicates)")
    limited: bool
    serial: int | None = Field(description="The copy's number of a limited item")
    serial_of: int | None = Field(description="How many copies exist, when known")
    serial_label: str | None = Field(description="e.g. 'No. 12/100'")
    status: str = Field(description="live | revoked (a reversed draw's items are revoked)")
    granted_at: datetime
    revoked_at: datetime | None = None


class CollectionPage(BaseModel):
    items: list[CollectionItem]
    next_cursor: str | None

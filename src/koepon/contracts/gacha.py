"""What the gacha service publishes for other services (rewards grants items from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from koepon.contracts import Event
from koepon.contracts.vtuber import RevenueShare

Rarity = Literal["N", "R", "SR", "SSR", "UR"]


class DrawnItem(BaseModel):
    """One slot of a completed draw: the item won (a rewards content) and how it was drawn."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    slot: int
    item_id: str
    content_id: str
    rarity: Rarity
    nonce: int
    # Serial-numbered (stock-limited) items come only from boxes (COMPLIANCE G5).
    limited: bool = False
    # A limited item's total copies (its box stock): the serial reads "No. 12/100".
    copies: int | None = None


class DrawCompleted(Event):
    """A draw was paid for and its items are the fan's: rewards grants an entitlement per item.

    ``paid_medals``/``free_medals`` were posted from the fan's wallet; ``paid_value_jpy`` is the
    yen value of the paid medals spent (the base of the revenue share, COMPLIANCE R1).
    """

    topic = "gacha.draw.completed.v1"
    draw_id: str
    user_id: str
    gacha_id: str
    vtuber_id: str
    odds_version: int
    count: int
    price_medals: int
    paid_medals: int
    free_medals: int
    paid_value_jpy: int
    items: list[DrawnItem]
    completed_at: datetime
    # Who earns from it (COMPLIANCE R1): empty means all to ``vtuber_id``; a collab gacha lists
    # every VTuber's share in basis points, summing to 10,000.
    shares: list[RevenueShare] = Field(default_factory=list)
    # The payment ledger's transfer that held and spent the draw's medals (``MedalWallets``
    # ``posted_values``: what the medal ledger posted for it); None in events published before.
    transfer_id: str | None = None
    # The fan opted in to show this pull on the VTuber's stream overlay (display name only).
    on_stream: bool = False


class ItemExchanged(Event):
    """A fan spent exchange points (交換ポイント, COMPLIANCE G2) on a chosen item."""

    topic = "gacha.item.exchanged.v1"
    exchange_id: str
    user_id: str
    gacha_id: str
    vtuber_id: str
    item_id: str
    content_id: str
    rarity: Rarity
    points: int
    exchanged_at: datetime


class DrawAuditAlert(Event):
    """The nightly audit found observed rates unlikely under the declared table (p < alpha)."""

    topic = "gacha.audit.alert.v1"
    gacha_id: str
    odds_version: int
    table: str
    test: str
    p_value: str  # decimal string: events carry no floats
    draws: int
    checked_at: datetime


class DrawReversed(Event):
    """A completed draw was reversed (e.g. an operator's reversal after the chargeback of the
    purchase that paid for it): rewards revokes the entitlements it granted.

    Published by the gacha service's reversal flow (not built yet); rewards consumes it already.
    """

    topic = "gacha.draw.reversed.v1"
    draw_id: str
    user_id: str
    reason: str
    reversed_at: datetime
    # What the reversed draw earned (the VTuber service takes it back from sales); absent only
    # on events published before these fields existed.
    gacha_id: str | None = None
    vtuber_id: str | None = None
    paid_value_jpy: int = 0
    shares: list[RevenueShare] = Field(default_factory=list)


class GachaCatalogChanged(Event):
    """A gacha was approved, re-versioned, scheduled or ended: the VTuber service keeps its own
    copy (public profile's live gachas, sales' titles and box sell-through, collab shares).

    ``revision`` grows with every change of the gacha, so a consumer keeps the highest it saw
    and an event that arrives late changes nothing."""

    topic = "gacha.catalog.changed.v1"
    gacha_id: str
    vtuber_id: str
    revision: int
    title: str
    kind: Literal["weighted", "box"]
    status: Literal["draft", "submitted", "approved", "rejected", "ended"]
    price_medals: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    box_stock: int | None = None  # a box's whole stock (sell-through = drawn / stock)
    shares: list[RevenueShare] = Field(default_factory=list)
    changed_at: datetime

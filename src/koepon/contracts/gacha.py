"""What the gacha service publishes for other services (rewards grants items from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from koepon.contracts import Event

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

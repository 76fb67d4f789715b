"""The gacha configuration a VTuber builds: items, tables, 10連, guarantees, pity, exchange, limits.

The schema holds only the mechanics COMPLIANCE G2 allows. It has no field that could express a
reward for holding a set of different items (G1): unknown fields are refused, never ignored.
Weights, counts, prices and points are integers (P4); rates are derived, never stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StrictInt, StringConstraints

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
VtuberRef = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
MAX_TABLE_TOTAL = 2**32  # the fairness algorithm's bound on W (DESIGN.md)


class Rarity(StrEnum):
    """レアリティ, ordered N < R < SR < SSR < UR."""

    N = "N"
    R = "R"
    SR = "SR"
    SSR = "SSR"
    UR = "UR"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Rarity) -> bool:
        return self.rank >= other.rank


_RANKS = {rarity: rank for rank, rarity in enumerate(Rarity)}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Frozen):
    """An obtainable item: one piece of the VTuber's content (a rewards content id)."""

    item_id: ItemId
    content_id: str
    rarity: Rarity
    name: str = ""
    # Serial-numbered items have a limited stock; only a box may hold them (G5).
    stock: StrictInt | None = None


class Weight(_Frozen):
    """One line of a weighted table: the item and its integer weight."""

    item_id: ItemId
    weight: StrictInt


class BoxCount(_Frozen):
    """One line of a box: how many of the item the box holds when it is full."""

    item_id: ItemId
    count: StrictInt


class GuaranteedSlot(_Frozen):
    """確定枠: the last slot of a multi-draw comes from this table (e.g. SR or better)."""

    min_rarity: Rarity
    table: tuple[Weight, ...]


class MultiDraw(_Frozen):
    """10連: ``count`` slots for one price, optionally with a guaranteed last slot."""

    count: Literal[10] = 10
    price_medals: StrictInt
    price_jpy: StrictInt
    guaranteed: GuaranteedSlot | None = None


class Pity(_Frozen):
    """天井: the ``draws``-th draw in a row without ``min_rarity`` comes from ``table``."""

    draws: StrictInt
    min_rarity: Rarity
    table: tuple[Weight, ...]


class ExchangeOffer(_Frozen):
    item_id: ItemId
    cost_points: StrictInt


class Exchange(_Frozen):
    """交換ポイント: every paid draw earns points; points buy a chosen item."""

    points_per_paid_draw: StrictInt
    offers: tuple[ExchangeOffer, ...]


class FanLimits(_Frozen):
    """Per-fan caps on this gacha (the account-wide caps A2–A3 live in payment/auth)."""

    max_draws: StrictInt | None = None
    max_draws_per_day: StrictInt | None = None


class Step(_Frozen):
    """One step of a step-up: its own slot count, price and optional guaranteed slot."""

    count: StrictInt
    price_medals: StrictInt
    price_jpy: StrictInt
    guaranteed: GuaranteedSlot | None = None


class StepUp(_Frozen):
    steps: tuple[Step, ...]
    repeat: bool = False


class Period(_Frozen):
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None


class RevenueShareLine(_Frozen):
    """One VTuber's part of a collab gacha's revenue (COMPLIANCE R1), in basis points of the
    whole; a collab gacha's lines sum to 10,000 (``odds/shares.py``)."""

    vtuber_id: VtuberRef
    share_bp: StrictInt


class GachaConfig(_Frozen):
    """A gacha's whole configuration; one odds version freezes one of these."""

    kind: Literal["weighted", "box"]
    price_medals: StrictInt
    price_jpy: StrictInt  # tax included (P3)
    period: Period
    items: tuple[Item, ...]
    main: tuple[Weight, ...] = ()  # weighted gachas
    box: tuple[BoxCount, ...] = ()  # box gachas
    multi: MultiDraw | None = None
    pity: Pity | None = None
    exchange: Exchange | None = None
    limits: FanLimits = FanLimits()
    step_up: StepUp | None = None
    # A collab gacha: one gacha by several VTubers, each earning its share. Empty: the gacha's
    # own VTuber earns it all.
    revenue_shares: tuple[RevenueShareLine, ...] = ()

    def item(self, item_id: str) -> Item | None:
        return next((item for item in self.items if item.item_id == item_id), None)

    def rarity_of(self, item_id: str) -> Rarity:
        item = self.item(item_id)
        if item is None:
            raise KeyError(item_id)
        return item.rarity


def is_live(period: Period, now: datetime) -> bool:
    return period.starts_at <= now and (period.ends_at is None or now < period.ends_at)

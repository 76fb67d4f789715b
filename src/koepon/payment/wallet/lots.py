"""Lot arithmetic as pure functions: which lots a spend consumes, what medals are worth in yen.

A lot's price is the exact fraction ``price_jpy / medals`` (what the fan paid for the lot, tax
included). The yen value of ``n`` unconsumed medals of a lot is ``ceil(price_jpy * n / medals)``:
rounding up never understates what the platform owes its fans (the base-date balance, M3), the
value of the whole lot is exactly its price, and the value of each consumption is the difference
of two such values, so the values of a lot's consumptions always add up to its price exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

KIND_ORDER_FREE_FIRST = ("free", "paid")
KIND_ORDER_PAID_FIRST = ("paid", "free")


@dataclass(frozen=True)
class LotBalance:
    """What spending needs to know of a lot."""

    id: str
    kind: str
    remaining: int
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Take:
    lot_id: str
    kind: str
    medals: int


def spendable(lot: LotBalance, now: datetime) -> bool:
    """A lot stops counting at its expiry instant, whether or not it was written off yet."""
    return lot.remaining > 0 and lot.expires_at > now


def spend_order(lots: list[LotBalance], *, free_first: bool) -> list[LotBalance]:
    """Kind first (a setting, COMPLIANCE M1), then earliest expiry (M2), then oldest, then id."""
    kinds = KIND_ORDER_FREE_FIRST if free_first else KIND_ORDER_PAID_FIRST
    return sorted(
        lots, key=lambda lot: (kinds.index(lot.kind), lot.expires_at, lot.issued_at, lot.id)
    )


def plan_spend(
    lots: list[LotBalance], medals: int, *, now: datetime, free_first: bool
) -> list[Take] | None:
    """The lots a spend of ``medals`` consumes, in order; None when the lots cannot cover it."""
    if medals <= 0:
        raise ValueError("medals must be positive")
    takes: list[Take] = []
    left = medals
    for lot in spend_order([lot for lot in lots if spendable(lot, now)], free_first=free_first):
        take = min(left, lot.remaining)
        takes.append(Take(lot.id, lot.kind, take))
        left -= take
        if left == 0:
            return takes
    return None


def split_post(takes: list[Take], medals: int) -> tuple[list[Take], list[Take]]:
    """A partial post keeps the first ``medals`` of a hold (in spend order), releases the rest."""
    if medals < 0 or medals > sum(t.medals for t in takes):
        raise ValueError("cannot post more than is held")
    kept: list[Take] = []
    released: list[Take] = []
    left = medals
    for take in takes:
        keep = min(left, take.medals)
        left -= keep
        if keep:
            kept.append(Take(take.lot_id, take.kind, keep))
        if take.medals - keep:
            released.append(Take(take.lot_id, take.kind, take.medals - keep))
    return kept, released


def value_jpy(price_jpy: int, medals: int, unconsumed: int) -> int:
    """Yen value of ``unconsumed`` medals of a lot of ``medals`` bought for ``price_jpy``."""
    if medals <= 0 or not 0 <= unconsumed <= medals or price_jpy < 0:
        raise ValueError("invalid lot figures")
    return -(-price_jpy * unconsumed // medals)


def consumption_value_jpy(price_jpy: int, medals: int, consumed_before: int, take: int) -> int:
    """Yen value of consuming ``take`` more medals of a lot that had ``consumed_before``."""
    before = value_jpy(price_jpy, medals, medals - consumed_before)
    after = value_jpy(price_jpy, medals, medals - consumed_before - take)
    return before - after


def expiry_for(issued_at: datetime, validity_days: int) -> datetime:
    """Validity counted from issue, ending on the next whole hour ("expires at its hour")."""
    end = issued_at + timedelta(days=validity_days)
    whole_hour = end.replace(minute=0, second=0, microsecond=0)
    return whole_hour if whole_hour == end else whole_hour + timedelta(hours=1)


@dataclass(frozen=True)
class ClawBackLot:
    """What a claw-back needs to know of a lot."""

    id: str
    kind: str
    transfer_id: str
    remaining: int
    issued_at: datetime
    expires_at: datetime


def plan_claw_back(
    lots: list[ClawBackLot], medals: int, *, first_transfer_id: str | None
) -> list[Take]:
    """The lots a claw-back of ``medals`` takes from: the lot bought by the charged-back payment
    (``first_transfer_id``) first, then earliest expiry, oldest, id. Takes what the lots hold;
    the caller records the shortfall as owed."""
    if medals <= 0:
        raise ValueError("medals must be positive")
    ordered = sorted(
        lots,
        key=lambda lot: (
            lot.transfer_id != first_transfer_id,
            lot.expires_at,
            lot.issued_at,
            lot.id,
        ),
    )
    takes: list[Take] = []
    left = medals
    for lot in ordered:
        if not left:
            break
        take = min(left, lot.remaining)
        if take:
            takes.append(Take(lot.id, lot.kind, take))
            left -= take
    return takes

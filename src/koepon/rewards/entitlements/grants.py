"""What a completed draw or an exchange grants, in the order it is written (pure).

Slots are written sorted by (gacha, item, slot): every transaction then takes the rows it locks
(serial counters, a fan's entitlement rows) in the same order, so two grants running at once on
PostgreSQL wait for each other instead of deadlocking, and a limited item won twice in one draw
gets its serials in slot order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from koepon.contracts.gacha import DrawCompleted, ItemExchanged
from koepon.kernel.clock import as_utc
from koepon.rewards.entitlements.states import GrantSource


@dataclass(frozen=True)
class Grant:
    """One item to grant, and the key that makes it count once (source, source id, slot)."""

    source: GrantSource
    source_id: str
    slot: int
    user_id: str
    vtuber_id: str
    gacha_id: str
    item_id: str
    content_id: str
    rarity: str
    limited: bool
    granted_at: datetime
    serial_of: int | None = None  # the limited item's total copies, when the event says it


def from_draw(event: DrawCompleted) -> list[Grant]:
    return ordered(
        Grant(
            source=GrantSource.DRAW,
            source_id=event.draw_id,
            slot=item.slot,
            user_id=event.user_id,
            vtuber_id=event.vtuber_id,
            gacha_id=event.gacha_id,
            item_id=item.item_id,
            content_id=item.content_id,
            rarity=item.rarity,
            limited=item.limited,
            serial_of=item.copies if item.limited else None,
            granted_at=as_utc(event.completed_at),
        )
        for item in event.items
    )


def from_exchange(event: ItemExchanged) -> list[Grant]:
    return [
        Grant(
            source=GrantSource.EXCHANGE,
            source_id=event.exchange_id,
            slot=0,
            user_id=event.user_id,
            vtuber_id=event.vtuber_id,
            gacha_id=event.gacha_id,
            item_id=event.item_id,
            content_id=event.content_id,
            rarity=event.rarity,
            # The contract does not say: an exchange grants an ordinary (unnumbered) copy.
            limited=False,
            granted_at=as_utc(event.exchanged_at),
        )
    ]


def ordered(grants: Iterable[Grant]) -> list[Grant]:
    """The lock order (see the module's docstring); a slot named twice is kept once."""
    seen: set[int] = set()
    unique = []
    for grant in grants:
        if grant.slot not in seen:
            seen.add(grant.slot)
            unique.append(grant)
    return sorted(unique, key=lambda g: (g.gacha_id, g.item_id, g.slot))


MAX_ID_CHARS = 64  # ids are stored in 64-character columns


def unfit(values: dict[str, str]) -> str | None:
    """Why these ids cannot be stored (too long, empty or holding a NUL), or None."""
    for name, value in values.items():
        if not value or len(value) > MAX_ID_CHARS or "\x00" in value:
            return f"{name}: an id of 1 to {MAX_ID_CHARS} characters without NUL is required"
    return None


def unfit_grants(grants: Iterable[Grant]) -> str | None:
    for grant in grants:
        why = unfit(
            {
                "user_id": grant.user_id,
                "vtuber_id": grant.vtuber_id,
                "gacha_id": grant.gacha_id,
                "item_id": grant.item_id,
                "content_id": grant.content_id,
                "source_id": grant.source_id,
            }
        )
        if why is not None:
            return why
    return None


def serial_label(serial: int | None, serial_of: int | None) -> str | None:
    """How a serial is shown: ``No. 12/100``, or ``No. 12`` while the total is unknown."""
    if serial is None:
        return None
    return f"No. {serial}/{serial_of}" if serial_of else f"No. {serial}"

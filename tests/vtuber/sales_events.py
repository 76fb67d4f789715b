"""The gacha's events as bus messages, for the VTuber service's gachas and sales tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from koepon.app import Platform
from koepon.contracts import Event
from koepon.contracts.gacha import DrawCompleted, DrawnItem, DrawReversed, GachaCatalogChanged
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.bus import Message
from vtuber.conftest import vtuber_services

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 12:00 JST


def message(event: Event, *, message_id: str | None = None) -> Message:
    return Message(
        id=message_id or str(uuid.uuid4()),
        topic=event.topic,
        payload=event.model_dump(mode="json"),
        occurred_at=T0,
    )


def raw(topic: str, payload: dict[str, Any]) -> Message:
    return Message(id=str(uuid.uuid4()), topic=topic, payload=payload, occurred_at=T0)


def shares(*pairs: tuple[str, int]) -> list[RevenueShare]:
    return [RevenueShare(vtuber_id=v, share_bp=bp) for v, bp in pairs]


def catalog(
    gacha_id: str,
    vtuber_id: str,
    *,
    revision: int = 1,
    title: str = "秋の新作ボイスガチャ",
    kind: str = "weighted",
    status: str = "approved",
    price_medals: int = 300,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    box_stock: int | None = None,
    parties: list[RevenueShare] | None = None,
) -> GachaCatalogChanged:
    return GachaCatalogChanged(
        gacha_id=gacha_id,
        vtuber_id=vtuber_id,
        revision=revision,
        title=title,
        kind=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        price_medals=price_medals,
        starts_at=starts_at,
        ends_at=ends_at,
        box_stock=box_stock,
        shares=parties or [],
        changed_at=T0,
    )


def completed(
    *,
    vtuber_id: str,
    gacha_id: str = "gacha-1",
    user_id: str = "fan-1",
    draw_id: str | None = None,
    rarities: list[str] | None = None,
    paid_medals: int = 300,
    free_medals: int = 0,
    paid_value_jpy: int = 300,
    at: datetime = T0,
    parties: list[RevenueShare] | None = None,
) -> DrawCompleted:
    drawn = rarities or ["N"]
    return DrawCompleted(
        draw_id=draw_id or str(uuid.uuid4()),
        user_id=user_id,
        gacha_id=gacha_id,
        vtuber_id=vtuber_id,
        odds_version=1,
        count=len(drawn),
        price_medals=paid_medals + free_medals,
        paid_medals=paid_medals,
        free_medals=free_medals,
        paid_value_jpy=paid_value_jpy,
        items=[
            DrawnItem(
                slot=n,
                item_id=f"item-{rarity}",
                content_id=f"content-{rarity}",
                rarity=rarity,  # type: ignore[arg-type]
                nonce=n,
            )
            for n, rarity in enumerate(drawn)
        ],
        completed_at=at,
        shares=parties or [],
    )


def reversal(
    draw: DrawCompleted, *, at: datetime, with_figures: bool = True, reason: str = "chargeback"
) -> DrawReversed:
    """The reversal of ``draw``; ``with_figures=False``: as published before the money fields."""
    if not with_figures:
        return DrawReversed(
            draw_id=draw.draw_id, user_id=draw.user_id, reason=reason, reversed_at=at
        )
    return DrawReversed(
        draw_id=draw.draw_id,
        user_id=draw.user_id,
        reason=reason,
        reversed_at=at,
        gacha_id=draw.gacha_id,
        vtuber_id=draw.vtuber_id,
        paid_value_jpy=draw.paid_value_jpy,
        shares=draw.shares,
    )


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until the bus has delivered (polls; the business clock never moves)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not delivered in time"
        await asyncio.sleep(0.05)


async def feed(platform: Platform, *events: Event) -> None:
    """Hand each event to its consumer, as the bus would."""
    services = vtuber_services(platform)
    for event in events:
        if isinstance(event, GachaCatalogChanged):
            await services.gachas.handle(message(event))
        else:
            await services.sales.handle(message(event))

"""Entitlements granted from the gacha's events: once per slot however often an event arrives,
serials unique and gap-free under concurrency, duplicates counted, reversals revoking (also when
they arrive first), malformed payloads set aside — on both backends.

The helpers at the top build the gacha's events as bus messages (test_collection.py uses them).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from koepon.app import Platform
from koepon.contracts import Event
from koepon.contracts.gacha import DrawCompleted, DrawnItem, DrawReversed, ItemExchanged
from koepon.kernel.bus import Message
from koepon.kernel.outbox import Outbox
from koepon.rewards.entitlements.grants import from_draw, serial_label
from koepon.rewards.entitlements.models import (
    Entitlement,
    EntitlementGrant,
    RejectedEvent,
    SerialCounter,
)
from koepon.rewards.entitlements.schemas import EntitlementView, Outcome
from koepon.rewards.entitlements.service import CONSUMER, Entitlements
from koepon.rewards.errors import EntitlementNotFound, EntitlementRevoked
from koepon.rewards.models import inbox
from rewards.conftest import rewards_context, rewards_services

T0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)

# --- building events -------------------------------------------------------------------------


def message(event: Event, *, message_id: str | None = None) -> Message:
    return Message(
        id=message_id or str(uuid.uuid4()),
        topic=event.topic,
        payload=event.model_dump(mode="json"),
        occurred_at=T0,
    )


def raw(topic: str, payload: dict[str, Any]) -> Message:
    return Message(id=str(uuid.uuid4()), topic=topic, payload=payload, occurred_at=T0)


def item(
    slot: int,
    item_id: str = "voice-n1",
    *,
    rarity: str = "N",
    limited: bool = False,
    content_id: str | None = None,
) -> DrawnItem:
    return DrawnItem(
        slot=slot,
        item_id=item_id,
        content_id=content_id or f"content-{item_id}",
        rarity=rarity,  # type: ignore[arg-type]
        nonce=slot,
        limited=limited,
    )


def completed(
    user_id: str,
    items: list[DrawnItem],
    *,
    draw_id: str | None = None,
    gacha_id: str = "gacha-1",
    vtuber_id: str = "vtuber-1",
    at: datetime = T0,
) -> DrawCompleted:
    return DrawCompleted(
        draw_id=draw_id or str(uuid.uuid4()),
        user_id=user_id,
        gacha_id=gacha_id,
        vtuber_id=vtuber_id,
        odds_version=1,
        count=len(items),
        price_medals=300 * len(items),
        paid_medals=300 * len(items),
        free_medals=0,
        paid_value_jpy=300 * len(items),
        items=items,
        completed_at=at,
    )


def exchanged(
    user_id: str, item_id: str = "voice-n1", *, gacha_id: str = "gacha-1"
) -> ItemExchanged:
    return ItemExchanged(
        exchange_id=str(uuid.uuid4()),
        user_id=user_id,
        gacha_id=gacha_id,
        vtuber_id="vtuber-1",
        item_id=item_id,
        content_id=f"content-{item_id}",
        rarity="N",
        points=100,
        exchanged_at=T0 + timedelta(minutes=5),
    )


def reversal(draw: DrawCompleted) -> DrawReversed:
    return DrawReversed(
        draw_id=draw.draw_id,
        user_id=draw.user_id,
        reason="chargeback of the purchase that paid for it",
        reversed_at=T0 + timedelta(days=3),
    )


def fan_id() -> str:
    return str(uuid.uuid4())


# --- reading what was granted ----------------------------------------------------------------


def entitlements_of(platform: Platform) -> Entitlements:
    return rewards_services(platform).entitlements


async def rows(platform: Platform, user_id: str) -> list[Entitlement]:
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        found = await session.scalars(
            select(Entitlement)
            .where(Entitlement.user_id == user_id)
            .order_by(Entitlement.item_id, Entitlement.serial)
        )
        return list(found)


async def live(platform: Platform, user_id: str) -> list[EntitlementView]:
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        return await entitlements_of(platform).all_live(session, user_id)


async def serials(platform: Platform, gacha_id: str, item_id: str) -> list[int]:
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        found = await session.scalars(
            select(Entitlement.serial).where(
                Entitlement.gacha_id == gacha_id, Entitlement.item_id == item_id
            )
        )
        return sorted(s for s in found if s is not None)


async def inbox_rows(platform: Platform, message_ids: list[str]) -> int:
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        counted = await session.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == CONSUMER, inbox.c.message_id.in_(message_ids))
        )
        return int(counted or 0)


async def eventually(check: Any, *, seconds: float = 15.0) -> None:
    """Wait (bounded) until ``await check()`` is true: deliveries through a real broker land
    asynchronously. Polls; never waits for time to pass in the business clock."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not delivered in time"
        await asyncio.sleep(0.05)


# --- the same event again and again ----------------------------------------------------------


async def test_the_same_draw_delivered_five_times_grants_once(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    fan = fan_id()
    draw = completed(fan, [item(0, "voice-n1"), item(1, "illust-sr1", rarity="SR")])
    once = message(draw)

    first = await entitlements.apply(once)
    again = [await entitlements.apply(once) for _ in range(2)]
    at_once = await asyncio.gather(*(entitlements.apply(once) for _ in range(2)))

    assert first == Outcome(granted=2)
    assert all(o == Outcome() for o in [*again, *at_once])  # the inbox: nothing to do
    owned = await rows(platform, fan)
    assert [(r.item_id, r.count, r.status) for r in owned] == [
        ("illust-sr1", 1, "live"),
        ("voice-n1", 1, "live"),
    ]
    assert all(r.granted_at == T0 for r in owned)


async def test_the_same_draw_under_new_message_ids_counts_once(platform: Platform) -> None:
    """A draw published again (another outbox row, so another message id) is deduplicated by
    its (draw id, slot) grants, not only by the inbox."""
    entitlements = entitlements_of(platform)
    fan = fan_id()
    draw = completed(fan, [item(0), item(1)])

    outcomes = await asyncio.gather(*(entitlements.apply(message(draw)) for _ in range(5)))

    assert sum(o.granted for o in outcomes) == 2
    assert sum(o.duplicates for o in outcomes) == 8
    [row] = await rows(platform, fan)
    assert row.count == 2  # the draw's two slots, counted once each


async def test_a_draw_published_five_times_through_the_outbox_and_bus_grants_once(
    platform: Platform,
) -> None:
    """The real path: five outbox rows of the gacha service, relayed to the bus (in-process or
    RabbitMQ), consumed by rewards.grants."""
    fan = fan_id()
    draw = completed(fan, [item(0, "wallpaper-r1", rarity="R"), item(1, "wallpaper-r1")])
    gacha = platform.units["gacha"]
    outbox = Outbox(gacha.outbox_table)
    ids = []
    for _ in range(5):
        async with gacha.db.transaction() as session:
            ids.append(await outbox.add(session, draw))

    async def all_handled() -> bool:
        return await inbox_rows(platform, ids) == 5

    await eventually(all_handled)
    [row] = await rows(platform, fan)
    assert (row.item_id, row.count, row.status) == ("wallpaper-r1", 2, "live")


# --- serials ---------------------------------------------------------------------------------


async def test_100_concurrent_grants_of_a_100_copy_item_give_serials_1_to_100(
    platform: Platform,
) -> None:
    entitlements = entitlements_of(platform)
    gacha_id = f"box-{uuid.uuid4().hex[:8]}"
    draws = [
        completed(fan_id(), [item(0, "signed-photo", rarity="UR", limited=True)], gacha_id=gacha_id)
        for _ in range(100)
    ]

    outcomes = await asyncio.gather(*(entitlements.apply(message(d)) for d in draws))

    assert all(o == Outcome(granted=1) for o in outcomes)
    assert await serials(platform, gacha_id, "signed-photo") == list(range(1, 101))
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        counter = await session.get(SerialCounter, (gacha_id, "signed-photo"))
        assert counter is not None and counter.last_serial == 100
    # Each fan holds exactly one copy, numbered.
    owned = await rows(platform, draws[0].user_id)
    assert len(owned) == 1 and owned[0].limited and owned[0].serial is not None


async def test_a_limited_item_won_twice_is_two_numbered_copies(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    fan = fan_id()
    gacha_id = f"box-{uuid.uuid4().hex[:8]}"
    photo = "signed-photo"
    await entitlements.apply(
        message(completed(fan_id(), [item(0, photo, limited=True)], gacha_id=gacha_id))
    )
    ten = completed(
        fan,
        [item(0, photo, limited=True), item(1, "voice-n1"), item(2, photo, limited=True)],
        gacha_id=gacha_id,
    )

    assert await entitlements.apply(message(ten)) == Outcome(granted=3)
    assert await entitlements.apply(message(ten)) == Outcome(duplicates=3)

    owned = await rows(platform, fan)
    copies = [r for r in owned if r.item_id == photo]
    assert [(r.serial, r.count, r.limited) for r in copies] == [(2, 1, True), (3, 1, True)]
    assert len({r.id for r in copies}) == 2
    assert await serials(platform, gacha_id, photo) == [1, 2, 3]
    # The same item id in another gacha is another item with its own numbers.
    other = completed(fan, [item(0, photo, limited=True)], gacha_id=f"box-{uuid.uuid4().hex[:8]}")
    await entitlements.apply(message(other))
    assert await serials(platform, other.gacha_id, photo) == [1]


def test_slots_are_written_in_lock_order_and_a_repeated_slot_once() -> None:
    draw = completed(
        "u",
        [item(0, "b"), item(1, "a"), item(2, "b"), item(1, "c")],
    )
    assert [(g.item_id, g.slot) for g in from_draw(draw)] == [("a", 1), ("b", 0), ("b", 2)]


def test_serial_labels() -> None:
    assert serial_label(12, 100) == "No. 12/100"
    assert serial_label(12, None) == "No. 12"
    assert serial_label(None, None) is None


# --- duplicates ------------------------------------------------------------------------------


async def test_duplicates_are_counted_on_one_row_per_item(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    fan = fan_id()
    await entitlements.apply(message(completed(fan, [item(0, "voice-n1"), item(1, "voice-n1")])))
    await entitlements.apply(
        message(completed(fan, [item(0, "voice-n1"), item(1, "voice-r1", rarity="R")]))
    )
    await entitlements.apply(message(exchanged(fan, "voice-n1")))
    exchange = exchanged(fan, "voice-r1")
    await entitlements.apply(message(exchange))
    await entitlements.apply(message(exchange))  # the same exchange again: inbox

    owned = await rows(platform, fan)
    assert [(r.item_id, r.count, r.serial) for r in owned] == [
        ("voice-n1", 4, None),
        ("voice-r1", 2, None),
    ]
    # Another fan's duplicates are theirs.
    other = fan_id()
    await entitlements.apply(message(completed(other, [item(0, "voice-n1")])))
    assert [(r.item_id, r.count) for r in await rows(platform, other)] == [("voice-n1", 1)]


# --- reversals -------------------------------------------------------------------------------


async def test_a_reversed_draw_is_revoked_once_however_often_it_arrives(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    fan = fan_id()
    gacha_id = f"box-{uuid.uuid4().hex[:8]}"
    kept = completed(fan, [item(0, "voice-n1")], gacha_id=gacha_id)
    lost = completed(
        fan,
        [item(0, "voice-n1"), item(1, "photo", rarity="UR", limited=True)],
        gacha_id=gacha_id,
    )
    await entitlements.apply(message(kept))
    await entitlements.apply(message(lost))

    undo = reversal(lost)
    assert await entitlements.apply(message(undo)) == Outcome(revoked=2)
    assert await entitlements.apply(message(undo)) == Outcome(revoked=0)  # another message id
    same = message(undo)
    await entitlements.apply(same)
    assert await entitlements.apply(same) == Outcome()  # the inbox

    by_item = {r.item_id: r for r in await rows(platform, fan)}
    assert (by_item["voice-n1"].count, by_item["voice-n1"].status) == (1, "live")
    photo = by_item["photo"]
    assert (photo.count, photo.status, photo.serial) == (0, "revoked", 1)
    assert photo.revoked_at is not None
    assert {v.item_id for v in await live(platform, fan)} == {"voice-n1"}
    # The revoked serial is never handed out again: the next copy is No. 2.
    await entitlements.apply(
        message(completed(fan_id(), [item(0, "photo", limited=True)], gacha_id=gacha_id))
    )
    assert await serials(platform, gacha_id, "photo") == [1, 2]
    # The draw arriving again after its reversal grants nothing back.
    assert await entitlements.apply(message(lost)) == Outcome(skipped=2)
    # Revoking the last copy of an ordinary item revokes its row; winning it again revives it.
    await entitlements.apply(message(reversal(kept)))
    assert {r.item_id: r.status for r in await rows(platform, fan)}["voice-n1"] == "revoked"
    await entitlements.apply(message(completed(fan, [item(0, "voice-n1")], gacha_id=gacha_id)))
    revived = {r.item_id: r for r in await rows(platform, fan)}["voice-n1"]
    assert (revived.count, revived.status, revived.revoked_at) == (1, "live", None)


async def test_a_reversal_arriving_before_its_draw_skips_the_grant(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    fan = fan_id()
    gacha_id = f"box-{uuid.uuid4().hex[:8]}"
    draw = completed(fan, [item(0, "voice-n1"), item(1, "photo", limited=True)], gacha_id=gacha_id)

    assert await entitlements.apply(message(reversal(draw))) == Outcome()
    assert await entitlements.apply(message(reversal(draw))) == Outcome()
    assert await entitlements.apply(message(draw)) == Outcome(skipped=2)
    assert await entitlements.apply(message(draw)) == Outcome(skipped=2)

    assert await rows(platform, fan) == []
    assert await serials(platform, gacha_id, "photo") == []  # no number used up


async def test_a_reversal_racing_its_grant_leaves_nothing_live(platform: Platform) -> None:
    entitlements = entitlements_of(platform)
    for _ in range(5):
        fan = fan_id()
        draw = completed(fan, [item(0), item(1, "photo", limited=True)], gacha_id=f"b-{fan[:8]}")
        await asyncio.gather(
            entitlements.apply(message(draw)), entitlements.apply(message(reversal(draw)))
        )
        assert await live(platform, fan) == []


# --- downloads' view -------------------------------------------------------------------------


async def test_for_download_answers_only_the_owner_and_refuses_a_revoked_item(
    platform: Platform,
) -> None:
    entitlements = entitlements_of(platform)
    owner, other = fan_id(), fan_id()
    draw = completed(owner, [item(0, "voice-n1")])
    await entitlements.apply(message(draw))
    [row] = await rows(platform, owner)
    db = rewards_context(platform).db

    async with db.transaction(read_only=True) as session:
        mine = await entitlements.for_download(session, owner, row.id)
        assert (mine.id, mine.user_id, mine.content_id, mine.status) == (
            row.id,
            owner,
            "content-voice-n1",
            "live",
        )
        with pytest.raises(EntitlementNotFound) as theirs:
            await entitlements.for_download(session, other, row.id)
        with pytest.raises(EntitlementNotFound) as unknown:
            await entitlements.for_download(session, owner, str(uuid.uuid4()))
        assert theirs.value.detail == unknown.value.detail  # no existence leak

    await entitlements.apply(message(reversal(draw)))
    async with db.transaction(read_only=True) as session:
        with pytest.raises(EntitlementRevoked):
            await entitlements.for_download(session, owner, row.id)
        with pytest.raises(EntitlementNotFound):
            await entitlements.for_download(session, other, row.id)
        assert await entitlements.all_live(session, owner) == []


# --- malformed events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (DrawCompleted.topic, {"draw_id": "d-1"}),  # fields missing
        (DrawCompleted.topic, {**completed("u", [item(0)]).model_dump(mode="json"), "items": "x"}),
        (DrawCompleted.topic, completed("u" * 65, [item(0)]).model_dump(mode="json")),  # too long
        (DrawCompleted.topic, completed("u\x00", [item(0)]).model_dump(mode="json")),  # NUL
        (ItemExchanged.topic, {"exchange_id": 7}),
        (DrawReversed.topic, {"draw_id": "d-1", "user_id": "u", "reason": "r"}),
        ("gacha.draw.unknown.v1", {"draw_id": "d-1"}),
    ],
)
async def test_a_malformed_event_is_set_aside_and_the_consumer_goes_on(
    platform: Platform, topic: str, payload: dict[str, Any]
) -> None:
    entitlements = entitlements_of(platform)
    bad = raw(topic, payload)

    await entitlements.handle(bad)  # no exception: a broken payload is never retried
    assert await entitlements.apply(bad) == Outcome()  # and seen once

    async with rewards_context(platform).db.transaction(read_only=True) as session:
        kept = await session.get(RejectedEvent, bad.id)
        assert kept is not None and kept.topic == topic and kept.error
        assert (
            await session.scalar(
                select(func.count())
                .select_from(EntitlementGrant)
                .where(EntitlementGrant.source_id == "d-1")
            )
            == 0
        )
    fan = fan_id()
    assert await entitlements.apply(message(completed(fan, [item(0)]))) == Outcome(granted=1)


async def test_a_malformed_event_on_the_bus_does_not_stop_later_ones(platform: Platform) -> None:
    gacha = platform.units["gacha"]
    table = gacha.outbox_table
    fan = fan_id()
    good = completed(fan, [item(0, "voice-n1")])
    async with gacha.db.transaction() as session:
        await session.execute(
            table.insert().values(
                id=str(uuid.uuid4()),
                topic=DrawCompleted.topic,
                payload={"draw_id": "broken"},
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
        await Outbox(table).add(session, good)

    async def granted() -> bool:
        return len(await rows(platform, fan)) == 1

    await eventually(granted)

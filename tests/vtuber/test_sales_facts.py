"""Sale facts from the gacha's events: paid medals earn and free ones do not (R1), a collab's
parts sum to the whole, reversals land on their own (JST) day and month, whatever the order and
however often the events arrive; and the month figures payouts read."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from koepon.app import Platform
from koepon.contracts.gacha import DrawCompleted, DrawReversed
from koepon.kernel.outbox import Outbox
from koepon.vtuber.sales.errors import InvalidMonth
from koepon.vtuber.sales.models import SaleFact
from koepon.vtuber.sales.schemas import GachaMonth
from koepon.vtuber.sales.service import Outcome, Sales
from vtuber.conftest import vtuber_context, vtuber_services
from vtuber.sales_events import (
    catalog,
    completed,
    eventually,
    feed,
    message,
    raw,
    reversal,
    shares,
)

NOV_30_NOON = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 12:00 JST
DEC_2 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 JST
COLLAB = shares(("collab-b", 3333), ("collab-a", 3333), ("collab-c", 3334))


def sales_of(platform: Platform) -> Sales:
    return vtuber_services(platform).sales


async def facts(platform: Platform, draw_id: str) -> list[tuple[Any, ...]]:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        found = await session.scalars(
            select(SaleFact)
            .where(SaleFact.draw_id == draw_id)
            .order_by(SaleFact.kind, SaleFact.vtuber_id)
        )
        return [
            (r.kind, r.vtuber_id, r.jst_day, r.draws, r.paid_medals, r.free_medals, r.value_jpy)
            for r in found
        ]


async def gross(platform: Platform, vtuber_id: str, month: str) -> int:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        return await sales_of(platform).month_gross(session, vtuber_id, month)


async def totals(platform: Platform, month: str) -> dict[str, int]:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        return await sales_of(platform).month_totals(session, month)


async def breakdown(platform: Platform, vtuber_id: str, month: str) -> list[GachaMonth]:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        return await sales_of(platform).month_breakdown(session, vtuber_id, month)


# --- R1: paid medals earn, free ones do not ---------------------------------------------------


async def test_only_the_paid_medals_yen_value_earns(platform: Platform) -> None:
    mixed = completed(
        vtuber_id="v-r1", paid_medals=200, free_medals=100, paid_value_jpy=200, at=NOV_30_NOON
    )
    free_only = completed(
        vtuber_id="v-r1", paid_medals=0, free_medals=300, paid_value_jpy=0, at=NOV_30_NOON
    )
    await feed(platform, mixed, free_only)

    assert await facts(platform, mixed.draw_id) == [
        ("draw", "v-r1", date(2026, 11, 30), 1, 200, 100, 200)
    ]
    assert await facts(platform, free_only.draw_id) == [
        ("draw", "v-r1", date(2026, 11, 30), 1, 0, 300, 0)
    ]
    assert await gross(platform, "v-r1", "2026-11") == 200
    [line] = await breakdown(platform, "v-r1", "2026-11")
    assert (line.draws, line.paid_medals, line.free_medals, line.value_jpy) == (2, 200, 400, 200)


# --- collabs ---------------------------------------------------------------------------------


async def test_a_three_way_collab_splits_odd_yen_exactly(platform: Platform) -> None:
    await feed(platform, catalog("g-collab", "collab-a", title="3人コラボ", parties=COLLAB))
    first = completed(
        vtuber_id="collab-a", gacha_id="g-collab", paid_value_jpy=1001, parties=COLLAB
    )
    second = completed(
        vtuber_id="collab-a", gacha_id="g-collab", paid_value_jpy=999, parties=COLLAB
    )
    await feed(platform, first, second)

    # 1001: 333.6333 / 333.6333 / 333.7334 → c first, then a (tie at share, smaller id)
    assert [(f[1], f[6]) for f in await facts(platform, first.draw_id)] == [
        ("collab-a", 334),
        ("collab-b", 333),
        ("collab-c", 334),
    ]
    # 999: 332.9667 / 332.9667 / 333.0666 → the two 3333 shares get the 2 yen left
    assert [(f[1], f[6]) for f in await facts(platform, second.draw_id)] == [
        ("collab-a", 333),
        ("collab-b", 333),
        ("collab-c", 333),
    ]
    month = await totals(platform, "2026-11")
    assert {v: month[v] for v in ("collab-a", "collab-b", "collab-c")} == {
        "collab-a": 667,
        "collab-b": 666,
        "collab-c": 667,
    }
    assert month["collab-a"] + month["collab-b"] + month["collab-c"] == 2000
    [line] = await breakdown(platform, "collab-b", "2026-11")
    assert (line.gacha_id, line.title, line.draws, line.value_jpy) == (
        "g-collab",
        "3人コラボ",
        2,
        666,
    )


# --- reversals -------------------------------------------------------------------------------


async def test_a_reversal_in_a_later_month_is_taken_off_that_month(platform: Platform) -> None:
    draw = completed(
        vtuber_id="collab-a", paid_value_jpy=1001, parties=COLLAB, at=NOV_30_NOON, rarities=["SR"]
    )
    await feed(platform, draw, reversal(draw, at=DEC_2))

    rows = await facts(platform, draw.draw_id)
    assert [r for r in rows if r[0] == "reversal"] == [
        ("reversal", "collab-a", date(2026, 12, 2), -1, -300, 0, -334),
        ("reversal", "collab-b", date(2026, 12, 2), -1, -300, 0, -333),
        ("reversal", "collab-c", date(2026, 12, 2), -1, -300, 0, -334),
    ]
    assert await gross(platform, "collab-a", "2026-11") == 334
    assert await gross(platform, "collab-a", "2026-12") == -334
    [november] = await breakdown(platform, "collab-a", "2026-11")
    [december] = await breakdown(platform, "collab-a", "2026-12")
    assert (november.value_jpy, november.refunds_jpy, november.net_jpy) == (334, 0, 334)
    assert (december.draws, december.value_jpy, december.refunds_jpy, december.net_jpy) == (
        0,
        0,
        334,
        -334,
    )


async def test_an_old_reversal_without_figures_uses_the_draw_rows(platform: Platform) -> None:
    draw = completed(vtuber_id="collab-a", paid_value_jpy=1001, parties=COLLAB, at=NOV_30_NOON)
    await feed(platform, draw, reversal(draw, at=DEC_2, with_figures=False))

    reversed_ = [r for r in await facts(platform, draw.draw_id) if r[0] == "reversal"]
    assert [(r[1], r[6]) for r in reversed_] == [
        ("collab-a", -334),
        ("collab-b", -333),
        ("collab-c", -334),
    ]
    assert sum(r[6] for r in reversed_) == -1001


async def test_a_reversal_before_its_draw_keeps_what_it_carries(platform: Platform) -> None:
    sales = sales_of(platform)
    draw = completed(vtuber_id="v-early", paid_value_jpy=500, paid_medals=500, at=NOV_30_NOON)

    assert await sales.apply(message(reversal(draw, at=DEC_2))) == Outcome(written=1)
    assert await facts(platform, draw.draw_id) == [
        ("reversal", "v-early", date(2026, 12, 2), 0, 0, 0, -500)  # slots not known yet
    ]
    assert await sales.apply(message(draw)) == Outcome(written=1, completed=1)
    assert await facts(platform, draw.draw_id) == [
        ("draw", "v-early", date(2026, 11, 30), 1, 500, 0, 500),
        ("reversal", "v-early", date(2026, 12, 2), -1, -500, 0, -500),
    ]


async def test_an_old_reversal_before_its_draw_waits_for_it(platform: Platform) -> None:
    sales = sales_of(platform)
    draw = completed(vtuber_id="v-wait", paid_value_jpy=700, paid_medals=700, at=NOV_30_NOON)
    old = reversal(draw, at=DEC_2, with_figures=False)

    assert await sales.apply(message(old)) == Outcome(written=1, pending=True)
    assert await gross(platform, "v-wait", "2026-12") == 0
    assert "" not in await totals(platform, "2026-12")  # the pending row is nobody's

    assert await sales.apply(message(draw)) == Outcome(written=2)
    rows = await facts(platform, draw.draw_id)
    assert ("reversal", "v-wait", date(2026, 12, 2), -1, -700, 0, -700) in rows
    assert await gross(platform, "v-wait", "2026-11") == 700
    assert await gross(platform, "v-wait", "2026-12") == -700

    # the same reversal again (another message id), and the draw again: nothing more
    assert await sales.apply(message(old)) == Outcome()
    assert await sales.apply(message(draw)) == Outcome()
    assert await gross(platform, "v-wait", "2026-12") == -700


# --- JST days --------------------------------------------------------------------------------


async def test_23_59_jst_and_00_00_jst_are_different_days_and_months(platform: Platform) -> None:
    late = completed(vtuber_id="v-jst", at=datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC))
    early = completed(vtuber_id="v-jst", at=datetime(2026, 11, 30, 15, 0, 0, tzinfo=UTC))
    await feed(platform, late, early)

    assert (await facts(platform, late.draw_id))[0][2] == date(2026, 11, 30)
    assert (await facts(platform, early.draw_id))[0][2] == date(2026, 12, 1)
    assert await gross(platform, "v-jst", "2026-11") == 300
    assert await gross(platform, "v-jst", "2026-12") == 300


# --- at most once ----------------------------------------------------------------------------


async def test_a_redelivered_message_and_a_new_message_id_count_once(platform: Platform) -> None:
    sales = sales_of(platform)
    draw = completed(vtuber_id="v-once", paid_value_jpy=300, at=NOV_30_NOON)
    once = message(draw)

    assert await sales.apply(once) == Outcome(written=1)
    assert await sales.apply(once) == Outcome()  # the inbox
    assert await sales.apply(message(draw)) == Outcome()  # another message id: the unique key
    back = reversal(draw, at=DEC_2)
    assert await sales.apply(message(back)) == Outcome(written=1)
    assert await sales.apply(message(back)) == Outcome()
    assert await gross(platform, "v-once", "2026-11") == 300
    assert await gross(platform, "v-once", "2026-12") == -300


async def test_a_draw_published_three_times_through_the_bus_counts_once(
    platform: Platform,
) -> None:
    draw = completed(vtuber_id="v-bus", paid_value_jpy=1100, at=NOV_30_NOON)
    gacha = platform.units["gacha"]
    async with gacha.db.transaction() as session:
        ids = [await Outbox(gacha.outbox_table).add(session, draw) for _ in range(3)]
    ctx = vtuber_context(platform)

    async def handled() -> bool:
        async with ctx.db.transaction(read_only=True) as session:
            found = await session.scalars(
                select(ctx.inbox.table.c.message_id).where(
                    ctx.inbox.table.c.consumer == "vtuber.sales",
                    ctx.inbox.table.c.message_id.in_(ids),
                )
            )
            return len(list(found)) == 3

    await eventually(handled)
    assert await gross(platform, "v-bus", "2026-11") == 1100


async def test_a_draw_and_its_old_reversal_arriving_together_net_to_zero(
    platform: Platform,
) -> None:
    """Several copies of a draw and of its figure-less reversal, all at once, in any order: the
    draw counts once in its month and is taken back once in the reversal's."""
    sales = sales_of(platform)
    draw = completed(vtuber_id="v-race", paid_value_jpy=900, at=NOV_30_NOON)
    old = reversal(draw, at=DEC_2, with_figures=False)
    messages = [message(old), message(draw), message(old), message(draw), message(draw)]

    await asyncio.gather(*(sales.apply(m) for m in messages))

    assert await gross(platform, "v-race", "2026-11") == 900
    assert await gross(platform, "v-race", "2026-12") == -900


# --- rejected payloads -----------------------------------------------------------------------


def _completed_payload(**changes: Any) -> dict[str, Any]:
    payload = completed(vtuber_id="v-bad", draw_id="d-bad").model_dump(mode="json")
    payload.update(changes)
    return payload


MALFORMED: list[tuple[str, dict[str, Any]]] = [
    (DrawCompleted.topic, {"draw_id": "d-bad"}),
    (DrawCompleted.topic, _completed_payload(shares=[{"vtuber_id": "a", "share_bp": 9000}])),
    (DrawCompleted.topic, _completed_payload(paid_value_jpy=-1)),
    (DrawCompleted.topic, _completed_payload(count=0)),
    (DrawCompleted.topic, _completed_payload(user_id="u" * 65)),
    (DrawCompleted.topic, _completed_payload(vtuber_id="v" * 37)),
    (DrawReversed.topic, {"draw_id": "d-bad", "reason": "r"}),
    (
        DrawReversed.topic,
        {
            "draw_id": "d-bad",
            "user_id": "u",
            "reason": "r",
            "reversed_at": "2026-12-02T00:00:00Z",
            "gacha_id": "g",
            "vtuber_id": "v",
            "shares": [{"vtuber_id": "v", "share_bp": 10001}],
        },
    ),
    ("gacha.draw.unknown.v1", {"draw_id": "d-bad"}),
]


async def test_a_malformed_event_is_rejected_not_retried(platform: Platform) -> None:
    sales = sales_of(platform)
    for topic, payload in MALFORMED:
        bad = raw(topic, payload)
        await sales.handle(bad)  # no exception: a broken payload is never retried
        assert await sales.apply(bad) == Outcome(), (topic, payload)  # and claimed once
        assert await facts(platform, "d-bad") == [], (topic, payload)


async def test_a_month_that_is_not_yyyy_mm_is_refused(platform: Platform) -> None:
    for month in ("2026-13", "2026-1", "26-11", "2026-11-01", ""):
        with pytest.raises(InvalidMonth):
            await gross(platform, "v-1", month)

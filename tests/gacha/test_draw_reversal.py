"""Operators reverse a completed draw (e.g. after a chargeback): recorded once, announced to
the rewards service through the outbox, refused for anything but a completed draw, admin only."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from gacha import samples
from gacha.conftest import Desk, gacha_context, live_now
from koepon.contracts.gacha import DrawReversed


async def completed_draw(desk: Desk) -> tuple[str, str]:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=300)
    made = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    assert made.status_code == 200, made.text
    return made.json()["id"], fan.id


async def reversal_events(desk: Desk, draw_id: str) -> list[dict[str, object]]:
    ctx = gacha_context(desk.platform)
    table = ctx.outbox.table
    async with ctx.db.transaction(read_only=True) as session:
        payloads = (
            await session.scalars(
                select(table.c.payload).where(table.c.topic == DrawReversed.topic)
            )
        ).all()
    return [p for p in payloads if p["draw_id"] == draw_id]


async def test_an_admin_reverses_a_completed_draw_once(desk: Desk) -> None:
    draw_id, fan_id = await completed_draw(desk)
    admin = await desk.shop.fan(roles=["admin"])
    path = f"/api/v1/admin/draws/{draw_id}/reverse"
    body = {"reason": "チャージバック (chargeback of the purchase)"}
    answers = await asyncio.gather(
        *(desk.client.post(path, json=body, headers=admin.headers) for _ in range(5))
    )
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    first = answers[0].json()
    assert all(a.json() == first for a in answers)
    assert first["user_id"] == fan_id and first["reversed_by"] == admin.id
    events = await reversal_events(desk, draw_id)
    assert len(events) == 1 and events[0]["user_id"] == fan_id
    # What the draw earned, for the VTuber service's sales: a solo gacha's, all its VTuber's.
    assert (events[0]["vtuber_id"], events[0]["paid_value_jpy"], events[0]["shares"]) == (
        "vt-demo",
        300,
        [],
    )
    assert events[0]["gacha_id"]
    # The draw itself stays completed in the fan's history (the log is append-only).
    fan_view = await desk.client.get(f"/api/v1/draws/{draw_id}", headers=admin.headers)
    assert fan_view.status_code == 404  # another account's draw is not shown to the admin here


async def test_only_completed_draws_of_this_platform_are_reversed(desk: Desk) -> None:
    admin = await desk.shop.fan(roles=["admin"])
    unknown = await desk.client.post(
        f"/api/v1/admin/draws/{uuid.uuid4()}/reverse", json={"reason": "x"}, headers=admin.headers
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "draw_not_found"
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    poor = await desk.fan()
    refused = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=poor.ik()
    )
    assert refused.status_code == 402
    draw_id = refused.json()["draw_id"]
    answer = await desk.client.post(
        f"/api/v1/admin/draws/{draw_id}/reverse", json={"reason": "x"}, headers=admin.headers
    )
    assert answer.status_code == 409 and answer.json()["code"] == "draw_not_reversible"
    assert await reversal_events(desk, draw_id) == []


async def test_a_reversal_needs_a_reason_and_an_admin(desk: Desk) -> None:
    draw_id, _fan_id = await completed_draw(desk)
    path = f"/api/v1/admin/draws/{draw_id}/reverse"
    admin = await desk.shop.fan(roles=["admin"])
    for bad in ({}, {"reason": ""}, {"reason": "a" * 2001}, {"reason": "x\x00y"}, {"why": "x"}):
        answer = await desk.client.post(path, json=bad, headers=admin.headers)
        assert answer.status_code == 422, (bad, answer.text)
    for roles in (None, ["support"], ["compliance"], ["vtuber"]):
        caller = await desk.shop.fan(roles=roles)
        answer = await desk.client.post(path, json={"reason": "x"}, headers=caller.headers)
        assert answer.status_code == 403, (roles, answer.text)
    anonymous = await desk.client.post(path, json={"reason": "x"})
    assert anonymous.status_code == 401
    assert await reversal_events(desk, draw_id) == []

"""A fan's opt-in to show a pull on the VTuber's stream overlay: stored with the draw request,
carried into ``gacha.draw.completed.v1`` as ``on_stream``, off unless asked for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gacha import samples
from gacha.conftest import Desk, gacha_unit, live_now
from koepon.contracts.gacha import DrawCompleted
from koepon.gacha.draws.models import Draw


async def post_draw(desk: Desk, fan: Any, gacha_id: str, body: dict[str, Any], key: str = ""):  # type: ignore[no-untyped-def]
    return await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json=body, headers=fan.ik(key or None)
    )


async def stored(desk: Desk, draw_id: str) -> tuple[bool, bool]:
    """(the draw row's flag, ``on_stream`` of its DrawCompleted in the outbox)."""
    unit = gacha_unit(desk.platform)
    async with unit.db.transaction(read_only=True) as session:
        row = await session.get(Draw, draw_id)
        events = (
            await session.execute(
                select(unit.outbox_table.c.payload).where(
                    unit.outbox_table.c.topic == DrawCompleted.topic
                )
            )
        ).scalars()
        completed = [e for e in events if e["draw_id"] == draw_id]
    assert row is not None and len(completed) == 1
    return row.show_on_stream, DrawCompleted.model_validate(completed[0]).on_stream


async def test_a_draw_is_off_stream_unless_the_fan_opts_in(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=1000)
    quiet = await post_draw(desk, fan, gacha_id, {"count": 1})
    shown = await post_draw(desk, fan, gacha_id, {"count": 1, "show_on_stream": True})
    assert quiet.status_code == 200 and shown.status_code == 200, (quiet.text, shown.text)
    assert await stored(desk, quiet.json()["id"]) == (False, False)
    assert await stored(desk, shown.json()["id"]) == (True, True)


async def test_the_opt_in_is_part_of_the_request_its_key_stands_for(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=1000)
    first = await post_draw(desk, fan, gacha_id, {"count": 1, "show_on_stream": True}, "k-1")
    assert first.status_code == 200, first.text
    other = await post_draw(desk, fan, gacha_id, {"count": 1}, "k-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_a_malformed_opt_in_is_refused_and_spends_nothing(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=1000)
    for body in (
        {"count": 1, "show_on_stream": "sometimes"},
        {"count": 1, "show_on_stream": None},
        {"count": 1, "show_on_stream": [True]},
        {"count": 1, "on_stream": True},
    ):
        answer = await post_draw(desk, fan, gacha_id, body)
        assert answer.status_code == 422, (body, answer.text)
    assert await desk.shop.medals(fan.id) == (1000, 0)

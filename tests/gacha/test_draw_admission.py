"""The accept gate: at most ``draw_accept_concurrency`` draw requests of a process are accepted
at once, the rest wait their turn (no database connection held, no pool timeout), a wait beyond
``draw_accept_wait_seconds`` is answered 503 with nothing stored, and while a backlog waits
the process leaves the sagas to the queue's workers; a draw whose saga runs on its request's
path is not queued as well (a queue worker would run the same saga beside it)."""

from __future__ import annotations

import asyncio

import pytest

from gacha import samples
from gacha.conftest import Desk, gacha_context, gacha_services, live_now
from gacha.test_draw_saga import every_saga_slot_busy, finish_everything, post_draw
from koepon.gacha.draws.admission import AcceptGate
from koepon.kernel.errors import Unavailable


async def test_the_gate_lets_a_fixed_number_in_first_come_first_served() -> None:
    gate = AcceptGate(2, wait_seconds=5)
    inside: list[int] = []
    order: list[int] = []
    leave = [asyncio.Event() for _ in range(10)]

    async def request(n: int) -> None:
        async with gate.turn():
            inside.append(n)
            order.append(n)
            assert len(inside) <= 2
            await leave[n].wait()
            inside.remove(n)

    async def settle() -> None:
        for _ in range(5):
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(request(n)) for n in range(10)]
    await settle()
    assert inside == [0, 1] and gate.waiting == 8
    assert gate.pressed  # more wait than are let in at once
    for n in range(6):
        leave[n].set()
        await settle()
    assert inside == [6, 7] and gate.waiting == 2
    assert not gate.pressed  # a moment's queue: sagas may still run on the request's path
    for event in leave:
        event.set()
    await asyncio.gather(*tasks)
    assert order == list(range(10))
    assert gate.waiting == 0 and not gate.pressed


async def test_a_turn_that_does_not_come_in_time_is_a_503_with_retry_after() -> None:
    gate = AcceptGate(1, wait_seconds=0.05)
    async with gate.turn():
        with pytest.raises(Unavailable) as refused:
            async with gate.turn():
                raise AssertionError("two requests were let in")
    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": "2"}
    assert gate.waiting == 0
    async with gate.turn():  # the slot was given back
        pass


@pytest.mark.service_settings(gacha={"draw_accept_concurrency": 1, "draw_wait_ms": 2000})
async def test_while_draws_wait_their_turn_none_is_drawn_on_the_request_path(desk: Desk) -> None:
    """Twelve fans draw at once through one accept slot: every request is answered (no 503),
    those accepted while a backlog waited are queued and answer 202 at once, and every draw is
    made exactly once."""
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fans = [await desk.fan(medals=300) for _ in range(12)]
    draws = gacha_services(desk.platform).draws
    started: list[str] = []
    worker = gacha_services(desk.platform).draw_worker
    original = worker.start

    def spy(draw_id: str, known: object = None) -> object:
        started.append(draw_id)
        return original(draw_id, known)  # type: ignore[arg-type]

    worker.start = spy  # type: ignore[method-assign]
    answers = await asyncio.gather(*(post_draw(desk, fan, gacha_id) for fan in fans))
    assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
    queued = [a.json()["id"] for a in answers if a.json()["id"] not in started]
    assert queued, "every draw ran on its request's path although others were waiting"
    assert draws.gate.waiting == 0
    await finish_everything(desk)
    for fan, answer in zip(fans, answers, strict=True):
        read = await desk.client.get(f"/api/v1/draws/{answer.json()['id']}", headers=fan.headers)
        assert read.json()["status"] == "completed", read.text
        assert await desk.shop.medals(fan.id) == (0, 0)


async def queued_requests(desk: Desk) -> list[str]:
    from sqlalchemy import select

    from koepon.gacha.draws.events import DrawRequested
    from koepon.gacha.models import outbox

    async with gacha_context(desk.platform).db.transaction(read_only=True) as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.topic == DrawRequested.topic)
        )
        return [row.payload["draw_id"] for row in rows]


async def test_a_draw_run_on_its_request_path_is_not_queued_as_well(desk: Desk) -> None:
    """The request takes a saga slot before the draw is stored: the draw is then not queued,
    so no queue worker runs its saga beside the request's (each such duplicate reserved,
    locked and posted once more). With every slot busy it is queued as before."""
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=600)
    inline = await post_draw(desk, fan, gacha_id)
    assert inline.status_code == 200, inline.text
    async with every_saga_slot_busy(desk):
        queued = await post_draw(desk, fan, gacha_id)
        assert queued.status_code == 202, queued.text
    assert await queued_requests(desk) == [queued.json()["id"]]
    await finish_everything(desk)
    assert await desk.shop.medals(fan.id) == (0, 0)


@pytest.mark.service_settings(gacha={"draw_wait_ms": 0, "draw_stale_seconds": 1})
async def test_the_recovery_sweep_waits_while_a_backlog_waits_to_be_accepted(desk: Desk) -> None:
    """In a spike the queued draws look abandoned by the thousand; sweeping them in a process
    whose accepts are backed up took the CPU from the accepts (and through slowed payment calls
    opened the payment breaker: 503s). The sweep waits for the backlog, then takes them."""
    from datetime import timedelta

    from clocks import MovableClock

    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=300)
    services = gacha_services(desk.platform)
    services.saga.crash.armed = {"reserved"}  # the request's saga dies: the draw is left
    queued = await post_draw(desk, fan, gacha_id)
    assert queued.status_code == 202, queued.text
    running = list(services.draw_worker.running.values())
    if running:
        await asyncio.wait(running)
    services.saga.crash.armed = set()
    ctx = gacha_context(desk.platform)
    ctx.clock.use(MovableClock(ctx.now() + timedelta(seconds=5)))
    gate = services.draws.gate
    gate.waiting = gate.concurrency + 1  # as if that many requests waited for their turn
    try:
        assert await services.draw_recovery.run_once() == 0
    finally:
        gate.waiting = 0
    assert await services.draw_recovery.run_once() == 1
    read = await desk.client.get(f"/api/v1/draws/{queued.json()['id']}", headers=fan.headers)
    assert read.json()["status"] == "completed", read.text


def test_a_turn_is_given_up_well_before_the_gateway_gives_up_on_the_request() -> None:
    """Otherwise a draw could be stored after the gateway answered 504 for it."""
    from koepon.gacha.settings import GachaSettings
    from koepon.kernel.settings import Settings

    wait = GachaSettings.model_fields["draw_accept_wait_seconds"].default
    gateway = Settings.model_fields["gateway_upstream_timeout_seconds"].default
    assert wait + 3 <= gateway

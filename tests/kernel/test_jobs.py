"""Loops asked to end (kernel/jobs.py): a pause ends at once, a round in progress is finished."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from koepon.kernel import jobs


async def test_a_loop_in_a_pause_ends_as_soon_as_its_shutdown_is_requested() -> None:
    shutdown = jobs.Shutdown()
    task = jobs.spawn(jobs.pause(3600), shutdown)
    await asyncio.sleep(0)  # the task is now in its pause
    shutdown.request()
    done, _ = await asyncio.wait([task], timeout=10)
    assert task in done and task.cancelled()  # ended by the request, not by the 3600 s


async def test_a_pause_with_its_own_wake_event_also_ends_on_shutdown() -> None:
    shutdown, wake = jobs.Shutdown(), asyncio.Event()
    task = jobs.spawn(jobs.pause(3600, wake), shutdown)
    await asyncio.sleep(0)
    shutdown.request()
    done, _ = await asyncio.wait([task], timeout=10)
    assert task in done and task.cancelled()


async def test_a_round_in_progress_is_finished_before_the_loop_ends() -> None:
    shutdown, working, finish = jobs.Shutdown(), asyncio.Event(), asyncio.Event()
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            working.set()
            await finish.wait()  # a round's work, e.g. a transaction
            rounds.append(len(rounds) + 1)
            await jobs.pause(3600)

    task = jobs.spawn(loop(), shutdown)
    await working.wait()
    shutdown.request()
    await asyncio.sleep(0)
    assert not task.done()  # not cut in the middle of the round
    finish.set()
    done, _ = await asyncio.wait([task], timeout=10)
    assert task in done and rounds == [1]


async def test_a_pause_outside_a_spawned_loop_is_a_plain_wait() -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(jobs.pause(3600), timeout=0.05)
    assert not jobs.stop_requested()


async def test_spawned_loops_do_not_share_context_variables() -> None:
    shutdown = jobs.Shutdown()
    var: contextvars.ContextVar[int] = contextvars.ContextVar("n", default=0)

    async def set_and_read(value: int) -> int:
        var.set(value)
        await asyncio.sleep(0)
        return var.get()

    first = jobs.spawn(set_and_read(1), shutdown)
    second = jobs.spawn(set_and_read(2), shutdown)
    assert await first == 1 and await second == 2
    assert var.get() == 0  # nor leak into the caller's

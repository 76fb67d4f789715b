"""A platform stopping asks its loops to end: a transaction in progress is finished, not cut
(a cut one left SQLite's connection threads outliving the event loop)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from koepon.app import Platform
from koepon.kernel import jobs
from koepon.kernel.settings import Settings


async def test_a_background_round_in_a_transaction_is_finished_when_the_platform_stops(
    settings: Settings, backend: str
) -> None:
    platform = Platform(settings)
    if backend == "embedded":
        await platform.migrate()
    unit = platform.units["gacha"]
    async with unit.db.transaction() as session:
        await session.execute(text("CREATE TABLE stop_probe (round integer NOT NULL)"))
    inside, finish = asyncio.Event(), asyncio.Event()

    async def job() -> None:
        round_ = 0
        while True:
            round_ += 1
            async with unit.db.transaction() as session:
                await session.execute(text("INSERT INTO stop_probe VALUES (:n)"), {"n": round_})
                inside.set()
                await finish.wait()
            await jobs.pause(3600)

    unit.background.append(job)
    await platform.start()
    try:
        await inside.wait()
        stopping = asyncio.create_task(platform.stop())
        await asyncio.sleep(0)  # the stop has asked the loops to end and waits for them
        assert not stopping.done()
        finish.set()
        await stopping
    finally:
        finish.set()
        if not stopping.done():
            await platform.stop()
    async with unit.db.transaction(read_only=True) as session:
        rows = (await session.execute(text("SELECT round FROM stop_probe"))).scalars().all()
    await unit.db.dispose()
    assert rows == [1]  # the round in progress committed; no second round began

"""The operators' outbox-lag check: how many events wait for the bus and how old the oldest is
(SQLite hands its timestamps back naive, PostgreSQL aware: both must read as UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from koepon.kernel.health import healthy, outbox_lag

from .probe import Probe, outbox


async def test_outbox_lag_counts_the_waiting_events_and_ages_the_oldest(probe: Probe) -> None:
    check = outbox_lag(probe.db, outbox)
    assert await check() == {"ok": True, "pending": 0, "oldest_seconds": 0.0}
    await probe.emit(1)
    await probe.emit(2)
    async with probe.db.transaction() as session:
        ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
        await session.execute(update(outbox).values(created_at=ten_minutes_ago))
    lag = await check()
    assert lag["pending"] == 2 and healthy(lag)
    assert 600 <= lag["oldest_seconds"] < 660

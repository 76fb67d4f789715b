"""The transactional outbox and its relay, on SQLite with the in-process bus and on
PostgreSQL with RabbitMQ."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from koepon.kernel.bus import Message
from koepon.kernel.bus.inprocess import InProcessBus
from koepon.kernel.bus.rabbitmq import RabbitMQBus
from koepon.kernel.outbox import EVENT_WRITTEN

from .conftest import AMQP_URL
from .probe import CONSUMERS, Pinged, Probe, effects, outbox, wait_until


async def _bus(backend: str, exchange: str, probe: Probe) -> InProcessBus | RabbitMQBus:
    bus: InProcessBus | RabbitMQBus
    if backend == "embedded":
        bus = InProcessBus()
    else:
        bus = RabbitMQBus(AMQP_URL, exchange=exchange)
        await bus.connect()
    for consumer in CONSUMERS:
        bus.subscribe(consumer, [Pinged.topic], probe.handler(consumer))
    if isinstance(bus, RabbitMQBus):
        await bus.start_consuming()
    return bus


class Recorder:
    """A publisher that records what it was given and can refuse the first few messages."""

    def __init__(self, refuse: int = 0, delay: float = 0.0) -> None:
        self.refuse = refuse
        self.delay = delay
        self.published: list[Message] = []

    async def publish(self, message: Message) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("broker away")
        self.published.append(message)


async def test_rolled_back_event_is_never_delivered_committed_one_reaches_each_consumer_once(
    backend: str, probe: Probe, exchange: str
) -> None:
    bus = await _bus(backend, exchange, probe)
    relay = probe.relay(bus)
    try:
        rolled_back = await probe.emit(1, rollback=True)
        committed = await probe.emit(2)
        assert rolled_back != committed
        assert await probe.outbox_size() == 1

        assert await relay.relay_once() == 1

        async def each_consumer_applied_it() -> bool:
            return all([await probe.applied(c) == {2: 1} for c in CONSUMERS])

        await wait_until(each_consumer_applied_it)
        # The same message again (a relay that crashed before marking it) changes nothing.
        async with probe.db.sessionmaker() as session:
            row = (await session.execute(select(outbox))).one()
        await bus.publish(
            Message(id=row.id, topic=row.topic, payload=row.payload, occurred_at=row.created_at)
        )

        async def duplicate_seen() -> bool:
            return all([await probe.max_deliveries(c) == 2 for c in CONSUMERS])

        await wait_until(duplicate_seen)
        assert await relay.relay_once() == 0
        for consumer in CONSUMERS:
            assert await probe.applied(consumer) == {2: 1}
        assert await probe.pending() == 0
    finally:
        if isinstance(bus, RabbitMQBus):
            await bus.close()


async def test_relay_keeps_refused_rows_pending_and_publishes_them_later_in_order(
    probe: Probe,
) -> None:
    publisher = Recorder(refuse=2)
    relay = probe.relay(publisher, batch=3)
    await probe.emit_many(7)

    assert await relay.relay_once() == 0
    assert await relay.relay_once() == 0
    assert await probe.pending() == 7
    async with probe.db.sessionmaker() as session:
        first = (
            await session.execute(select(outbox).order_by(outbox.c.created_at, outbox.c.id))
        ).first()
    assert first is not None and first.attempts == 2 and "broker away" in first.last_error

    while await relay.relay_once():
        pass
    assert [m.payload["n"] for m in publisher.published] == list(range(7))
    assert await probe.pending() == 0
    assert all(m.occurred_at.tzinfo is not None for m in publisher.published)


async def test_relay_loop_backs_off_while_refused_then_catches_up(probe: Probe) -> None:
    publisher = Recorder(refuse=3)
    relay = probe.relay(publisher, poll_seconds=0.01, max_backoff_seconds=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await probe.emit_many(250)

        async def all_published() -> bool:
            return len(publisher.published) == 250

        await wait_until(all_published, within=15)
        assert relay.failures == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


@pytest.mark.distributed
async def test_parallel_relays_on_postgresql_never_publish_a_row_twice(pg_probe: Probe) -> None:
    await pg_probe.emit_many(300)
    publishers = [Recorder(delay=0.0005) for _ in range(4)]
    relays = [pg_probe.relay(p, batch=20) for p in publishers]

    async def drain(relay) -> None:  # type: ignore[no-untyped-def]
        while await relay.relay_once() or await pg_probe.pending():
            pass

    await asyncio.gather(*(drain(r) for r in relays))
    ids = [m.id for p in publishers for m in p.published]
    assert len(ids) == 300
    assert len(set(ids)) == 300
    assert sum(1 for p in publishers if p.published) > 1  # they really ran side by side


async def test_published_rows_are_purged_after_the_retention(probe: Probe) -> None:
    relay = probe.relay(Recorder())
    await probe.emit_many(3)
    await relay.relay_once()
    await probe.emit(99)  # still pending: never purged
    async with probe.db.transaction() as session:
        await session.execute(
            update(outbox)
            .where(outbox.c.published_at.is_not(None))
            .values(published_at=datetime.now(UTC) - timedelta(days=8))
        )
    assert await relay.purge_published(timedelta(days=7)) == 3
    assert await probe.outbox_size() == 1
    assert await probe.pending() == 1


async def test_an_idle_relay_does_not_wake_itself(probe: Probe) -> None:
    """The relay's own pass commits too; if that woke it, an idle relay would poll the
    database without pause (issue 7's profile: every GET then cost a relay pass as well)."""
    relay = probe.relay(Recorder(), poll_seconds=60)
    probe.db.on_commit(relay.wake)
    assert await relay.relay_once() == 0
    assert not relay._wake.is_set()
    # A business commit still wakes it, and read-only units of work do not.
    async with probe.db.transaction(read_only=True):
        pass
    assert not relay._wake.is_set()
    await probe.emit(1)
    assert relay._wake.is_set()


async def test_only_a_commit_that_wrote_an_event_wakes_the_relay(probe: Probe) -> None:
    """A commit without an event (a consumer's inbox row and its effect, a sweeper's update)
    has nothing to relay: waking the relay for it cost a query per commit per service."""
    relay = probe.relay(Recorder(), poll_seconds=60)
    probe.db.on_commit(relay.wake, marked=EVENT_WRITTEN)
    async with probe.db.transaction() as session:
        await session.execute(
            insert(effects).values(consumer="ledger", message_id="m-1", n=1, applied=1)
        )
    assert not relay._wake.is_set()
    await probe.emit(1, rollback=True)  # an event written and rolled back: nothing to relay
    assert not relay._wake.is_set()
    await probe.emit(2)
    assert relay._wake.is_set()

"""A tiny test-only service built from kernel pieces: it emits events through its outbox and
consumes them through its inbox, recording each effect with a counter that would show any
double application. Also runnable as a separate process (relay or consumer) for crash tests."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts import Event
from koepon.kernel.bus import Handler, Message
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox, idempotent, inbox_table
from koepon.kernel.outbox import Outbox, OutboxRelay, outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# One row per (consumer, message): ``applied`` counts how often the effect ran (must be 1).
effects = Table(
    "effects",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
)
# Raw deliveries seen by each consumer, outside the inbox: proves duplicates hit the wire.
deliveries = Table(
    "deliveries",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("count", Integer, nullable=False),
)

CONSUMERS = ("ledger", "mailer")


class Pinged(Event):
    topic: ClassVar[str] = "probe.pinged.v1"
    n: int


class Probe:
    """The probe service on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.outbox = Outbox(outbox)
        self.inbox = Inbox(inbox)

    async def create_tables(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def emit(self, n: int, *, rollback: bool = False) -> str:
        """One business transaction writing one event; ``rollback`` makes it fail at the end."""

        class Abort(Exception):
            pass

        message_id = ""
        try:
            async with self.db.transaction() as session:
                message_id = await self.outbox.add(session, Pinged(n=n))
                if rollback:
                    raise Abort
        except Abort:
            pass
        return message_id

    async def emit_many(self, count: int, *, start: int = 0, per_transaction: int = 100) -> None:
        for first in range(start, start + count, per_transaction):
            async with self.db.transaction() as session:
                for n in range(first, min(first + per_transaction, start + count)):
                    await self.outbox.add(session, Pinged(n=n))

    def relay(self, publisher: Any, **options: Any) -> OutboxRelay:
        return OutboxRelay(self.db, outbox, publisher, **options)

    def _insert(self) -> Callable[..., Any]:
        return pg_insert if self.db.is_postgres else sqlite_insert  # type: ignore[return-value]

    def handler(self, consumer: str, *, fail_on: frozenset[int] = frozenset()) -> Handler:
        """The consumer's bus handler: count the delivery, then apply the effect idempotently."""
        insert_ = self._insert()

        async def apply(session: AsyncSession, message: Message) -> None:
            if message.payload["n"] in fail_on:
                raise RuntimeError(f"poison {message.payload['n']}")
            stmt = insert_(effects).values(
                consumer=consumer, message_id=message.id, n=message.payload["n"], applied=1
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["consumer", "message_id"],
                    set_={"applied": effects.c.applied + 1},
                )
            )

        applying = idempotent(self.db, self.inbox, consumer, apply)

        async def handle(message: Message) -> None:
            async with self.db.transaction() as session:
                stmt = insert_(deliveries).values(consumer=consumer, message_id=message.id, count=1)
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["consumer", "message_id"],
                        set_={"count": deliveries.c.count + 1},
                    )
                )
            await applying(message)

        return handle

    async def applied(self, consumer: str) -> dict[int, int]:
        """n → how many times its effect was applied, for one consumer."""
        async with self.db.sessionmaker() as session:
            rows = await session.execute(
                select(effects.c.n, func.sum(effects.c.applied))
                .where(effects.c.consumer == consumer)
                .group_by(effects.c.n)
            )
            return {int(n): int(total) for n, total in rows}

    async def max_deliveries(self, consumer: str) -> int:
        async with self.db.sessionmaker() as session:
            value = await session.scalar(
                select(func.max(deliveries.c.count)).where(deliveries.c.consumer == consumer)
            )
        return int(value or 0)

    async def pending(self) -> int:
        async with self.db.sessionmaker() as session:
            value = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return int(value or 0)

    async def outbox_size(self) -> int:
        async with self.db.sessionmaker() as session:
            value = await session.scalar(select(func.count()).select_from(outbox))
        return int(value or 0)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float = 30.0, interval: float = 0.05
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


# -- separate-process roles (crash tests) ----------------------------------------------------


class _Stall:
    """After ``after`` calls, announce 'stalled' on stdout and hang until killed."""

    def __init__(self, after: int | None) -> None:
        self.after = after
        self.calls = 0
        self.stalled = asyncio.Event()

    async def tick(self) -> None:
        if self.after is None:
            return
        if self.stalled.is_set():
            await asyncio.Event().wait()
        self.calls += 1
        if self.calls >= self.after:
            self.stalled.set()
            print("stalled", flush=True)
            await asyncio.Event().wait()


async def _serve(args: argparse.Namespace) -> None:
    from koepon.kernel.bus.rabbitmq import RabbitMQBus

    db = Database(args.db)
    probe = Probe(db)
    bus = RabbitMQBus(args.amqp, exchange=args.exchange)
    await bus.connect()
    stall = _Stall(args.stall_after)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tasks = []
    if args.role == "relay":

        class StallingPublisher:
            async def publish(self, message: Message) -> None:
                await bus.publish(message)
                await stall.tick()  # confirmed by the broker, not yet marked published

        relay = probe.relay(StallingPublisher(), poll_seconds=0.05)
        tasks.append(asyncio.create_task(relay.run(stop)))
    else:
        for consumer in args.consumers.split(","):
            handle = probe.handler(consumer)

            async def stalling(message: Message, handle: Handler = handle) -> None:
                if stall.stalled.is_set():
                    await asyncio.Event().wait()
                await handle(message)
                await stall.tick()  # effect committed, not yet acked

            bus.subscribe(consumer, [Pinged.topic], stalling)
        await bus.start_consuming()
    print("ready", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await bus.close()
    await db.dispose()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consume"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--consumers", default=",".join(CONSUMERS))
    parser.add_argument("--stall-after", type=int, default=None)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])

"""After the run: the provider's own records (the sandbox's tables) against the ledger and the
wallets, the outboxes against what reached the broker and the consumers' inboxes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg

CHARGED = ("succeeded", "refunded", "disputed")


@dataclass
class Money:
    provider_sessions: int = 0
    charged: int = 0
    credited: int = 0
    refunded: int = 0
    charged_not_credited: list[str] = field(default_factory=list)
    credited_twice: list[str] = field(default_factory=list)
    credited_without_charge: list[str] = field(default_factory=list)
    refunded_and_kept: list[str] = field(default_factory=list)
    checkout_statuses: Counter[str] = field(default_factory=Counter)

    @property
    def lost_or_doubled(self) -> int:
        return (
            len(self.charged_not_credited)
            + len(self.credited_twice)
            + len(self.credited_without_charge)
            + len(self.refunded_and_kept)
        )


async def money(dsn: str) -> Money:
    conn = await asyncpg.connect(dsn)
    try:
        provider = {
            row["checkout_id"]: row["status"]
            for row in await conn.fetch("SELECT checkout_id, status FROM payment.sandbox_payments")
        }
        lots: Counter[str] = Counter()
        for row in await conn.fetch(
            "SELECT transfer_id FROM payment.medal_lots WHERE transfer_id LIKE 'checkout:%:paid'"
        ):
            lots[row["transfer_id"].split(":")[1]] += 1
        checkouts = {row["id"]: row for row in await conn.fetch("SELECT * FROM payment.checkouts")}
    finally:
        await conn.close()
    result = Money(provider_sessions=len(provider))
    result.checkout_statuses = Counter(row["status"] for row in checkouts.values())
    for checkout_id, status in provider.items():
        credited = lots.get(checkout_id, 0)
        clawed = checkouts.get(checkout_id, {}).get("clawed_back_at") is not None
        result.charged += status in CHARGED
        result.credited += credited > 0
        result.refunded += status == "refunded"
        if status == "succeeded" and not credited:
            result.charged_not_credited.append(checkout_id)
        if credited > 1:
            result.credited_twice.append(checkout_id)
        if credited and status not in CHARGED:
            result.credited_without_charge.append(checkout_id)
        if status == "refunded" and credited and not clawed:
            result.refunded_and_kept.append(checkout_id)
    result.credited_without_charge += [c for c in lots if c not in provider]
    return result


async def unsettled(dsn: str) -> int | None:
    """Payments the provider recorded as succeeded whose checkout holds no medals yet."""
    try:
        return len((await money(dsn)).charged_not_credited)
    except (OSError, asyncpg.PostgresError):
        return None


@dataclass
class Events:
    outbox: int = 0
    published: int = 0
    pending: int = 0
    seen_on_broker: int = 0
    not_seen_on_broker: int = 0
    published_twice: int = 0
    consumers: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.not_seen_on_broker + sum(c["missing"] for c in self.consumers.values())


class Tap:
    """A queue of the bench on the real broker (not behind the proxy) bound to every topic of
    the run's exchange: what the relays actually published, duplicates included."""

    def __init__(self, url: str, exchange: str) -> None:
        self.url = url
        self.exchange = exchange
        self.queue = f"{exchange}.bench-tap.{uuid.uuid4().hex[:6]}"
        self.ids: list[str] = []
        self.connection: Any = None

    async def open(self) -> None:
        self.connection = await aio_pika.connect_robust(self.url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self.queue, durable=True)
        await queue.bind(exchange, routing_key="#")

    async def drain(self) -> None:
        channel = await self.connection.channel()
        queue = await channel.declare_queue(self.queue, passive=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            self.ids.append(str(message.message_id))
        await channel.close()

    async def close(self, queues: set[str]) -> None:
        """Delete the tap and the run's exchanges and queues (the broker is shared)."""
        names = {self.queue, *queues, *(f"{q}.dlq" for q in queues)}
        exchanges = (self.exchange, f"{self.exchange}.dlx")
        if self.connection is None:
            return
        try:
            channel = await self.connection.channel()
            for name in sorted(names):
                try:
                    await channel.queue_delete(name)
                except Exception:  # already gone: that closed the channel, open another
                    channel = await self.connection.channel()
            for name in exchanges:
                try:
                    await channel.exchange_delete(name)
                except Exception:
                    channel = await self.connection.channel()
        finally:
            with contextlib.suppress(Exception):
                await self.connection.close()


async def events(dsn: str, tap: Tap, settle: float = 10.0) -> Events:
    conn = await asyncpg.connect(dsn)
    try:
        outbox = await conn.fetch(
            "SELECT id, topic, published_at FROM auth.outbox"
            " UNION ALL SELECT id, topic, published_at FROM payment.outbox"
        )
        inbox = await conn.fetch(
            "SELECT consumer, message_id, topic FROM auth.inbox"
            " UNION ALL SELECT consumer, message_id, topic FROM payment.inbox"
        )
    finally:
        await conn.close()
    result = Events(outbox=len(outbox))
    published = {str(r["id"]) for r in outbox if r["published_at"] is not None}
    result.published, result.pending = len(published), len(outbox) - len(published)
    deadline = asyncio.get_running_loop().time() + settle
    while True:
        await tap.drain()
        if published <= set(tap.ids) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.5)
    seen = Counter(tap.ids)
    result.seen_on_broker = len(published & set(seen))
    result.not_seen_on_broker = len(published - set(seen))
    result.published_twice = sum(1 for n in seen.values() if n > 1)
    topics_by_id = {str(r["id"]): r["topic"] for r in outbox if r["published_at"] is not None}
    consumed: dict[str, set[str]] = {}
    topics: dict[str, set[str]] = {}
    for row in inbox:
        consumed.setdefault(row["consumer"], set()).add(str(row["message_id"]))
        topics.setdefault(row["consumer"], set()).add(row["topic"])
    for consumer, ids in consumed.items():
        if not topics[consumer] & set(topics_by_id.values()):
            continue  # a provider's webhook inbox, not a consumer of the run's events
        expected = {i for i, t in topics_by_id.items() if t in topics[consumer]}
        result.consumers[consumer] = {
            "expected": len(expected),
            "consumed": len(ids & expected),
            "missing": len(expected - ids),
        }
    return result

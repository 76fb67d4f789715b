"""The RabbitMQ bus: message properties, topology, fast failure when the broker is away, and
poison messages dead-lettered after the delivery limit while the rest keeps flowing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import aio_pika
import pytest

from koepon.kernel.bus import Message
from koepon.kernel.bus.rabbitmq import (
    BusUnavailable,
    RabbitMQBus,
    dead_letter_queue,
    delete_topology,
    queue_name,
)

from .conftest import AMQP_URL
from .probe import Pinged, Probe, wait_until

pytestmark = pytest.mark.distributed


def _message(n: int, topic: str = Pinged.topic) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        topic=topic,
        payload={"n": n, "name": "推し"},
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        headers={"trace": "abc"},
    )


async def _get(queue_name_: str, within: float = 10.0) -> aio_pika.abc.AbstractIncomingMessage:
    """Take one message from a queue directly (no bus), waiting for it to arrive."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name_, passive=True)
        deadline = time.monotonic() + within
        while True:
            incoming = await queue.get(fail=False)
            if incoming is not None:
                await incoming.ack()
                return incoming
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing in {queue_name_}")
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def test_published_message_is_persistent_json_with_outbox_id_and_topic(
    exchange: str,
) -> None:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange)
    await bus.connect()
    try:
        await bus.declare("other", ["probe.#"])
        message = _message(7)
        await bus.publish(message)
        await bus.publish(_message(8, topic="elsewhere.v1"))  # nobody bound: not an error
        incoming = await _get(queue_name(exchange, "other"))
    finally:
        await bus.close()
    assert incoming.message_id == message.id
    assert incoming.routing_key == Pinged.topic
    assert incoming.content_type == "application/json"
    assert incoming.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert json.loads(incoming.body) == {"n": 7, "name": "推し"}
    assert incoming.headers["occurred_at"] == "2026-01-02T03:04:05+00:00"
    assert incoming.headers["trace"] == "abc"


async def test_consumer_queues_are_durable_quorum_queues_with_a_dead_letter_queue(
    exchange: str,
) -> None:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange)
    await bus.connect()
    await bus.declare("other", ["probe.#"])
    await bus.close()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        # Re-declaring with other arguments would fail: this proves the queue's arguments.
        await channel.declare_queue(
            queue_name(exchange, "other"),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": 10,
                "x-dead-letter-exchange": f"{exchange}.dlx",
                "x-dead-letter-routing-key": queue_name(exchange, "other"),
            },
        )
        await channel.declare_queue(
            dead_letter_queue(exchange, "other"),
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
    finally:
        await connection.close()


async def test_publish_fails_fast_when_rabbitmq_is_unreachable() -> None:
    bus = RabbitMQBus(
        "amqp://guest:guest@127.0.0.1:1/", exchange="koepon.nowhere", connect_timeout_seconds=2
    )
    started = time.monotonic()
    with pytest.raises(BusUnavailable):
        await bus.publish(_message(1))
    assert time.monotonic() - started < 10  # refused, not hanging until a long timeout
    assert not await bus.ping()
    await bus.close()


async def test_poison_message_is_dead_lettered_after_the_delivery_limit_others_keep_flowing(
    pg_probe: Probe, exchange: str
) -> None:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange, delivery_limit=2, retry_delay_seconds=0.01)
    await bus.connect()
    bus.subscribe("poison", [Pinged.topic], pg_probe.handler("poison", fail_on=frozenset({3})))
    bus.subscribe("other", ["probe.#"], pg_probe.handler("other"))
    await bus.start_consuming()
    try:
        await pg_probe.emit_many(10)
        relay = pg_probe.relay(bus)
        while await relay.relay_once():
            pass
        dead = await _get(dead_letter_queue(exchange, "poison"))
        assert json.loads(dead.body)["n"] == 3

        async def all_but_the_poison() -> bool:
            return await pg_probe.applied("poison") == {n: 1 for n in range(10) if n != 3}

        await wait_until(all_but_the_poison)
        assert await pg_probe.applied("other") == dict.fromkeys(range(10), 1)
        assert await pg_probe.max_deliveries("poison") == 3  # first try + delivery limit
    finally:
        await bus.close()


async def test_undecodable_message_goes_straight_to_the_dead_letter_queue(
    pg_probe: Probe, exchange: str
) -> None:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange)
    await bus.connect()
    bus.subscribe("other", ["probe.#"], pg_probe.handler("other"))
    await bus.start_consuming()
    try:
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        target = await channel.get_exchange(exchange)
        await target.publish(aio_pika.Message(b"not json", message_id="x1"), Pinged.topic)
        await connection.close()
        dead = await _get(dead_letter_queue(exchange, "other"))
        assert dead.message_id == "x1"
        assert await pg_probe.applied("other") == {}
    finally:
        await bus.close()


async def test_delete_topology_removes_the_exchange_and_its_queues() -> None:
    exchange = f"koepon.ktest.{uuid.uuid4().hex[:8]}"
    bus = RabbitMQBus(AMQP_URL, exchange=exchange)
    await bus.connect()
    await bus.declare("other", ["probe.#"])
    assert await bus.ping()
    await bus.close()
    await delete_topology(AMQP_URL, exchange)
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for name in (queue_name(exchange, "other"), dead_letter_queue(exchange, "other")):
            channel = await connection.channel()
            with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
                await channel.declare_queue(name, passive=True)
        channel = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
            await channel.declare_exchange(exchange, passive=True)
    finally:
        await connection.close()


async def test_a_bus_closed_and_started_again_resumes_consuming_its_durable_queue(
    pg_probe: Probe, exchange: str
) -> None:
    bus = RabbitMQBus(AMQP_URL, exchange=exchange)
    await bus.connect()
    bus.subscribe("other", ["probe.#"], pg_probe.handler("other"))
    await bus.start_consuming()
    await bus.close()
    await pg_probe.emit_many(5)
    relay = pg_probe.relay(bus)  # publishing reconnects by itself
    while await relay.relay_once():
        pass
    await asyncio.sleep(0.2)
    assert await pg_probe.applied("other") == {}  # kept in the queue while nobody consumes

    bus.subscribe("other", ["probe.#"], pg_probe.handler("other"))  # a restart re-registers
    await bus.start_consuming()
    try:

        async def all_applied() -> bool:
            return await pg_probe.applied("other") == dict.fromkeys(range(5), 1)

        await wait_until(all_applied)
    finally:
        await bus.close()

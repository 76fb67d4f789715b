"""RabbitMQ bus: a durable topic exchange, confirmed persistent publishes, quorum-queue consumers.

Topology for exchange ``E`` and consumer ``C``: durable topic exchange ``E``; durable quorum
queue ``E.C`` bound to each of C's topic patterns, with ``x-delivery-limit`` and dead-lettering
through the direct exchange ``E.dlx`` into ``E.C.dlq``. A message is acked only after its
handler returned (the handler commits its own transaction through the inbox), so delivery is at
least once and the inbox turns it into exactly once. A handler that keeps failing is
dead-lettered after the delivery limit instead of blocking the queue.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    DeliveryMode,
    ExchangeType,
)

from koepon.kernel.bus import Handler, Message
from koepon.kernel.clock import as_utc
from koepon.kernel.tracing import current_headers, traced_handler

log = structlog.get_logger(__name__)

# Queue names declared by this process, per exchange, so tests can delete what they made.
_declared_queues: defaultdict[str, set[str]] = defaultdict(set)


def queue_name(exchange: str, consumer: str) -> str:
    return f"{exchange}.{consumer}"


def dead_letter_exchange(exchange: str) -> str:
    return f"{exchange}.dlx"


def dead_letter_queue(exchange: str, consumer: str) -> str:
    return f"{queue_name(exchange, consumer)}.dlq"


class BusUnavailable(ConnectionError):
    """The broker cannot take the message now; the outbox keeps it and retries later."""


class RabbitMQBus:
    """Publisher and subscriber on one robust connection."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str,
        prefetch: int = 16,
        delivery_limit: int = 10,
        retry_delay_seconds: float = 0.2,
        publish_timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 5.0,
        reconnect_interval_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_delay_seconds = retry_delay_seconds
        self.publish_timeout_seconds = publish_timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self.reconnect_interval_seconds = reconnect_interval_seconds
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connect_lock = asyncio.Lock()
        self._subscriptions: list[tuple[str, list[str], Handler]] = []
        self._consuming: set[str] = set()
        self._consumer_tags: list[tuple[AbstractQueue, str]] = []
        self._handling: set[asyncio.Task[None]] = set()

    # -- connection -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection and declare the exchanges; raises if the broker is unreachable."""
        async with self._connect_lock:
            if self._connection is not None and not self._connection.is_closed:
                return
            connection = await aio_pika.connect_robust(
                self.url,
                timeout=self.connect_timeout_seconds,
                reconnect_interval=self.reconnect_interval_seconds,
                client_properties={"connection_name": f"koepon:{self.exchange_name}"},
            )
            try:
                channel = await connection.channel(publisher_confirms=True)
                self._exchange = await channel.declare_exchange(
                    self.exchange_name, ExchangeType.TOPIC, durable=True
                )
                await channel.declare_exchange(
                    dead_letter_exchange(self.exchange_name), ExchangeType.DIRECT, durable=True
                )
            except BaseException:
                await connection.close()
                raise
            self._connection, self._publish_channel = connection, channel

    async def ping(self) -> bool:
        """Readiness: the connection to the broker is up."""
        connection = self._connection
        return bool(
            connection is not None and not connection.is_closed and connection.connected.is_set()
        )

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Stop taking deliveries, let running handlers finish (and ack), then disconnect."""
        for queue, tag in self._consumer_tags:
            with suppress(Exception):
                async with asyncio.timeout(2):
                    await queue.cancel(tag)
        self._consumer_tags.clear()
        self._consuming.clear()
        if self._handling:
            _done, running = await asyncio.wait(list(self._handling), timeout=grace_seconds)
            for task in running:  # unacked: the broker redelivers, the inbox dedupes
                task.cancel()
        connection, self._connection = self._connection, None
        self._publish_channel = self._exchange = None
        if connection is not None:
            await connection.close()

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message) -> None:
        """Return once the broker confirmed the message; raise on nack, timeout or no connection."""
        if self._connection is None:
            try:
                await self.connect()
            except Exception as exc:
                raise BusUnavailable(f"RabbitMQ unreachable: {exc!r}") from exc
        connection, exchange = self._connection, self._exchange
        assert connection is not None and exchange is not None
        # Fail fast while reconnecting: the relay keeps the row and tries again later.
        if not connection.connected.is_set():
            raise BusUnavailable("RabbitMQ connection is down")
        body = json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False)
        occurred_at = as_utc(message.occurred_at)
        amqp_message = aio_pika.Message(
            body.encode(),
            message_id=message.id,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=DeliveryMode.PERSISTENT,
            timestamp=occurred_at,
            type=message.topic,
            headers={
                **current_headers(),  # the message's own (kept by the outbox) win
                **message.headers,
                "occurred_at": occurred_at.isoformat(),
            },
        )
        try:
            async with asyncio.timeout(self.publish_timeout_seconds):
                # No mandatory flag: a topic nobody subscribes to yet is not an error.
                await exchange.publish(amqp_message, routing_key=message.topic, mandatory=False)
        except TimeoutError as exc:
            raise BusUnavailable(f"RabbitMQ did not confirm {message.id} in time") from exc

    # -- consuming ------------------------------------------------------------------------

    def subscribe(self, consumer: str, topics: list[str], handler: Handler) -> None:
        """Register a consumer; its queue starts receiving on :meth:`start_consuming`.
        Subscribing the same name again replaces it (a platform restarted in-process)."""
        self._subscriptions = [s for s in self._subscriptions if s[0] != consumer]
        self._subscriptions.append((consumer, list(topics), traced_handler(consumer, handler)))

    async def declare(self, consumer: str, topics: Iterable[str]) -> None:
        """Declare (idempotently) the queue, bindings and dead-letter queue of one consumer."""
        await self.connect()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        try:
            await self._declare_queue(channel, consumer, topics)
        finally:
            await channel.close()

    async def _declare_queue(
        self, channel: AbstractChannel, consumer: str, topics: Iterable[str]
    ) -> AbstractQueue:
        name = queue_name(self.exchange_name, consumer)
        dlx = dead_letter_exchange(self.exchange_name)
        dlq_name = dead_letter_queue(self.exchange_name, consumer)
        _declared_queues[self.exchange_name].update({name, dlq_name})
        dlq = await channel.declare_queue(
            dlq_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dlx, routing_key=name)
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": dlx,
                "x-dead-letter-routing-key": name,
            },
        )
        for topic in topics:
            await queue.bind(self.exchange_name, routing_key=topic)
        return queue

    async def start_consuming(self) -> None:
        """Declare and start a consumer for every subscription not consuming yet."""
        await self.connect()
        assert self._connection is not None
        for consumer, topics, handler in self._subscriptions:
            if consumer in self._consuming:
                continue
            channel = await self._connection.channel(publisher_confirms=False)
            await channel.set_qos(prefetch_count=self.prefetch)
            queue = await self._declare_queue(channel, consumer, topics)
            tag = await queue.consume(self._on_message(consumer, handler), no_ack=False)
            self._consumer_tags.append((queue, tag))
            self._consuming.add(consumer)
            log.info("bus.consuming", consumer=consumer, queue=queue.name, topics=topics)

    def _on_message(self, consumer: str, handler: Handler) -> Any:
        async def on_message(incoming: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._handling.add(task)
            try:
                await self._handle(consumer, handler, incoming)
            finally:
                if task is not None:
                    self._handling.discard(task)

        return on_message

    async def _handle(
        self, consumer: str, handler: Handler, incoming: AbstractIncomingMessage
    ) -> None:
        try:
            message = decode(incoming)
        except Exception as exc:
            # Nothing can ever read it: dead-letter at once instead of burning retries.
            log.error("bus.undecodable", consumer=consumer, error=repr(exc))
            await incoming.reject(requeue=False)
            return
        try:
            await handler(message)
        except Exception as exc:
            deliveries = _delivery_count(incoming)
            log.warning(
                "bus.handler_failed",
                consumer=consumer,
                message_id=message.id,
                topic=message.topic,
                deliveries=deliveries,
                error=repr(exc),
            )
            # A short, growing pause so a passing outage (database restart) does not use up
            # the delivery limit in a few milliseconds.
            await asyncio.sleep(min(self.retry_delay_seconds * (deliveries + 1), 5.0))
            await incoming.nack(requeue=True)
            return
        await incoming.ack()


def decode(incoming: AbstractIncomingMessage) -> Message:
    """The bus message carried by an AMQP delivery."""
    if not incoming.message_id or not incoming.routing_key:
        raise ValueError("message without id or routing key")
    payload = json.loads(incoming.body)
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    headers = {k: str(v) for k, v in (incoming.headers or {}).items()}
    occurred_raw = headers.pop("occurred_at", None)
    occurred_at = (
        datetime.fromisoformat(occurred_raw)
        if occurred_raw
        else (incoming.timestamp or datetime.now(UTC))
    )
    for key in [k for k in headers if k.startswith("x-")]:
        del headers[key]
    return Message(
        id=incoming.message_id,
        topic=incoming.routing_key,
        payload=payload,
        occurred_at=occurred_at,
        headers=headers,
    )


def _delivery_count(incoming: AbstractIncomingMessage) -> int:
    # Quorum queues count earlier failed deliveries in this header.
    value = (incoming.headers or {}).get("x-delivery-count", 0)
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


async def delete_topology(url: str, exchange: str, consumers: Iterable[str] = ()) -> None:
    """Delete the exchanges and queues of ``exchange`` (tests): every queue this process declared
    for it, plus those of ``consumers`` (declared elsewhere, e.g. by a child process)."""
    names = set(_declared_queues.pop(exchange, set()))
    for consumer in consumers:
        names |= {queue_name(exchange, consumer), dead_letter_queue(exchange, consumer)}
    connection = await aio_pika.connect(url, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=False)
        for name in sorted(names):
            try:
                await channel.queue_delete(name)
            except Exception:  # already gone: the channel closed, open another
                channel = await connection.channel(publisher_confirms=False)
        for name in (exchange, dead_letter_exchange(exchange)):
            try:
                await channel.exchange_delete(name)
            except Exception:
                channel = await connection.channel(publisher_confirms=False)
    finally:
        await connection.close()

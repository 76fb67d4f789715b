"""The event bus port: messages, publishers and subscribers (in-process or RabbitMQ)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One event on the wire. ``id`` is the outbox row id: consumers dedupe on it."""

    id: str
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Message], Awaitable[None]]


class Publisher(Protocol):
    async def publish(self, message: Message) -> None:
        """Return only once the message is safely accepted; raise otherwise."""


class Subscriber(Protocol):
    def subscribe(self, consumer: str, topics: list[str], handler: Handler) -> None:
        """Deliver messages whose topic matches to ``handler`` (at least once)."""

"""In-process bus for the embedded default: publishing calls the subscribed handlers directly.

A handler that raises makes ``publish`` raise, so the outbox relay keeps the message and
retries it; consumers that already took the message are not called again, and handlers are
idempotent through the inbox anyway. Like a quorum queue's delivery limit, a consumer that
fails the same message ``delivery_limit`` times gets it dead-lettered (kept in
``dead_letters`` and logged) so one poison message cannot stall every later event.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import structlog

from koepon.kernel.bus import Handler, Message
from koepon.kernel.tracing import traced_handler

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    message: Message
    error: str


class InProcessBus:
    def __init__(self, *, delivery_limit: int = 10) -> None:
        self.delivery_limit = delivery_limit
        self.dead_letters: list[DeadLetter] = []
        self._subscriptions: list[tuple[str, list[str], Handler]] = []
        # Per message still being retried: consumers done with it, failures per consumer.
        self._done: dict[str, set[str]] = {}
        self._failures: dict[tuple[str, str], int] = {}

    def subscribe(self, consumer: str, topics: list[str], handler: Handler) -> None:
        """Register a consumer; subscribing the same name again replaces it (restarts)."""
        self._subscriptions = [s for s in self._subscriptions if s[0] != consumer]
        self._subscriptions.append((consumer, list(topics), traced_handler(consumer, handler)))

    async def publish(self, message: Message) -> None:
        done = self._done.setdefault(message.id, set())
        failures: list[BaseException] = []
        for consumer, topics, handler in self._subscriptions:
            if consumer in done or not any(topic_matches(p, message.topic) for p in topics):
                continue
            try:
                await handler(message)
            except Exception as exc:  # the others still get it; the relay retries this one
                key = (consumer, message.id)
                self._failures[key] = self._failures.get(key, 0) + 1
                if self._failures[key] < self.delivery_limit:
                    failures.append(exc)
                    continue
                log.error(
                    "bus.dead_lettered",
                    consumer=consumer,
                    message_id=message.id,
                    topic=message.topic,
                    error=repr(exc),
                )
                self.dead_letters.append(DeadLetter(consumer, message, repr(exc)))
            done.add(consumer)
            self._failures.pop((consumer, message.id), None)
        if failures:
            raise failures[0]
        del self._done[message.id]


def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words."""
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])

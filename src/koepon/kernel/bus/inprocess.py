"""In-process bus for the embedded default: publishing calls the subscribed handlers directly.

A handler that raises makes ``publish`` raise, so the outbox relay keeps the message and
retries; handlers are idempotent through the inbox, so a retry never applies an effect twice.
"""

from __future__ import annotations

import fnmatch

from koepon.kernel.bus import Handler, Message


class InProcessBus:
    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, list[str], Handler]] = []

    def subscribe(self, consumer: str, topics: list[str], handler: Handler) -> None:
        self._subscriptions.append((consumer, topics, handler))

    async def publish(self, message: Message) -> None:
        failures: list[BaseException] = []
        for _consumer, topics, handler in self._subscriptions:
            if any(topic_matches(pattern, message.topic) for pattern in topics):
                try:
                    await handler(message)
                except Exception as exc:  # the others still get it; relay retries all
                    failures.append(exc)
        if failures:
            raise failures[0]


def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching with ``*`` (one word) and ``#`` (any words)."""
    if pattern == topic or pattern == "#":
        return True
    if "#" not in pattern:
        p_words, t_words = pattern.split("."), topic.split(".")
        return len(p_words) == len(t_words) and all(
            p == "*" or p == t for p, t in zip(p_words, t_words, strict=True)
        )
    return fnmatch.fnmatchcase(topic, pattern.replace("#", "*"))

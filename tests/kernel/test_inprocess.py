"""The in-process bus of the embedded default: AMQP topic matching, retries, dead letters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.kernel.bus import Message
from koepon.kernel.bus.inprocess import InProcessBus, topic_matches


@pytest.mark.parametrize(
    ("pattern", "topic", "matches"),
    [
        ("draw.completed.v1", "draw.completed.v1", True),
        ("draw.completed.v1", "draw.completed.v2", False),
        ("draw.*.v1", "draw.completed.v1", True),
        ("draw.*.v1", "draw.completed.extra.v1", False),
        ("draw.*", "draw", False),
        ("*", "draw", True),
        ("*", "draw.completed", False),
        ("#", "draw.completed.v1", True),
        ("#", "draw", True),
        ("draw.#", "draw", True),
        ("draw.#", "draw.completed.v1", True),
        ("draw.#", "drawn.completed", False),
        ("#.v1", "draw.completed.v1", True),
        ("#.v1", "v1", True),
        ("#.v1", "draw.completed.v2", False),
        ("draw.#.v1", "draw.v1", True),
        ("draw.#.v1", "draw.a.b.c.v1", True),
        ("draw.#.v1", "draw.a.b.c.v2", False),
        ("*.#.*", "a", False),
        ("*.#.*", "a.b", True),
        ("a.*.#", "a.b.c.d", True),
        ("a.*.#", "a", False),
        ("payment.*", "payment.x.y", False),
    ],
)
def test_topic_matching_follows_amqp_rules(pattern: str, topic: str, matches: bool) -> None:
    assert topic_matches(pattern, topic) is matches


words = st.lists(st.sampled_from(["a", "b", "draw", "v1"]), min_size=1, max_size=6)


@given(words, st.data())
def test_wildcards_in_place_of_words_still_match(
    topic_words: list[str], data: st.DataObject
) -> None:
    topic = ".".join(topic_words)
    pattern = list(topic_words)
    for i in data.draw(st.sets(st.integers(0, len(pattern) - 1))):
        pattern[i] = "*"
    if data.draw(st.booleans()):  # '#' swallows any run of words, even none
        start = data.draw(st.integers(0, len(pattern)))
        end = data.draw(st.integers(start, len(pattern)))
        pattern[start:end] = ["#"]
    assert topic_matches(".".join(pattern), topic)
    assert topic_matches(topic, topic)
    assert not topic_matches(topic + ".extra", topic)


def _message(n: int = 1) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        topic="probe.pinged.v1",
        payload={"n": n},
        occurred_at=datetime.now(UTC),
    )


async def test_failing_consumer_makes_publish_raise_and_only_it_gets_the_retry() -> None:
    bus = InProcessBus()
    calls: dict[str, int] = {"good": 0, "flaky": 0}

    async def good(_m: Message) -> None:
        calls["good"] += 1

    async def flaky(_m: Message) -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("database restarting")

    bus.subscribe("good", ["probe.#"], good)
    bus.subscribe("flaky", ["probe.*.v1"], flaky)
    bus.subscribe("deaf", ["other.#"], good)
    message = _message()
    with pytest.raises(RuntimeError):
        await bus.publish(message)
    await bus.publish(message)
    assert calls == {"good": 1, "flaky": 2}
    assert bus.dead_letters == []


async def test_poison_message_is_dead_lettered_after_the_delivery_limit() -> None:
    bus = InProcessBus(delivery_limit=3)
    seen: list[int] = []

    async def poisoned(m: Message) -> None:
        if m.payload["n"] == 13:
            raise ValueError("cannot handle 13")
        seen.append(m.payload["n"])

    bus.subscribe("picky", ["probe.#"], poisoned)
    poison = _message(13)
    for _ in range(2):
        with pytest.raises(ValueError):
            await bus.publish(poison)
    await bus.publish(poison)  # third failure: dead-lettered, the relay may move on
    await bus.publish(_message(14))
    assert seen == [14]
    assert [(d.consumer, d.message.id) for d in bus.dead_letters] == [("picky", poison.id)]


async def test_subscribing_a_consumer_again_replaces_it() -> None:
    bus = InProcessBus()
    calls: list[str] = []

    async def old(_m: Message) -> None:
        calls.append("old")

    async def new(_m: Message) -> None:
        calls.append("new")

    bus.subscribe("one", ["probe.#"], old)
    bus.subscribe("one", ["probe.#"], new)
    await bus.publish(_message())
    assert calls == ["new"]

"""The inbox: a consumer applies each message id once, even under concurrent deliveries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from koepon.kernel.bus import Message
from koepon.kernel.inbox import idempotent

from .probe import Probe, inbox


async def test_claim_is_true_once_per_consumer_and_message(probe: Probe) -> None:
    async with probe.db.transaction() as session:
        assert await probe.inbox.claim(session, consumer="ledger", message_id="m1", topic="t")
        assert not await probe.inbox.claim(session, consumer="ledger", message_id="m1", topic="t")
        assert await probe.inbox.claim(session, consumer="mailer", message_id="m1", topic="t")
    async with probe.db.transaction() as session:
        assert not await probe.inbox.claim(session, consumer="ledger", message_id="m1", topic="t")
        assert await probe.inbox.claim(session, consumer="ledger", message_id="m2", topic="t")


async def test_claim_is_released_when_its_transaction_rolls_back(probe: Probe) -> None:
    with pytest.raises(RuntimeError):
        async with probe.db.transaction() as session:
            assert await probe.inbox.claim(session, consumer="c", message_id="m", topic="t")
            raise RuntimeError("effect failed")
    async with probe.db.transaction() as session:
        assert await probe.inbox.claim(session, consumer="c", message_id="m", topic="t")


@pytest.mark.distributed
async def test_concurrent_claims_on_postgresql_let_exactly_one_through(pg_probe: Probe) -> None:
    async def claim() -> bool:
        async with pg_probe.db.transaction() as session:
            won = await pg_probe.inbox.claim(session, consumer="c", message_id="m", topic="t")
            await asyncio.sleep(0.05)  # hold the claim while the others try
            return won

    results = await asyncio.gather(*(claim() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]


async def test_idempotent_handler_applies_its_effect_once_and_retries_after_a_failure(
    probe: Probe,
) -> None:
    effects: list[str] = []
    failures = iter([True, False])

    async def apply(_session, message: Message) -> None:  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise RuntimeError("first attempt fails")
        effects.append(message.id)

    handle = idempotent(probe.db, probe.inbox, "ledger", apply)
    message = Message(id="m1", topic="t", payload={}, occurred_at=datetime.now(UTC))
    with pytest.raises(RuntimeError):
        await handle(message)
    await handle(message)
    await handle(message)
    assert effects == ["m1"]


async def test_purge_forgets_only_old_messages(probe: Probe) -> None:
    async with probe.db.transaction() as session:
        for message_id in ("old", "new"):
            await probe.inbox.claim(session, consumer="c", message_id=message_id, topic="t")
        await session.execute(
            update(inbox)
            .where(inbox.c.message_id == "old")
            .values(received_at=datetime.now(UTC) - timedelta(days=40))
        )
    async with probe.db.transaction() as session:
        assert await probe.inbox.purge(session, older_than=timedelta(days=30)) == 1
    async with probe.db.transaction() as session:
        assert await probe.inbox.claim(session, consumer="c", message_id="old", topic="t")
        assert not await probe.inbox.claim(session, consumer="c", message_id="new", topic="t")

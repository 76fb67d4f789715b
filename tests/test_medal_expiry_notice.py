"""Across services: the payment service's expiry notice event becomes exactly one mail to the
fan from the auth service (COMPLIANCE M2), in-process and over RabbitMQ alike."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from koepon.app import Platform
from koepon.auth.events import EXPIRY_MAIL_CONSUMER
from koepon.auth.models import OutgoingMail
from koepon.kernel.bus import Message

SUBJECT = "推しメダルの有効期限が近づいています"


async def _mails_to(client: httpx.AsyncClient, email: str) -> list[dict[str, str]]:
    # The dev mailbox answers only this machine: ask the same app as a loopback client.
    app = client._transport.app  # type: ignore[attr-defined]
    local = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=local, base_url="http://testserver") as http:
        response = await http.get("/dev/mailbox.json", params={"to": email})
    assert response.status_code == 200, response.text
    return [m for m in response.json() if m["subject"] == SUBJECT]


async def _eventually(client: httpx.AsyncClient, email: str, count: int) -> list[dict[str, str]]:
    for _ in range(200):
        mails = await _mails_to(client, email)
        if len(mails) >= count:
            return mails
        await asyncio.sleep(0.05)
    return await _mails_to(client, email)


async def test_a_fan_is_mailed_once_before_a_lot_expires(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    email = f"fan-{uuid.uuid4().hex[:8]}@example.jp"
    created = await client.post(
        "/api/v1/auth/signup",
        json={
            "email": email,
            "password": "correct horse battery",
            "display_name": "メダル大事",
            "birthdate": "1990-01-01",
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    payment = platform.units["payment"].context  # type: ignore[attr-defined]
    services = platform.units["payment"].services  # type: ignore[attr-defined]
    expires_at = datetime.now(UTC) + timedelta(days=5)
    async with payment.db.transaction() as session:
        await services.wallets.issue_lot(
            session,
            user_id=user_id,
            kind="free",
            medals=1_234,
            transfer_id=f"campaign:{user_id}",
            source="grant",
            reason="campaign",
            expires_at=expires_at,
        )
    assert await services.wallet_sweeper.send_expiry_notices() == 1
    assert await services.wallet_sweeper.send_expiry_notices() == 0  # told once per lot
    await platform.drain()

    mails = await _eventually(client, email, 1)
    assert len(mails) == 1
    assert "無償推しメダル 1,234 枚" in mails[0]["body"]

    # A redelivered event (same message id) is absorbed by the inbox: still one mail.
    consumer = next(c for c in platform.units["auth"].consumers if c.name == EXPIRY_MAIL_CONSUMER)
    outbox = platform.units["payment"].outbox_table
    async with payment.db.sessionmaker() as session:
        row = (
            await session.execute(outbox.select().where(outbox.c.topic == consumer.topics[0]))
        ).one()
    await consumer.handler(
        Message(id=row.id, topic=row.topic, payload=row.payload, occurred_at=row.created_at)
    )
    # The handler has returned, so its transaction is over: a second mail would be queued by
    # now (mail is queued in the consumer's own transaction). No waiting needed.
    async with platform.units["auth"].db.sessionmaker() as session:
        queued = await session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.to_address == email, OutgoingMail.subject == SUBJECT)
        )
    assert queued == 1
    assert len(await _mails_to(client, email)) == 1

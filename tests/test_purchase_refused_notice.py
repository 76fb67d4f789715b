"""Across services: a payment refunded instead of credited (COMPLIANCE A1–A3) becomes exactly
one mail from the auth service telling the fan which limit stopped it, in-process and over
RabbitMQ alike."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from koepon.auth.events import REFUSAL_MAIL_CONSUMER
from koepon.auth.models import OutgoingMail
from koepon.kernel.bus import Message
from payment.fixtures.shop import Fan, Shop, shop_fixture  # noqa: F401

SUBJECT = "推しメダルのご購入を返金します"


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


async def _queued(shop: Shop, fan: Fan) -> int:
    async with shop.platform.units["auth"].db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.to_address == fan.email, OutgoingMail.subject == SUBJECT)
        )
    return int(count or 0)


async def test_a_fan_whose_payment_broke_cooling_off_is_mailed_once_why(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100)
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]
    paused = await shop.client.post("/api/v1/me/cooling-off", json={"days": 7}, headers=fan.headers)
    assert paused.status_code == 200, paused.text

    assert (await shop.pay(checkout_id)).status_code == 200
    view = (await shop.client.get(f"/api/v1/checkouts/{checkout_id}", headers=fan.headers)).json()
    assert (view["status"], view["reason"]) == ("refunded", "cooling_off_active:A3")
    await shop.platform.drain()

    mails = await _eventually(shop.client, fan.email, 1)
    assert len(mails) == 1
    body = mails[0]["body"]
    assert "1,100円(税込)" in body
    assert "クーリングオフ" in body and "A3" in body
    assert "返金" in body and "決済サービス" in body
    assert checkout_id in body
    wallet = shop.ctx.settings.public_url.rstrip("/") + "/wallet"
    assert f"ウォレットで確認できます: {wallet}\n" in body  # the wallet page, not the API
    assert "/api/" not in body

    # A redelivered event (same message id) is absorbed by the inbox: still one mail.
    consumer = next(
        c for c in shop.platform.units["auth"].consumers if c.name == REFUSAL_MAIL_CONSUMER
    )
    outbox = shop.platform.units["payment"].outbox_table
    async with shop.ctx.db.sessionmaker() as session:
        rows = (
            await session.execute(outbox.select().where(outbox.c.topic == consumer.topics[0]))
        ).all()
    row = next(r for r in rows if r.payload["checkout_id"] == checkout_id)
    await consumer.handler(
        Message(id=row.id, topic=row.topic, payload=row.payload, occurred_at=row.created_at)
    )
    # The handler has returned, so its transaction is over: a second mail would be queued by
    # now (mail is queued in the consumer's own transaction). No waiting needed.
    assert await _queued(shop, fan) == 1
    assert len(await _mails_to(shop.client, fan.email)) == 1

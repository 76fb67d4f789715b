"""Provider webhooks: signed, deduplicated, applied once in any order; forgeries change nothing."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

from sqlalchemy import func, select

from koepon.payment.checkout.models import CheckoutEvent
from payment.fixtures.shop import Fan, Shop, at, shop_fixture  # noqa: F401


async def _open_checkout(shop: Shop, **pack: int) -> tuple[Fan, str]:
    fan = await shop.fan()
    pack_id = await shop.pack(**pack)
    made = await shop.checkout(fan, pack_id)
    assert made.status_code == 201, made.text
    return fan, made.json()["id"]


async def _events(shop: Shop, checkout_id: str) -> int:
    async with shop.ctx.db.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).where(CheckoutEvent.checkout_id == checkout_id)
            )
            or 0
        )


async def test_the_same_webhook_ten_times_at_once_credits_once(shop: Shop) -> None:
    fan, checkout_id = await _open_checkout(shop, price_jpy=500, paid_medals=500, bonus_medals=50)
    event = await shop.sandbox_event(checkout_id, "payment.succeeded")
    body, headers = shop.signed(event)
    answers = await asyncio.gather(*(shop.post_webhook(body, headers) for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert await shop.medals(fan.id) == (500, 50)
    assert len(await shop.lots(fan.id)) == 2


async def test_events_out_of_order_and_repeated_at_once_credit_exactly_once(shop: Shop) -> None:
    fan, checkout_id = await _open_checkout(shop, price_jpy=700, paid_medals=700)
    kinds = ["payment.pending", "payment.succeeded", "payment.failed", "payment.expired"]
    deliveries = []
    for kind in kinds:
        body, headers = shop.signed(await shop.sandbox_event(checkout_id, kind))
        deliveries += [(body, headers)] * 3  # each event delivered three times
    random.Random(4).shuffle(deliveries)
    answers = await asyncio.gather(*(shop.post_webhook(b, h) for b, h in deliveries))
    assert all(a.status_code == 200 for a in answers)
    assert await shop.medals(fan.id) == (700, 0)
    assert (await shop.checkout_row(checkout_id)).status == "succeeded"
    assert await _events(shop, checkout_id) == len(kinds)


async def test_a_pending_after_success_does_not_downgrade(shop: Shop) -> None:
    _fan, checkout_id = await _open_checkout(shop)
    for kind in ("payment.succeeded", "payment.pending", "payment.failed"):
        body, headers = shop.signed(await shop.sandbox_event(checkout_id, kind))
        assert (await shop.post_webhook(body, headers)).status_code == 200
    row = await shop.checkout_row(checkout_id)
    assert row.status == "succeeded" and row.credited_at is not None


async def test_forged_stale_tampered_or_unsigned_webhooks_are_refused_and_change_nothing(
    shop: Shop,
) -> None:
    fan, checkout_id = await _open_checkout(shop)
    event = await shop.sandbox_event(checkout_id, "payment.succeeded")
    body, headers = shop.signed(event)

    forged_body, forged = shop.signed(event, secret=b"not the sandbox secret")
    stale_body, stale = shop.signed(event, at=shop.ctx.now() - timedelta(minutes=6))
    future_body, future = shop.signed(event, at=shop.ctx.now() + timedelta(minutes=6))
    tampered = json.loads(body)
    tampered["data"]["amount_jpy"] = 1
    unsigned = {"content-type": "application/json"}
    garbled = {**headers, "koepon-sandbox-signature": "t=abc,v1=zz"}
    cases = [
        (forged_body, forged, "webhook_signature_invalid"),
        (stale_body, stale, "webhook_timestamp_out_of_tolerance"),
        (future_body, future, "webhook_timestamp_out_of_tolerance"),
        (
            json.dumps(tampered, separators=(",", ":")).encode(),
            headers,
            "webhook_signature_invalid",
        ),
        (body, unsigned, "webhook_signature_missing"),
        (body, garbled, "webhook_signature_invalid"),
    ]
    for payload, hdrs, code in cases:
        answer = await shop.post_webhook(payload, hdrs)
        assert answer.status_code == 400, (code, answer.text)
        assert answer.json()["code"] == code
    assert await shop.medals(fan.id) == (0, 0)
    assert (await shop.checkout_row(checkout_id)).status == "open"
    assert await _events(shop, checkout_id) == 0
    # The genuine one still works afterwards: refusals did not burn its event id.
    assert (await shop.post_webhook(body, headers)).json()["applied"] is True


async def test_unknown_provider_and_oversized_bodies_are_refused(shop: Shop) -> None:
    assert (await shop.post_webhook(b"{}", {}, provider="paypal")).status_code == 404
    limit = shop.ctx.payment_settings.webhook_max_body_bytes
    big = b"{" + b" " * limit + b"}"
    answer = await shop.post_webhook(big, {"content-type": "application/json"})
    assert answer.status_code == 413


async def test_konbini_stays_pending_until_paid(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=3_000, paid_medals=3_000)
    made = await shop.checkout(fan, pack_id, method="konbini")
    checkout_id = made.json()["id"]
    assert made.json()["confirmation"]["payment_method"] == "コンビニ払い"
    assert (await shop.pay(checkout_id, "pending")).json()["webhook_status"] == 200
    assert (await shop.checkout_row(checkout_id)).status == "pending"
    assert await shop.medals(fan.id) == (0, 0)
    assert (await shop.pay(checkout_id, "paid")).json()["webhook_status"] == 200
    assert (await shop.checkout_row(checkout_id)).status == "succeeded"
    assert await shop.medals(fan.id) == (3_000, 0)


async def test_konbini_that_expires_credits_nothing_and_frees_the_month(shop: Shop) -> None:
    shop.freeze(at("2025-06-15T12:00:00+09:00"))
    fan = await shop.fan(birthdate="2010-01-01")  # 15 then: A2 cap ¥5,000
    pack_id = await shop.pack(price_jpy=4_000, paid_medals=4_000)
    checkout_id = (await shop.checkout(fan, pack_id, method="konbini")).json()["id"]
    await shop.pay(checkout_id, "pending")
    refused = await shop.checkout(fan, pack_id)  # the pending one reserves ¥4,000
    assert refused.status_code == 403 and refused.json()["code"] == "spending_cap_exceeded"
    await shop.pay(checkout_id, "expired")
    assert (await shop.checkout_row(checkout_id)).status == "expired"
    assert await shop.medals(fan.id) == (0, 0)
    assert (await shop.checkout(fan, pack_id)).status_code == 201


async def test_a_failed_payment_credits_nothing(shop: Shop) -> None:
    fan, checkout_id = await _open_checkout(shop)
    assert (await shop.pay(checkout_id, "failed")).json()["webhook_status"] == 200
    assert (await shop.checkout_row(checkout_id)).status == "failed"
    assert await shop.medals(fan.id) == (0, 0)


async def test_a_chargeback_claws_the_medals_back_once(shop: Shop) -> None:
    fan, checkout_id = await _open_checkout(
        shop, price_jpy=1_000, paid_medals=1_000, bonus_medals=100
    )
    await shop.pay(checkout_id)
    assert await shop.medals(fan.id) == (1_000, 100)
    disputed = await shop.client.post(f"/sandbox/checkouts/{checkout_id}/dispute")
    assert disputed.status_code == 200 and disputed.json()["webhook_status"] == 200
    row = await shop.checkout_row(checkout_id)
    assert row.status == "charged_back" and row.clawed_back_at is not None
    assert await shop.medals(fan.id) == (0, 0)
    # A refund arriving after the chargeback takes nothing more.
    body, headers = shop.signed(await shop.sandbox_event(checkout_id, "payment.refunded"))
    assert (await shop.post_webhook(body, headers)).status_code == 200
    assert (await shop.checkout_row(checkout_id)).status == "charged_back"


async def test_a_chargeback_after_spending_locks_the_wallet(shop: Shop) -> None:
    fan, checkout_id = await _open_checkout(shop, price_jpy=300, paid_medals=300)
    await shop.pay(checkout_id)
    async with shop.ctx.db.transaction() as session:
        await shop.services.spending.spend(
            session, user_id=fan.id, medals=200, transfer_id="draw-1", reason="draw"
        )
    await shop.client.post(f"/sandbox/checkouts/{checkout_id}/dispute")
    async with shop.ctx.db.sessionmaker() as session:
        balance = await shop.services.wallet_views.balance(session, fan.id)
    assert balance.owed_medals == 200 and balance.locked

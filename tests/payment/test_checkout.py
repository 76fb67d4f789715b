"""Checkouts: the purchase flow through the sandbox, idempotency, disclosures, authorization."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from koepon.payment.checkout.disclosures import NO_CANCELLATION_NOTICE
from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401


async def test_a_paid_sandbox_checkout_credits_one_paid_lot_and_the_bonus(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100, bonus_medals=100)

    made = await shop.checkout(fan, pack_id)
    assert made.status_code == 201, made.text
    checkout = made.json()
    assert checkout["status"] == "open"
    assert checkout["redirect_url"].endswith(f"/sandbox/checkouts/{checkout['id']}")
    assert checkout["confirmation"]["cancellation_notice"] == NO_CANCELLATION_NOTICE
    assert checkout["confirmation"]["total_price_jpy"] == 1_100
    assert checkout["disclosures"]["issuer_name"]

    page = await shop.client.get(f"/sandbox/checkouts/{checkout['id']}")
    assert page.status_code == 200
    assert "支払う" in page.text and NO_CANCELLATION_NOTICE in page.text

    paid = await shop.pay(checkout["id"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["webhook_status"] == 200

    assert await shop.medals(fan.id) == (1_100, 100)
    lots = await shop.lots(fan.id)
    assert [(lot.kind, lot.medals, lot.price_jpy) for lot in lots] == [
        ("free", 100, 0),
        ("paid", 1_100, 1_100),
    ]
    again = await shop.client.get(f"/api/v1/checkouts/{checkout['id']}", headers=fan.headers)
    assert again.json()["status"] == "succeeded"


async def test_the_same_request_with_the_same_key_returns_the_same_checkout(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    first = await shop.checkout(fan, pack_id, key="key-1")
    second = await shop.checkout(fan, pack_id, key="key-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    changed = await shop.checkout(fan, pack_id, key="key-1", method="konbini")
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_key_make_one_checkout(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    answers = await asyncio.gather(*(shop.checkout(fan, pack_id, key="same") for _ in range(5)))
    ok = [a for a in answers if a.status_code == 201]
    busy = [a for a in answers if a.status_code == 409]
    assert ok and len(ok) + len(busy) == 5
    assert len({a.json()["id"] for a in ok}) == 1
    for answer in busy:
        assert answer.json()["code"] == "idempotency_in_flight"
        assert int(answer.headers["retry-after"]) >= 1


async def test_a_checkout_without_an_idempotency_key_is_400(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    missing = await shop.client.post(
        "/api/v1/checkouts",
        json={"pack_id": pack_id, "provider": "sandbox"},
        headers=fan.headers,
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    bad = await shop.client.post(
        "/api/v1/checkouts",
        json={"pack_id": pack_id, "provider": "sandbox"},
        headers={**fan.headers, "Idempotency-Key": " spaced "},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "idempotency_key_invalid"


async def test_a_request_while_the_first_with_its_key_runs_is_409(shop: Shop) -> None:
    from koepon.kernel.idempotency import fingerprint

    fan = await shop.fan()
    pack_id = await shop.pack()
    body = {"pack_id": pack_id, "provider": "sandbox"}
    keys = shop.services.idempotency_keys
    raw = json.dumps(body).encode()
    await keys.claim(
        scope=fan.id, key="held", fingerprint=fingerprint("POST", "/api/v1/checkouts", raw)
    )
    busy = await shop.client.post("/api/v1/checkouts", json=body, headers=fan.ik("held"))
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_in_flight"
    assert int(busy.headers["retry-after"]) >= 1


async def test_checkouts_need_a_signed_in_fan_and_are_private(shop: Shop) -> None:
    fan = await shop.fan()
    other = await shop.fan()
    pack_id = await shop.pack()
    anonymous = await shop.client.post(
        "/api/v1/checkouts",
        json={"pack_id": pack_id, "provider": "sandbox"},
        headers={"Idempotency-Key": "k"},
    )
    assert anonymous.status_code == 401
    made = (await shop.checkout(fan, pack_id)).json()
    assert (await shop.client.get(f"/api/v1/checkouts/{made['id']}")).status_code == 401
    foreign = await shop.client.get(f"/api/v1/checkouts/{made['id']}", headers=other.headers)
    assert foreign.status_code == 404


async def test_unknown_packs_disabled_providers_and_bad_input_are_refused(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    unknown = await shop.checkout(fan, "no-such-pack")
    assert unknown.status_code == 404 and unknown.json()["code"] == "medal_pack_not_found"
    disabled = await shop.client.post(
        "/api/v1/checkouts",
        json={"pack_id": pack_id, "provider": "stripe"},
        headers=fan.ik(),
    )
    assert disabled.status_code == 422 and disabled.json()["code"] == "provider_not_enabled"
    weird = await shop.checkout(fan, pack_id, method="bitcoin")
    assert weird.status_code == 422


async def test_the_checkout_carries_the_final_confirmation_and_m4_disclosures(
    shop: Shop,
) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=3_060, paid_medals=3_060, bonus_medals=200)
    made = (await shop.checkout(fan, pack_id, method="konbini")).json()
    confirmation = made["confirmation"]
    assert confirmation["quantity"] == 1
    assert confirmation["total_price_label"] == "3,060円(税込)"
    assert confirmation["tax_jpy"] == 278
    assert confirmation["medals"] == {"paid": 3_060, "bonus": 200, "total": 3_260}
    assert "コンビニ" in confirmation["payment_timing"]
    assert "入金確認後" in confirmation["delivery_timing"]
    disclosures = made["disclosures"]
    for item in (
        "issuer_name",
        "purchasable_amounts",
        "validity",
        "where_usable",
        "complaints_contact",
        "notes",
        "balance_inquiry",
        "terms",
        "funds_protection",
    ):
        assert disclosures[item], item
    assert (
        disclosures["validity"]["paid_days"] == shop.ctx.payment_settings.paid_medal_validity_days
    )
    # Fans look at the wallet page, not at the API.
    assert "/#wallet" in disclosures["balance_inquiry"], disclosures["balance_inquiry"]
    assert "/api/" not in disclosures["balance_inquiry"]
    assert {"price_jpy": 3_060, "paid_medals": 3_060, "bonus_medals": 200} in (
        disclosures["purchasable_amounts"]
    )


async def test_the_sandbox_page_is_public_but_only_for_real_checkouts(shop: Shop) -> None:
    assert (await shop.client.get("/sandbox/checkouts/nope")).status_code == 404
    assert (await shop.pay("nope")).status_code == 404
    fan = await shop.fan()
    made = (await shop.checkout(fan, await shop.pack())).json()
    assert (await shop.pay(made["id"], "bogus")).status_code == 422
    assert (await shop.pay(made["id"], "paid")).status_code == 409  # nothing pending
    await shop.pay(made["id"])
    assert (await shop.pay(made["id"])).status_code == 409  # already paid


async def test_an_unpaid_checkout_expires_and_a_late_payment_still_credits(shop: Shop) -> None:
    clock = shop.freeze(datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=500, paid_medals=500)
    made = await shop.checkout(fan, pack_id)
    assert made.status_code == 201, made.text
    checkout_id = made.json()["id"]
    checkouts = shop.services.checkouts

    assert await checkouts.expire_abandoned() == 0  # its hosted page is still open
    clock.now += timedelta(minutes=shop.ctx.payment_settings.checkout_expiry_minutes, seconds=1)
    assert await checkouts.expire_abandoned() == 1
    assert await checkouts.expire_abandoned() == 0
    assert (await shop.checkout_row(checkout_id)).status == "expired"

    # The fan paid at the last second and the provider's word arrives late: money wins.
    event = await shop.sandbox_event(checkout_id, "payment.succeeded")
    body, headers = shop.signed(event)
    assert (await shop.post_webhook(body, headers)).status_code == 200
    assert (await shop.checkout_row(checkout_id)).status == "succeeded"
    assert await shop.medals(fan.id) == (500, 0)

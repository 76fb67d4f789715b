"""Spending limits enforced at checkout (COMPLIANCE A1–A3), on both backends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from koepon.contracts.auth import SpendingProfile
from koepon.payment.checkout.caps import MINORS_NOTICE
from payment.fixtures.shop import Shop, at, shop_fixture  # noqa: F401

MONTH_END = at("2025-01-31T23:59:59+09:00")
NEXT_MONTH = at("2025-02-01T00:00:00+09:00")


async def test_a_15_year_old_cannot_buy_beyond_5000_yen_in_a_jst_month(shop: Shop) -> None:
    shop.freeze(at("2025-01-10T12:00:00+09:00"))
    fan = await shop.fan(birthdate="2009-06-01")  # 15 all January and February 2025
    pack_3000 = await shop.pack(price_jpy=3_000, paid_medals=3_000)
    pack_2000 = await shop.pack(price_jpy=2_000, paid_medals=2_000)
    pack_1 = await shop.pack(price_jpy=1, paid_medals=1)
    await shop.buy(fan, pack_3000)
    await shop.buy(fan, pack_2000)  # exactly ¥5,000: allowed

    clock = shop.freeze(MONTH_END)  # 23:59:59 on the 31st, JST: still January
    refused = await shop.checkout(fan, pack_1)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "spending_cap_exceeded"
    assert problem["rule"] == "A2"
    assert (problem["month_cap_jpy"], problem["month_spent_jpy"]) == (5_000, 5_000)
    wallet = (await shop.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert (wallet["month_cap_jpy"], wallet["month_spent_jpy"]) == (5_000, 5_000)  # A4

    clock.now = NEXT_MONTH  # 00:00 on the 1st, JST: a new month
    await shop.buy(fan, pack_3000)
    await shop.buy(fan, pack_2000)
    again = await shop.checkout(fan, pack_1)
    assert again.status_code == 403 and again.json()["rule"] == "A2"
    assert await shop.medals(fan.id) == (10_000, 0)


async def test_a_purchase_at_2359_jst_on_the_31st_counts_in_that_month(shop: Shop) -> None:
    clock = shop.freeze(MONTH_END)
    fan = await shop.fan(birthdate="2009-06-01")
    pack_5000 = await shop.pack(price_jpy=5_000, paid_medals=5_000)
    await shop.buy(fan, pack_5000)
    assert (await shop.checkout(fan, pack_5000)).status_code == 403
    clock.now = NEXT_MONTH
    assert (await shop.checkout(fan, pack_5000)).status_code == 201


async def test_an_adults_self_set_cap_is_enforced(shop: Shop) -> None:
    fan = await shop.fan()
    set_cap = await shop.client.put(
        "/api/v1/me/limits",
        json={"monthly_purchase_cap_jpy": 2_000, "monthly_draw_cap_medals": None},
        headers=fan.headers,
    )
    assert set_cap.status_code == 200, set_cap.text
    pack_1500 = await shop.pack(price_jpy=1_500, paid_medals=1_500)
    await shop.buy(fan, pack_1500)
    refused = await shop.checkout(fan, pack_1500)
    assert refused.status_code == 403
    assert (refused.json()["code"], refused.json()["rule"]) == ("spending_cap_exceeded", "A3")
    assert refused.json()["month_cap_jpy"] == 2_000


async def test_cooling_off_refuses_checkouts(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    paused = await shop.client.post("/api/v1/me/cooling-off", json={"days": 7}, headers=fan.headers)
    assert paused.status_code == 200, paused.text
    refused = await shop.checkout(fan, pack_id)
    assert refused.status_code == 403
    assert refused.json()["code"] == "cooling_off_active"
    assert "until" in refused.json()


async def test_no_birth_date_is_refused_with_the_minors_notice(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()

    class NoBirthdate:
        async def spending_profile(self, user_id: str) -> SpendingProfile:
            return SpendingProfile(user_id=user_id, birthdate=None)

    monkeypatch.setattr(shop.ctx.clients, "auth", NoBirthdate())
    refused = await shop.checkout(fan, pack_id)
    assert refused.status_code == 403
    assert refused.json()["code"] == "birthdate_required"
    assert refused.json()["notice"] == MINORS_NOTICE
    assert MINORS_NOTICE in refused.json()["detail"]


async def test_a_refused_checkout_can_be_retried_with_the_same_key_after_the_cause_is_gone(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    real = shop.ctx.clients.auth

    class NoBirthdate:
        async def spending_profile(self, user_id: str) -> SpendingProfile:
            return SpendingProfile(user_id=user_id, birthdate=None)

    monkeypatch.setattr(shop.ctx.clients, "auth", NoBirthdate())
    assert (await shop.checkout(fan, pack_id, key="retry-me")).status_code == 403
    monkeypatch.setattr(shop.ctx.clients, "auth", real)
    assert (await shop.checkout(fan, pack_id, key="retry-me")).status_code == 201


async def test_concurrent_checkouts_cannot_both_squeeze_under_a_cap(shop: Shop) -> None:
    shop.freeze(at("2025-01-10T12:00:00+09:00"))
    fan = await shop.fan(birthdate=str(date(2009, 6, 1)))
    pack_3000 = await shop.pack(price_jpy=3_000, paid_medals=3_000)
    answers = await asyncio.gather(
        *(shop.checkout(fan, pack_3000, key=uuid.uuid4().hex) for _ in range(6))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 403, 403, 403, 403, 403]

"""The wallet page's month figures (COMPLIANCE A4): the spend exact at once, the cap shown from
a profile at most seconds old, and checkouts deciding on a fresh one (A2–A3), on both backends."""

from __future__ import annotations

from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401

LIMITS = "/api/v1/me/limits"


class Seconds:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def wallet(shop: Shop, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = await shop.client.get("/api/v1/wallet", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def set_cap(shop: Shop, headers: dict[str, str], cap: int | None) -> None:
    body = {"monthly_purchase_cap_jpy": cap, "monthly_draw_cap_medals": None}
    response = await shop.client.put(LIMITS, json=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_lowered_cap_refuses_the_next_checkout_even_while_the_page_shows_the_old_one(
    shop: Shop,
) -> None:
    seconds = Seconds()
    shop.services.checkouts.display_profiles.clock = seconds
    fan = await shop.fan()
    pack = await shop.pack(price_jpy=1_500, paid_medals=1_500)
    await set_cap(shop, fan.headers, 5_000)
    assert (await wallet(shop, fan.headers))["month_cap_jpy"] == 5_000

    await set_cap(shop, fan.headers, 1_000)
    assert (await wallet(shop, fan.headers))["month_cap_jpy"] == 5_000  # shown: seconds old
    refused = await shop.checkout(fan, pack)
    assert refused.status_code == 403, refused.text  # decided: asked afresh
    assert (refused.json()["rule"], refused.json()["month_cap_jpy"]) == ("A3", 1_000)

    seconds.now += shop.services.checkouts.display_profiles.ttl_seconds
    assert (await wallet(shop, fan.headers))["month_cap_jpy"] == 1_000


async def test_the_months_spend_is_exact_right_after_each_checkout(shop: Shop) -> None:
    fan = await shop.fan()
    pack = await shop.pack(price_jpy=1_100, paid_medals=1_000)
    assert (await wallet(shop, fan.headers))["month_spent_jpy"] == 0
    opened = await shop.checkout(fan, pack)
    assert opened.status_code == 201, opened.text
    assert (await wallet(shop, fan.headers))["month_spent_jpy"] == 1_100  # reserving room
    paid = await shop.pay(opened.json()["id"])
    assert paid.status_code < 400, paid.text
    page = await wallet(shop, fan.headers)
    assert (page["month_spent_jpy"], page["paid_medals"]) == (1_100, 1_000)
    await shop.buy(fan, pack)
    assert (await wallet(shop, fan.headers))["month_spent_jpy"] == 2_200

"""A cancelled checkout: the sandbox page's 購入をやめる and the fan's own cancel through the
API end the checkout as ``cancelled`` — final, unpayable, its room under the monthly cap free at
once — and only the fan who owns it may cancel it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from koepon.payment.checkout.models import CheckoutEvent
from koepon.payment.providers.base import ProviderSession, ProviderUnavailable, SessionRequest
from payment.fixtures.shop import Fan, Shop, at, shop_fixture  # noqa: F401
from payment.test_recovery import platform_unreachable

MINOR = "2012-06-01"  # 14: the A2 cap is ¥5,000 a month
NOW = at("2026-11-10T12:00:00+09:00")


async def provider_status(shop: Shop, checkout_id: str) -> str:
    payment = await shop.sandbox.for_checkout(checkout_id)
    assert payment is not None
    return payment.status


async def cancel(shop: Shop, fan: Fan, checkout_id: str) -> tuple[int, dict[str, object]]:
    answer = await shop.client.post(f"/api/v1/checkouts/{checkout_id}/cancel", headers=fan.headers)
    return answer.status_code, answer.json()


async def status_of(shop: Shop, fan: Fan, checkout_id: str) -> str:
    view = await shop.client.get(f"/api/v1/checkouts/{checkout_id}", headers=fan.headers)
    assert view.status_code == 200, view.text
    return str(view.json()["status"])


async def test_the_sandbox_pages_cancel_ends_the_checkout_and_frees_the_cap(shop: Shop) -> None:
    fan = await shop.fan(birthdate=MINOR)
    pack_id = await shop.pack(price_jpy=5_000, paid_medals=5_000)
    first = (await shop.checkout(fan, pack_id)).json()["id"]
    over = await shop.checkout(fan, pack_id)
    assert (over.status_code, over.json()["code"]) == (403, "spending_cap_exceeded")

    gave_up = await shop.client.post(
        f"/sandbox/checkouts/{first}/complete", data={"outcome": "cancelled"}
    )
    # Back to the shop's cancel page, as a provider's hosted page returns the fan.
    assert gave_up.status_code == 303
    assert gave_up.headers["location"].endswith(f"/checkouts/{first}/cancel")
    assert await provider_status(shop, first) == "cancelled"
    assert await status_of(shop, fan, first) == "cancelled"  # reported by webhook

    # Final: the page cannot be paid any more, and the month's room is free at once.
    paid = await shop.pay(first, "succeeded")
    assert (paid.status_code, paid.json()["code"]) == (409, "sandbox_outcome_not_allowed")
    second = await shop.checkout(fan, pack_id)
    assert second.status_code == 201, second.text
    assert await shop.medals(fan.id) == (0, 0)


async def test_a_fan_cancels_their_open_checkout_once_however_often_they_ask(shop: Shop) -> None:
    fan = await shop.fan(birthdate=MINOR)
    pack_id = await shop.pack(price_jpy=5_000, paid_medals=5_000)
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]

    status, body = await cancel(shop, fan, checkout_id)
    assert (status, body["status"], body["id"]) == (200, "cancelled", checkout_id)
    assert await provider_status(shop, checkout_id) == "cancelled"  # the page is ended too
    again = await cancel(shop, fan, checkout_id)
    assert (again[0], again[1]["status"]) == (200, "cancelled")

    paid = await shop.pay(checkout_id, "succeeded")
    assert paid.status_code == 409  # nobody can pay it any more
    assert (await shop.checkout(fan, pack_id)).status_code == 201  # the cap's room is free
    async with shop.ctx.db.sessionmaker() as session:
        moves = list(
            await session.scalars(
                select(CheckoutEvent.status_after).where(
                    CheckoutEvent.checkout_id == checkout_id,
                    CheckoutEvent.status_before != CheckoutEvent.status_after,
                )
            )
        )
    assert moves == ["cancelled"]  # cancelled once, whichever word came first


async def test_only_the_owner_may_cancel_and_other_fans_ids_are_not_found(shop: Shop) -> None:
    owner = await shop.fan()
    other = await shop.fan()
    pack_id = await shop.pack()
    checkout_id = (await shop.checkout(owner, pack_id)).json()["id"]

    anonymous = await shop.client.post(f"/api/v1/checkouts/{checkout_id}/cancel")
    assert anonymous.status_code == 401
    status, body = await cancel(shop, other, checkout_id)
    assert (status, body["code"]) == (404, "checkout_not_found")
    status, body = await cancel(shop, other, str(uuid.uuid4()))
    assert (status, body["code"]) == (404, "checkout_not_found")
    assert await status_of(shop, owner, checkout_id) == "open"  # nothing changed
    assert await provider_status(shop, checkout_id) == "open"


async def test_a_paid_or_pending_checkout_cannot_be_cancelled(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    paid = (await shop.buy(fan, pack_id))["id"]
    status, body = await cancel(shop, fan, paid)
    assert (status, body["code"], body["checkout_status"]) == (
        409,
        "checkout_not_cancellable",
        "succeeded",
    )

    konbini = (await shop.checkout(fan, pack_id)).json()["id"]
    assert (await shop.pay(konbini, "pending")).status_code == 200
    status, body = await cancel(shop, fan, konbini)
    assert (status, body["code"]) == (409, "checkout_not_cancellable")
    assert await status_of(shop, fan, konbini) == "pending"
    assert await shop.medals(fan.id) == (1_100, 0)


async def test_a_cancel_the_provider_cannot_hear_changes_nothing(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    fan = await shop.fan()
    checkout_id = (await shop.checkout(fan, await shop.pack())).json()["id"]

    async def down(reference: str) -> None:
        raise ProviderUnavailable("sandbox", "connection refused", retry_after=7)

    monkeypatch.setattr(shop.sandbox, "cancel_session", down)
    answer = await shop.client.post(f"/api/v1/checkouts/{checkout_id}/cancel", headers=fan.headers)
    assert (answer.status_code, answer.json()["code"]) == (503, "provider_unavailable")
    assert answer.headers["retry-after"] == "7"
    assert await status_of(shop, fan, checkout_id) == "open"
    monkeypatch.undo()
    assert (await cancel(shop, fan, checkout_id))[1]["status"] == "cancelled"


async def test_a_cancel_on_the_page_whose_webhook_was_lost_is_applied_by_recovery(
    shop: Shop,
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    checkout_id = (await shop.checkout(fan, await shop.pack())).json()["id"]
    async with platform_unreachable(shop):
        gave_up = await shop.pay(checkout_id, "cancelled")
        assert gave_up.status_code == 200 and gave_up.json()["webhook_status"] is None
        assert await status_of(shop, fan, checkout_id) == "open"
        clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
        run = await shop.services.payment_recovery.run_once()
    assert run.applied == [checkout_id]
    assert await status_of(shop, fan, checkout_id) == "cancelled"


async def test_a_checkout_cancelled_while_its_page_opens_ends_the_page_too(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    open_page = shop.sandbox.create_session

    async def cancelled_meanwhile(request: SessionRequest) -> ProviderSession:
        # The fan's cancel lands between our checkout row and the provider's page.
        status, body = await cancel(shop, fan, request.checkout_id)
        assert (status, body["status"]) == (200, "cancelled")
        return await open_page(request)

    monkeypatch.setattr(shop.sandbox, "create_session", cancelled_meanwhile)
    made = await shop.checkout(fan, pack_id)
    assert (made.status_code, made.json()["status"]) == (201, "cancelled")
    assert await provider_status(shop, made.json()["id"]) == "cancelled"  # nobody can pay it

"""A minor's monthly cap (COMPLIANCE A2) and self-set limits (A3) hold whatever order pages,
webhooks and sweepers run in: money that arrives past a limit is refunded, never credited."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select

from clocks import MovableClock
from koepon.payment.checkout.models import Checkout, CheckoutEvent
from koepon.payment.checkout.refusals import refund_sent_event_id
from koepon.payment.models import outbox
from koepon.payment.providers.base import ProviderUnavailable
from koepon.payment.providers.models import SandboxPayment
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import Fan, Shop, at, gather, shop_fixture  # noqa: F401

MINOR = "2012-06-01"  # 14 in 2026: the A2 cap is ¥5,000 a month
YOUNG = "2021-06-01"
CAP = 5_000
START = at("2026-11-02T10:00:00+09:00")


async def late_success(shop: Shop, checkout_id: str) -> httpx.Response:
    """The provider took the money anyway (a konbini payment after expiry, a success reported
    late) and says so in a signed webhook."""
    async with shop.ctx.db.transaction() as session:
        payment = await session.scalar(
            select(SandboxPayment).where(SandboxPayment.checkout_id == checkout_id)
        )
        assert payment is not None
        if payment.status != "refunded":  # money already given back is not taken again
            payment.status = "succeeded"
    body, headers = shop.signed(await shop.sandbox_event(checkout_id, "payment.succeeded"))
    return await shop.post_webhook(body, headers)


async def provider_status(shop: Shop, checkout_id: str) -> str:
    payment = await shop.sandbox.for_checkout(checkout_id)
    assert payment is not None
    return payment.status


async def fan_checkouts(shop: Shop, fan: Fan) -> list[Checkout]:
    async with shop.ctx.db.sessionmaker() as session:
        rows = await session.scalars(select(Checkout).where(Checkout.user_id == fan.id))
        return list(rows)


async def assert_cap_held(shop: Shop, fan: Fan, ids: list[str] | None = None) -> None:
    """The fan's money kept by the platform, the medals credited and the month's spend all stay
    within the cap; money taken for a refused checkout went back to the fan. ``ids``: only
    these checkouts (one month's)."""
    checkouts = [c for c in await fan_checkouts(shop, fan) if ids is None or c.id in ids]
    credited = [c for c in checkouts if c.credited_at is not None and c.clawed_back_at is None]
    kept = sum(c.price_jpy for c in credited)
    assert kept <= CAP, [(c.id, c.status, c.price_jpy) for c in checkouts]
    if ids is None:
        paid_medals, _ = await shop.medals(fan.id)
        assert paid_medals == sum(c.paid_medals for c in credited)
    async with shop.ctx.db.sessionmaker() as session:
        spent = await shop.services.checkouts.month_spent_jpy(
            session, user_id=fan.id, now=shop.ctx.now()
        )
    assert spent <= CAP
    charged = 0
    for checkout in checkouts:
        status = await provider_status(shop, checkout.id)
        if status == "succeeded":
            charged += checkout.price_jpy
            # Money the provider holds is either credited or on its way back.
            assert checkout.credited_at is not None, (checkout.id, checkout.status)
        if checkout.status == "refunded" and checkout.credited_at is None:
            assert status == "refunded", (checkout.id, status)
    assert charged <= CAP


async def test_a_minor_who_failed_three_5000_yen_checkouts_cannot_pay_them_all(
    shop: Shop,
) -> None:
    shop.freeze(START)
    fan = await shop.fan(birthdate=MINOR)
    pack_id = await shop.pack(price_jpy=5_000, paid_medals=5_000)
    ids: list[str] = []
    for _ in range(3):
        made = await shop.checkout(fan, pack_id)
        assert made.status_code == 201, made.text  # a failed payment frees the month
        ids.append(made.json()["id"])
        assert (await shop.pay(ids[-1], "failed")).json()["webhook_status"] == 200

    # A failed session is final on the hosted page, as on a real provider's.
    for checkout_id in ids:
        refused = await shop.pay(checkout_id, "succeeded")
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "sandbox_outcome_not_allowed"
    assert await shop.medals(fan.id) == (0, 0)

    # The provider takes the money anyway for all three: one fits the cap, two go back.
    answers = [await late_success(shop, checkout_id) for checkout_id in ids]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert await shop.medals(fan.id) == (5_000, 0)
    views = [
        (await shop.client.get(f"/api/v1/checkouts/{i}", headers=fan.headers)).json() for i in ids
    ]
    assert [v["status"] for v in views] == ["succeeded", "refunded", "refunded"]
    for view in views[1:]:
        assert view["reason"] == "spending_cap_exceeded:A2"
        assert view["refund_ground"].startswith("COMPLIANCE A2:")
    assert [await provider_status(shop, i) for i in ids] == ["succeeded", "refunded", "refunded"]
    async with shop.ctx.db.sessionmaker() as session:
        told = await session.scalars(
            select(outbox.c.payload).where(outbox.c.topic == "payment.purchase.refused.v1")
        )
        notices = [p for p in told if p["user_id"] == fan.id]
        sent = await session.scalars(
            select(CheckoutEvent.checkout_id).where(
                CheckoutEvent.provider_event_id.in_([refund_sent_event_id(i) for i in ids])
            )
        )
        assert sorted(sent) == sorted(ids[1:])  # each refund recorded once
    assert sorted(n["checkout_id"] for n in notices) == sorted(ids[1:])
    assert {n["rule"] for n in notices} == {"A2"}
    await assert_cap_held(shop, fan)


async def test_cooling_off_started_after_the_checkout_refunds_its_payment(shop: Shop) -> None:
    shop.freeze(START)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100)
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]
    paused = await shop.client.post("/api/v1/me/cooling-off", json={"days": 7}, headers=fan.headers)
    assert paused.status_code == 200, paused.text

    assert (await shop.pay(checkout_id)).status_code == 200
    view = (await shop.client.get(f"/api/v1/checkouts/{checkout_id}", headers=fan.headers)).json()
    assert (view["status"], view["reason"]) == ("refunded", "cooling_off_active:A3")
    assert await shop.medals(fan.id) == (0, 0)
    assert await provider_status(shop, checkout_id) == "refunded"


async def test_a_cap_lowered_after_the_checkout_refunds_its_payment(shop: Shop) -> None:
    shop.freeze(START)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=3_000, paid_medals=3_000)
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]
    lowered = await shop.client.put(
        "/api/v1/me/limits",
        json={"monthly_purchase_cap_jpy": 2_000, "monthly_draw_cap_medals": None},
        headers=fan.headers,
    )
    assert lowered.status_code == 200, lowered.text  # lowering applies at once (A3)

    assert (await shop.pay(checkout_id)).status_code == 200
    row = await shop.checkout_row(checkout_id)
    assert (row.status, row.failure_reason) == ("refunded", "spending_cap_exceeded:A3")
    assert row.credited_at is None
    assert await shop.medals(fan.id) == (0, 0)
    # The provider's own refund webhook changes nothing more.
    assert "payment.refunded" in [e.event_type for e in await _events(shop, checkout_id)]
    assert (await shop.checkout_row(checkout_id)).status == "refunded"


async def test_a_refund_the_provider_could_not_make_is_resent_by_the_recovery_job(
    shop: Shop,
) -> None:
    shop.freeze(START)
    fan = await shop.fan(birthdate=MINOR)
    pack_id = await shop.pack(price_jpy=5_000, paid_medals=5_000)
    first = (await shop.checkout(fan, pack_id)).json()["id"]
    await shop.pay(first, "failed")
    second = (await shop.checkout(fan, pack_id)).json()["id"]
    await shop.pay(second)  # ¥5,000 paid and credited

    sandbox = shop.sandbox
    real_refund = sandbox.refund

    async def outage(**_: Any) -> None:
        raise ProviderUnavailable("sandbox", "down")

    sandbox.refund = outage  # type: ignore[method-assign]
    try:
        assert (await late_success(shop, first)).json()["refund_sent"] is False
    finally:
        sandbox.refund = real_refund  # type: ignore[method-assign]
    assert await provider_status(shop, first) == "succeeded"  # the fan's money is still held

    recovery = shop.services.payment_recovery
    assert (await recovery.run_once()).refunds_sent == 1
    assert (await recovery.run_once()).refunds_sent == 0  # once
    assert await provider_status(shop, first) == "refunded"
    assert await shop.medals(fan.id) == (5_000, 0)
    await assert_cap_held(shop, fan)


async def _events(shop: Shop, checkout_id: str) -> list[CheckoutEvent]:
    async with shop.ctx.db.sessionmaker() as session:
        rows = await session.scalars(
            select(CheckoutEvent)
            .where(CheckoutEvent.checkout_id == checkout_id)
            .order_by(CheckoutEvent.seq)
        )
        return list(rows)


# --- every order ---------------------------------------------------------------------------

Op = Callable[[Shop, MovableClock, list[str]], Awaitable[None]]


async def _on_page(shop: Shop, ids: list[str], outcome: str) -> None:
    answers = await gather(*(shop.pay(i, outcome) for i in ids))
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]


async def fail(shop: Shop, clock: MovableClock, ids: list[str]) -> None:
    await _on_page(shop, ids, "failed")


async def expire(shop: Shop, clock: MovableClock, ids: list[str]) -> None:
    await _on_page(shop, ids, "expired")  # the provider's session expires


async def pay(shop: Shop, clock: MovableClock, ids: list[str]) -> None:
    await _on_page(shop, ids, "succeeded")


async def webhook(shop: Shop, clock: MovableClock, ids: list[str]) -> None:
    answers = await gather(*(late_success(shop, i) for i in ids))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]


async def sweep(shop: Shop, clock: MovableClock, ids: list[str]) -> None:
    """Time passes; the expiry sweeper and the recovery job run at once."""
    clock.advance(minutes=shop.ctx.payment_settings.checkout_expiry_minutes + 1)
    recovery = shop.services.payment_recovery
    await gather(
        shop.services.checkouts.expire_abandoned(),
        *(recovery.recover(i) for i in ids),
    )


OPS: dict[str, Op] = {
    "fail": fail,
    "expire": expire,
    "pay": pay,
    "webhook": webhook,
    "sweep": sweep,
}


async def _run_order(
    shop: Shop, clock: MovableClock, fan: Fan, pack_id: str, order: tuple[str, ...]
) -> None:
    ids: list[str] = []

    async def create() -> None:
        made = await shop.checkout(fan, pack_id)
        if made.status_code == 201:
            ids.append(made.json()["id"])
        else:
            assert made.json()["code"] == "spending_cap_exceeded", made.text

    await gather(create(), create(), create())  # at once: only two fit under the cap
    assert len(ids) == 2
    for name in order:
        # Each step runs on every checkout at once, racing a new checkout of the same fan.
        await gather(OPS[name](shop, clock, list(ids)), create())
    await webhook(shop, clock, list(ids))  # whatever is still unpaid gets paid late
    await shop.sandbox.deliver_due()
    await assert_cap_held(shop, fan, ids)


def orders() -> list[tuple[str, ...]]:
    """Every order of the fan's and the provider's moves, with the sweeper at each place."""
    moves = [name for name in OPS if name != "sweep"]
    result = []
    for index, order in enumerate(itertools.permutations(moves)):
        place = index % (len(order) + 1)
        result.append((*order[:place], "sweep", *order[place:]))
    return result


async def test_the_cap_holds_in_every_order_of_pages_webhooks_and_sweepers(shop: Shop) -> None:
    every = orders()
    assert len(every) == 24 and {o.index("sweep") for o in every} == {0, 1, 2, 3, 4}
    clock = shop.freeze(START)
    fan = await shop.fan(birthdate=YOUNG)  # under 16 for the next ten years
    pack_id = await shop.pack(price_jpy=2_000, paid_medals=2_000)
    for month, order in enumerate(every):
        # Each order in its own JST month: the cap starts afresh, the books carry over.
        clock.now = at(f"{2027 + month // 12}-{month % 12 + 1:02d}-10T10:00:00+09:00")
        await _run_order(shop, clock, fan, pack_id, order)
    assert await audit_ledger(shop.ctx.db) == []

"""Provider outages: timeouts open the circuit, checkouts fail fast with 503 and move nothing;
after recovery the same request goes through and credits exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from koepon.payment.providers.base import (
    Method,
    ProviderEvent,
    ProviderPayment,
    ProviderSession,
    SessionRequest,
)
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.providers.sandbox import SandboxProvider
from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401


class Flaky:
    """The sandbox, but hanging on every call while ``down``."""

    name = "sandbox"

    def __init__(self, inner: SandboxProvider) -> None:
        self.inner = inner
        self.down = True
        self.calls = 0

    def supports(self, method: Method | None) -> bool:
        return True

    async def create_session(self, request: SessionRequest) -> ProviderSession:
        self.calls += 1
        if self.down:
            await asyncio.sleep(30)
        return await self.inner.create_session(request)

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent:
        return self.inner.parse_event(body, headers, now=now)

    async def fetch_payment(self, reference: str) -> ProviderPayment:
        return await self.inner.fetch_payment(reference)

    async def list_payments(self, day: date) -> list[ProviderPayment]:
        return await self.inner.list_payments(day)

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None:
        await self.inner.refund(
            payment_id=payment_id, amount_jpy=amount_jpy, idempotency_key=idempotency_key
        )


async def test_an_open_circuit_fails_fast_moves_nothing_and_recovers_without_double_credit(
    shop: Shop,
) -> None:
    providers = shop.services.providers
    flaky = Flaky(shop.sandbox)
    providers["sandbox"] = GuardedProvider(
        flaky, timeout_seconds=0.2, failures=2, reset_seconds=3.0
    )
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=800, paid_medals=800)

    for _ in range(2):  # two timeouts open the circuit
        failed = await shop.checkout(fan, pack_id, key="buy-once")
        assert failed.status_code == 503, failed.text
        assert failed.json()["code"] == "provider_unavailable"
        assert "retry-after" in failed.headers
    assert flaky.calls == 2

    fast = await shop.checkout(fan, pack_id, key="buy-once")
    assert fast.status_code == 503 and fast.json()["code"] == "provider_unavailable"
    assert flaky.calls == 2  # failed fast: the open circuit made no call to the provider
    assert await shop.medals(fan.id) == (0, 0)
    async with shop.ctx.db.sessionmaker() as session:
        spent = await shop.services.checkouts.month_spent_jpy(
            session, user_id=fan.id, now=shop.ctx.now()
        )
    assert spent == 0  # failed checkouts reserve nothing

    flaky.down = False
    # Its reset time passes (moved back, not slept through): the circuit lets a trial call in.
    storage = providers["sandbox"].breaker._state_storage
    assert storage.opened_at is not None
    storage.opened_at = storage.opened_at - timedelta(seconds=3.1)
    made = await shop.checkout(fan, pack_id, key="buy-once")
    assert made.status_code == 201, made.text
    checkout_id = made.json()["id"]
    paid = await shop.pay(checkout_id)
    assert paid.json()["webhook_status"] == 200
    event = await shop.sandbox_event(checkout_id, "payment.succeeded")
    body, headers = shop.signed(event)
    for _ in range(3):
        assert (await shop.post_webhook(body, headers)).status_code == 200
    assert await shop.medals(fan.id) == (800, 0)
    assert len(await shop.lots(fan.id)) == 1
    again = await shop.checkout(fan, pack_id, key="buy-once")
    assert again.json()["id"] == checkout_id  # the stored response, not a new checkout

"""Lost webhooks are recovered exactly once: the sandbox retries its webhooks from a durable
record (a restart resumes them), and the recovery job asks the provider about checkouts left
unsettled and applies its answer through the webhook path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import func, select, update

from koepon.contracts.auth import SpendingProfile
from koepon.kernel.clock import jst_day
from koepon.payment.checkout.models import Checkout
from koepon.payment.checkout.tasks import PaymentRecovery
from koepon.payment.ledger.models import LedgerTransfer as Transfer
from koepon.payment.providers.models import SandboxPayment
from koepon.payment.providers.sandbox import SandboxProvider
from koepon.payment.providers.sandbox_webhooks import Backoff, WebhookSender
from koepon.payment.settings import PaymentSettings
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import Fan, Shop, at, gather, shop_fixture  # noqa: F401

NOW = at("2026-11-10T12:00:00+09:00")


def unreachable() -> WebhookSender:
    """A sender whose every post fails, as when the platform is down."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    return WebhookSender(http, "http://platform.invalid/api/v1/webhooks/sandbox")


@asynccontextmanager
async def platform_unreachable(shop: Shop) -> AsyncIterator[None]:
    """The sandbox cannot reach the platform (its retries, the background ones included, fail)
    until the block ends."""
    working = shop.sandbox.sender
    down = unreachable()
    shop.sandbox.sender = down
    try:
        yield
    finally:
        shop.sandbox.sender = working
        await down.http.aclose()


async def paid_with_webhook_lost(shop: Shop, fan: Fan, pack_id: str) -> str:
    """The fan pays; the sandbox records the payment but cannot deliver its webhook."""
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]
    paid = await shop.pay(checkout_id)
    assert paid.status_code == 200 and paid.json()["webhook_status"] is None
    assert (await shop.checkout_row(checkout_id)).status == "open"
    return checkout_id


async def credits_of(shop: Shop, checkout_id: str) -> int:
    async with shop.ctx.db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.id.like(f"checkout:{checkout_id}:%"))
        )
        return int(count or 0)


async def test_a_lost_webhook_is_credited_once_by_the_recovery_job(shop: Shop) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100, bonus_medals=50)
    recovery = shop.services.payment_recovery
    async with platform_unreachable(shop):
        checkout_id = await paid_with_webhook_lost(shop, fan, pack_id)
        assert (await recovery.run_once()).applied == []  # too early: the webhook may come
        clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
        run = await recovery.run_once()
        assert run.applied == [checkout_id]
        assert (await shop.checkout_row(checkout_id)).status == "succeeded"
        assert await shop.medals(fan.id) == (1_100, 50)
        assert (await recovery.run_once()).applied == []  # asked again: nothing more

    # The sandbox's own retry arrives afterwards: recorded, nothing credited twice.
    await shop.sandbox.deliver_due()
    assert await shop.sandbox.owed_webhooks() == []
    assert await shop.medals(fan.id) == (1_100, 50)
    assert await credits_of(shop, checkout_id) == 2  # the paid lot and the bonus, once each
    assert await audit_ledger(shop.ctx.db) == []


async def test_the_sandbox_retries_with_back_off_and_a_restart_resumes_delivery(
    shop: Shop,
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=500, paid_medals=500)
    sandbox = shop.sandbox
    working = sandbox.sender
    # Down: each failure waits twice as long (1 s, 2 s, 4 s …).
    async with platform_unreachable(shop):
        checkout_id = await paid_with_webhook_lost(shop, fan, pack_id)
        [owed] = await sandbox.owed_webhooks()
        assert (owed.attempts, owed.next_attempt_at) == (1, NOW + sandbox.webhooks.backoff.delay(1))
        assert await sandbox.deliver_due() == 0  # not due yet: nothing sent
        [owed] = await sandbox.owed_webhooks()
        assert owed.attempts == 1
        for attempt in (2, 3, 4):
            clock.now = owed.next_attempt_at  # type: ignore[assignment]
            assert await sandbox.deliver_due() == 0
            [owed] = await sandbox.owed_webhooks()
            assert owed.attempts == attempt
            assert owed.next_attempt_at == clock.now + sandbox.webhooks.backoff.delay(attempt)
        assert sandbox.webhooks.backoff.delay(4) == timedelta(seconds=8)
        assert await shop.medals(fan.id) == (0, 0)

        # The old process is gone for good; a new one on the same book delivers what is owed.
        restarted = SandboxProvider(
            db=shop.ctx.db,
            secret=sandbox.secret,
            public_url=sandbox.public_url,
            tolerance_seconds=shop.ctx.payment_settings.webhook_tolerance_seconds,
            clock=shop.ctx.now,
            backoff=sandbox.webhooks.backoff,
            sender=working,
        )
        clock.now = owed.next_attempt_at  # type: ignore[assignment]
        assert await restarted.deliver_due() == 1
        assert await restarted.owed_webhooks() == []
    assert (await shop.checkout_row(checkout_id)).status == "succeeded"
    assert await shop.medals(fan.id) == (500, 0)


async def test_the_recovery_job_racing_late_webhooks_credits_each_payment_once(
    shop: Shop,
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=300, paid_medals=300, bonus_medals=10)
    async with platform_unreachable(shop):
        lost = [await paid_with_webhook_lost(shop, fan, pack_id) for _ in range(4)]
    clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
    recovery = shop.services.payment_recovery
    # The job, the sandbox's retries and a second job all at once.
    await gather(recovery.run_once(), shop.sandbox.deliver_due(), recovery.run_once())
    await shop.sandbox.deliver_due()
    for checkout_id in lost:
        assert (await shop.checkout_row(checkout_id)).status == "succeeded"
        assert await credits_of(shop, checkout_id) == 2
    assert await shop.medals(fan.id) == (1_200, 40)
    assert await audit_ledger(shop.ctx.db) == []


async def test_the_recovery_job_applies_a_failure_and_a_refund_it_did_not_hear_of(
    shop: Shop,
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=700, paid_medals=700)
    failed = (await shop.checkout(fan, pack_id)).json()["id"]
    async with platform_unreachable(shop):
        refunded = await paid_with_webhook_lost(shop, fan, pack_id)
    async with shop.ctx.db.transaction() as session:
        # The provider's book moved on without telling us.
        await session.execute(
            update(SandboxPayment)
            .where(SandboxPayment.checkout_id == failed)
            .values(status="failed")
        )
    clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
    await shop.services.payment_recovery.run_once()
    assert (await shop.checkout_row(failed)).status == "failed"
    assert (await shop.checkout_row(refunded)).status == "succeeded"
    async with shop.ctx.db.transaction() as session:
        await session.execute(
            update(SandboxPayment)
            .where(SandboxPayment.checkout_id == refunded)
            .values(status="refunded")
        )
    # Settled checkouts are not asked about by the job; reconciliation repairs them.
    run = await shop.services.payment_recovery.repair([(refunded, None)])
    assert run.applied == [refunded]
    row = await shop.checkout_row(refunded)
    assert (row.status, row.clawed_back_at is not None) == ("refunded", True)
    assert await shop.medals(fan.id) == (0, 0)


def test_reconcile_repair_and_recover_commands_apply_the_providers_word(
    tmp_path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """The operator commands, end to end on an embedded data directory: a payment whose
    webhook was lost shows up as a difference, ``--repair`` credits it, the day then agrees."""
    import asyncio

    monkeypatch.setenv("KOEPON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KOEPON_ENVIRONMENT", "test")
    from koepon.cli import main
    from koepon.kernel.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["migrate"]).exit_code == 0
        checkout_id, user_id, day = asyncio.run(_lost_purchase(get_settings()))
        args = ["payments", "reconcile", "--date", day, "--provider", "sandbox"]
        found = runner.invoke(main, args)
        assert found.exit_code == 1, found.output
        assert f"status_mismatch\tcheckout={checkout_id}" in found.output
        repaired = runner.invoke(main, [*args, "--repair"])
        assert repaired.exit_code == 0, repaired.output
        assert "1 payment(s) repaired" in repaired.output and "agree" in repaired.output
        again = runner.invoke(main, ["payments", "recover"])
        assert again.exit_code == 0 and "repaired 0" in again.output, again.output
        assert asyncio.run(_paid_medals(get_settings(), user_id)) == 400
    finally:
        get_settings.cache_clear()


async def _lost_purchase(settings) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A fan buys a pack on a running platform whose sandbox cannot deliver its webhook."""
    from koepon.app import Platform, create_app
    from koepon.payment.packs.schemas import MedalPackCreate
    from payment.fixtures.shop import payment_context, payment_services, signed_in

    platform = Platform(settings)
    await platform.start()
    try:
        app = create_app(platform, manage_lifecycle=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user_id, _, token = await signed_in(http, platform)
            services = payment_services(platform)
            ctx = payment_context(platform)
            async with ctx.db.transaction() as session:
                pack = await services.packs.create(
                    session,
                    data=MedalPackCreate(name="400枚", price_jpy=400, paid_medals=400),
                )
            made = await http.post(
                "/api/v1/checkouts",
                json={"pack_id": pack.id, "provider": "sandbox"},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"},
            )
            assert made.status_code == 201, made.text
            assert services.sandbox is not None
            services.sandbox.sender = unreachable()
            paid = await http.post(
                f"/sandbox/checkouts/{made.json()['id']}/complete", json={"outcome": "succeeded"}
            )
            assert paid.json()["webhook_status"] is None
            return made.json()["id"], user_id, jst_day(ctx.now()).isoformat()
    finally:
        await platform.stop()


async def _paid_medals(settings, user_id: str) -> int:  # type: ignore[no-untyped-def]
    from koepon.app import Platform
    from payment.fixtures.shop import payment_services

    platform = Platform(settings)
    try:
        services = payment_services(platform)
        async with services.checkouts.ctx.db.sessionmaker() as session:
            balance = await services.wallet_views.balance(session, user_id)
            rows = await session.scalars(select(Checkout.status).where(Checkout.user_id == user_id))
            assert list(rows) == ["succeeded"]
        return balance.paid_medals
    finally:
        await platform.stop()


async def test_each_pass_asks_the_next_batch_so_every_checkout_gets_its_turn(shop: Shop) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=100, paid_medals=100)
    abandoned = [(await shop.checkout(fan, pack_id)).json()["id"] for _ in range(3)]
    recovery = shop.services.payment_recovery
    asked = 0
    repaired: list[str] = []
    async with platform_unreachable(shop):
        lost = [await paid_with_webhook_lost(shop, fan, pack_id) for _ in range(2)]
        clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
        for _ in range(3):  # 5 candidates, 2 a pass
            run = await recovery.run_once(limit=2)
            asked += run.asked
            repaired += run.applied
    assert asked == 5 and sorted(repaired) == sorted(lost)
    assert [(await shop.checkout_row(i)).status for i in abandoned] == ["open"] * 3
    assert await shop.medals(fan.id) == (200, 0)


async def test_an_operators_refund_whose_webhook_was_lost_still_takes_the_medals_back(
    shop: Shop,
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    admin = await shop.fan(roles=["admin"])
    pack_id = await shop.pack(price_jpy=600, paid_medals=600)
    checkout_id = (await shop.buy(fan, pack_id))["id"]
    async with platform_unreachable(shop):
        refund = await shop.client.post(
            f"/api/v1/admin/payments/{checkout_id}/refund",
            json={"legal_ground": "事業廃止による払戻し"},
            headers=admin.headers,
        )
        assert refund.status_code == 200, refund.text
        assert (await shop.checkout_row(checkout_id)).status == "succeeded"  # not heard yet
        clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
        assert (await shop.services.payment_recovery.run_once()).applied == [checkout_id]
    row = await shop.checkout_row(checkout_id)
    assert (row.status, row.clawed_back_at is not None) == ("refunded", True)
    assert await shop.medals(fan.id) == (0, 0)


async def test_money_is_not_credited_while_the_limits_cannot_be_checked(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = shop.freeze(NOW)
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=800, paid_medals=800)
    checkout_id = (await shop.checkout(fan, pack_id)).json()["id"]
    working = shop.ctx.clients.auth

    class AuthDown:
        async def spending_profile(self, user_id: str) -> SpendingProfile:
            raise httpx.ConnectError("auth is down")

    monkeypatch.setattr(shop.ctx.clients, "auth", AuthDown())
    paid = await shop.pay(checkout_id)
    assert paid.json()["webhook_status"] == 503  # the provider will try again
    assert (await shop.checkout_row(checkout_id)).status == "open"
    assert await shop.medals(fan.id) == (0, 0)
    clock.advance(minutes=shop.ctx.payment_settings.payment_recovery_quiet_minutes, seconds=1)
    assert (await shop.services.payment_recovery.run_once()).unanswered == 1

    monkeypatch.setattr(shop.ctx.clients, "auth", working)
    clock.advance(hours=1)  # the longest back-off: the provider's retry is due
    await shop.sandbox.deliver_due()
    assert (await shop.checkout_row(checkout_id)).status == "succeeded"
    assert await shop.medals(fan.id) == (800, 0)


def test_recovery_timings_and_webhook_back_off_are_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOEPON_PAYMENT_RECOVERY_QUIET_MINUTES", "0.25")
    monkeypatch.setenv("KOEPON_PAYMENT_RECOVERY_EVERY_SECONDS", "5")
    monkeypatch.setenv("KOEPON_SANDBOX_WEBHOOK_RETRY_FIRST_SECONDS", "0.5")
    monkeypatch.setenv("KOEPON_SANDBOX_WEBHOOK_RETRY_MAX_SECONDS", "3")
    monkeypatch.setenv("KOEPON_SANDBOX_WEBHOOK_MAX_ATTEMPTS", "4")
    settings = PaymentSettings()
    job = PaymentRecovery(SimpleNamespace(ctx=SimpleNamespace(payment_settings=settings)))  # type: ignore[arg-type]
    assert (job.quiet_minutes, job.every_seconds) == (0.25, 5.0)
    backoff = Backoff.from_settings(settings)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff.max_attempts == 4
    monkeypatch.setenv("KOEPON_PAYMENT_RECOVERY_EVERY_SECONDS", "0")
    with pytest.raises(ValidationError, match="payment_recovery_every_seconds"):
        PaymentSettings()

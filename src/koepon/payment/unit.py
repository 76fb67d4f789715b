"""Builds the payment service: its context, every sub-domain's service, routes, client, jobs.

``build_services`` is the one place that knows every payment service: each is built after the
ones it takes (ledger → wallet → packs, providers → checkout → webhooks, receipts; reports), and
the result is a frozen, typed ``PaymentServices`` handed to the routers (``api.py``), the
in-process client, the operators' commands and tests. Nothing looks a service up by name.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.clients import Clients
from koepon.kernel import jobs
from koepon.kernel.db import Database
from koepon.kernel.errors import DomainError
from koepon.kernel.idempotency import IdempotencyKeys
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.problems import Problem, install_problem_handlers
from koepon.kernel.routers import attach
from koepon.kernel.runtime import Consumer, Runtime, ServiceRoutes, ServiceUnit
from koepon.payment import api
from koepon.payment import settings as payment_settings
from koepon.payment.checkout.models import idempotency_keys
from koepon.payment.checkout.service import Checkouts
from koepon.payment.checkout.tasks import PaymentRecovery
from koepon.payment.client import InProcessMedalWallets
from koepon.payment.context import PaymentContext
from koepon.payment.ledger.service import Ledger
from koepon.payment.models import inbox, outbox
from koepon.payment.packs.service import MedalPacks
from koepon.payment.providers import unit as providers_unit
from koepon.payment.providers.sandbox import WEBHOOK_PATH, WebhookSender
from koepon.payment.receipts.service import Receipts
from koepon.payment.reports.service import PrepaidReports
from koepon.payment.services import PaymentServices
from koepon.payment.wallet.schemas import MonthSpending
from koepon.payment.wallet.service import MonthPurchases, WalletService
from koepon.payment.wallet.spending import Spending
from koepon.payment.wallet.tasks import WalletSweeper
from koepon.payment.wallet.views import WalletViews
from koepon.payment.webhooks import api as webhooks_api
from koepon.payment.webhooks.service import Webhooks

log = structlog.get_logger(__name__)
Job = Callable[[], Coroutine[Any, Any, None]]
# Enough connections for bursts of concurrent spends (each holds one while it waits its turn).
POOL_SIZE = 20
PURGE_EVERY_SECONDS = 3600
EXPIRE_EVERY_SECONDS = 60


@dataclass
class PaymentUnit(ServiceUnit):
    """The payment ``ServiceUnit`` with its context and services (commands and tests use them)."""

    context: PaymentContext | None = None
    services: PaymentServices | None = None


def build_context(runtime: Runtime, clients: Clients, db: Database) -> PaymentContext:
    return PaymentContext(
        settings=runtime.settings,
        payment_settings=payment_settings.load(runtime.settings),
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=runtime.cache,
        authenticator=runtime.authenticator,
        clients=clients,
    )


def build_services(ctx: PaymentContext) -> PaymentServices:
    settings = ctx.settings
    ledger = Ledger(ctx.now)
    wallets = WalletService(ctx, ledger)
    spending = Spending(wallets)
    providers = providers_unit.build(settings, ctx.payment_settings, ctx.db, ctx.now)
    keys = IdempotencyKeys(
        ctx.db,
        idempotency_keys,
        lock_seconds=settings.idempotency_lock_seconds,
        keep_hours=settings.idempotency_keep_hours,
        clock=ctx.now,
    )
    packs = MedalPacks(ctx)
    checkouts = Checkouts(ctx, packs=packs, providers=providers.guarded, keys=keys, wallets=wallets)
    services = PaymentServices(
        ledger=ledger,
        wallets=wallets,
        spending=spending,
        wallet_views=WalletViews(wallets),
        wallet_sweeper=WalletSweeper(wallets, spending),
        reports=PrepaidReports(ctx.db, ctx.payment_settings, ctx.now),
        packs=packs,
        providers=providers.guarded,
        sandbox=providers.sandbox,
        idempotency_keys=keys,
        checkouts=checkouts,
        payment_recovery=PaymentRecovery(checkouts),
        webhooks=Webhooks(ctx, providers=providers.guarded, checkouts=checkouts),
        receipts=Receipts(ctx, checkouts=checkouts),
        month_purchases=_month_purchases(checkouts),
        on_shutdown=list(providers.on_shutdown),
    )
    if providers.sandbox is not None:
        providers.sandbox.sender = _sandbox_sender(ctx, services.webhooks)
        services.on_shutdown.append(providers.sandbox.sender.http.aclose)
    return services


def build(runtime: Runtime, clients: Clients) -> PaymentUnit:
    url, schema = runtime.settings.database_url_for("payment")
    db = Database(
        url, schema, pool_size=POOL_SIZE, replica_url=runtime.settings.database_replica_url
    )
    ctx = build_context(runtime, clients, db)
    services = build_services(ctx)
    consumers: list[Consumer] = []
    background: list[Job] = [
        services.wallet_sweeper.run,
        _every(PURGE_EVERY_SECONDS, "idempotency.purged", services.idempotency_keys.purge_expired),
        _every(EXPIRE_EVERY_SECONDS, "checkouts.expired", services.checkouts.expire_abandoned),
        services.payment_recovery.run_forever,
    ]
    if services.sandbox is not None:
        background.append(services.sandbox.deliver_forever)  # owed webhooks, retried durably
    return PaymentUnit(
        name="payment",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        routes=lambda: ServiceRoutes(
            api.build_router(ctx, services), api.build_internal_router(ctx, services)
        ),
        client=InProcessMedalWallets(ctx.db, services.spending, services.wallet_views),
        consumers=consumers,
        background=background,
        on_shutdown=services.on_shutdown,
        context=ctx,
        services=services,
    )


def _every(seconds: float, event: str, job: Callable[[], Coroutine[Any, Any, int]]) -> Job:
    """A background loop running ``job`` every ``seconds``; a failed round is logged."""

    async def loop() -> None:
        while True:
            try:
                done = await job()
                if done:
                    log.info(event, count=done)
            except Exception as exc:
                log.warning(f"{event}_failed", error=repr(exc))
            await jobs.pause(seconds)

    return loop


def _month_purchases(checkouts: Checkouts) -> MonthPurchases:
    """This month's spend (exact, from the checkouts) and cap for the wallet page; the page
    still shows (cap unknown) when the auth service cannot be asked."""

    async def month_purchases(session: AsyncSession, user_id: str) -> MonthSpending:
        try:
            summary = await checkouts.month_summary(session, user_id=user_id)
        except (Problem, DomainError):  # the auth service cannot be asked now
            spent = await checkouts.month_spent_jpy(
                session, user_id=user_id, now=checkouts.ctx.now()
            )
            return MonthSpending(spent_jpy=spent, cap_jpy=None)
        return MonthSpending(spent_jpy=summary["month_spent_jpy"], cap_jpy=summary["month_cap_jpy"])

    return month_purchases


def _sandbox_sender(ctx: PaymentContext, webhooks: Webhooks) -> WebhookSender:
    """Over the network to the public URL (like a real provider), or, with the "asgi" setting,
    into this service's own webhook route without a socket (tests on an in-process client)."""
    own = ctx.payment_settings
    if own.sandbox_webhook_transport == "asgi":
        app = FastAPI()
        install_problem_handlers(app)
        attach(app, webhooks_api.build_router(ctx, webhooks))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://payment.internal", timeout=30
        )
        return WebhookSender(http, f"http://payment.internal{WEBHOOK_PATH}")
    url = own.sandbox_webhook_url or ctx.settings.public_url.rstrip("/") + WEBHOOK_PATH
    return WebhookSender(httpx.AsyncClient(timeout=30), url)

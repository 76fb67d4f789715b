"""Builds medal purchases into the payment service: packs, providers, checkouts, webhooks,
receipts, and the idempotency keys (wired by ``payment/unit.py`` through ``ctx.services``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.idempotency import IdempotencyKeys
from koepon.kernel.problems import Problem, install_problem_handlers
from koepon.payment.checkout.models import idempotency_keys
from koepon.payment.checkout.service import Checkouts
from koepon.payment.context import PaymentContext
from koepon.payment.packs.service import MedalPacks
from koepon.payment.providers.base import PROVIDERS, PaymentProvider
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.providers.komoju import KomojuProvider
from koepon.payment.providers.sandbox import (
    WEBHOOK_PATH,
    SandboxProvider,
    WebhookSender,
    load_sandbox_secret,
)
from koepon.payment.providers.stripe import StripeProvider
from koepon.payment.receipts.service import Receipts
from koepon.payment.webhooks import api as webhooks_api
from koepon.payment.webhooks.service import Webhooks

log = structlog.get_logger(__name__)
Job = Callable[[], Coroutine[Any, Any, None]]
PURGE_EVERY_SECONDS = 3600
EXPIRE_EVERY_SECONDS = 60


@dataclass
class Purchases:
    """What the purchase sub-domains hand back to the service unit."""

    background: list[Job] = field(default_factory=list)
    on_shutdown: list[Job] = field(default_factory=list)


def _secret(value: object, name: str, provider: str) -> str:
    if value is None:
        raise RuntimeError(f"KOEPON_{name.upper()} is required when {provider} is enabled")
    return value.get_secret_value()  # type: ignore[attr-defined,no-any-return]


def _guard(ctx: PaymentContext, provider: PaymentProvider) -> GuardedProvider:
    settings = ctx.settings
    return GuardedProvider(
        provider,
        timeout_seconds=settings.provider_timeout_seconds,
        failures=settings.provider_breaker_failures,
        reset_seconds=settings.provider_breaker_reset_seconds,
    )


def build(ctx: PaymentContext) -> Purchases:
    """Create the services into ``ctx.services`` (before the routers are built)."""
    settings = ctx.settings
    done = Purchases()
    unknown = set(settings.payment_providers) - set(PROVIDERS)
    if unknown:
        raise RuntimeError(f"Unknown payment providers: {', '.join(sorted(unknown))}")
    if settings.environment == "production" and "sandbox" in settings.payment_providers:
        # Its hosted page lets anyone mark a payment as paid: medals for nothing.
        raise RuntimeError(
            "The sandbox provider never runs in production: set KOEPON_PAYMENT_PROVIDERS"
        )
    providers: dict[str, GuardedProvider] = {}
    sandbox: SandboxProvider | None = None
    for name in settings.payment_providers:
        inner: PaymentProvider
        if name == "sandbox":
            sandbox = SandboxProvider(
                db=ctx.db,
                secret=load_sandbox_secret(settings),
                public_url=settings.public_url,
                tolerance_seconds=settings.webhook_tolerance_seconds,
                clock=ctx.now,
            )
            inner = sandbox
        elif name == "stripe":
            stripe = StripeProvider(
                secret_key=_secret(settings.stripe_secret_key, "stripe_secret_key", name),
                webhook_secret=_secret(
                    settings.stripe_webhook_secret, "stripe_webhook_secret", name
                ),
                tolerance_seconds=settings.webhook_tolerance_seconds,
            )
            done.on_shutdown.append(stripe._http.aclose)
            inner = stripe
        else:
            komoju = KomojuProvider(
                secret_key=_secret(settings.komoju_secret_key, "komoju_secret_key", name),
                webhook_secret=_secret(
                    settings.komoju_webhook_secret, "komoju_webhook_secret", name
                ),
                api_base=settings.komoju_api_base,
            )
            done.on_shutdown.append(komoju.http.aclose)
            inner = komoju
        providers[name] = _guard(ctx, inner)

    keys = IdempotencyKeys(
        ctx.db,
        idempotency_keys,
        lock_seconds=settings.idempotency_lock_seconds,
        keep_hours=settings.idempotency_keep_hours,
        clock=ctx.now,
    )
    packs = MedalPacks(ctx)
    checkouts = Checkouts(ctx, packs=packs, providers=providers, keys=keys)
    webhooks = Webhooks(ctx, providers=providers, checkouts=checkouts)
    ctx.services.update(
        medal_packs=packs,
        idempotency_keys=keys,
        providers=providers,
        checkouts=checkouts,
        webhooks=webhooks,
        receipts=Receipts(ctx, checkouts=checkouts),
        month_purchases=_month_purchases(checkouts),
    )
    if sandbox is not None:
        ctx.services["sandbox"] = sandbox
        sandbox.sender = _sandbox_sender(ctx)
        done.on_shutdown.append(sandbox.sender.http.aclose)

    async def purge_idempotency_keys() -> None:
        while True:
            with contextlib.suppress(Exception):
                purged = await keys.purge_expired()
                if purged:
                    log.info("idempotency.purged", count=purged)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    async def expire_abandoned_checkouts() -> None:
        while True:
            with contextlib.suppress(Exception):
                expired = await checkouts.expire_abandoned()
                if expired:
                    log.info("checkouts.expired", count=expired)
            await asyncio.sleep(EXPIRE_EVERY_SECONDS)

    done.background.append(purge_idempotency_keys)
    done.background.append(expire_abandoned_checkouts)
    return done


def _month_purchases(
    checkouts: Checkouts,
) -> Callable[[AsyncSession, str], Awaitable[tuple[int, int | None]]]:
    """This month's spend and cap for the wallet view; the wallet still shows (cap unknown)
    when the auth service cannot be asked."""

    async def month_purchases(session: AsyncSession, user_id: str) -> tuple[int, int | None]:
        try:
            summary = await checkouts.month_summary(session, user_id=user_id)
        except Problem:
            spent = await checkouts.month_spent_jpy(
                session, user_id=user_id, now=checkouts.ctx.now()
            )
            return spent, None
        return summary["month_spent_jpy"], summary["month_cap_jpy"]

    return month_purchases


def _sandbox_sender(ctx: PaymentContext) -> WebhookSender:
    """Over the network to the public URL (like a real provider), or, with the "asgi" setting,
    into this service's own webhook route without a socket (tests on an in-process client)."""
    settings = ctx.settings
    if settings.sandbox_webhook_transport == "asgi":
        app = FastAPI()
        install_problem_handlers(app)
        app.include_router(webhooks_api.build_router(ctx))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://payment.internal", timeout=30
        )
        return WebhookSender(http, f"http://payment.internal{WEBHOOK_PATH}")
    url = settings.sandbox_webhook_url or settings.public_url.rstrip("/") + WEBHOOK_PATH
    return WebhookSender(httpx.AsyncClient(timeout=30), url)

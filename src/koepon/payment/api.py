"""The payment service's HTTP routes: one router composed of its sub-domains' routers.

Each sub-domain's ``build_router`` takes the context and exactly the services its routes use
(typed), so what a route depends on is visible in its signature.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from koepon.kernel.internal import internal_guard
from koepon.kernel.routers import attach
from koepon.payment.checkout import api as checkout_api
from koepon.payment.context import PaymentContext
from koepon.payment.packs import api as packs_api
from koepon.payment.providers import api as sandbox_api
from koepon.payment.receipts import api as receipts_api
from koepon.payment.reports import api as reports_api
from koepon.payment.services import PaymentServices
from koepon.payment.wallet import api as wallet_api
from koepon.payment.webhooks import api as webhooks_api


def build_router(ctx: PaymentContext, services: PaymentServices) -> APIRouter:
    """Public routes (under /api/v1, the sandbox's page): one line per sub-domain."""
    router = APIRouter()
    attach(
        router,
        wallet_api.build_router(
            ctx, services.wallets, services.wallet_views, services.month_purchases
        ),
    )
    attach(router, reports_api.build_router(ctx, services.reports))
    attach(router, packs_api.build_router(ctx, services.packs))
    attach(router, checkout_api.build_router(ctx, services.checkouts, services.idempotency_keys))
    attach(router, webhooks_api.build_router(ctx, services.webhooks))
    attach(router, receipts_api.build_router(ctx, services.receipts))
    attach(router, sandbox_api.build_router(services.sandbox))
    return router


def build_internal_router(ctx: PaymentContext, services: PaymentServices) -> APIRouter:
    """Routes for other services (under /internal/payment, internal token required)."""
    router = APIRouter(
        prefix="/internal/payment", dependencies=[Depends(internal_guard(ctx.settings))]
    )
    attach(router, wallet_api.build_internal_router(ctx, services.spending, services.wallet_views))
    return router

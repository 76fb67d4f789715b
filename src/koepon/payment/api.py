"""The payment service's HTTP routes: one router composed of its sub-domains' routers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends

from koepon.kernel.internal import internal_guard
from koepon.payment.checkout import api as checkout_api  # medal purchases (issue 4)
from koepon.payment.context import PaymentContext
from koepon.payment.packs import api as packs_api  # medal purchases (issue 4)
from koepon.payment.providers import api as sandbox_api  # medal purchases (issue 4)
from koepon.payment.receipts import api as receipts_api  # medal purchases (issue 4)
from koepon.payment.reports import api as reports_api
from koepon.payment.wallet import api as wallet_api
from koepon.payment.webhooks import api as webhooks_api  # medal purchases (issue 4)

RouterFactory = Callable[[PaymentContext], APIRouter]

# Sub-domain routers (public, under /api/v1): add one line per sub-domain.
ROUTERS: list[RouterFactory] = [
    wallet_api.build_router,
    reports_api.build_router,
    # medal purchases (issue 4): packs, checkouts, webhooks, receipts, the sandbox's page
    packs_api.build_router,
    checkout_api.build_router,
    webhooks_api.build_router,
    receipts_api.build_router,
    sandbox_api.build_router,
]

# Sub-domain routers for other services (under /internal/payment, internal token required).
INTERNAL_ROUTERS: list[RouterFactory] = [
    wallet_api.build_internal_router,
]


def build_router(ctx: PaymentContext) -> APIRouter:
    router = APIRouter()
    for factory in ROUTERS:
        router.include_router(factory(ctx))
    return router


def build_internal_router(ctx: PaymentContext) -> APIRouter:
    router = APIRouter(
        prefix="/internal/payment", dependencies=[Depends(internal_guard(ctx.settings))]
    )
    for factory in INTERNAL_ROUTERS:
        router.include_router(factory(ctx))
    return router

"""The gacha service's HTTP routes: one router composed of its sub-domains' routers."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.gacha.audit import api as audit_api
from koepon.gacha.catalog import api as catalog_api
from koepon.gacha.catalog import proposals_api
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import api as draws_api
from koepon.gacha.fairness import api as fairness_api
from koepon.gacha.services import GachaServices
from koepon.gacha.transparency import api as transparency_api
from koepon.kernel.routers import attach


def build_router(ctx: GachaContext, services: GachaServices) -> APIRouter:
    """Public routes under /api/v1: one line per sub-domain."""
    router = APIRouter()
    attach(
        router,
        catalog_api.build_router(
            ctx, services.authoring, services.reviews, services.public_catalog
        ),
    )
    attach(router, proposals_api.build_router(ctx, services.authoring, services.proposals))
    attach(router, fairness_api.build_router(ctx, services.seeds))
    attach(router, transparency_api.build_router(ctx, services.draw_log))
    attach(
        router,
        draws_api.build_router(
            ctx,
            services.draws,
            services.draw_worker,
            services.exchanges,
            services.verifications,
        ),
    )
    attach(router, draws_api.build_admin_router(ctx, services.reversals))
    attach(router, audit_api.build_router(ctx, services.audits))
    return router

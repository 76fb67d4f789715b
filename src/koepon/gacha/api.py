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


def build_router(ctx: GachaContext, services: GachaServices) -> APIRouter:
    """Public routes under /api/v1: one line per sub-domain."""
    router = APIRouter()
    router.include_router(
        catalog_api.build_router(ctx, services.authoring, services.reviews, services.public_catalog)
    )
    router.include_router(proposals_api.build_router(ctx, services.authoring, services.proposals))
    router.include_router(fairness_api.build_router(ctx, services.seeds))
    router.include_router(transparency_api.build_router(ctx, services.draw_log))
    router.include_router(
        draws_api.build_router(
            ctx,
            services.draws,
            services.draw_worker,
            services.exchanges,
            services.verifications,
        )
    )
    router.include_router(draws_api.build_admin_router(ctx, services.reversals))
    router.include_router(audit_api.build_router(ctx, services.audits))
    return router

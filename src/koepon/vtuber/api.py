"""The VTuber service's HTTP routes: one router composed of its sub-domains' routers."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.kernel.routers import attach
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.overlays import api as overlays_api
from koepon.vtuber.payouts import api as payouts_api
from koepon.vtuber.sales import api as sales_api
from koepon.vtuber.services import VtuberServices
from koepon.vtuber.teams import api as teams_api


def build_router(ctx: VtuberContext, services: VtuberServices) -> APIRouter:
    """Public routes under /api/v1: one line per sub-domain."""
    router = APIRouter()
    attach(
        router, teams_api.build_router(ctx, services.profiles, services.teams, services.directory)
    )
    attach(router, overlays_api.build_router(ctx, services.overlays, services.teams))
    attach(router, sales_api.build_router(ctx, services.sales))
    attach(router, payouts_api.build_router(ctx, services.payouts))
    return router

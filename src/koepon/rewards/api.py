"""The rewards service's HTTP routes: one router composed of its sub-domains' routers."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.kernel.routers import attach
from koepon.rewards.contents import api as contents_api
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads import api as downloads_api
from koepon.rewards.entitlements import api as entitlements_api
from koepon.rewards.services import RewardsServices


def build_router(ctx: RewardsContext, services: RewardsServices) -> APIRouter:
    """Public routes under /api/v1: one line per sub-domain."""
    router = APIRouter()
    attach(router, contents_api.build_router(ctx, services.contents, services.direct_uploads))
    attach(router, entitlements_api.build_router(ctx, services.entitlements))
    attach(router, downloads_api.build_router(ctx, services.downloads, services.exports))
    return router

"""The VTuber service's routes for other services (under /internal/vtuber, internal token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from koepon.kernel.internal import internal_guard
from koepon.vtuber.client import InProcessVtuberTeams
from koepon.vtuber.context import VtuberContext


def build_internal_router(ctx: VtuberContext, client: InProcessVtuberTeams) -> APIRouter:
    router = APIRouter(
        prefix="/internal/vtuber", dependencies=[Depends(internal_guard(ctx.settings))]
    )
    return router

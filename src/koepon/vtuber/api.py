"""The VTuber service's HTTP routes: one router composed of its sub-domains' routers."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.services import VtuberServices


def build_router(ctx: VtuberContext, services: VtuberServices) -> APIRouter:
    """Public routes under /api/v1: one line per sub-domain (each sub-domain's ``api.py``)."""
    router = APIRouter()
    return router

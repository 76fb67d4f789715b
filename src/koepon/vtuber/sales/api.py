"""The sales routes (filled by the sales work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.sales.service import Sales


def build_router(ctx: VtuberContext, sales: Sales) -> APIRouter:
    router = APIRouter()
    return router

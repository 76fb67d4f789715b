"""Catalogue routes (INTERFACE STUB: the catalogue helper replaces it)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext


def build_router(ctx: GachaContext, catalog: Catalog) -> APIRouter:
    return APIRouter(tags=["gachas"])

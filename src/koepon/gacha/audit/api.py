"""Audit routes (INTERFACE STUB: the audit helper replaces it)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.gacha.audit.service import Audits
from koepon.gacha.context import GachaContext


def build_router(ctx: GachaContext, audits: Audits) -> APIRouter:
    return APIRouter(tags=["audit"])

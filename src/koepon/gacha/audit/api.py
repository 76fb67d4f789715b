"""Audit route (API.md "Gachas"): declared vs observed rates and the tests' p-values, public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from koepon.gacha.audit.schemas import GachaAudit
from koepon.gacha.audit.service import Audits
from koepon.gacha.context import GachaContext, provide


def build_router(ctx: GachaContext, audits: Audits) -> APIRouter:
    router = APIRouter(tags=["audit"])
    audits_dep = Depends(provide(audits))

    @router.get(
        "/api/v1/gachas/{gacha_id}/audit",
        response_model=GachaAudit,
        responses={404: {"description": "gacha_not_found: no published gacha has this id"}},
    )
    async def gacha_audit(
        gacha_id: Annotated[str, Path(min_length=1, max_length=64)],
        audits: Audits = audits_dep,
    ) -> GachaAudit:
        """Declared vs observed rates of every weighted table of every odds version, per rarity
        tier and per item, with a chi-square test on the tiers and exact binomial tests on the
        rare tiers (COMPLIANCE G9). Public; recomputed at most once a minute. Box draws are
        drawn without replacement and are not rate-audited."""
        return await audits.report(gacha_id)

    return router

"""Medal pack routes: the public catalogue and the operators' admin endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.tokens import Principal
from koepon.payment.context import PaymentContext, provide
from koepon.payment.packs.schemas import (
    MedalPackAdminRead,
    MedalPackCreate,
    MedalPackRead,
    MedalPackUpdate,
)
from koepon.payment.packs.service import MedalPacks, pack_admin_read, pack_read

PACK_ADMINS = ("admin",)


def build_router(ctx: PaymentContext, packs: MedalPacks) -> APIRouter:
    router = APIRouter(tags=["medal packs"])
    packs_dep = Depends(provide(packs))  # the service, as a FastAPI dependency
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    operator = Depends(ctx.authenticator.roles(*PACK_ADMINS))

    @router.get("/api/v1/medal-packs", response_model=list[MedalPackRead])
    async def list_medal_packs(
        session: AsyncSession = session_dep, packs: MedalPacks = packs_dep
    ) -> list[MedalPackRead]:
        """The packs on sale (public: no token needed). Prices are tax-included."""
        return [pack_read(pack) for pack in await packs.list(session)]

    @router.get("/api/v1/admin/medal-packs", response_model=list[MedalPackAdminRead])
    async def admin_list_medal_packs(
        _: Principal = operator,
        session: AsyncSession = session_dep,
        packs: MedalPacks = packs_dep,
    ) -> list[MedalPackAdminRead]:
        return [pack_admin_read(p) for p in await packs.list(session, include_inactive=True)]

    @router.post("/api/v1/admin/medal-packs", status_code=201, response_model=MedalPackAdminRead)
    async def create_medal_pack(
        body: MedalPackCreate,
        _: Principal = operator,
        session: AsyncSession = session_dep,
        packs: MedalPacks = packs_dep,
    ) -> MedalPackAdminRead:
        return pack_admin_read(await packs.create(session, data=body))

    @router.patch("/api/v1/admin/medal-packs/{pack_id}", response_model=MedalPackAdminRead)
    async def update_medal_pack(
        pack_id: str,
        body: MedalPackUpdate,
        _: Principal = operator,
        session: AsyncSession = session_dep,
        packs: MedalPacks = packs_dep,
    ) -> MedalPackAdminRead:
        return pack_admin_read(await packs.update(session, pack_id=pack_id, data=body))

    @router.post(
        "/api/v1/admin/medal-packs/{pack_id}/deactivate", response_model=MedalPackAdminRead
    )
    async def deactivate_medal_pack(
        pack_id: str,
        _: Principal = operator,
        session: AsyncSession = session_dep,
        packs: MedalPacks = packs_dep,
    ) -> MedalPackAdminRead:
        return pack_admin_read(await packs.deactivate(session, pack_id=pack_id))

    return router

"""The VTuber service's routes for other services (under /internal/vtuber, internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from koepon.contracts.vtuber import Permission
from koepon.kernel.internal import internal_guard
from koepon.vtuber.client import MAX_VTUBER_IDS, InProcessVtuberTeams
from koepon.vtuber.context import VtuberContext

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64)]
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class PermissionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vtuber_id: Ident
    user_id: Ident
    roles: list[RoleName] = Field(default_factory=list, max_length=20)


class PermissionsOut(BaseModel):
    permissions: list[Permission]


class ApprovedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vtuber_ids: list[Ident] = Field(max_length=MAX_VTUBER_IDS)


class ApprovedOut(BaseModel):
    vtuber_ids: list[str]


def build_internal_router(ctx: VtuberContext, client: InProcessVtuberTeams) -> APIRouter:
    router = APIRouter(
        prefix="/internal/vtuber", dependencies=[Depends(internal_guard(ctx.settings))]
    )

    @router.post("/permissions", response_model=PermissionsOut)
    async def permissions(body: PermissionsIn) -> PermissionsOut:
        """What this account (with these platform roles) may do for this VTuber now."""
        found = await client.permissions(body.vtuber_id, body.user_id, frozenset(body.roles))
        return PermissionsOut(permissions=sorted(found))

    @router.post("/approved", response_model=ApprovedOut)
    async def approved(body: ApprovedIn) -> ApprovedOut:
        """Which of these VTubers are approved now."""
        found = await client.approved(frozenset(body.vtuber_ids))
        return ApprovedOut(vtuber_ids=sorted(found))

    return router

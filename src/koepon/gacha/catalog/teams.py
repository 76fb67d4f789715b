"""What the VTuber service says about a VTuber's team: an account's permissions for a VTuber
(the team authors its gachas) and which VTubers are approved (a collab's partners must be).

While the VTuber service cannot be asked, every step that needs it is refused with 503
``dependency_unavailable`` before anything is written.
"""

from __future__ import annotations

from koepon.contracts.vtuber import Permission, VtuberTeams, VtuberUnavailable
from koepon.gacha.catalog.checks import Actor
from koepon.gacha.catalog.policy import NEEDS, AuthoringStep, may_author, sees_drafts
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    AuthoringForbidden,
    CollaboratorNotApproved,
    GachaNotFound,
    VtuberServiceUnavailable,
)

UNAVAILABLE = "The VTuber service cannot say who may do this right now; try again shortly"


class TeamPermissions:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx

    def _client(self) -> VtuberTeams:
        client = self.ctx.clients.vtuber
        if client is None:  # not in this process and no URL configured
            raise VtuberServiceUnavailable(UNAVAILABLE)
        return client

    async def of(self, actor: Actor, vtuber_id: str) -> frozenset[Permission]:
        """What ``actor`` may do for ``vtuber_id`` (the VTuber service's policy decides)."""
        try:
            return await self._client().permissions(vtuber_id, actor.user_id, actor.roles)
        except VtuberUnavailable as exc:
            raise VtuberServiceUnavailable(UNAVAILABLE) from exc

    async def require(self, actor: Actor, vtuber_id: str, step: AuthoringStep) -> None:
        """Refuse (403 ``authoring_forbidden``) unless the actor may take ``step``."""
        if not may_author(await self.of(actor, vtuber_id), step):
            raise AuthoringForbidden(
                f"Only members of VTuber {vtuber_id}'s team with the permission "
                f"{_needed(step)} may {step} its gachas",
                permission=_needed(step),
            )

    async def require_on_gacha(
        self, actor: Actor, gacha_id: str, vtuber_id: str, step: AuthoringStep
    ) -> None:
        """Like ``require`` for an existing gacha, which stays hidden (404) from anyone outside
        the VTuber's authoring team."""
        permissions = await self.of(actor, vtuber_id)
        if not sees_drafts(permissions):
            raise GachaNotFound(f"No gacha {gacha_id}")
        if not may_author(permissions, step):
            raise AuthoringForbidden(
                f"Your role in this team may not {step} gachas (it needs {_needed(step)})",
                permission=_needed(step),
            )

    async def refuse_unapproved(self, vtuber_ids: frozenset[str]) -> None:
        """Every party of a collab must be an approved VTuber now (422 otherwise)."""
        if not vtuber_ids:
            return
        try:
            approved = await self._client().approved(vtuber_ids)
        except VtuberUnavailable as exc:
            raise VtuberServiceUnavailable(
                "The VTuber service cannot confirm the collab's VTubers right now; try again"
            ) from exc
        missing = sorted(vtuber_ids - approved)
        if missing:
            raise CollaboratorNotApproved(
                f"Not approved VTubers: {', '.join(missing)}; every party of a collab gacha "
                "must be an approved VTuber",
                vtuber_ids=missing,
            )


def _needed(step: AuthoringStep) -> str:
    return NEEDS[step].value

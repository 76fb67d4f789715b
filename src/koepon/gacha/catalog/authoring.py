"""The VTuber team's use cases: drafts created, listed, edited and submitted for review."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.checks import Actor, draft_kind, page_cursor, refuse_g1, validated
from koepon.gacha.catalog.contents import ContentCheck
from koepon.gacha.catalog.models import Gacha
from koepon.gacha.catalog.policy import EDITABLE, GachaStatus, may_author
from koepon.gacha.catalog.schemas import (
    GachaDraft,
    GachaDraftIn,
    GachaDraftPage,
)
from koepon.gacha.catalog.views import (
    draft_page,
    draft_view,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    AuthoringForbidden,
    GachaNotEditable,
    GachaNotFound,
)


class Authoring:
    def __init__(self, ctx: GachaContext, contents: ContentCheck) -> None:
        self.ctx = ctx
        self.contents = contents

    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        vtuber_id: str,
        data: GachaDraftIn,
        *,
        gacha_id: str | None = None,
    ) -> GachaDraft:
        """A new draft. A set-completion reward (G1) is refused at once; anything else the
        configuration breaks is listed in ``checks`` and refused at submission."""
        if not may_author(actor.user_id, actor.roles, vtuber_id):
            raise AuthoringForbidden("A VTuber authors gachas only for their own account")
        refuse_g1(data.config)
        now = self.ctx.now()
        row = Gacha(
            id=gacha_id or str(uuid.uuid4()),
            vtuber_id=vtuber_id,
            title=data.title,
            description=data.description,
            kind=draft_kind(data.config),
            status=GachaStatus.DRAFT,
            draft=data.config,
            current_version=None,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        repository.add_gacha(session, row)
        await session.flush()
        return draft_view(row)

    async def team_gachas(
        self, session: AsyncSession, actor: Actor, vtuber_id: str, *, limit: int, cursor: str | None
    ) -> GachaDraftPage:
        """The VTuber's gachas in every status, drafts included, newest first."""
        if not may_author(actor.user_id, actor.roles, vtuber_id):
            raise AuthoringForbidden("A VTuber sees only their own gachas here")
        rows = await repository.gachas(
            session, vtuber_id=vtuber_id, limit=limit + 1, after=page_cursor(cursor)
        )
        return draft_page(rows, limit)

    async def _authored(self, session: AsyncSession, actor: Actor, gacha_id: str) -> Gacha:
        """The gacha locked for a change by its team; another team's is not found (hidden)."""
        row = await repository.gacha(session, gacha_id, lock=True)
        if row is None or not may_author(actor.user_id, actor.roles, row.vtuber_id):
            raise GachaNotFound(f"No gacha {gacha_id}")
        return row

    async def edit(
        self, session: AsyncSession, actor: Actor, gacha_id: str, data: GachaDraftIn
    ) -> GachaDraft:
        """Replace a draft (or a rejected gacha, which becomes a draft again)."""
        row = await self._authored(session, actor, gacha_id)
        if row.status not in EDITABLE:
            raise GachaNotEditable(
                f"Gacha {gacha_id} is {row.status}; only drafts and rejected gachas are edited",
                status_now=row.status,
            )
        refuse_g1(data.config)
        row.kind = draft_kind(data.config)
        row.title = data.title
        row.description = data.description
        row.draft = data.config
        row.status = GachaStatus.DRAFT
        row.updated_at = self.ctx.now()
        await session.flush()
        return draft_view(row)

    async def submit(self, session: AsyncSession, actor: Actor, gacha_id: str) -> GachaDraft:
        """Send the draft to review: refused (422, the rule id as ``code``, every violation
        listed) when it breaks a COMPLIANCE rule. Expected-cost flags (G7) do not refuse."""
        row = await self._authored(session, actor, gacha_id)
        if row.status == GachaStatus.SUBMITTED:
            return draft_view(row)
        if row.status not in EDITABLE:
            raise GachaNotEditable(f"Gacha {gacha_id} is {row.status}", status_now=row.status)
        await self.contents.refuse_missing(row.vtuber_id, validated(row.draft))
        now = self.ctx.now()
        row.status = GachaStatus.SUBMITTED
        row.submitted_at = now
        row.updated_at = now
        await session.flush()
        return draft_view(row)

"""The VTuber team's use cases: drafts created, listed, edited and submitted for review.

Who may take each step is the VTuber service's answer (``teams.py``): ``gacha.edit`` creates,
lists and edits, ``gacha.submit`` submits. It is asked before anything is read or written.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.checks import (
    Actor,
    draft_kind,
    page_cursor,
    refuse_bad_shares,
    refuse_g1,
    validated,
)
from koepon.gacha.catalog.contents import ContentCheck
from koepon.gacha.catalog.events import announce
from koepon.gacha.catalog.models import Gacha
from koepon.gacha.catalog.policy import EDITABLE, AuthoringStep, GachaStatus
from koepon.gacha.catalog.schemas import (
    GachaDraft,
    GachaDraftIn,
    GachaDraftPage,
)
from koepon.gacha.catalog.teams import TeamPermissions
from koepon.gacha.catalog.views import (
    draft_page,
    draft_view,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    GachaNotEditable,
    GachaNotFound,
)
from koepon.gacha.odds.shares import parties


class Authoring:
    def __init__(self, ctx: GachaContext, contents: ContentCheck, teams: TeamPermissions) -> None:
        self.ctx = ctx
        self.contents = contents
        self.teams = teams

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
        await self.teams.require(actor, vtuber_id, AuthoringStep.CREATE)
        refuse_g1(data.config)
        refuse_bad_shares(vtuber_id, data.config)
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
        return draft_view(row, now)

    async def team_gachas(
        self, session: AsyncSession, actor: Actor, vtuber_id: str, *, limit: int, cursor: str | None
    ) -> GachaDraftPage:
        """The VTuber's gachas in every status, drafts included, newest first."""
        await self.teams.require(actor, vtuber_id, AuthoringStep.LIST)
        rows = await repository.gachas(
            session, vtuber_id=vtuber_id, limit=limit + 1, after=page_cursor(cursor)
        )
        published = [row.id for row in rows if row.current_version is not None]
        versions = await repository.versions_of(session, published)
        return draft_page(rows, limit, now=self.ctx.now(), versions=versions)

    async def admit_on_gacha(
        self, session: AsyncSession, actor: Actor, gacha_id: str, step: AuthoringStep
    ) -> None:
        """The route's check before it reads a body: 404 outside the team, 403 for a role that
        may not take ``step`` (the use case checks again under the row lock)."""
        row = await repository.gacha(session, gacha_id)
        if row is None:
            raise GachaNotFound(f"No gacha {gacha_id}")
        await self.teams.require_on_gacha(actor, gacha_id, row.vtuber_id, step)

    async def _authored(
        self, session: AsyncSession, actor: Actor, gacha_id: str, step: AuthoringStep
    ) -> Gacha:
        """The gacha locked for a change by its team; hidden (404) from anyone outside the
        VTuber's authoring team, 403 for a member whose role may not take ``step``."""
        row = await repository.gacha(session, gacha_id, lock=True)
        if row is None:
            raise GachaNotFound(f"No gacha {gacha_id}")
        await self.teams.require_on_gacha(actor, gacha_id, row.vtuber_id, step)
        return row

    async def edit(
        self, session: AsyncSession, actor: Actor, gacha_id: str, data: GachaDraftIn
    ) -> GachaDraft:
        """Replace a draft (or a rejected gacha, which becomes a draft again)."""
        row = await self._authored(session, actor, gacha_id, AuthoringStep.EDIT)
        if row.status not in EDITABLE:
            raise GachaNotEditable(
                f"Gacha {gacha_id} is {row.status}; only drafts and rejected gachas are edited",
                status_now=row.status,
            )
        refuse_g1(data.config)
        refuse_bad_shares(row.vtuber_id, data.config)
        row.kind = draft_kind(data.config)
        row.title = data.title
        row.description = data.description
        row.draft = data.config
        row.status = GachaStatus.DRAFT
        row.updated_at = self.ctx.now()
        await session.flush()
        return draft_view(row, self.ctx.now())

    async def submit(self, session: AsyncSession, actor: Actor, gacha_id: str) -> GachaDraft:
        """Send the draft to review: refused (422, the rule id as ``code``, every violation
        listed) when it breaks a COMPLIANCE rule. Expected-cost flags (G7) do not refuse. A
        collab's parties must all be approved VTubers (422 ``collaborator_not_approved``)."""
        row = await self._authored(session, actor, gacha_id, AuthoringStep.SUBMIT)
        if row.status == GachaStatus.SUBMITTED:
            return draft_view(row, self.ctx.now())
        if row.status not in EDITABLE:
            raise GachaNotEditable(f"Gacha {gacha_id} is {row.status}", status_now=row.status)
        refuse_bad_shares(row.vtuber_id, row.draft)
        config = validated(row.draft)
        await self.contents.refuse_missing(row.vtuber_id, config)
        await self.teams.refuse_unapproved(parties(config.revenue_shares))
        now = self.ctx.now()
        row.status = GachaStatus.SUBMITTED
        row.submitted_at = now
        row.updated_at = now
        await announce(self.ctx, session, row, config)
        await session.flush()
        return draft_view(row, now)

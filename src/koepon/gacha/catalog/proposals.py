"""Odds changes proposed by a VTuber's team (COMPLIANCE G4 through review).

A member with ``gacha.edit`` proposes a changed configuration of an approved (scheduled or live)
gacha with a change note and the time it should apply; ``gacha.submit`` sends it for review; an
operator approves it — publishing the next odds version through the very path of an operator's
own publication (``Reviews.append_version``: validation, a box's fixed contents, append-only
versions, the advance notice, the catalogue event) — or rejects it with a reason. One open
proposal per gacha; approval refuses a proposal whose gacha ended or whose base version is no
longer the newest. Locks are taken in one order: the gacha, then the proposal.
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
)
from koepon.gacha.catalog.models import Gacha, OddsProposal
from koepon.gacha.catalog.policy import AuthoringStep, GachaStatus
from koepon.gacha.catalog.proposal_views import proposal_page, proposal_view
from koepon.gacha.catalog.reviews import Reviews
from koepon.gacha.catalog.schemas import OddsVersionIn, Proposal, ProposalIn, ProposalPage
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.catalog.teams import TeamPermissions
from koepon.gacha.catalog.views import header_of
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    GachaKindFixed,
    GachaNotFound,
    GachaStatusConflict,
    ProposalAlreadyOpen,
    ProposalNotFound,
    ProposalStale,
    ProposalStatusConflict,
)
from koepon.kernel.clock import as_utc

DRAFT, SUBMITTED, APPROVED, REJECTED = "draft", "submitted", "approved", "rejected"


class Proposals:
    def __init__(
        self, ctx: GachaContext, catalog: Catalog, reviews: Reviews, teams: TeamPermissions
    ) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.reviews = reviews
        self.teams = teams

    # --- loading ------------------------------------------------------------------------

    async def _gacha(self, session: AsyncSession, gacha_id: str) -> Gacha:
        row = await repository.gacha(session, gacha_id, lock=True)
        if row is None:
            raise GachaNotFound(f"No gacha {gacha_id}")
        return row

    async def _proposal(
        self, session: AsyncSession, gacha_id: str, proposal_id: str
    ) -> OddsProposal:
        row = await repository.proposal(session, proposal_id, lock=True)
        if row is None or row.gacha_id != gacha_id:
            raise ProposalNotFound(f"No odds proposal {proposal_id} for gacha {gacha_id}")
        return row

    async def _view(self, session: AsyncSession, row: OddsProposal, gacha: Gacha) -> Proposal:
        versions = await repository.versions(session, gacha.id)
        return proposal_view(row, gacha, versions, self.ctx.now())

    async def _still_current(self, session: AsyncSession, gacha: Gacha, base: int) -> None:
        """Refuse (409 ``proposal_stale``) once the gacha ended or left its base version."""
        now = self.ctx.now()
        versions = await repository.versions(session, gacha.id)
        if gacha.status != GachaStatus.APPROVED or header_of(gacha, versions).state(now) == (
            "ended"
        ):
            raise ProposalStale(
                f"Gacha {gacha.id} has ended; its odds no longer change", reason="gacha_ended"
            )
        if gacha.current_version != base:
            raise ProposalStale(
                f"Gacha {gacha.id} published odds version {gacha.current_version} since this "
                f"proposal was written on version {base}; propose again from the new one",
                reason="base_superseded",
                current_version=gacha.current_version,
            )

    @staticmethod
    def _refused_at_once(gacha: Gacha, data: ProposalIn) -> None:
        """What draft creation refuses at once (G1, a malformed split), and a changed kind."""
        refuse_g1(data.config)
        refuse_bad_shares(gacha.vtuber_id, data.config)
        if draft_kind(data.config) != gacha.kind:
            raise GachaKindFixed(f"Gacha {gacha.id} is a {gacha.kind} gacha; it stays one")

    # --- the team -----------------------------------------------------------------------

    async def propose(
        self, session: AsyncSession, actor: Actor, gacha_id: str, data: ProposalIn
    ) -> Proposal:
        """A new draft proposal for an approved gacha still scheduled or live (409 otherwise,
        and while another proposal of it is open)."""
        gacha = await self._gacha(session, gacha_id)
        await self.teams.require_on_gacha(actor, gacha_id, gacha.vtuber_id, AuthoringStep.EDIT)
        versions = await repository.versions(session, gacha_id)
        now = self.ctx.now()
        if gacha.status != GachaStatus.APPROVED or header_of(gacha, versions).state(now) == (
            "ended"
        ):
            raise GachaStatusConflict(
                f"Gacha {gacha_id} is not scheduled or live; only their odds change",
                status_now=gacha.status,
            )
        self._refused_at_once(gacha, data)
        open_one = await repository.open_proposal(session, gacha_id)
        if open_one is not None:
            raise ProposalAlreadyOpen(
                f"Gacha {gacha_id} already has an open odds proposal ({open_one.id}); edit, "
                "submit or have it decided first",
                proposal_id=open_one.id,
            )
        assert gacha.current_version is not None  # approved: version 1 at least
        row = OddsProposal(
            id=str(uuid.uuid4()),
            gacha_id=gacha_id,
            vtuber_id=gacha.vtuber_id,
            status=DRAFT,
            open_for=gacha_id,
            base_version=gacha.current_version,
            config=data.config,
            change_note=data.change_note,
            requested_effective_at=data.effective_at,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        repository.add_proposal(session, row)
        await session.flush()
        return proposal_view(row, gacha, versions, now)

    async def edit(
        self,
        session: AsyncSession,
        actor: Actor,
        gacha_id: str,
        proposal_id: str,
        data: ProposalIn,
    ) -> Proposal:
        """Replace a draft proposal; it is now based on the version the gacha has now."""
        gacha = await self._gacha(session, gacha_id)
        await self.teams.require_on_gacha(actor, gacha_id, gacha.vtuber_id, AuthoringStep.EDIT)
        row = await self._proposal(session, gacha_id, proposal_id)
        if row.status != DRAFT:
            raise ProposalStatusConflict(
                f"Odds proposal {proposal_id} is {row.status}; only a draft is edited",
                status_now=row.status,
            )
        self._refused_at_once(gacha, data)
        assert gacha.current_version is not None
        row.config = data.config
        row.change_note = data.change_note
        row.requested_effective_at = data.effective_at
        row.base_version = gacha.current_version
        row.updated_at = self.ctx.now()
        await session.flush()
        return await self._view(session, row, gacha)

    async def of_gacha(
        self, session: AsyncSession, actor: Actor, gacha_id: str, *, limit: int
    ) -> ProposalPage:
        """The gacha's proposals, newest first, with their checks and expected costs."""
        gacha = await repository.gacha(session, gacha_id)
        if gacha is None:
            raise GachaNotFound(f"No gacha {gacha_id}")
        await self.teams.require_on_gacha(actor, gacha_id, gacha.vtuber_id, AuthoringStep.LIST)
        rows = await repository.proposals_of(session, gacha_id, limit=limit)
        versions = await repository.versions(session, gacha_id)
        now = self.ctx.now()
        return ProposalPage(
            items=[proposal_view(row, gacha, versions, now) for row in rows], next_cursor=None
        )

    async def submit(
        self, session: AsyncSession, actor: Actor, gacha_id: str, proposal_id: str
    ) -> Proposal:
        """Send a draft proposal to review: refused (422, the rule id as ``code``) when the
        version it would publish breaks a rule, as an operator's publication would be."""
        gacha = await self._gacha(session, gacha_id)
        await self.teams.require_on_gacha(actor, gacha_id, gacha.vtuber_id, AuthoringStep.SUBMIT)
        row = await self._proposal(session, gacha_id, proposal_id)
        if row.status == SUBMITTED:
            return await self._view(session, row, gacha)
        if row.status != DRAFT:
            raise ProposalStatusConflict(
                f"Odds proposal {proposal_id} is {row.status}", status_now=row.status
            )
        await self._still_current(session, gacha, row.base_version)
        await self.reviews.next_version(session, gacha, _version_in(row), after_notice=True)
        now = self.ctx.now()
        row.status = SUBMITTED
        row.submitted_by = actor.user_id
        row.submitted_at = now
        row.updated_at = now
        await session.flush()
        return await self._view(session, row, gacha)

    # --- operators ----------------------------------------------------------------------

    async def queue(
        self, session: AsyncSession, *, status: str, limit: int, cursor: str | None
    ) -> ProposalPage:
        """Proposals in ``status`` (the queue: submitted), oldest first."""
        rows = await repository.proposals_in(
            session, status, limit=limit + 1, after=page_cursor(cursor)
        )
        gacha_ids = sorted({row.gacha_id for row in rows})
        gachas = {}
        for gacha_id in gacha_ids:
            found = await repository.gacha(session, gacha_id)
            assert found is not None  # a proposal's gacha is never removed
            gachas[gacha_id] = found
        versions = await repository.versions_of(session, gacha_ids)
        return proposal_page(rows, limit, gachas=gachas, versions=versions, now=self.ctx.now())

    async def _decided(self, session: AsyncSession, proposal_id: str) -> tuple[Gacha, OddsProposal]:
        found = await repository.proposal(session, proposal_id)
        if found is None:
            raise ProposalNotFound(f"No odds proposal {proposal_id}")
        gacha = await self._gacha(session, found.gacha_id)
        return gacha, await self._proposal(session, gacha.id, proposal_id)

    async def approve(self, reviewer: str, proposal_id: str) -> Proposal:
        """Publish the proposal as the gacha's next odds version, effective at the requested
        time or, for a live gacha, no sooner than the notice period from now. Approving again
        answers the same and publishes nothing."""
        async with self.ctx.db.transaction() as session:
            gacha, row = await self._decided(session, proposal_id)
            if row.status == APPROVED:
                return await self._view(session, row, gacha)
            if row.status != SUBMITTED:
                raise ProposalStatusConflict(
                    f"Odds proposal {proposal_id} is {row.status}; only a submitted one is "
                    "approved",
                    status_now=row.status,
                )
            await self._still_current(session, gacha, row.base_version)
            _header, scheduled = await self.reviews.append_version(
                session, gacha, _version_in(row), reviewer, after_notice=True
            )
            now = self.ctx.now()
            row.status = APPROVED
            row.open_for = None
            row.reviewed_by = reviewer
            row.reviewed_at = now
            row.updated_at = now
            row.published_version = scheduled.version
            await session.flush()
            view = await self._view(session, row, gacha)
        await self.catalog.forget(gacha.id, scheduled.version)
        return view

    async def reject(self, reviewer: str, proposal_id: str, reason: str) -> Proposal:
        """Send a submitted proposal back with the reason; the gacha may get a new one."""
        async with self.ctx.db.transaction() as session:
            gacha, row = await self._decided(session, proposal_id)
            if row.status == REJECTED:
                return await self._view(session, row, gacha)
            if row.status != SUBMITTED:
                raise ProposalStatusConflict(
                    f"Odds proposal {proposal_id} is {row.status}; only a submitted one is "
                    "rejected",
                    status_now=row.status,
                )
            now = self.ctx.now()
            row.status = REJECTED
            row.open_for = None
            row.review_note = reason
            row.reviewed_by = reviewer
            row.reviewed_at = now
            row.updated_at = now
            await session.flush()
            return await self._view(session, row, gacha)


def _version_in(row: OddsProposal) -> OddsVersionIn:
    return OddsVersionIn(
        config=row.config,
        effective_at=as_utc(row.requested_effective_at),
        change_note=row.change_note,
    )

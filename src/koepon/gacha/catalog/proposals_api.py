"""Odds proposals' routes (API.md "VTuber studio", "Operators"): a VTuber's team proposes a
changed configuration of its approved gacha and submits it; operators review the queue and
approve (the next odds version, G4) or reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog.authoring import Authoring
from koepon.gacha.catalog.checks import Actor
from koepon.gacha.catalog.policy import REVIEWER_ROLES, AuthoringStep
from koepon.gacha.catalog.proposals import Proposals
from koepon.gacha.catalog.schemas import Proposal, ProposalIn, ProposalPage, RejectionIn
from koepon.gacha.context import GachaContext, provide
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal

GachaId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]
ProposalId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
QueueStatus = Annotated[str, Query(pattern=r"^(draft|submitted|approved|rejected)$")]

_RULES = {
    "description": "The proposed configuration breaks a COMPLIANCE rule: ``code`` is the rule "
    "id (G1 at once; G2, G3, G5, G6, G8 or G4 at submission) and ``violations`` lists every "
    "one; ``revenue_shares_invalid``, ``gacha_kind_fixed``, ``collaborator_not_approved``"
}
_TEAM: dict[int | str, dict[str, str]] = {
    403: {"description": "authoring_forbidden: no team permission for this step"},
    404: {"description": "gacha_not_found (also outside the team), proposal_not_found"},
    503: {"description": "dependency_unavailable: the VTuber service cannot be asked"},
}
_CONFLICTS = {
    "description": "proposal_already_open, proposal_status_conflict, gacha_status_conflict; "
    "proposal_stale: the gacha ended or published another odds version since",
}


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, frozenset(principal.roles))


def build_router(ctx: GachaContext, authoring: Authoring, proposals: Proposals) -> APIRouter:
    router = APIRouter(tags=["gachas"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    authoring_dep = Depends(provide(authoring))
    proposals_dep = Depends(provide(proposals))
    author = Depends(ctx.authenticator.user)
    reviewer = Depends(ctx.authenticator.roles(*REVIEWER_ROLES))

    # --- the VTuber's team (refused before a body is read) -------------------------------

    async def may_edit(
        gacha_id: GachaId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
    ) -> Principal:
        await authoring.admit_on_gacha(session, _actor(principal), gacha_id, AuthoringStep.EDIT)
        return principal

    @router.post(
        "/api/v1/gachas/{gacha_id}/proposals",
        status_code=201,
        response_model=Proposal,
        responses={409: _CONFLICTS, 422: _RULES, **_TEAM},
    )
    async def propose_odds(
        gacha_id: GachaId,
        body: ProposalIn,
        principal: Principal = Depends(may_edit),
        session: AsyncSession = session_dep,
        proposals: Proposals = proposals_dep,
    ) -> Proposal:
        """Propose a changed configuration of a scheduled or live gacha (``gacha.edit``): G1
        and a malformed revenue split are refused at once, other rules at submission. One open
        proposal per gacha."""
        return await proposals.propose(session, _actor(principal), gacha_id, body)

    @router.get("/api/v1/gachas/{gacha_id}/proposals", response_model=ProposalPage, responses=_TEAM)
    async def gacha_proposals(
        gacha_id: GachaId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        proposals: Proposals = proposals_dep,
        limit: Limit = 20,
    ) -> ProposalPage:
        """The gacha's odds proposals, newest first, with checks and expected costs."""
        return await proposals.of_gacha(session, _actor(principal), gacha_id, limit=limit)

    @router.put(
        "/api/v1/gachas/{gacha_id}/proposals/{proposal_id}",
        response_model=Proposal,
        responses={409: _CONFLICTS, 422: _RULES, **_TEAM},
    )
    async def edit_proposal(
        gacha_id: GachaId,
        proposal_id: ProposalId,
        body: ProposalIn,
        principal: Principal = Depends(may_edit),
        session: AsyncSession = session_dep,
        proposals: Proposals = proposals_dep,
    ) -> Proposal:
        """Replace a draft proposal (it is then based on the gacha's newest odds version)."""
        return await proposals.edit(session, _actor(principal), gacha_id, proposal_id, body)

    @router.post(
        "/api/v1/gachas/{gacha_id}/proposals/{proposal_id}/submit",
        response_model=Proposal,
        responses={409: _CONFLICTS, 422: _RULES, **_TEAM},
    )
    async def submit_proposal(
        gacha_id: GachaId,
        proposal_id: ProposalId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        proposals: Proposals = proposals_dep,
    ) -> Proposal:
        """Send a draft proposal to review (``gacha.submit``); refused with the rule id as
        ``code`` when the odds version it would publish breaks a rule."""
        return await proposals.submit(session, _actor(principal), gacha_id, proposal_id)

    # --- operators -----------------------------------------------------------------------

    @router.get("/api/v1/admin/gacha-proposals", response_model=ProposalPage)
    async def proposal_queue(
        _: Principal = reviewer,
        session: AsyncSession = session_dep,
        proposals: Proposals = proposals_dep,
        status: QueueStatus = "submitted",
        cursor: KeysetCursor = None,
        limit: Limit = 20,
    ) -> ProposalPage:
        """Odds proposals in a status (default: the review queue), oldest first, with their
        checks and the expected costs (G7) of the table in force and of the proposed one."""
        return await proposals.queue(session, status=status, limit=limit, cursor=cursor)

    @router.post(
        "/api/v1/admin/gacha-proposals/{proposal_id}/approve",
        response_model=Proposal,
        responses={
            404: {"description": "proposal_not_found"},
            409: {
                "description": "proposal_status_conflict, proposal_stale, box_composition_locked"
            },
            422: _RULES,
        },
    )
    async def approve_proposal(
        proposal_id: ProposalId,
        principal: Principal = reviewer,
        proposals: Proposals = proposals_dep,
    ) -> Proposal:
        """Publish the proposal as the next odds version (G4: a live gacha's applies no sooner
        than KOEPON_ODDS_NOTICE_HOURS from now). Approving again publishes nothing."""
        return await proposals.approve(principal.user_id, proposal_id)

    @router.post(
        "/api/v1/admin/gacha-proposals/{proposal_id}/reject",
        response_model=Proposal,
        responses={
            404: {"description": "proposal_not_found"},
            409: {"description": "proposal_status_conflict"},
        },
    )
    async def reject_proposal(
        proposal_id: ProposalId,
        body: RejectionIn,
        principal: Principal = reviewer,
        proposals: Proposals = proposals_dep,
    ) -> Proposal:
        """Send a submitted proposal back to the team with the reason."""
        return await proposals.reject(principal.user_id, proposal_id, body.reason)

    return router

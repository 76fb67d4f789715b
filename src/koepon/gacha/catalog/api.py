"""Catalogue routes (API.md "Gachas", "VTuber studio", "Operators"): the public catalogue and
disclosure, the VTuber team's drafts, and the operators' review and odds versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog.authoring import Authoring
from koepon.gacha.catalog.checks import Actor
from koepon.gacha.catalog.policy import REVIEWER_ROLES, AuthoringStep, GachaStatus
from koepon.gacha.catalog.public import PublicCatalog
from koepon.gacha.catalog.reviews import Reviews
from koepon.gacha.catalog.schemas import (
    GachaDraft,
    GachaDraftIn,
    GachaDraftPage,
    GachaPage,
    GachaPublic,
    OddsChangeLog,
    OddsVersionDetail,
    OddsVersionIn,
    OddsVersionOut,
    RejectionIn,
)
from koepon.gacha.context import GachaContext, provide
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal

# Ids are UUIDs (or the demo's and tests' short VTuber ids); anything else is refused by name.
GachaId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]
VtuberId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=100)]

_CONFIG_REFUSALS = {
    "description": "The configuration breaks a COMPLIANCE rule: ``code`` is the rule id (G1, "
    "G2, G3, G5, G6, G8, or G4 for an odds change) and ``violations`` lists every one; "
    "``revenue_shares_invalid``: a collab's split is malformed; "
    "``collaborator_not_approved``: a collab names a VTuber that is not approved"
}
_TEAM_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "authoring_forbidden: no team permission for this step"},
    503: {"description": "dependency_unavailable: the VTuber service cannot be asked"},
}


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, frozenset(principal.roles))


def build_router(
    ctx: GachaContext, authoring: Authoring, reviews: Reviews, public: PublicCatalog
) -> APIRouter:
    router = APIRouter(tags=["gachas"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    # The public catalogue may lag by the read replica's delay (docs/DEPLOY.md "Read replicas").
    reader_dep = Depends(ctx.db.reader.session_dependency, scope="function")
    authoring_dep = Depends(provide(authoring))
    reviews_dep = Depends(provide(reviews))
    public_dep = Depends(provide(public))
    # Any signed-in account: whether it is on the VTuber's team, and with which permissions,
    # is the VTuber service's answer (asked by the use case).
    author = Depends(ctx.authenticator.user)
    reviewer = Depends(ctx.authenticator.roles(*REVIEWER_ROLES))

    # --- public (no token) ------------------------------------------------------------

    @router.get("/api/v1/gachas", response_model=GachaPage)
    async def list_gachas(
        session: AsyncSession = reader_dep,
        public: PublicCatalog = public_dep,
        cursor: KeysetCursor = None,
        limit: Limit = 20,
    ) -> GachaPage:
        """Live and upcoming gachas, newest first (public)."""
        return await public.catalogue(session, limit=limit, cursor=cursor)

    @router.get(
        "/api/v1/gachas/{gacha_id}",
        response_model=GachaPublic,
        responses={404: {"description": "gacha_not_found: unknown, or not approved"}},
    )
    async def get_gacha(
        gacha_id: GachaId, session: AsyncSession = reader_dep, public: PublicCatalog = public_dep
    ) -> GachaPublic:
        """Everything shown before purchase (COMPLIANCE G6, G7, P2): prices in medals and yen,
        period, rules, every table in the order draws use it with rates and expected costs,
        rarity totals; a box's remaining stock is live."""
        return await public.public_gacha(session, gacha_id)

    @router.get("/api/v1/gachas/{gacha_id}/odds", response_model=OddsChangeLog)
    async def odds_change_log(
        gacha_id: GachaId, session: AsyncSession = reader_dep, public: PublicCatalog = public_dep
    ) -> OddsChangeLog:
        """The public change log of the odds (G4): every version with its publication and
        effective times, change note and digest; an announced version shows when it applies."""
        return await public.change_log(session, gacha_id)

    @router.get("/api/v1/gachas/{gacha_id}/odds/{version}", response_model=OddsVersionDetail)
    async def odds_version(
        gacha_id: GachaId,
        version: Annotated[int, Path(ge=1, le=1_000_000)],
        session: AsyncSession = reader_dep,
        public: PublicCatalog = public_dep,
    ) -> OddsVersionDetail:
        """Any published odds version, disclosed in full."""
        return await public.odds_version(session, gacha_id, version)

    # --- the VTuber's team ---------------------------------------------------------------
    # The routes with a body refuse a caller outside the team before the body is read.

    async def may_draft(
        vtuber_id: VtuberId, principal: Principal = author, authoring: Authoring = authoring_dep
    ) -> Principal:
        await authoring.teams.require(_actor(principal), vtuber_id, AuthoringStep.CREATE)
        return principal

    async def may_edit(
        gacha_id: GachaId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
    ) -> Principal:
        await authoring.admit_on_gacha(session, _actor(principal), gacha_id, AuthoringStep.EDIT)
        return principal

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/gachas",
        status_code=201,
        response_model=GachaDraft,
        responses={422: _CONFIG_REFUSALS, **_TEAM_REFUSALS},
    )
    async def create_gacha(
        vtuber_id: VtuberId,
        body: GachaDraftIn,
        principal: Principal = Depends(may_draft),
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
    ) -> GachaDraft:
        """A new draft. A set-completion reward (G1) is refused at once; other violations are
        listed in ``checks`` and refused at submission."""
        return await authoring.create(session, _actor(principal), vtuber_id, body)

    @router.get(
        "/api/v1/vtubers/{vtuber_id}/gachas",
        response_model=GachaDraftPage,
        responses=_TEAM_REFUSALS,
    )
    async def team_gachas(
        vtuber_id: VtuberId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
        cursor: KeysetCursor = None,
        limit: Limit = 20,
    ) -> GachaDraftPage:
        """The VTuber's own gachas in every status, drafts included, with their checks."""
        return await authoring.team_gachas(
            session, _actor(principal), vtuber_id, limit=limit, cursor=cursor
        )

    @router.put(
        "/api/v1/gachas/{gacha_id}",
        response_model=GachaDraft,
        responses={
            409: {"description": "gacha_not_editable"},
            422: _CONFIG_REFUSALS,
            **_TEAM_REFUSALS,
        },
    )
    async def edit_gacha(
        gacha_id: GachaId,
        body: GachaDraftIn,
        principal: Principal = Depends(may_edit),
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
    ) -> GachaDraft:
        """Replace a draft (or a rejected gacha, which becomes a draft again)."""
        return await authoring.edit(session, _actor(principal), gacha_id, body)

    @router.post(
        "/api/v1/gachas/{gacha_id}/submit",
        response_model=GachaDraft,
        responses={
            409: {"description": "gacha_not_editable"},
            422: _CONFIG_REFUSALS,
            **_TEAM_REFUSALS,
        },
    )
    async def submit_gacha(
        gacha_id: GachaId,
        principal: Principal = author,
        session: AsyncSession = session_dep,
        authoring: Authoring = authoring_dep,
    ) -> GachaDraft:
        """Send the draft to review; refused with the rule id when it breaks a rule."""
        return await authoring.submit(session, _actor(principal), gacha_id)

    # --- operators -----------------------------------------------------------------------

    @router.get("/api/v1/admin/gachas", response_model=GachaDraftPage)
    async def review_queue(
        _: Principal = reviewer,
        session: AsyncSession = session_dep,
        reviews: Reviews = reviews_dep,
        status: GachaStatus = GachaStatus.SUBMITTED,
        cursor: KeysetCursor = None,
        limit: Limit = 20,
    ) -> GachaDraftPage:
        """Gachas in a status (default: the review queue), oldest first, with their checks and
        expected costs (G7 flags)."""
        return await reviews.review_queue(session, status=status, limit=limit, cursor=cursor)

    @router.post(
        "/api/v1/admin/gachas/{gacha_id}/approve",
        response_model=GachaDraft,
        responses={409: {"description": "gacha_status_conflict"}, 422: _CONFIG_REFUSALS},
    )
    async def approve_gacha(
        gacha_id: GachaId, principal: Principal = reviewer, reviews: Reviews = reviews_dep
    ) -> GachaDraft:
        """Publish odds version 1 (effective at the period's start, or now) and the box's
        stock. Approving again answers the same and publishes nothing."""
        return await reviews.approve(principal.user_id, gacha_id)

    @router.post(
        "/api/v1/admin/gachas/{gacha_id}/reject",
        response_model=GachaDraft,
        responses={409: {"description": "gacha_status_conflict"}},
    )
    async def reject_gacha(
        gacha_id: GachaId,
        body: RejectionIn,
        principal: Principal = reviewer,
        session: AsyncSession = session_dep,
        reviews: Reviews = reviews_dep,
    ) -> GachaDraft:
        return await reviews.reject(session, principal.user_id, gacha_id, body.reason)

    @router.post(
        "/api/v1/admin/gachas/{gacha_id}/versions",
        status_code=201,
        response_model=OddsVersionOut,
        responses={
            409: {"description": "gacha_status_conflict, box_composition_locked"},
            422: _CONFIG_REFUSALS,
        },
    )
    async def publish_odds_version(
        gacha_id: GachaId,
        body: OddsVersionIn,
        principal: Principal = reviewer,
        reviews: Reviews = reviews_dep,
    ) -> OddsVersionOut:
        """Append the next odds version (G4): a live gacha's takes effect no sooner than the
        notice period (KOEPON_ODDS_NOTICE_HOURS), and a change note is required."""
        return await reviews.publish_version(principal.user_id, gacha_id, body)

    @router.post(
        "/api/v1/admin/gachas/{gacha_id}/end",
        response_model=GachaDraft,
        responses={409: {"description": "gacha_status_conflict"}},
    )
    async def end_gacha(
        gacha_id: GachaId, principal: Principal = reviewer, reviews: Reviews = reviews_dep
    ) -> GachaDraft:
        """End an approved gacha now: no more draws; its page and odds stay readable."""
        return await reviews.end(principal.user_id, gacha_id)

    return router

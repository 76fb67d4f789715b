"""VTuber applications, operators' decisions, the public and the private profile.

Every change writes its line in the record of changes (``repository.record``) in the same
transaction; every permission is decided by ``policy`` from the facts read here (``standing``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission, VtuberApproved
from koepon.kernel.clock import jst_day
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import (
    ApplicationExists,
    InvalidProfileField,
    NotAllowed,
    VtuberNotFound,
    VtuberStatusConflict,
)
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.teams import checks, policy, repository
from koepon.vtuber.teams.models import VtuberProfile
from koepon.vtuber.teams.policy import BankAccess, Standing
from koepon.vtuber.teams.schemas import (
    PAYOUT_FIELDS,
    Application,
    ApplicationCreate,
    ApplicationPage,
    LiveGacha,
    PrivateProfile,
    ProfileUpdate,
    PublicProfile,
)
from koepon.vtuber.teams.views import application_view, private_view

DEMO_BANK = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
    "holder_kana": "ｺｴﾎﾟﾝ ﾀﾛｳ",
}


class Profiles:
    def __init__(self, ctx: VtuberContext, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.gachas = gachas

    async def get(self, session: AsyncSession, vtuber_id: str) -> VtuberProfile | None:
        return await repository.profile(session, vtuber_id)

    async def standing(
        self, session: AsyncSession, vtuber_id: str, user_id: str, roles: Collection[str]
    ) -> tuple[VtuberProfile | None, Standing]:
        """The VTuber (None if unknown) and the facts the policy decides from."""
        row = await repository.profile(session, vtuber_id)
        member = await repository.member(session, vtuber_id, user_id) if row else None
        return row, policy.standing(
            status=row.status if row else None,
            owner_user_id=row.owner_user_id if row else None,
            member_role=member.role if member else None,
            user_id=user_id,
            platform_roles=roles,
        )

    async def record(
        self,
        session: AsyncSession,
        vtuber_id: str,
        *,
        actor_id: str,
        action: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """A line in the record of changes for another sub-domain's change (an overlay URL
        rotated), in the caller's transaction."""
        await repository.record(
            session,
            vtuber_id=vtuber_id,
            actor_id=actor_id,
            action=action,
            at=self.ctx.now(),
            detail=detail,
        )

    async def register_approved(
        self,
        session: AsyncSession,
        *,
        owner_user_id: str,
        display_name: str,
        vtuber_id: str | None = None,
        entity_type: str = "individual",
        legal_name: str = "声本 太郎",
        bank: dict[str, Any] | None = None,
        revenue_share_bp: int | None = None,
        invoice_number: str | None = None,
        invoice_registered_on: date | None = None,
        bio: str = "",
    ) -> str:
        """An approved VTuber without an application (the demo seed and tests): its id."""
        now = self.ctx.now()
        row = VtuberProfile(
            id=vtuber_id or str(uuid.uuid4()),
            owner_user_id=owner_user_id,
            status="approved",
            display_name=display_name,
            bio=bio,
            avatar_url=None,
            channel_links=[],
            entity_type=entity_type,
            legal_name=legal_name,
            bank=dict(bank or DEMO_BANK),
            invoice_number=invoice_number,
            invoice_registered_on=invoice_registered_on,
            revenue_share_bp=(
                self.ctx.vtuber_settings.default_revenue_share_bp
                if revenue_share_bp is None
                else revenue_share_bp
            ),
            decision_reason="registered directly",
            decided_by="system",
            decided_at=now,
            applied_at=now,
            updated_at=now,
        )
        session.add(row)
        await repository.record(
            session, vtuber_id=row.id, actor_id="system", action="approved", at=now
        )
        return row.id

    def _check_invoice_date(self, registered_on: date | None) -> None:
        if registered_on is None:
            return
        try:
            checks.invoice_registered_on(registered_on, jst_day(self.ctx.now()))
        except ValueError as exc:
            raise InvalidProfileField(str(exc), field="invoice_registered_on") from exc

    async def apply(
        self, session: AsyncSession, *, user_id: str, body: ApplicationCreate
    ) -> PrivateProfile:
        """A fan's application: pending until an operator decides; the fan is its owner."""
        self._check_invoice_date(body.invoice_registered_on)
        existing = await repository.open_profile_of(session, user_id)
        if existing is not None:
            raise ApplicationExists(
                f"This account already owns a VTuber ({existing.status})", vtuber_id=existing.id
            )
        now = self.ctx.now()
        row = VtuberProfile(
            id=str(uuid.uuid4()),
            owner_user_id=user_id,
            status="pending",
            display_name=body.display_name,
            bio=body.bio,
            avatar_url=body.avatar_url,
            channel_links=body.channel_links,
            entity_type=body.entity_type,
            legal_name=body.legal_name,
            bank=body.bank.model_dump(),
            invoice_number=body.invoice_number,
            invoice_registered_on=body.invoice_registered_on,
            revenue_share_bp=self.ctx.vtuber_settings.default_revenue_share_bp,
            applied_at=now,
            updated_at=now,
        )
        session.add(row)
        await repository.record(
            session, vtuber_id=row.id, actor_id=user_id, action="applied", at=now
        )
        return private_view(row, BankAccess.FULL)

    async def public(self, session: AsyncSession, vtuber_id: str) -> PublicProfile:
        row = await repository.profile(session, vtuber_id)
        if row is None or row.status != "approved":
            raise VtuberNotFound("No such VTuber")
        # The gachas sub-domain (copies of the catalogue) knows which gachas are live now.
        live = await self.gachas.live_for(session, vtuber_id, self.ctx.now())
        return PublicProfile(
            id=row.id,
            display_name=row.display_name,
            bio=row.bio,
            avatar_url=row.avatar_url,
            channel_links=list(row.channel_links),
            invoice_registered=row.invoice_number is not None,
            live_gachas=[LiveGacha.model_validate(gacha) for gacha in live],
        )

    async def private(
        self, session: AsyncSession, vtuber_id: str, *, user_id: str, roles: Collection[str]
    ) -> PrivateProfile:
        row, who = await self.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        access = policy.private_view(who)
        if access is None:
            raise NotAllowed("Only the owner and operators read the private profile")
        return private_view(row, access)

    async def update(
        self,
        session: AsyncSession,
        vtuber_id: str,
        *,
        user_id: str,
        roles: Collection[str],
        body: ProfileUpdate,
    ) -> PrivateProfile:
        row, who = await self.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if not policy.allows(who, Permission.PROFILE_EDIT):
            raise NotAllowed("profile.edit is needed to change this VTuber's profile")
        changes = body.changes()
        if PAYOUT_FIELDS & changes.keys() and not policy.may_edit_payout_details(who):
            raise NotAllowed("Only the owner or an admin changes legal name, bank and invoice")
        self._check_invoice_date(body.invoice_registered_on)
        for name, value in changes.items():
            setattr(row, name, value.model_dump() if name == "bank" else value)
        now = self.ctx.now()
        row.updated_at = now
        await repository.record(
            session,
            vtuber_id=row.id,
            actor_id=user_id,
            action="profile.edited",
            at=now,
            detail={"fields": sorted(changes)},
        )
        access = policy.private_view(who) or BankAccess.NONE
        return private_view(row, access)

    async def applications(
        self, session: AsyncSession, *, status: str, cursor: str | None, limit: int
    ) -> ApplicationPage:
        after = decode_keyset(cursor) if cursor else None
        rows = await repository.applications(session, status, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        return ApplicationPage(
            items=[application_view(row) for row in rows],
            next_cursor=encode_keyset(last.applied_at, last.id) if last else None,
        )

    async def _decide(
        self,
        session: AsyncSession,
        vtuber_id: str,
        *,
        actor_id: str,
        allowed_from: tuple[str, ...],
        to: str,
        reason: str | None,
    ) -> VtuberProfile:
        row = await repository.profile(session, vtuber_id, lock=True)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if row.status not in allowed_from:
            raise VtuberStatusConflict(
                f"A {row.status} VTuber cannot become {to}", status_now=row.status
            )
        now = self.ctx.now()
        was = row.status
        row.status = to
        row.decision_reason = reason
        row.decided_by = actor_id
        row.decided_at = now
        row.updated_at = now
        action = {"approved": "approved", "rejected": "rejected", "suspended": "suspended"}[to]
        detail: dict[str, Any] = {"from": was} | ({"reason": reason} if reason else {})
        await repository.record(
            session, vtuber_id=row.id, actor_id=actor_id, action=action, at=now, detail=detail
        )
        return row

    async def approve(self, session: AsyncSession, vtuber_id: str, *, actor_id: str) -> Application:
        """Approve an application, or reinstate a suspended VTuber; publishes VtuberApproved."""
        row = await self._decide(
            session,
            vtuber_id,
            actor_id=actor_id,
            allowed_from=("pending", "suspended"),
            to="approved",
            reason=None,
        )
        assert row.decided_at is not None
        await self.ctx.outbox.add(
            session,
            VtuberApproved(
                vtuber_id=row.id,
                owner_user_id=row.owner_user_id,
                display_name=row.display_name,
                approved_at=row.decided_at,
            ),
        )
        return application_view(row)

    async def reject(
        self, session: AsyncSession, vtuber_id: str, *, actor_id: str, reason: str
    ) -> Application:
        row = await self._decide(
            session,
            vtuber_id,
            actor_id=actor_id,
            allowed_from=("pending",),
            to="rejected",
            reason=reason,
        )
        return application_view(row)

    async def suspend(
        self, session: AsyncSession, vtuber_id: str, *, actor_id: str, reason: str
    ) -> Application:
        row = await self._decide(
            session,
            vtuber_id,
            actor_id=actor_id,
            allowed_from=("approved",),
            to="suspended",
            reason=reason,
        )
        return application_view(row)

    async def set_revenue_share(
        self, session: AsyncSession, vtuber_id: str, *, actor_id: str, share_bp: int
    ) -> Application:
        """The VTuber's part of the revenue (R1), from now on."""
        row = await repository.profile(session, vtuber_id, lock=True)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        now = self.ctx.now()
        was = row.revenue_share_bp
        row.revenue_share_bp = share_bp
        row.updated_at = now
        await repository.record(
            session,
            vtuber_id=row.id,
            actor_id=actor_id,
            action="share.changed",
            at=now,
            detail={"from_bp": was, "to_bp": share_bp},
        )
        return application_view(row)

"""Rows of the teams tables as the bodies routes answer (no I/O)."""

from __future__ import annotations

from datetime import datetime

from koepon.kernel.clock import as_utc
from koepon.vtuber.teams import checks
from koepon.vtuber.teams.models import Invitation, Member, VtuberProfile
from koepon.vtuber.teams.policy import BankAccess
from koepon.vtuber.teams.schemas import (
    Application,
    BankView,
    InvitationView,
    MemberView,
    PrivateProfile,
)


def private_view(row: VtuberProfile, access: BankAccess) -> PrivateProfile:
    bank: BankView | None = None
    if access is not BankAccess.NONE:
        raw = dict(row.bank)
        if access is BankAccess.MASKED:
            raw["account_number"] = checks.masked(str(raw.get("account_number", "")))
        bank = BankView(**raw, masked=access is BankAccess.MASKED)
    return PrivateProfile(
        id=row.id,
        owner_user_id=row.owner_user_id,
        status=row.status,
        display_name=row.display_name,
        bio=row.bio,
        avatar_url=row.avatar_url,
        channel_links=list(row.channel_links),
        entity_type=row.entity_type,
        legal_name=row.legal_name,
        bank=bank,
        invoice_number=row.invoice_number,
        invoice_registered_on=row.invoice_registered_on,
        revenue_share_bp=row.revenue_share_bp,
        decision_reason=row.decision_reason,
        decided_at=row.decided_at,
        applied_at=row.applied_at,
        updated_at=row.updated_at,
    )


def application_view(row: VtuberProfile) -> Application:
    return Application.model_validate(
        {name: getattr(row, name) for name in Application.model_fields}
    )


def invitation_view(row: Invitation, vtuber_name: str, now: datetime) -> InvitationView:
    expired = row.status == "pending" and as_utc(row.expires_at) <= now
    fields = {
        name: getattr(row, name) for name in InvitationView.model_fields if name != "vtuber_name"
    }
    return InvitationView.model_validate(
        fields | {"vtuber_name": vtuber_name} | ({"status": "expired"} if expired else {})
    )


def member_view(row: Member) -> MemberView:
    fields = {name: getattr(row, name) for name in ("user_id", "role", "added_by", "added_at")}
    return MemberView.model_validate(fields | {"is_account_owner": False})

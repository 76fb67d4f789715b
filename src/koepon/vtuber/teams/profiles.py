"""VTuber applications, operators' decisions and the public profile."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.teams.models import VtuberProfile

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
        return await session.get(VtuberProfile, vtuber_id)

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
        await session.flush()
        return row.id

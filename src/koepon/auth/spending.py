"""Self-set spending limits (COMPLIANCE A3) and the profile payment asks for at checkout."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import limits as limit_rules
from koepon.auth import repository
from koepon.auth.core import AuthCore, aware_or_none
from koepon.auth.schemas import LimitsOut
from koepon.contracts.auth import AccountNotFound, SpendingProfile


class Spending(AuthCore):
    async def limits(self, session: AsyncSession, *, user_id: str) -> LimitsOut:
        return self._limits_out(await self._limits_row(session, user_id), self.now())

    async def set_limits(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        monthly_purchase_cap_jpy: int | None,
        monthly_draw_cap_medals: int | None,
    ) -> LimitsOut:
        now = self.now()
        row = await self._limits_row(session, user_id, lock=True)
        purchase, draw = self._caps(row)
        purchase = purchase.change(monthly_purchase_cap_jpy, now)
        draw = draw.change(monthly_draw_cap_medals, now)
        row.monthly_purchase_cap_jpy = purchase.current
        row.pending_purchase_cap_jpy = purchase.pending
        row.pending_purchase_cap_effective_at = purchase.pending_effective_at
        row.monthly_draw_cap_medals = draw.current
        row.pending_draw_cap_medals = draw.pending
        row.pending_draw_cap_effective_at = draw.pending_effective_at
        row.updated_at = now
        return self._limits_out(row, now)

    async def start_cooling_off(
        self, session: AsyncSession, *, user_id: str, days: int
    ) -> LimitsOut:
        now = self.now()
        row = await self._limits_row(session, user_id, lock=True)
        row.cooling_off_until = limit_rules.cooling_off_end(
            aware_or_none(row.cooling_off_until), days, now
        )
        row.updated_at = now
        return self._limits_out(row, now)

    async def spending_profile(self, session: AsyncSession, *, user_id: str) -> SpendingProfile:
        """What payment and gacha need for A1–A3: the caps in force now and the birth date
        (one read of only those columns: it is asked on every checkout)."""
        row = await repository.spending_profile_row(session, user_id)
        if row is None:
            raise AccountNotFound(user_id)
        now = self.now()
        # The row has the limit table's column names, so the caps are read as everywhere else.
        purchase, draw = (cap.settled(now) for cap in self._caps(row))
        until = aware_or_none(row.cooling_off_until)
        return SpendingProfile(
            user_id=user_id,
            birthdate=row.birthdate,
            monthly_purchase_cap_jpy=purchase.current,
            monthly_draw_cap_medals=draw.current,
            cooling_off_until=until if limit_rules.cooling_off_active(until, now) else None,
        )

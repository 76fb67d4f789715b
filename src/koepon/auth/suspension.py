"""Operators suspend and reinstate accounts; each change is recorded (who, when, why).

A suspended account cannot sign in or refresh, and its sessions end at once, so the gateway's
session check refuses the access tokens it still holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth.accounts import Accounts
from koepon.auth.errors import OwnAccount, StaffAccount
from koepon.auth.models import SuspensionChange, User
from koepon.auth.schemas import AdminUserOut
from koepon.kernel.tokens import Principal

# Accounts only an admin may suspend or reinstate: support must not lock out its peers or those
# who oversee it.
STAFF_ROLES = frozenset({"admin", "compliance", "support"})


class Suspension(Accounts):
    async def suspend(
        self, session: AsyncSession, *, user_id: str, reason: str, operator: Principal
    ) -> AdminUserOut:
        if user_id == operator.user_id:
            raise OwnAccount(
                "An operator cannot suspend their own account",
                errors=[{"loc": ["path", "user_id"], "msg": "your own account"}],
            )
        user = await self._user(session, user_id, lock=True)
        self._may_change(user, operator)
        if user.suspended_at is None:  # idempotent: a second suspension changes nothing
            now = self.now()
            user.suspended_at = now
            user.suspended_reason = reason
            self._record(session, user, "suspend", reason, operator)
            await self.end_all_sessions(session, user_id=user.id)
        return self._admin_out(user)

    async def reinstate(
        self, session: AsyncSession, *, user_id: str, reason: str, operator: Principal
    ) -> AdminUserOut:
        user = await self._user(session, user_id, lock=True)
        self._may_change(user, operator)
        if user.suspended_at is not None:
            user.suspended_at = None
            user.suspended_reason = None
            self._record(session, user, "reinstate", reason, operator)
        return self._admin_out(user)

    @staticmethod
    def _may_change(user: User, operator: Principal) -> None:
        if not operator.has_any("admin") and STAFF_ROLES & set(user.roles):
            raise StaffAccount("Only an admin can suspend or reinstate an operator's account")

    def _record(
        self, session: AsyncSession, user: User, action: str, reason: str, operator: Principal
    ) -> None:
        session.add(
            SuspensionChange(
                id=str(uuid.uuid4()),
                user_id=user.id,
                action=action,
                reason=reason,
                changed_by=operator.user_id,
                changed_at=self.now(),
            )
        )

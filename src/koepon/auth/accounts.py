"""Account use cases: sign-up, the owner's view, and what operators change (birth date, roles)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import repository
from koepon.auth.age import age_bracket, tokyo_today
from koepon.auth.core import VERIFY_EMAIL, AuthCore, aware, aware_or_none
from koepon.auth.emails import EmailRefused, email_key, normalise_email
from koepon.auth.errors import EmailInvalid, EmailTaken, OwnAdminRole, Unauthenticated, UserNotFound
from koepon.auth.models import BirthdateChange, SpendingLimits, User
from koepon.auth.schemas import AdminUserOut, BirthdateChangeOut, MeOut, UserOut
from koepon.contracts.auth import AccountRegistered

SIGNUP_ROLES = ["fan"]


class Accounts(AuthCore):
    async def signup(
        self,
        session: AsyncSession,
        *,
        email: str,
        password: str,
        display_name: str,
        birthdate: date,
        roles: list[str] | None = None,
        email_verified: bool = False,
        check_password: bool = True,
    ) -> UserOut:
        """``check_password=False`` only for accounts the platform itself creates (demo data)."""
        now = self.now()
        try:
            email = normalise_email(email)
        except EmailRefused as exc:
            raise EmailInvalid(
                str(exc), errors=[{"loc": ["body", "email"], "msg": str(exc)}]
            ) from exc
        self._check_birthdate(birthdate, now)
        if check_password:
            self._check_password(password, email, display_name)
        # Hash before touching the database: on SQLite the first statement takes the write lock.
        password_hash = await self.passwords.hash(password)
        if await repository.user_by_email(session, email) is not None:
            raise EmailTaken("An account with this email already exists")
        user = User(
            id=str(uuid.uuid4()),
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            birthdate=birthdate,
            roles=sorted(set(roles or SIGNUP_ROLES)),
            email_verified_at=now if email_verified else None,
            created_at=now,
            password_changed_at=now,
        )
        try:
            await repository.add_user(
                session, user, SpendingLimits(user_id=user.id, updated_at=now)
            )
        except IntegrityError as exc:  # a concurrent sign-up with the same email won
            raise EmailTaken("An account with this email already exists") from exc
        await self.outbox.add(
            session,
            AccountRegistered(
                user_id=user.id,
                display_name=user.display_name,
                roles=list(user.roles),
                registered_at=now,
            ),
        )
        if not email_verified:
            await self._mail_link(session, user, VERIFY_EMAIL, now)
        return self._user_out(user, now)

    async def email_taken(self, session: AsyncSession, email: str) -> bool:
        key = email_key(email)
        return key is not None and await repository.user_by_email(session, key) is not None

    async def display_name(self, session: AsyncSession, *, user_id: str) -> str | None:
        """The account's public name (a fan's pull on a stream overlay); None: no account."""
        user = await repository.user_by_id(session, user_id)
        return user.display_name if user is not None else None

    async def me(self, session: AsyncSession, *, user_id: str) -> MeOut:
        now = self.now()
        try:
            user = await self._user(session, user_id)
        except UserNotFound as exc:
            raise Unauthenticated("The account no longer exists") from exc
        limits = await self._limits_row(session, user_id)
        return MeOut(**self._user_out(user, now).model_dump(), limits=self._limits_out(limits, now))

    async def admin_user(self, session: AsyncSession, *, user_id: str) -> AdminUserOut:
        user = await self._user(session, user_id)
        return self._admin_out(user)

    def _admin_out(self, user: User) -> AdminUserOut:
        return AdminUserOut(
            **self._user_out(user, self.now()).model_dump(),
            created_at=aware(user.created_at),
            suspended_at=aware_or_none(user.suspended_at),
            suspended_reason=user.suspended_reason,
        )

    async def change_birthdate(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        birthdate: date,
        reason: str,
        changed_by: str,
    ) -> BirthdateChangeOut:
        now = self.now()
        self._check_birthdate(birthdate, now)
        user = await self._user(session, user_id, lock=True)
        session.add(
            BirthdateChange(
                id=str(uuid.uuid4()),
                user_id=user.id,
                old_birthdate=user.birthdate,
                new_birthdate=birthdate,
                changed_by=changed_by,
                reason=reason.strip(),
                changed_at=now,
            )
        )
        user.birthdate = birthdate
        return BirthdateChangeOut(
            user_id=user.id,
            age_bracket=age_bracket(birthdate, tokyo_today(now)),
            changed_by=changed_by,
            changed_at=now,
        )

    async def birthdate_changes(self, session: AsyncSession, *, user_id: str) -> int:
        return await repository.birthdate_changes(session, user_id)

    async def set_roles(
        self, session: AsyncSession, *, user_id: str, roles: list[str], changed_by: str
    ) -> AdminUserOut:
        user = await self._user(session, user_id, lock=True)
        new_roles = sorted(set(roles))
        if user.id == changed_by and "admin" not in new_roles:
            raise OwnAdminRole("An admin cannot remove their own admin role")
        removed = set(user.roles) - set(new_roles)
        user.roles = new_roles
        if removed:
            # Tokens carry roles for up to 15 minutes; ending the sessions takes a removed
            # role away now (the next sign-in or refresh gets the new roles).
            await self.end_all_sessions(session, user_id=user.id)
        return self._admin_out(user)

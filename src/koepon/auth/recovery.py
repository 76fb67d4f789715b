"""Mailed-link use cases: proving an email address, and resetting a forgotten password."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import repository
from koepon.auth.core import PASSWORD_RESET, VERIFY_EMAIL, AuthCore, aware, digest
from koepon.auth.emails import email_key
from koepon.auth.errors import TokenInvalid
from koepon.auth.models import User

RESET_REQUESTS_PER_EMAIL = "5 per 1 hour"


class MailedLinks(AuthCore):
    async def request_verification(self, session: AsyncSession, *, user_id: str) -> None:
        user = await self._user(session, user_id)
        if user.email_verified_at is None:
            await self._mail_link(session, user, VERIFY_EMAIL, self.now())

    async def _consume(self, session: AsyncSession, token: str, purpose: str) -> User:
        now = self.now()
        row = await repository.one_time_token(session, digest(token), purpose)
        if row is None or row.used_at is not None or aware(row.expires_at) <= now:
            raise TokenInvalid("This link is invalid, expired or already used")
        row.used_at = now
        return await self._user(session, row.user_id)

    async def verify_email(self, session: AsyncSession, *, token: str) -> None:
        user = await self._consume(session, token, VERIFY_EMAIL)
        if user.email_verified_at is None:
            user.email_verified_at = self.now()

    async def request_password_reset(self, session: AsyncSession, *, email: str) -> None:
        """Always looks the same to the caller, whether or not the account exists."""
        key = email_key(email)
        if key is None:
            return
        allowed, _ = await self.rate_limiter.hit(RESET_REQUESTS_PER_EMAIL, "auth-reset", key)
        user = await repository.user_by_email(session, key)
        if user is None or not allowed:
            return
        await self._mail_link(session, user, PASSWORD_RESET, self.now())

    async def confirm_password_reset(
        self, session: AsyncSession, *, token: str, new_password: str
    ) -> None:
        # Hash before touching the database: on SQLite the first statement takes the write lock.
        password_hash = await self.passwords.hash(new_password)
        user = await self._consume(session, token, PASSWORD_RESET)
        # Refused here (the account is known only now); the rollback leaves the link usable.
        self._check_password(new_password, user.email, user.display_name, field="new_password")
        now = self.now()
        user.password_hash = password_hash
        user.password_changed_at = now
        # The link came to the mailbox, so the address is proven too.
        if user.email_verified_at is None:
            user.email_verified_at = now
        await repository.use_open_tokens(session, user.id, PASSWORD_RESET, now)
        await self.end_all_sessions(session, user_id=user.id)

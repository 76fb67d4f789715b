"""Sign-in use cases: password sign-in (throttled), refresh-token rotation, sign-out."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import repository
from koepon.auth.core import AuthCore, aware, digest
from koepon.auth.emails import email_key
from koepon.auth.errors import (
    AccountSuspended,
    InvalidCredentials,
    RefreshTokenInvalid,
    RefreshTokenReused,
    Unauthenticated,
)
from koepon.auth.models import RefreshToken, User
from koepon.auth.schemas import TokenPair
from koepon.kernel.tokens import Principal


class SignIn(AuthCore):
    async def login(
        self, session: AsyncSession, *, email: str, password: str, ip: str
    ) -> TokenPair:
        # A text no account can have is still throttled and checked like any other guess.
        account = email_key(email) or email.strip().lower()
        attempt = await self.throttle.admit(account=account, address=ip)
        # Read the hash in its own short unit of work and verify outside any transaction:
        # argon2 is slow on purpose, and SQLite would hold its write lock meanwhile.
        async with self.db.transaction() as read:
            found = await repository.credentials(read, account)
        # Unknown emails are verified against a dummy hash: same cost, no account enumeration.
        ok = await self.passwords.verify(found[1] if found else None, password)
        user = await session.get(User, found[0]) if found is not None and ok else None
        # ``user`` is also None if the account vanished meanwhile; a password changed meanwhile
        # means the one just verified is no longer the account's.
        if user is None or found is None or user.password_hash != found[1]:
            await self.throttle.failed(attempt)
            raise InvalidCredentials("Email or password is wrong")
        await self.throttle.succeeded(attempt)
        # Only after the password is right: a wrong guess learns nothing about the account.
        if user.suspended_at is not None:
            raise AccountSuspended("This account is suspended; contact support")
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(password)
        family_id = str(uuid.uuid4())
        refresh_token = await self._new_refresh_token(
            session, user_id=user.id, family_id=family_id, parent_id=None
        )
        # Before the request's transaction commits: if the cache is down the sign-in rolls back
        # and the client is told to retry, instead of holding tokens of a session nobody knows.
        await self.sessions.start(family_id, user.id)
        return self._pair(user, family_id, refresh_token)

    async def _new_refresh_token(
        self, session: AsyncSession, *, user_id: str, family_id: str, parent_id: str | None
    ) -> str:
        now = self.now()
        token = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                id=str(uuid.uuid4()),
                token_hash=digest(token),
                family_id=family_id,
                user_id=user_id,
                parent_id=parent_id,
                created_at=now,
                expires_at=now + timedelta(days=self.auth_settings.refresh_token_days),
            )
        )
        return token

    def _pair(self, user: User, session_id: str, refresh_token: str) -> TokenPair:
        access = self.access_tokens.issue(
            user_id=user.id, session_id=session_id, roles=list(user.roles), now=datetime.now(UTC)
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=self.auth_settings.access_token_seconds,
        )

    async def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. Runs its own unit of work: when a spent token comes back,
        the family's revocation must commit even though the caller gets a 401.

        The session is re-established in the cache *inside* the rotation's transaction: if the
        cache is down, the rotation rolls back (503 with Retry-After) and the same refresh
        token still works once it is back, instead of being taken for a stolen one."""
        now = self.now()
        reused_family: str | None = None
        async with self.db.transaction() as session:
            row = await repository.refresh_token(session, digest(refresh_token))
            if row is None or row.revoked_at is not None:
                raise RefreshTokenInvalid("Refresh token unknown, expired or revoked")
            if row.spent_at is not None:
                reused_family = row.family_id
            elif aware(row.expires_at) <= now:
                raise RefreshTokenInvalid("Refresh token unknown, expired or revoked")
            elif await repository.spend_refresh_token(session, row.id, now):
                user = await self._user(session, row.user_id)
                if user.suspended_at is not None:  # its sessions ended; this is belt and braces
                    raise RefreshTokenInvalid("Refresh token unknown, expired or revoked")
                token = await self._new_refresh_token(
                    session, user_id=user.id, family_id=row.family_id, parent_id=row.id
                )
                await self.sessions.start(row.family_id, row.user_id)
                return self._pair(user, row.family_id, token)
            else:  # spent concurrently: two holders of one token
                reused_family = row.family_id
            await repository.revoke_families(session, [reused_family], now)
        await self.sessions.end(reused_family)
        raise RefreshTokenReused("This refresh token was already used; the session has been ended")

    async def logout(
        self, session: AsyncSession, *, principal: Principal, refresh_token: str | None
    ) -> None:
        families = {principal.session_id}
        if refresh_token:
            row = await repository.refresh_token(session, digest(refresh_token))
            if row is not None and row.user_id == principal.user_id:
                families.add(row.family_id)
        await repository.revoke_families(
            session, sorted(families), self.now(), user_id=principal.user_id
        )
        await self.sessions.end(*families)

    async def require_session(self, principal: Principal) -> Principal:
        """The access token is valid; is its session still alive (not logged out/revoked)?"""
        if not await self.sessions.alive(principal.session_id, principal.user_id):
            raise Unauthenticated("The session has ended; sign in again")
        return principal

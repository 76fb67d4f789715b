"""Use cases of the auth service: accounts, sign-in, sessions, mails, roles and self-set limits."""

from __future__ import annotations

import hashlib
import math
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from limits import parse
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import limits as limit_rules
from koepon.auth.age import age_bracket, plausible_birthdate, tokyo_today
from koepon.auth.keys import AccessTokens
from koepon.auth.mail import Mail, enqueue
from koepon.auth.models import (
    BirthdateChange,
    OneTimeToken,
    RefreshToken,
    SpendingLimits,
    User,
    outbox,
)
from koepon.auth.passwords import Passwords
from koepon.auth.schemas import (
    AdminUserOut,
    BirthdateChangeOut,
    LimitsOut,
    MeOut,
    PendingLimit,
    TokenPair,
    UserOut,
)
from koepon.auth.sessions import Sessions
from koepon.contracts.auth import AccountNotFound, AccountRegistered, SpendingProfile
from koepon.kernel.db import Database
from koepon.kernel.outbox import Outbox
from koepon.kernel.problems import Problem
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Principal, unauthenticated

SIGNUP_ROLES = ["fan"]
VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose, not a secret
TOKEN_LIFETIMES = {VERIFY_EMAIL: timedelta(hours=48), PASSWORD_RESET: timedelta(hours=1)}
RESET_REQUESTS_PER_EMAIL = "5 per 1 hour"
Clock = Callable[[], datetime]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class AuthService:
    """Every use case takes the unit-of-work session it runs in (except ``refresh``, below)."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        sessions: Sessions,
        rate_limiter: RateLimiter,
        passwords: Passwords,
        access_tokens: AccessTokens,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.sessions = sessions
        self.rate_limiter = rate_limiter
        self.passwords = passwords
        self.access_tokens = access_tokens
        self.outbox = Outbox(outbox)
        # Business time (limits, token expiry, age). Tests move it; access-token timestamps
        # follow the wall clock because every verifier checks them against the wall clock.
        self.clock: Clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.clock()

    # -- accounts -----------------------------------------------------------------------------

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
    ) -> UserOut:
        now = self.now()
        self._check_birthdate(birthdate, now)
        # Hash before touching the database: on SQLite the first statement takes the write lock.
        password_hash = await self.passwords.hash(password)
        if await self._user_by_email(session, email) is not None:
            raise Problem(409, "email_taken", "An account with this email already exists")
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
            async with session.begin_nested():
                session.add(user)
                await session.flush()
            session.add(SpendingLimits(user_id=user.id, updated_at=now))
        except IntegrityError as exc:  # a concurrent sign-up with the same email won
            raise Problem(409, "email_taken", "An account with this email already exists") from exc
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
            await self._mail_verification(session, user, now)
        return self._user_out(user, now)

    def _check_birthdate(self, birthdate: date, now: datetime) -> None:
        if not plausible_birthdate(birthdate, tokyo_today(now)):
            raise Problem(
                422,
                "birthdate_invalid",
                "Birth date must be in the past and at most 120 years ago",
                errors=[{"loc": ["body", "birthdate"], "msg": "implausible birth date"}],
            )

    async def _user_by_email(self, session: AsyncSession, email: str) -> User | None:
        return (
            await session.scalars(select(User).where(User.email == email.strip().lower()))
        ).first()

    async def _user(self, session: AsyncSession, user_id: str, *, lock: bool = False) -> User:
        if not _is_uuid(user_id):
            raise Problem(404, "user_not_found", "No such user")
        query = select(User).where(User.id == user_id)
        if lock:
            query = query.with_for_update()
        user = (await session.scalars(query)).first()
        if user is None:
            raise Problem(404, "user_not_found", "No such user")
        return user

    def _user_out(self, user: User, now: datetime) -> UserOut:
        return UserOut(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=list(user.roles),
            age_bracket=age_bracket(user.birthdate, tokyo_today(now)),
            email_verified=user.email_verified_at is not None,
        )

    async def email_taken(self, session: AsyncSession, email: str) -> bool:
        return await self._user_by_email(session, email) is not None

    async def me(self, session: AsyncSession, *, user_id: str) -> MeOut:
        now = self.now()
        try:
            user = await self._user(session, user_id)
        except Problem as exc:
            raise unauthenticated("The account no longer exists") from exc
        limits = await self._limits_row(session, user_id)
        return MeOut(**self._user_out(user, now).model_dump(), limits=self._limits_out(limits, now))

    # -- sign-in, refresh, sessions -----------------------------------------------------------

    def _login_limit(self, per_ip: bool) -> str:
        attempts = (
            self.settings.login_attempts_per_ip_window
            if per_ip
            else self.settings.login_attempts_per_window
        )
        return f"{attempts} per {self.settings.login_window_seconds} seconds"

    async def _login_blocked_for(self, limit: str, *key: str) -> int:
        """Seconds until a failed-login bucket accepts attempts again (0 = open now)."""
        item = parse(limit)
        strategy = self.rate_limiter.strategy
        if await strategy.test(item, "auth-login-failed", *key):
            return 0
        stats = await strategy.get_window_stats(item, "auth-login-failed", *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def login(
        self, session: AsyncSession, *, email: str, password: str, ip: str
    ) -> TokenPair:
        email_key = email.strip().lower()
        buckets = [(self._login_limit(False), "email", email_key)]
        if ip:
            buckets.append((self._login_limit(True), "ip", ip))
        wait = max([await self._login_blocked_for(limit, *key) for limit, *key in buckets])
        if wait:
            raise Problem(
                429,
                "login_throttled",
                "Too many failed sign-in attempts; try again later",
                headers={"Retry-After": str(wait)},
                retry_after=wait,
            )
        # Read the hash in its own short unit of work and verify outside any transaction:
        # argon2 is slow on purpose, and SQLite would hold its write lock meanwhile.
        async with self.db.transaction() as read:
            found = (
                await read.execute(
                    select(User.id, User.password_hash).where(User.email == email_key)
                )
            ).first()
        # Unknown emails are verified against a dummy hash: same cost, no account enumeration.
        ok = await self.passwords.verify(found.password_hash if found else None, password)
        user = await session.get(User, found.id) if found is not None and ok else None
        # ``user`` is also None if the account vanished meanwhile; a password changed meanwhile
        # means the one just verified is no longer the account's.
        if user is None or found is None or user.password_hash != found.password_hash:
            for limit, *key in buckets:
                await self.rate_limiter.hit(limit, "auth-login-failed", *key)
            raise Problem(401, "invalid_credentials", "Email or password is wrong")
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(password)
        family_id = str(uuid.uuid4())
        refresh_token = await self._new_refresh_token(
            session, user_id=user.id, family_id=family_id, parent_id=None
        )
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
                token_hash=_digest(token),
                family_id=family_id,
                user_id=user_id,
                parent_id=parent_id,
                created_at=now,
                expires_at=now + timedelta(days=self.settings.refresh_token_days),
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
            expires_in=self.settings.access_token_seconds,
        )

    async def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate a refresh token. Runs its own unit of work: when a spent token comes back,
        the family's revocation must commit even though the caller gets a 401."""
        now = self.now()
        reused_family: str | None = None
        pair: TokenPair | None = None
        async with self.db.transaction() as session:
            row = (
                await session.scalars(
                    select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
                )
            ).first()
            if row is not None and row.revoked_at is None:
                if row.spent_at is not None:
                    reused_family = row.family_id
                elif _aware(row.expires_at) > now:
                    rotated = await session.execute(
                        update(RefreshToken)
                        .where(
                            RefreshToken.id == row.id,
                            RefreshToken.spent_at.is_(None),
                            RefreshToken.revoked_at.is_(None),
                        )
                        .values(spent_at=now)
                    )
                    if rotated.rowcount == 1:  # type: ignore[attr-defined]
                        user = await self._user(session, row.user_id)
                        token = await self._new_refresh_token(
                            session, user_id=user.id, family_id=row.family_id, parent_id=row.id
                        )
                        pair = self._pair(user, row.family_id, token)
                    else:  # spent concurrently: two holders of one token
                        reused_family = row.family_id
            if reused_family:
                await self._revoke_families(session, [reused_family], now)
        if reused_family:
            await self.sessions.end(reused_family)
            raise Problem(
                401,
                "refresh_token_reused",
                "This refresh token was already used; the session has been ended",
            )
        if pair is None or row is None:
            raise Problem(401, "refresh_token_invalid", "Refresh token unknown, expired or revoked")
        # Re-established on every refresh, so a cache restart does not end live families.
        await self.sessions.start(row.family_id, row.user_id)
        return pair

    async def _revoke_families(
        self, session: AsyncSession, family_ids: list[str], now: datetime
    ) -> None:
        if family_ids:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id.in_(family_ids), RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def logout(
        self, session: AsyncSession, *, principal: Principal, refresh_token: str | None
    ) -> None:
        families = {principal.session_id}
        if refresh_token:
            row = (
                await session.scalars(
                    select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token))
                )
            ).first()
            if row is not None and row.user_id == principal.user_id:
                families.add(row.family_id)
        await session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.family_id.in_(families),
                RefreshToken.user_id == principal.user_id,
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=self.now())
        )
        await self.sessions.end(*families)

    async def end_all_sessions(self, session: AsyncSession, *, user_id: str) -> None:
        families = list(
            (
                await session.scalars(
                    select(RefreshToken.family_id)
                    .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                    .distinct()
                )
            ).all()
        )
        await self._revoke_families(session, families, self.now())
        await self.sessions.end(*families)

    async def require_session(self, principal: Principal) -> Principal:
        """The access token is valid; is its session still alive (not logged out/revoked)?"""
        if not await self.sessions.alive(principal.session_id, principal.user_id):
            raise unauthenticated("The session has ended; sign in again")
        return principal

    # -- mails: email verification and password reset -----------------------------------------

    async def _one_time_token(
        self, session: AsyncSession, user: User, purpose: str, now: datetime
    ) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            OneTimeToken(
                id=str(uuid.uuid4()),
                token_hash=_digest(token),
                purpose=purpose,
                user_id=user.id,
                created_at=now,
                expires_at=now + TOKEN_LIFETIMES[purpose],
            )
        )
        return token

    def _link(self, path: str, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{path}?token={token}"

    async def _mail_verification(self, session: AsyncSession, user: User, now: datetime) -> None:
        token = await self._one_time_token(session, user, VERIFY_EMAIL, now)
        body = (
            f"{user.display_name} さん、こえポン!へようこそ。\n\n"
            "メールアドレスを確認するには、次のリンクを開いてください(48時間有効):\n"
            f"{self._link('/verify-email', token)}\n\n"
            f"確認コード / verification token: {token}\n\n"
            "お心当たりのない場合は、このメールを破棄してください。\n"
        )
        await enqueue(
            session,
            Mail(to=user.email, subject="メールアドレスの確認 / Verify your email", body=body),
            now=now,
        )

    async def request_verification(self, session: AsyncSession, *, user_id: str) -> None:
        user = await self._user(session, user_id)
        if user.email_verified_at is None:
            await self._mail_verification(session, user, self.now())

    async def _consume(self, session: AsyncSession, token: str, purpose: str) -> User:
        now = self.now()
        row = (
            await session.scalars(
                select(OneTimeToken)
                .where(OneTimeToken.token_hash == _digest(token), OneTimeToken.purpose == purpose)
                .with_for_update()
            )
        ).first()
        if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
            raise Problem(400, "token_invalid", "This link is invalid, expired or already used")
        row.used_at = now
        return await self._user(session, row.user_id)

    async def verify_email(self, session: AsyncSession, *, token: str) -> None:
        user = await self._consume(session, token, VERIFY_EMAIL)
        if user.email_verified_at is None:
            user.email_verified_at = self.now()

    async def request_password_reset(self, session: AsyncSession, *, email: str) -> None:
        """Always looks the same to the caller, whether or not the account exists."""
        email_key = email.strip().lower()
        allowed, _ = await self.rate_limiter.hit(RESET_REQUESTS_PER_EMAIL, "auth-reset", email_key)
        user = await self._user_by_email(session, email_key)
        if user is None or not allowed:
            return
        now = self.now()
        token = await self._one_time_token(session, user, PASSWORD_RESET, now)
        body = (
            f"{user.display_name} さん\n\n"
            "パスワードを再設定するには、次のリンクを開いてください(1時間有効):\n"
            f"{self._link('/password-reset', token)}\n\n"
            f"再設定コード / reset token: {token}\n\n"
            "お心当たりのない場合は、このメールを破棄してください。パスワードは変わりません。\n"
        )
        await enqueue(
            session,
            Mail(to=user.email, subject="パスワードの再設定 / Reset your password", body=body),
            now=now,
        )

    async def confirm_password_reset(
        self, session: AsyncSession, *, token: str, new_password: str
    ) -> None:
        password_hash = await self.passwords.hash(new_password)
        user = await self._consume(session, token, PASSWORD_RESET)
        now = self.now()
        user.password_hash = password_hash
        user.password_changed_at = now
        # The link came to the mailbox, so the address is proven too.
        if user.email_verified_at is None:
            user.email_verified_at = now
        await session.execute(
            update(OneTimeToken)
            .where(
                OneTimeToken.user_id == user.id,
                OneTimeToken.purpose == PASSWORD_RESET,
                OneTimeToken.used_at.is_(None),
            )
            .values(used_at=now)
        )
        await self.end_all_sessions(session, user_id=user.id)

    # -- self-set limits (COMPLIANCE A3) ------------------------------------------------------

    async def _limits_row(
        self, session: AsyncSession, user_id: str, *, lock: bool = False
    ) -> SpendingLimits:
        query = select(SpendingLimits).where(SpendingLimits.user_id == user_id)
        if lock:
            query = query.with_for_update()
        row = (await session.scalars(query)).first()
        if row is None:
            row = SpendingLimits(user_id=user_id, updated_at=self.now())
            session.add(row)
        return row

    @staticmethod
    def _caps(row: SpendingLimits) -> tuple[limit_rules.Cap, limit_rules.Cap]:
        purchase = limit_rules.Cap(
            current=row.monthly_purchase_cap_jpy,
            pending=row.pending_purchase_cap_jpy,
            pending_effective_at=_aware_or_none(row.pending_purchase_cap_effective_at),
        )
        draw = limit_rules.Cap(
            current=row.monthly_draw_cap_medals,
            pending=row.pending_draw_cap_medals,
            pending_effective_at=_aware_or_none(row.pending_draw_cap_effective_at),
        )
        return purchase, draw

    def _limits_out(self, row: SpendingLimits, now: datetime) -> LimitsOut:
        purchase, draw = (cap.settled(now) for cap in self._caps(row))
        pending = [
            PendingLimit(name=name, value=cap.pending, effective_at=cap.pending_effective_at)
            for name, cap in (
                ("monthly_purchase_cap_jpy", purchase),
                ("monthly_draw_cap_medals", draw),
            )
            if cap.pending_effective_at is not None
        ]
        until = _aware_or_none(row.cooling_off_until)
        return LimitsOut(
            monthly_purchase_cap_jpy=purchase.current,
            monthly_draw_cap_medals=draw.current,
            pending=pending,
            cooling_off_until=until if limit_rules.cooling_off_active(until, now) else None,
        )

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
            _aware_or_none(row.cooling_off_until), days, now
        )
        row.updated_at = now
        return self._limits_out(row, now)

    async def spending_profile(self, session: AsyncSession, *, user_id: str) -> SpendingProfile:
        """What payment and gacha need for A1–A3: the caps in force now and the birth date."""
        now = self.now()
        user = (
            (await session.scalars(select(User).where(User.id == user_id))).first()
            if _is_uuid(user_id)
            else None
        )
        if user is None:
            raise AccountNotFound(user_id)
        limits = self._limits_out(await self._limits_row(session, user_id), now)
        return SpendingProfile(
            user_id=user.id,
            birthdate=user.birthdate,
            monthly_purchase_cap_jpy=limits.monthly_purchase_cap_jpy,
            monthly_draw_cap_medals=limits.monthly_draw_cap_medals,
            cooling_off_until=limits.cooling_off_until,
        )

    # -- operators ----------------------------------------------------------------------------

    async def admin_user(self, session: AsyncSession, *, user_id: str) -> AdminUserOut:
        user = await self._user(session, user_id)
        return AdminUserOut(
            **self._user_out(user, self.now()).model_dump(), created_at=_aware(user.created_at)
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
        count = await session.scalar(
            select(func.count())
            .select_from(BirthdateChange)
            .where(BirthdateChange.user_id == user_id)
        )
        return int(count or 0)

    async def set_roles(
        self, session: AsyncSession, *, user_id: str, roles: list[str], changed_by: str
    ) -> AdminUserOut:
        user = await self._user(session, user_id, lock=True)
        new_roles = sorted(set(roles))
        if user.id == changed_by and "admin" not in new_roles:
            raise Problem(409, "own_admin_role", "An admin cannot remove their own admin role")
        removed = set(user.roles) - set(new_roles)
        user.roles = new_roles
        if removed:
            # Tokens carry roles for up to 15 minutes; ending the sessions takes a removed
            # role away now (the next sign-in or refresh gets the new roles).
            await self.end_all_sessions(session, user_id=user.id)
        return AdminUserOut(
            **self._user_out(user, self.now()).model_dump(), created_at=_aware(user.created_at)
        )

    # -- used by the client -------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        return self.access_tokens.key.jwks()

"""What every auth use case shares: its parts (database, clock, cache-backed sessions, password
hashing, throttle, token signer) and the few helpers several of them need."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth import limits as limit_rules
from koepon.auth import repository
from koepon.auth.age import age_bracket, plausible_birthdate, tokyo_today
from koepon.auth.errors import BirthdateInvalid, PasswordTooWeak, UserNotFound
from koepon.auth.keys import AccessTokens
from koepon.auth.mail import Mail, enqueue
from koepon.auth.models import OneTimeToken, SpendingLimits, User, outbox
from koepon.auth.password_policy import weakness
from koepon.auth.passwords import Passwords
from koepon.auth.schemas import LimitsOut, PendingLimit, UserOut
from koepon.auth.sessions import Sessions
from koepon.auth.settings import AuthSettings
from koepon.auth.throttle import LoginThrottle
from koepon.kernel.clock import as_utc
from koepon.kernel.db import Database
from koepon.kernel.outbox import Outbox
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.settings import Settings

Clock = Callable[[], datetime]
VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose, not a secret
TOKEN_LIFETIMES = {VERIFY_EMAIL: timedelta(hours=48), PASSWORD_RESET: timedelta(hours=1)}
# Where the mailed links lead: pages of the web service that finish the flow in a browser.
VERIFY_EMAIL_PAGE = "/verify-email"
PASSWORD_RESET_PAGE = "/password-reset"  # noqa: S105 - a page path, not a secret


@dataclass(frozen=True)
class LinkMail:
    """The wording of one kind of mailed link; the mail itself is composed in one place."""

    page: str
    subject: str
    greeting: str  # after "{name} さん"
    to_do: str  # "…するには"
    code_label: str
    closing: str = ""  # after the common "not you?" line


LINK_MAILS = {
    VERIFY_EMAIL: LinkMail(
        page=VERIFY_EMAIL_PAGE,
        subject="メールアドレスの確認 / Verify your email",
        greeting="、こえポン!へようこそ。",
        to_do="メールアドレスを確認するには",
        code_label="確認コード / verification token",
    ),
    PASSWORD_RESET: LinkMail(
        page=PASSWORD_RESET_PAGE,
        subject="パスワードの再設定 / Reset your password",
        greeting="",
        to_do="パスワードを再設定するには",
        code_label="再設定コード / reset token",
        closing="パスワードは変わりません。",
    ),
}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def aware(value: datetime) -> datetime:
    return as_utc(value)  # SQLite returns naive datetimes; everything is stored in UTC


def aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


class AuthCore:
    """The parts; use cases live in the classes ``AuthService`` is made of."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        auth_settings: AuthSettings,
        sessions: Sessions,
        rate_limiter: RateLimiter,
        passwords: Passwords,
        access_tokens: AccessTokens,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.auth_settings = auth_settings
        self.sessions = sessions
        self.rate_limiter = rate_limiter
        self.passwords = passwords
        self.access_tokens = access_tokens
        self.outbox = Outbox(outbox)
        # Business time (limits, token expiry, age, sign-in back-off). Tests move it;
        # access-token timestamps follow the wall clock, which every verifier checks them against.
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.throttle = LoginThrottle(sessions.cache, auth_settings, self.now)

    def now(self) -> datetime:
        return self.clock()

    # -- accounts ---------------------------------------------------------------------------

    async def _user(self, session: AsyncSession, user_id: str, *, lock: bool = False) -> User:
        user = await repository.user_by_id(session, user_id, lock=lock)
        if user is None:
            raise UserNotFound("No such user")
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

    @staticmethod
    def _check_birthdate(birthdate: date, now: datetime) -> None:
        if not plausible_birthdate(birthdate, tokyo_today(now)):
            raise BirthdateInvalid(
                "Birth date must be in the past and at most 120 years ago",
                errors=[{"loc": ["body", "birthdate"], "msg": "implausible birth date"}],
            )

    @staticmethod
    def _check_password(password: str, *context: str, field: str = "password") -> None:
        reason = weakness(password, *context)
        if reason is not None:
            raise PasswordTooWeak(reason, errors=[{"loc": ["body", field], "msg": reason}])

    async def end_all_sessions(self, session: AsyncSession, *, user_id: str) -> None:
        families = await repository.open_families(session, user_id)
        await repository.revoke_families(session, families, self.now())
        await self.sessions.end(*families)

    # -- mailed links -----------------------------------------------------------------------

    async def _one_time_token(
        self, session: AsyncSession, user: User, purpose: str, now: datetime
    ) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            OneTimeToken(
                id=str(uuid.uuid4()),
                token_hash=digest(token),
                purpose=purpose,
                user_id=user.id,
                created_at=now,
                expires_at=now + TOKEN_LIFETIMES[purpose],
            )
        )
        return token

    def _link(self, path: str, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{path}?token={token}"

    async def _mail_link(
        self, session: AsyncSession, user: User, purpose: str, now: datetime
    ) -> None:
        """Queue the mail carrying a new one-time link for ``purpose`` (sent if this commits)."""
        token = await self._one_time_token(session, user, purpose, now)
        wording = LINK_MAILS[purpose]
        hours = int(TOKEN_LIFETIMES[purpose].total_seconds() // 3600)
        body = (
            f"{user.display_name} さん{wording.greeting}\n\n"
            f"{wording.to_do}、次のリンクを開いてください({hours}時間有効):\n"
            f"{self._link(wording.page, token)}\n\n"
            f"{wording.code_label}: {token}\n\n"
            f"お心当たりのない場合は、このメールを破棄してください。{wording.closing}\n"
        )
        await enqueue(session, Mail(to=user.email, subject=wording.subject, body=body), now=now)

    # -- self-set limits (read by several use cases) ----------------------------------------

    async def _limits_row(
        self, session: AsyncSession, user_id: str, *, lock: bool = False
    ) -> SpendingLimits:
        row = await repository.spending_limits(session, user_id, lock=lock)
        if row is None:
            row = SpendingLimits(user_id=user_id, updated_at=self.now())
            session.add(row)
        return row

    @staticmethod
    def _caps(row: SpendingLimits) -> tuple[limit_rules.Cap, limit_rules.Cap]:
        purchase = limit_rules.Cap(
            current=row.monthly_purchase_cap_jpy,
            pending=row.pending_purchase_cap_jpy,
            pending_effective_at=aware_or_none(row.pending_purchase_cap_effective_at),
        )
        draw = limit_rules.Cap(
            current=row.monthly_draw_cap_medals,
            pending=row.pending_draw_cap_medals,
            pending_effective_at=aware_or_none(row.pending_draw_cap_effective_at),
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
        until = aware_or_none(row.cooling_off_until)
        return LimitsOut(
            monthly_purchase_cap_jpy=purchase.current,
            monthly_draw_cap_medals=draw.current,
            pending=pending,
            cooling_off_until=until if limit_rules.cooling_off_active(until, now) else None,
        )

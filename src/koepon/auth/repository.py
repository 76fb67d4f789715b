"""Queries of the auth service's own tables (no other service's data, no business rules)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth.models import (
    BirthdateChange,
    OneTimeToken,
    RefreshToken,
    SpendingLimits,
    User,
)


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """``email`` must already be in its normal form (``auth.emails``)."""
    return (await session.scalars(select(User).where(User.email == email))).first()


async def user_by_id(session: AsyncSession, user_id: str, *, lock: bool = False) -> User | None:
    if not is_uuid(user_id):
        return None
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def credentials(session: AsyncSession, email: str) -> tuple[str, str] | None:
    """(user id, password hash) of the account with this normalised email."""
    row = (
        await session.execute(select(User.id, User.password_hash).where(User.email == email))
    ).first()
    return (row.id, row.password_hash) if row is not None else None


async def add_user(session: AsyncSession, user: User, limits: SpendingLimits) -> None:
    """Raises ``IntegrityError`` (inside a savepoint) when the email is taken meanwhile."""
    async with session.begin_nested():
        session.add(user)
        await session.flush()
    session.add(limits)


# -- refresh tokens (one family = one session) ---------------------------------------------------


async def refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return (
        await session.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
    ).first()


async def spend_refresh_token(session: AsyncSession, token_id: str, now: datetime) -> bool:
    """Marks the token spent; False when it was spent or revoked concurrently."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.spent_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(spent_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def revoke_families(
    session: AsyncSession, family_ids: list[str], now: datetime, *, user_id: str | None = None
) -> None:
    if not family_ids:
        return
    query = update(RefreshToken).where(
        RefreshToken.family_id.in_(family_ids), RefreshToken.revoked_at.is_(None)
    )
    if user_id is not None:
        query = query.where(RefreshToken.user_id == user_id)
    await session.execute(query.values(revoked_at=now))


async def open_families(session: AsyncSession, user_id: str) -> list[str]:
    return list(
        (
            await session.scalars(
                select(RefreshToken.family_id)
                .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                .distinct()
            )
        ).all()
    )


def _live(now: datetime):  # type: ignore[no-untyped-def]
    # A session lives while its newest refresh token is unspent, unrevoked and unexpired.
    return (
        RefreshToken.spent_at.is_(None),
        RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )


async def session_alive(
    session: AsyncSession, family_id: str, user_id: str, now: datetime
) -> datetime | None:
    """When the live session ``family_id`` of ``user_id`` expires, or None if it is over."""
    return await session.scalar(
        select(func.max(RefreshToken.expires_at)).where(
            RefreshToken.family_id == family_id, RefreshToken.user_id == user_id, *_live(now)
        )
    )


async def live_sessions(session: AsyncSession, now: datetime) -> list[tuple[str, str, datetime]]:
    """(family id, user id, expiry) of every live session."""
    rows = await session.execute(
        select(RefreshToken.family_id, RefreshToken.user_id, RefreshToken.expires_at).where(
            *_live(now)
        )
    )
    return [(row.family_id, row.user_id, row.expires_at) for row in rows]


# -- one-time tokens (mailed links) -------------------------------------------------------------


async def one_time_token(
    session: AsyncSession, token_hash: str, purpose: str
) -> OneTimeToken | None:
    return (
        await session.scalars(
            select(OneTimeToken)
            .where(OneTimeToken.token_hash == token_hash, OneTimeToken.purpose == purpose)
            .with_for_update()
        )
    ).first()


async def use_open_tokens(session: AsyncSession, user_id: str, purpose: str, now: datetime) -> None:
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


# -- self-set limits and birth-date changes ------------------------------------------------------


async def spending_limits(
    session: AsyncSession, user_id: str, *, lock: bool = False
) -> SpendingLimits | None:
    query = select(SpendingLimits).where(SpendingLimits.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def spending_profile_row(session: AsyncSession, user_id: str) -> Any | None:
    """The birth date and the self-set limit columns of one account, in one indexed read (the
    profile payment asks for on every checkout and wallet page needs nothing else of the user);
    the limit columns are None when the fan never set one. None if there is no such account."""
    if not is_uuid(user_id):
        return None
    limits = SpendingLimits.__table__.c
    query = (
        select(
            User.birthdate,
            limits.monthly_purchase_cap_jpy,
            limits.pending_purchase_cap_jpy,
            limits.pending_purchase_cap_effective_at,
            limits.monthly_draw_cap_medals,
            limits.pending_draw_cap_medals,
            limits.pending_draw_cap_effective_at,
            limits.cooling_off_until,
        )
        .select_from(User)
        .outerjoin(SpendingLimits, SpendingLimits.user_id == User.id)
        .where(User.id == user_id)
    )
    return (await session.execute(query)).first()


async def birthdate_changes(session: AsyncSession, user_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(BirthdateChange).where(BirthdateChange.user_id == user_id)
    )
    return int(count or 0)

"""Checkout queries: the month's spend under the caps, the per-fan purchase lock, payments left
unsettled and refunds still owed (for the recovery job), and the pages and look-ups receipts
and operators read checkouts through."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.checkout.models import Checkout, CheckoutEvent, PurchaseLock
from koepon.payment.checkout.states import (
    COUNTS_TOWARD_CAP,
    RESERVING_UNTIL_EXPIRY,
    CheckoutStatus,
)


async def lock_purchases(session: AsyncSession, user_id: str, now: datetime) -> None:
    """Hold this fan's purchase lock until the transaction ends (a row lock on PostgreSQL;
    SQLite serialises writers already), so cap checks of one fan run one at a time."""
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_(PurchaseLock).values(user_id=user_id, updated_at=now)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["user_id"], set_={"updated_at": now})
    )


def _month_spent_query(*, excluding: bool) -> Select[int]:
    settled = [s for s in COUNTS_TOWARD_CAP if s not in RESERVING_UNTIL_EXPIRY]
    query = select(func.coalesce(func.sum(Checkout.price_jpy), 0)).where(
        Checkout.user_id == bindparam("user_id"),
        Checkout.purchase_month == bindparam("month"),
        or_(
            Checkout.status.in_(settled),
            Checkout.status.in_(list(RESERVING_UNTIL_EXPIRY))
            & (Checkout.expires_at > bindparam("now", type_=Checkout.expires_at.type)),
        ),
    )
    if excluding:
        query = query.where(Checkout.id != bindparam("excluding"))
    return query


# Built once: every wallet page and checkout runs this, and building it was a tenth of a read.
MONTH_SPENT = _month_spent_query(excluding=False)
MONTH_SPENT_EXCLUDING = _month_spent_query(excluding=True)


async def month_spent_jpy(
    session: AsyncSession, *, user_id: str, month: str, now: datetime, excluding: str | None
) -> int:
    """Tax-included yen of the JST ``month``'s purchases that are paid or still reserving room
    at ``now`` (an unpaid page only until it expires), leaving out the checkout ``excluding``."""
    params: dict[str, object] = {"user_id": user_id, "month": month, "now": now}
    if excluding is not None:
        params["excluding"] = excluding
    query = MONTH_SPENT if excluding is None else MONTH_SPENT_EXCLUDING
    total = await session.scalar(query, params)
    return int(total or 0)


# Statuses whose money may still move at the provider without us hearing of it: the page is
# open, a konbini payment waits; for a day after a failure, an expiry (our sweeper's, or the
# provider's) or a cancellation, a late success reported into a lost webhook; and a paid
# checkout an operator asked the provider to refund, until the refund is heard of (the medals
# are then taken back).
S = CheckoutStatus
WAITING = (S.CREATING, S.OPEN, S.PENDING)
ENDED = (S.FAILED, S.EXPIRED, S.CANCELLED)
Position = tuple[datetime, str]


async def unsettled_checkouts(
    session: AsyncSession,
    *,
    quiet_since: datetime,
    created_after: datetime,
    ended_after: datetime,
    after: Position | None,
    limit: int,
) -> list[Checkout]:
    """Checkouts with a provider session, unsettled and unchanged since ``quiet_since``, made
    after ``created_after`` (failed, expired or cancelled ones only if that happened after
    ``ended_after``), in (updated_at, id) order from just after ``after``."""
    query = select(Checkout).where(
        Checkout.provider_session_id.is_not(None),
        Checkout.updated_at <= quiet_since,
        Checkout.created_at >= created_after,
        or_(
            Checkout.status.in_(WAITING),
            Checkout.status.in_(ENDED) & (Checkout.updated_at >= ended_after),
            (Checkout.status == S.SUCCEEDED)
            & Checkout.refund_ground.is_not(None)
            & Checkout.clawed_back_at.is_(None),
        ),
    )
    if after is not None:
        moment, checkout_id = after
        query = query.where(
            or_(
                Checkout.updated_at > moment,
                and_(Checkout.updated_at == moment, Checkout.id > checkout_id),
            )
        )
    rows = await session.scalars(query.order_by(Checkout.updated_at, Checkout.id).limit(limit))
    return list(rows)


async def refunds_owed(session: AsyncSession, *, sent_event_prefix: str, limit: int) -> list[str]:
    """Ids of checkouts refused at credit time whose refund the provider has not accepted yet."""
    sent = exists().where(
        CheckoutEvent.checkout_id == Checkout.id,
        CheckoutEvent.provider_event_id == sent_event_prefix + Checkout.id,
    )
    rows = await session.scalars(
        select(Checkout.id)
        .where(
            Checkout.status == S.REFUNDED,
            Checkout.credited_at.is_(None),
            Checkout.refund_ground.like("COMPLIANCE %"),
            ~sent,
        )
        .order_by(Checkout.updated_at)
        .limit(limit)
    )
    return list(rows)


# --- reads for receipts and operators -------------------------------------------------------


async def checkout_page(
    session: AsyncSession,
    *,
    before: Position | None,
    limit: int,
    user_id: str | None = None,
    statuses: Collection[CheckoutStatus] | None = None,
    provider: str | None = None,
) -> list[Checkout]:
    """Up to ``limit`` checkouts, newest first ((created_at, id) order), from just after
    ``before``, narrowed to a fan, some statuses and a provider when given."""
    query = select(Checkout)
    if user_id is not None:
        query = query.where(Checkout.user_id == user_id)
    if statuses is not None:
        query = query.where(Checkout.status.in_([str(s) for s in statuses]))
    if provider is not None:
        query = query.where(Checkout.provider == provider)
    if before is not None:
        created, checkout_id = before
        query = query.where(
            or_(
                Checkout.created_at < created,
                and_(Checkout.created_at == created, Checkout.id < checkout_id),
            )
        )
    query = query.order_by(Checkout.created_at.desc(), Checkout.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def checkout_by_id(
    session: AsyncSession, checkout_id: str, *, for_update: bool = False
) -> Checkout | None:
    return await session.get(Checkout, checkout_id, with_for_update=True if for_update else None)


async def checkout_events(session: AsyncSession, checkout_id: str) -> list[CheckoutEvent]:
    """Every provider event recorded for one checkout, in the order received."""
    rows = await session.scalars(
        select(CheckoutEvent)
        .where(CheckoutEvent.checkout_id == checkout_id)
        .order_by(CheckoutEvent.seq)
    )
    return list(rows)


async def checkouts_created(
    session: AsyncSession, *, provider: str, start: datetime, end: datetime
) -> list[Checkout]:
    """One provider's checkouts made in [start, end) (a day to reconcile)."""
    rows = await session.scalars(
        select(Checkout).where(
            Checkout.provider == provider,
            Checkout.created_at >= start,
            Checkout.created_at < end,
        )
    )
    return list(rows)

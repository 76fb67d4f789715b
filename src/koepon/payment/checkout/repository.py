"""Checkout queries the recovery job needs: payments left unsettled, refunds still owed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.checkout.models import Checkout, CheckoutEvent

# Statuses whose money may have moved at the provider without us hearing of it: the page is
# open or expired by our own sweeper, a konbini payment waits, or a failure may be followed by
# a late success the provider reported into a lost webhook.
UNSETTLED = ("creating", "open", "pending", "failed", "expired")


async def unsettled_checkouts(
    session: AsyncSession, *, quiet_since: datetime, created_after: datetime, limit: int
) -> list[Checkout]:
    """Checkouts with a provider session, unsettled and unchanged since ``quiet_since``, made
    after ``created_after``; oldest change first."""
    rows = await session.scalars(
        select(Checkout)
        .where(
            Checkout.status.in_(UNSETTLED),
            Checkout.provider_session_id.is_not(None),
            Checkout.updated_at <= quiet_since,
            Checkout.created_at >= created_after,
        )
        .order_by(Checkout.updated_at, Checkout.id)
        .limit(limit)
    )
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
            Checkout.status == "refunded",
            Checkout.credited_at.is_(None),
            Checkout.refund_ground.like("COMPLIANCE %"),
            ~sent,
        )
        .order_by(Checkout.updated_at)
        .limit(limit)
    )
    return list(rows)

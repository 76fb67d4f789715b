"""Queries of the entitlements tables (entitlements, grants, serial counters, draw states,
rejected events). Upserts are single statements, atomic on both backends: PostgreSQL locks the
conflicting row until the transaction ends; SQLite runs one writer at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.rewards.entitlements.models import (
    DrawState,
    Entitlement,
    EntitlementGrant,
    RejectedEvent,
    SerialCounter,
)
from koepon.rewards.entitlements.states import DrawState as DrawStates
from koepon.rewards.entitlements.states import EntitlementStatus


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- draws -----------------------------------------------------------------------------------


async def draw_for_grant(
    session: AsyncSession, *, draw_id: str, user_id: str, now: datetime
) -> str | None:
    """Mark the draw granted: None the first time, else its state (``granted``: a duplicate;
    ``reversed``: reversed before the grant). The row stays locked until the transaction ends,
    so a reversal of the same draw waits for this grant (and the other way round)."""
    inserted = await session.execute(
        _insert(session)(DrawState)
        .values(
            draw_id=draw_id,
            user_id=user_id,
            state=DrawStates.GRANTED,
            granted_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        return None
    found = await session.execute(
        select(DrawState.state).where(DrawState.draw_id == draw_id).with_for_update()
    )
    return str(found.scalar_one())


async def draw_for_reversal(
    session: AsyncSession, *, draw_id: str, user_id: str, reason: str, at: datetime, now: datetime
) -> str | None:
    """Mark the draw reversed (locking its row); returns the state it had (None: unknown yet)."""
    insert_ = _insert(session)
    inserted = await session.execute(
        insert_(DrawState)
        .values(
            draw_id=draw_id,
            user_id=user_id,
            state=DrawStates.REVERSED,
            reversed_at=at,
            reason=reason,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        return None
    query = select(DrawState).where(DrawState.draw_id == draw_id).with_for_update()
    row = (await session.execute(query)).scalar_one()
    before = row.state
    if before != DrawStates.REVERSED:
        row.state = DrawStates.REVERSED
        row.reversed_at = at
        row.reason = reason
        row.updated_at = now
        await session.flush()
    return before


# --- grants ----------------------------------------------------------------------------------


async def claim_grant(
    session: AsyncSession,
    *,
    source: str,
    source_id: str,
    slot: int,
    user_id: str,
    granted_at: datetime,
    now: datetime,
) -> bool:
    """Record a granted slot; False if it was recorded before (nothing more to do)."""
    result = await session.execute(
        _insert(session)(EntitlementGrant)
        .values(
            source=source,
            source_id=source_id,
            slot=slot,
            user_id=user_id,
            granted_at=granted_at,
            recorded_at=now,
        )
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def link_grant(
    session: AsyncSession, *, source: str, source_id: str, slot: int, entitlement_id: str
) -> None:
    await session.execute(
        update(EntitlementGrant)
        .where(
            EntitlementGrant.source == source,
            EntitlementGrant.source_id == source_id,
            EntitlementGrant.slot == slot,
        )
        .values(entitlement_id=entitlement_id)
    )


async def live_grants_of(
    session: AsyncSession, *, source: str, source_id: str
) -> list[EntitlementGrant]:
    """The source's grants not revoked yet, locked, in the order grants lock entitlement rows
    (gacha, item, slot), so a revocation and a grant of the same fan never deadlock."""
    query = (
        select(EntitlementGrant)
        .outerjoin(Entitlement, Entitlement.id == EntitlementGrant.entitlement_id)
        .where(
            EntitlementGrant.source == source,
            EntitlementGrant.source_id == source_id,
            EntitlementGrant.revoked_at.is_(None),
        )
        .order_by(Entitlement.gacha_id, Entitlement.item_id, EntitlementGrant.slot)
        .with_for_update(of=EntitlementGrant)
    )
    return list((await session.execute(query)).scalars())


async def mark_grant_revoked(session: AsyncSession, grant: EntitlementGrant, at: datetime) -> None:
    grant.revoked_at = at
    await session.flush()


# --- serials ---------------------------------------------------------------------------------


async def next_serial(session: AsyncSession, *, gacha_id: str, item_id: str) -> int:
    """The item's next serial (1, 2, 3…): the counter row is created or bumped in one
    statement and stays locked until the transaction ends, so concurrent grants take turns and
    a rolled-back grant gives its number back (no gaps)."""
    statement = _insert(session)(SerialCounter).values(
        gacha_id=gacha_id, item_id=item_id, last_serial=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["gacha_id", "item_id"],
        set_={"last_serial": SerialCounter.last_serial + 1},
    ).returning(SerialCounter.last_serial)
    return int((await session.execute(statement)).scalar_one())


# --- entitlements ----------------------------------------------------------------------------


async def add_copy(session: AsyncSession, *, now: datetime, **values: Any) -> str:
    """Insert the row of one limited copy (its serial is new); returns its id."""
    session.add(
        Entitlement(
            **values,
            limited=True,
            count=1,
            status=EntitlementStatus.LIVE,
            updated_at=now,
        )
    )
    await session.flush()
    return str(values["id"])


async def add_duplicate(session: AsyncSession, *, new_id: str, now: datetime, **values: Any) -> str:
    """The fan's row of an ordinary item, created with count 1 or counted once more (live
    again if every earlier grant was revoked); returns its id."""
    statement = _insert(session)(Entitlement).values(
        id=new_id,
        **values,
        limited=False,
        serial=None,
        serial_of=None,
        count=1,
        status=EntitlementStatus.LIVE,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "gacha_id", "item_id"],
        index_where=text("serial IS NULL"),
        set_={
            "count": Entitlement.count + 1,
            "status": EntitlementStatus.LIVE.value,
            "revoked_at": None,
            "updated_at": now,
        },
    ).returning(Entitlement.id)
    return str((await session.execute(statement)).scalar_one())


async def get_locked(session: AsyncSession, entitlement_id: str) -> Entitlement | None:
    query = select(Entitlement).where(Entitlement.id == entitlement_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def owned(session: AsyncSession, user_id: str, entitlement_id: str) -> Entitlement | None:
    """The entitlement if this fan owns it (any status); None for anyone else's or unknown."""
    query = select(Entitlement).where(
        Entitlement.id == entitlement_id, Entitlement.user_id == user_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def collection(
    session: AsyncSession,
    user_id: str,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
    vtuber_id: str | None = None,
    rarity: str | None = None,
    live_only: bool = True,
) -> list[Entitlement]:
    """The fan's entitlements, newest first; ``after``: the (granted_at, id) ending the last
    page."""
    query = select(Entitlement).where(Entitlement.user_id == user_id)
    if live_only:
        query = query.where(Entitlement.status == EntitlementStatus.LIVE)
    if vtuber_id is not None:
        query = query.where(Entitlement.vtuber_id == vtuber_id)
    if rarity is not None:
        query = query.where(Entitlement.rarity == rarity)
    if after is not None:
        moment, key = after
        query = query.where(
            or_(
                Entitlement.granted_at < moment,
                and_(Entitlement.granted_at == moment, Entitlement.id < key),
            )
        )
    query = query.order_by(Entitlement.granted_at.desc(), Entitlement.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def all_live(session: AsyncSession, user_id: str) -> Sequence[Entitlement]:
    query = (
        select(Entitlement)
        .where(Entitlement.user_id == user_id, Entitlement.status == EntitlementStatus.LIVE)
        .order_by(Entitlement.granted_at, Entitlement.id)
    )
    return list((await session.execute(query)).scalars())


# --- rejected events -------------------------------------------------------------------------


async def reject(
    session: AsyncSession,
    *,
    message_id: str,
    topic: str,
    error: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    await session.execute(
        _insert(session)(RejectedEvent)
        .values(message_id=message_id, topic=topic, error=error, payload=payload, received_at=now)
        .on_conflict_do_nothing()
    )

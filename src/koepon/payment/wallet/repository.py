"""Queries of the wallet's own tables: lots, their movements and holds, spends, operator actions.

Every write here runs under the fan's ledger lock taken by the service (see ``service.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.wallet import lots as lot_rules
from koepon.payment.wallet.models import (
    MedalLot,
    MedalLotHold,
    MedalLotMovement,
    MedalSpend,
    OperatorAction,
)
from koepon.payment.wallet.states import SpendStatus

lots_t = cast(Table, MedalLot.__table__)
moves_t = cast(Table, MedalLotMovement.__table__)
holds_t = cast(Table, MedalLotHold.__table__)
spends_t = cast(Table, MedalSpend.__table__)
actions_t = cast(Table, OperatorAction.__table__)

# -- lots ------------------------------------------------------------------------------------


async def lot_by_transfer(session: AsyncSession, transfer_id: str) -> Any | None:
    return (
        await session.execute(select(lots_t).where(lots_t.c.transfer_id == transfer_id))
    ).first()


async def insert_lot(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(lots_t).values(**values))


async def live_lots(
    session: AsyncSession, user_id: str, now: datetime, *, kind: str | None = None
) -> list[Any]:
    """The fan's lots that still hold spendable medals at ``now``."""
    stmt = select(lots_t).where(
        lots_t.c.user_id == user_id, lots_t.c.remaining > 0, lots_t.c.expires_at > now
    )
    if kind is not None:
        stmt = stmt.where(lots_t.c.kind == kind)
    return list((await session.execute(stmt)).all())


async def spendable_by_kind(session: AsyncSession, user_id: str, now: datetime) -> dict[str, int]:
    rows = (
        await session.execute(
            select(lots_t.c.kind, func.coalesce(func.sum(lots_t.c.remaining), 0))
            .where(lots_t.c.user_id == user_id, lots_t.c.remaining > 0, lots_t.c.expires_at > now)
            .group_by(lots_t.c.kind)
        )
    ).all()
    return {kind: int(total) for kind, total in rows}


async def page_lots(session: AsyncSession, user_id: str, now: datetime, limit: int) -> list[Any]:
    """Lots shown on the wallet page: unexpired with medals left or held, soonest expiry first."""
    return list(
        (
            await session.execute(
                select(lots_t)
                .where(
                    lots_t.c.user_id == user_id,
                    lots_t.c.remaining + lots_t.c.held > 0,
                    lots_t.c.expires_at > now,
                )
                .order_by(lots_t.c.expires_at, lots_t.c.issued_at, lots_t.c.id)
                .limit(limit)
            )
        ).all()
    )


async def hold_medals(session: AsyncSession, lot_id: str, medals: int) -> None:
    await session.execute(
        update(lots_t)
        .where(lots_t.c.id == lot_id)
        .values(held=lots_t.c.held + medals, remaining=lots_t.c.remaining - medals)
    )


async def release_medals(session: AsyncSession, lot_id: str, medals: int) -> None:
    await session.execute(
        update(lots_t)
        .where(lots_t.c.id == lot_id)
        .values(held=lots_t.c.held - medals, remaining=lots_t.c.remaining + medals)
    )


async def consume(
    session: AsyncSession,
    takes: Iterable[tuple[Any, int]],
    entry: str,
    transfer_id: str,
    now: datetime,
    *,
    from_held: bool = False,
) -> int:
    """Consume medals of lots for good (with their yen value in the book); returns the yen."""
    total = 0
    movements = []
    for row, take in takes:
        if not take:
            continue
        value = lot_rules.consumption_value_jpy(row.price_jpy, row.medals, row.consumed, take)
        total += value
        values: dict[str, Any] = {"consumed": lots_t.c.consumed + take}
        if from_held:
            values["held"] = lots_t.c.held - take
        else:
            values["remaining"] = lots_t.c.remaining - take
        await session.execute(update(lots_t).where(lots_t.c.id == row.id).values(**values))
        movements.append(
            dict(
                lot_id=row.id,
                user_id=row.user_id,
                kind=row.kind,
                entry=entry,
                medals=take,
                value_jpy=value,
                transfer_id=transfer_id,
                occurred_at=now,
            )
        )
    await insert_movements(session, movements)
    return total


async def lots_by_id(session: AsyncSession, lot_ids: Iterable[str]) -> dict[str, Any]:
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    rows = (await session.execute(select(lots_t).where(lots_t.c.id.in_(ids)))).all()
    return {row.id: row for row in rows}


# -- movements -------------------------------------------------------------------------------


async def insert_movements(session: AsyncSession, movements: list[dict[str, Any]]) -> None:
    if movements:
        await session.execute(insert(moves_t), movements)


async def moved_medals(session: AsyncSession, transfer_id: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(moves_t.c.medals), 0)).where(
            moves_t.c.transfer_id == transfer_id
        )
    )
    return int(total or 0)


async def moved_value_jpy(session: AsyncSession, transfer_id: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(moves_t.c.value_jpy), 0)).where(
            moves_t.c.transfer_id == transfer_id
        )
    )
    return int(total or 0)


# -- spends and holds ------------------------------------------------------------------------


async def spend_by_id(session: AsyncSession, transfer_id: str) -> Any | None:
    return (await session.execute(select(spends_t).where(spends_t.c.id == transfer_id))).first()


async def spends_by_ids(session: AsyncSession, transfer_ids: Iterable[str]) -> list[Any]:
    """The spends of these transfer ids that exist (one query)."""
    wanted = sorted(set(transfer_ids))
    if not wanted:
        return []
    return list((await session.execute(select(spends_t).where(spends_t.c.id.in_(wanted)))).all())


async def insert_spend(session: AsyncSession, **values: Any) -> Any:
    """Insert a spend; returns the row as stored (one statement, no read back)."""
    return (await session.execute(insert(spends_t).values(**values).returning(spends_t))).one()


async def update_spend(session: AsyncSession, transfer_id: str, **values: Any) -> Any:
    """Update a spend; returns the row as stored (one statement, no read back)."""
    statement = update(spends_t).where(spends_t.c.id == transfer_id).values(**values)
    return (await session.execute(statement.returning(spends_t))).one()


async def insert_holds(session: AsyncSession, spend_id: str, takes: list[lot_rules.Take]) -> None:
    await session.execute(
        insert(holds_t),
        [
            dict(spend_id=spend_id, lot_id=t.lot_id, position=i, medals=t.medals)
            for i, t in enumerate(takes)
        ],
    )


async def held_lots(session: AsyncSession, spend_id: str) -> list[Any]:
    """The lots of a hold with the medals held of each (``hold_medals``), in spend order."""
    return list(
        (
            await session.execute(
                select(lots_t, holds_t.c.medals.label("hold_medals"))
                .join(lots_t, lots_t.c.id == holds_t.c.lot_id)
                .where(holds_t.c.spend_id == spend_id)
                .order_by(holds_t.c.position)
            )
        ).all()
    )


async def resolve_holds(session: AsyncSession, spend_id: str, now: datetime) -> None:
    await session.execute(
        update(holds_t).where(holds_t.c.spend_id == spend_id).values(resolved_at=now)
    )


# -- operator actions ------------------------------------------------------------------------


async def record_action(session: AsyncSession, **values: Any) -> None:
    """Record an operator's action once per (reference, action)."""
    exists = await session.scalar(
        select(actions_t.c.seq).where(
            actions_t.c.reference == values["reference"], actions_t.c.action == values["action"]
        )
    )
    if exists is None:
        await session.execute(insert(actions_t).values(**values))


async def operator_actions(session: AsyncSession, user_id: str, limit: int) -> list[Any]:
    return list(
        (
            await session.execute(
                select(actions_t)
                .where(actions_t.c.target_user_id == user_id)
                .order_by(actions_t.c.seq.desc())
                .limit(limit)
            )
        ).all()
    )


# -- sweeps ----------------------------------------------------------------------------------


async def overdue_holds(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    return list(
        (
            await session.scalars(
                select(spends_t.c.id)
                .where(spends_t.c.status == SpendStatus.PENDING, spends_t.c.expires_at <= now)
                .order_by(spends_t.c.expires_at)
                .limit(limit)
            )
        ).all()
    )


async def users_with_expired_lots(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    return list(
        (
            await session.scalars(
                select(lots_t.c.user_id)
                .where(lots_t.c.expires_at <= now, lots_t.c.remaining > 0)
                .group_by(lots_t.c.user_id)
                .limit(limit)
            )
        ).all()
    )


async def expired_lots(session: AsyncSession, user_id: str, now: datetime) -> list[Any]:
    return list(
        (
            await session.execute(
                select(lots_t).where(
                    lots_t.c.user_id == user_id, lots_t.c.expires_at <= now, lots_t.c.remaining > 0
                )
            )
        ).all()
    )


async def lots_to_notify(
    session: AsyncSession, now: datetime, horizon: datetime, limit: int
) -> list[Any]:
    return list(
        (
            await session.execute(
                select(lots_t)
                .where(
                    lots_t.c.expiry_notice_sent_at.is_(None),
                    lots_t.c.expires_at > now,
                    lots_t.c.expires_at <= horizon,
                    lots_t.c.remaining > 0,
                )
                .order_by(lots_t.c.expires_at)
                .limit(limit)
            )
        ).all()
    )


async def claim_notice(session: AsyncSession, lot_id: str, now: datetime) -> bool:
    """Mark a lot's expiry notice sent; of two racing sweepers only one gets True."""
    claimed = await session.execute(
        update(lots_t)
        .where(and_(lots_t.c.id == lot_id, lots_t.c.expiry_notice_sent_at.is_(None)))
        .values(expiry_notice_sent_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


# -- reads for the prepaid reports (the reports sub-domain reads lots only through these) -----


async def paid_lots_used_before(session: AsyncSession, cutoff: datetime) -> list[Any]:
    """Paid lots issued before ``cutoff`` with the medals consumed before it (``used``)."""
    consumed = (
        select(moves_t.c.lot_id, func.sum(moves_t.c.medals).label("consumed"))
        .where(moves_t.c.entry != "issue", moves_t.c.occurred_at < cutoff)
        .group_by(moves_t.c.lot_id)
        .subquery()
    )
    return list(
        (
            await session.execute(
                select(lots_t, func.coalesce(consumed.c.consumed, 0).label("used"))
                .outerjoin(consumed, consumed.c.lot_id == lots_t.c.id)
                .where(lots_t.c.kind == "paid", lots_t.c.issued_at < cutoff)
            )
        ).all()
    )


async def movements_between(session: AsyncSession, start: datetime, end: datetime) -> list[Any]:
    """Every lot movement in [start, end)."""
    return list(
        (
            await session.execute(
                select(moves_t).where(
                    and_(moves_t.c.occurred_at >= start, moves_t.c.occurred_at < end)
                )
            )
        ).all()
    )

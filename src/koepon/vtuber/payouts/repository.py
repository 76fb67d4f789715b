"""Queries of the payouts tables only: statements, payout batches and yen transfers."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.vtuber.payouts import postings
from koepon.vtuber.payouts.models import PayoutBatch, Statement, YenTransfer

# Transfer ids derive from (ref, reason): the same posting always has the same id.
TRANSFER_NAMESPACE = uuid.UUID("6f1d5c2e-4b8a-4f51-9a0e-2c7b9d3e8a14")


def transfer_id(ref: str, reason: str) -> str:
    return str(uuid.uuid5(TRANSFER_NAMESPACE, f"{ref}/{reason}"))


# --- statements ------------------------------------------------------------------------------


async def statements_of_month(session: AsyncSession, month: str) -> list[Statement]:
    result = await session.scalars(
        select(Statement).where(Statement.month == month).order_by(Statement.vtuber_id)
    )
    return list(result)


async def statement(session: AsyncSession, vtuber_id: str, month: str) -> Statement | None:
    return await session.scalar(
        select(Statement).where(Statement.vtuber_id == vtuber_id, Statement.month == month)
    )


async def statements_of_vtuber(
    session: AsyncSession, vtuber_id: str, *, before: str | None, limit: int
) -> list[Statement]:
    query = select(Statement).where(Statement.vtuber_id == vtuber_id)
    if before is not None:
        query = query.where(Statement.month < before)
    result = await session.scalars(query.order_by(Statement.month.desc()).limit(limit))
    return list(result)


async def debts_before(session: AsyncSession, month: str) -> dict[str, int]:
    """VTuber → the debt (< 0) its latest statement before ``month`` carried out."""
    latest = (
        select(Statement.vtuber_id, func.max(Statement.month).label("month"))
        .where(Statement.month < month)
        .group_by(Statement.vtuber_id)
        .subquery()
    )
    rows = await session.execute(
        select(Statement.vtuber_id, Statement.carried_out_jpy)
        .join(
            latest,
            (Statement.vtuber_id == latest.c.vtuber_id) & (Statement.month == latest.c.month),
        )
        .where(Statement.carried_out_jpy < 0)
    )
    return {vtuber_id: int(debt) for vtuber_id, debt in rows}


async def any_statement_after(session: AsyncSession, month: str) -> bool:
    found = await session.scalar(select(Statement.id).where(Statement.month > month).limit(1))
    return found is not None


async def unbatched_payable(session: AsyncSession, month: str) -> list[Statement]:
    """Issued statements of ``month`` with a net payable, not in a batch (locked)."""
    result = await session.scalars(
        select(Statement)
        .where(
            Statement.month == month,
            Statement.status == "issued",
            Statement.batch_id.is_(None),
            Statement.net_payable_jpy > 0,
        )
        .order_by(Statement.vtuber_id)
        .with_for_update()
    )
    return list(result)


async def statements_of_batch(
    session: AsyncSession, batch_id: str, *, lock: bool = False
) -> list[Statement]:
    query = select(Statement).where(Statement.batch_id == batch_id).order_by(Statement.vtuber_id)
    result = await session.scalars(query.with_for_update() if lock else query)
    return list(result)


async def statement_totals(session: AsyncSession) -> dict[str, int]:
    """Σ of every statement's figures (all months): what the ledger's balances must show."""
    paid_net = case((Statement.status == "paid", Statement.net_payable_jpy), else_=0)
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(Statement.gross_jpy), 0),
                func.coalesce(func.sum(Statement.vtuber_share_jpy), 0),
                func.coalesce(func.sum(Statement.withholding_jpy), 0),
                func.coalesce(func.sum(paid_net), 0),
            )
        )
    ).one()
    gross, share, withholding, paid = (int(value) for value in row)
    return {"gross": gross, "share": share, "withholding": withholding, "paid": paid}


# --- batches ---------------------------------------------------------------------------------


async def add(session: AsyncSession, rows: Sequence[Statement | PayoutBatch]) -> None:
    session.add_all(rows)
    await session.flush()


async def batch(session: AsyncSession, batch_id: str, *, lock: bool = False) -> PayoutBatch | None:
    return await session.get(PayoutBatch, batch_id, with_for_update=lock)


async def batches(session: AsyncSession, month: str | None, limit: int) -> list[PayoutBatch]:
    query = select(PayoutBatch)
    if month is not None:
        query = query.where(PayoutBatch.month == month)
    result = await session.scalars(
        query.order_by(PayoutBatch.created_at.desc(), PayoutBatch.id).limit(limit)
    )
    return list(result)


# --- the yen ledger --------------------------------------------------------------------------


async def post(
    session: AsyncSession, ref: str, entries: Collection[postings.Posting], at: datetime
) -> None:
    """Write ``entries`` under ``ref``; one already written (same ref and reason) is kept."""
    if not entries:
        return
    dialect = session.get_bind().dialect.name
    insert_: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert_(YenTransfer)
        .values(
            [
                {
                    "id": transfer_id(ref, entry.reason),
                    "debit_account": entry.debit_account,
                    "credit_account": entry.credit_account,
                    "amount_jpy": entry.amount_jpy,
                    "reason": entry.reason,
                    "ref": ref,
                    "created_at": at,
                }
                for entry in entries
            ]
        )
        .on_conflict_do_nothing(index_elements=["ref", "reason"])
    )


async def transfers_of(session: AsyncSession, refs: Collection[str]) -> list[YenTransfer]:
    if not refs:
        return []
    result = await session.scalars(
        select(YenTransfer).where(YenTransfer.ref.in_(list(refs))).order_by(YenTransfer.ref)
    )
    return list(result)


async def _sum(session: AsyncSession, condition: Any) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(YenTransfer.amount_jpy), 0)).where(condition)
    )
    return int(total or 0)


async def balance(session: AsyncSession, account: str) -> int:
    """Σ credits − Σ debits of one account."""
    credits = await _sum(session, YenTransfer.credit_account == account)
    debits = await _sum(session, YenTransfer.debit_account == account)
    return credits - debits


async def payables_balance(session: AsyncSession) -> int:
    """Σ of every VTuber's payable account balance."""
    pattern = f"{postings.PAYABLE_PREFIX}%{postings.PAYABLE_SUFFIX}"
    credits = await _sum(session, YenTransfer.credit_account.like(pattern))
    debits = await _sum(session, YenTransfer.debit_account.like(pattern))
    return credits - debits

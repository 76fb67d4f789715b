"""The ledger's tables and statements: built once (every transfer runs them), plus the reads
other sub-domains need (a fan's history) so nobody else queries ``ledger_transfers``."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.ledger.models import LedgerAccount, LedgerTransfer

accounts_table = cast(Table, LedgerAccount.__table__)
transfers_table = cast(Table, LedgerTransfer.__table__)

# Statements built once: every transfer runs these, so building them per call would cost more
# than PostgreSQL takes to execute them (bench/ledger.py measures it).
LOCK = (
    select(accounts_table)
    .where(accounts_table.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts_table.c.id)
    .with_for_update()
)
READ = select(accounts_table).where(accounts_table.c.id.in_(bindparam("ids", expanding=True)))
LOOKUP = select(transfers_table).where(transfers_table.c.id.in_(bindparam("ids", expanding=True)))
PENDINGS = select(transfers_table).where(
    or_(
        transfers_table.c.id.in_(bindparam("ids", expanding=True)),
        transfers_table.c.pending_id.in_(bindparam("pids", expanding=True)),
    )
)
INSERT_TRANSFERS = insert(transfers_table)
# PostgreSQL runs the hot path's statements as plain SQL on the session's own connection and
# transaction (the lock through SQLAlchemy, which begins the transaction; the rest straight on
# asyncpg). Same statements, same transaction, same rules — only SQLAlchemy's per-statement
# Python overhead is skipped, which otherwise costs more than the database work itself
# (bench/ledger.py: without this the ledger ran at ~0.45 of the direct SQL, with it ≥ 0.6).
PG_LOCK = (
    "SELECT id, ledger, flags, debits_pending, debits_posted, credits_pending, credits_posted "
    "FROM ledger_accounts WHERE id = ANY($1::varchar[]) ORDER BY id FOR UPDATE"
)
PG_LOOKUP = "SELECT * FROM ledger_transfers WHERE id = ANY($1::varchar[])"
PG_INSERT_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "flags",
    "pending_id",
    "timeout_seconds",
    "expires_at",
    "user_data",
    "created_at",
)
PG_INSERT = (
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, "
    "code, flags, pending_id, timeout_seconds, expires_at, user_data, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
PG_UPDATE = (
    "UPDATE ledger_accounts SET debits_pending = $2, debits_posted = $3, credits_pending = $4, "
    "credits_posted = $5 WHERE id = $1"
)
WRITE_BALANCES = (
    update(accounts_table)
    .where(accounts_table.c.id == bindparam("account_id"))
    .values(
        debits_pending=bindparam("dpe"),
        debits_posted=bindparam("dpo"),
        credits_pending=bindparam("cpe"),
        credits_posted=bindparam("cpo"),
    )
)


async def transfers_touching(
    session: AsyncSession, account_ids: list[str], *, before_seq: int | None, limit: int
) -> list[Any]:
    """Transfers debiting or crediting any of ``account_ids``, newest first (keyset paging)."""
    stmt = (
        select(transfers_table)
        .where(
            or_(
                transfers_table.c.debit_account_id.in_(account_ids),
                transfers_table.c.credit_account_id.in_(account_ids),
            )
        )
        .order_by(transfers_table.c.seq.desc())
        .limit(limit)
    )
    if before_seq is not None:
        stmt = stmt.where(transfers_table.c.seq < before_seq)
    return list((await session.execute(stmt)).all())

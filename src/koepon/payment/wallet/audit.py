"""The wallet's invariants on top of the ledger's: every wallet balance is the sum of its lots,
held medals are the open holds, lots' movements add up to their price (DESIGN.md "The money").

``audit_ledger`` runs the ledger's and the wallet's checks on one consistent snapshot
(REPEATABLE READ on PostgreSQL; SQLite's read transaction): ``koepon audit ledger``,
``GET /api/v1/admin/ledger/audit`` and the teardown of every payment test use it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.db import Database
from koepon.kernel.metrics import record_ledger_audit
from koepon.payment.ledger.accounts import KINDS, AccountCode
from koepon.payment.ledger.audit import audit_books, ledger_accounts, open_pendings
from koepon.payment.wallet import lots as lot_rules


async def audit_ledger(db: Database) -> list[str]:
    """Check every invariant; returns the violations (empty when all hold)."""
    async with db.sessionmaker() as session:
        if db.is_postgres:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            accounts = await ledger_accounts(session)
            problems = await audit_books(session, accounts)
            problems += await _wallets_follow_lots(session, accounts)
            problems += await _spends_follow_pendings(session, await open_pendings(session))
            record_ledger_audit(len(problems))
            return problems
        finally:
            await session.rollback()


async def _rows(session: AsyncSession, sql: str) -> list[Any]:
    return list((await session.execute(text(sql))).all())


async def _wallets_follow_lots(session: AsyncSession, accounts: list[Any]) -> list[str]:
    problems = []
    lots: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"remaining": 0, "held": 0})
    for row in await _rows(
        session,
        "SELECT user_id, kind, SUM(remaining) AS remaining, SUM(held) AS held "
        "FROM medal_lots GROUP BY user_id, kind",
    ):
        lots[(row.user_id, row.kind)] = {"remaining": row.remaining, "held": row.held}
    wallets = set()
    for a in accounts:
        if a.code != AccountCode.WALLET:
            continue
        key: tuple[str, str] = (a.user_id, KINDS[a.ledger])
        wallets.add(key)
        available = a.credits_posted - a.debits_posted - a.debits_pending
        if available != lots[key]["remaining"]:
            problems.append(
                f"wallet {a.id}: balance {available} ≠ Σ lots' remaining {lots[key]['remaining']}"
            )
        if a.debits_pending != lots[key]["held"]:
            problems.append(
                f"wallet {a.id}: pending {a.debits_pending} ≠ Σ lots' held {lots[key]['held']}"
            )
    for key, sums in lots.items():
        if key not in wallets and (sums["remaining"] or sums["held"]):
            problems.append(f"lots of {key[0]} ({key[1]}) hold medals but no wallet account exists")

    for row in await _rows(
        session,
        "SELECT id, medals, consumed, held, remaining FROM medal_lots "
        "WHERE remaining < 0 OR held < 0 OR consumed < 0 OR remaining <> medals - consumed - held",
    ):
        problems.append(f"lot {row.id}: remaining/held/consumed do not add up")
    # Held medals are exactly the active holds; consumed medals and their yen are the movements.
    for row in await _rows(
        session,
        "SELECT l.id, l.held, COALESCE(SUM(h.medals), 0) AS holds FROM medal_lots l "
        "LEFT JOIN medal_lot_holds h ON h.lot_id = l.id AND h.resolved_at IS NULL "
        "GROUP BY l.id, l.held HAVING l.held <> COALESCE(SUM(h.medals), 0)",
    ):
        problems.append(f"lot {row.id}: held {row.held} ≠ active holds {row.holds}")
    for row in await _rows(
        session,
        "SELECT l.id, l.medals, l.consumed, l.price_jpy, "
        "COALESCE(SUM(CASE WHEN m.entry = 'issue' THEN m.medals ELSE 0 END), 0) AS issued, "
        "COALESCE(SUM(CASE WHEN m.entry <> 'issue' THEN m.medals ELSE 0 END), 0) AS used, "
        "COALESCE(SUM(CASE WHEN m.entry <> 'issue' THEN m.value_jpy ELSE 0 END), 0) AS used_jpy "
        "FROM medal_lots l LEFT JOIN medal_lot_movements m ON m.lot_id = l.id "
        "GROUP BY l.id, l.medals, l.consumed, l.price_jpy",
    ):
        if row.issued != row.medals or row.used != row.consumed:
            problems.append(f"lot {row.id}: movements do not match its issue and consumption")
            continue
        unconsumed_value = lot_rules.value_jpy(row.price_jpy, row.medals, row.medals - row.consumed)
        if row.price_jpy - row.used_jpy != unconsumed_value:
            problems.append(f"lot {row.id}: yen of its movements do not add up to its price")
    return problems


async def _spends_follow_pendings(session: AsyncSession, pending: dict[str, int]) -> list[str]:
    """A pending spend has open ledger pendings and holds; a resolved one has neither."""
    problems = []
    for row in await _rows(
        session,
        "SELECT s.id, s.status, s.medals, "
        "(SELECT COALESCE(SUM(h.medals), 0) FROM medal_lot_holds h "
        "  WHERE h.spend_id = s.id AND h.resolved_at IS NULL) AS held "
        "FROM medal_spends s",
    ):
        open_ = pending.get(f"{row.id}/free", 0) + pending.get(f"{row.id}/paid", 0)
        want = row.medals if row.status == "pending" else 0
        if open_ != want or row.held != want:
            problems.append(
                f"spend {row.id} ({row.status}): open pendings {open_}, held {row.held}, "
                f"expected {want}"
            )
    return problems

"""The ledger audit: every invariant of DESIGN.md "The money", checked against the database.

Run by ``koepon audit ledger``, by ``GET /api/v1/admin/ledger/audit`` and after every payment
test. Each violation is one readable line; an empty list means the books are sound. The audit
reads one consistent snapshot (REPEATABLE READ on PostgreSQL; SQLite's read transaction).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.db import Database
from koepon.payment.ledger.accounts import KINDS, AccountCode
from koepon.payment.ledger.rules import Balance, TransferFlags, breaks_flags
from koepon.payment.wallet import lots as lot_rules

PENDING = int(TransferFlags.PENDING)


async def audit_ledger(db: Database) -> list[str]:
    """Check every invariant; returns the violations (empty when all hold)."""
    async with db.sessionmaker() as session:
        if db.is_postgres:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            return await _audit(session)
        finally:
            await session.rollback()


async def _rows(session: AsyncSession, sql: str) -> list[Any]:
    return list((await session.execute(text(sql))).all())


async def _audit(session: AsyncSession) -> list[str]:
    problems: list[str] = []

    # 1. Double entry: per ledger, Σ debits = Σ credits (posted and pending alike).
    for row in await _rows(
        session,
        "SELECT ledger, SUM(debits_posted) AS dpo, SUM(credits_posted) AS cpo, "
        "SUM(debits_pending) AS dpe, SUM(credits_pending) AS cpe "
        "FROM ledger_accounts GROUP BY ledger",
    ):
        if row.dpo != row.cpo:
            problems.append(
                f"ledger {row.ledger}: Σ debits_posted {row.dpo} ≠ Σ credits_posted {row.cpo}"
            )
        if row.dpe != row.cpe:
            problems.append(
                f"ledger {row.ledger}: Σ debits_pending {row.dpe} ≠ Σ credits_pending {row.cpe}"
            )

    # 2. No account breaks its flags.
    accounts = await _rows(session, "SELECT * FROM ledger_accounts")
    for a in accounts:
        broken = breaks_flags(
            Balance(
                a.ledger,
                a.flags,
                a.debits_pending,
                a.debits_posted,
                a.credits_pending,
                a.credits_posted,
            )
        )
        if broken:
            problems.append(f"account {a.id}: breaks its flags ({broken})")

    # 3. Every balance is the sum of its transfers; pendings are resolved at most once.
    problems += await _balances_follow_transfers(session, accounts)

    # 4. No transfer id twice; no pending resolved twice; resolutions name real pendings.
    for row in await _rows(
        session, "SELECT id, COUNT(*) AS n FROM ledger_transfers GROUP BY id HAVING COUNT(*) > 1"
    ):
        problems.append(f"transfer id {row.id} stored {row.n} times")
    for row in await _rows(
        session,
        "SELECT pending_id, COUNT(*) AS n FROM ledger_transfers WHERE pending_id IS NOT NULL "
        "GROUP BY pending_id HAVING COUNT(*) > 1",
    ):
        problems.append(f"pending transfer {row.pending_id} resolved {row.n} times")
    for row in await _rows(
        session,
        "SELECT r.id, r.amount, p.id AS pid, p.flags AS pflags, p.amount AS pamount, "
        "p.debit_account_id AS pd, p.credit_account_id AS pc, "
        "r.debit_account_id AS rd, r.credit_account_id AS rc "
        "FROM ledger_transfers r LEFT JOIN ledger_transfers p ON p.id = r.pending_id "
        "WHERE r.pending_id IS NOT NULL",
    ):
        if row.pid is None or not row.pflags & PENDING:
            problems.append(f"transfer {row.id} resolves {row.pid!r}, which is not pending")
        elif row.amount > row.pamount or (row.rd, row.rc) != (row.pd, row.pc):
            problems.append(f"transfer {row.id} does not match its pending transfer {row.pid}")

    # 5. Wallets: every balance is the sum of its lots; holds match pendings.
    problems += await _wallets_follow_lots(session, accounts)
    return problems


async def _balances_follow_transfers(session: AsyncSession, accounts: list[Any]) -> list[str]:
    expected: dict[str, dict[str, int]] = defaultdict(
        lambda: {"dpo": 0, "cpo": 0, "dpe": 0, "cpe": 0}
    )
    # Posted: single-phase transfers and posts; pending: pendings nobody resolved yet.
    for row in await _rows(
        session,
        "SELECT debit_account_id AS d, credit_account_id AS c, SUM(amount) AS total "
        "FROM ledger_transfers WHERE (flags & 10) = 0 "  # neither PENDING (2) nor VOID (8)
        "GROUP BY debit_account_id, credit_account_id",
    ):
        expected[row.d]["dpo"] += row.total
        expected[row.c]["cpo"] += row.total
    for row in await _rows(
        session,
        "SELECT p.debit_account_id AS d, p.credit_account_id AS c, SUM(p.amount) AS total "
        "FROM ledger_transfers p "
        "WHERE (p.flags & 2) <> 0 AND NOT EXISTS "  # PENDING = 2
        "(SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id) "
        "GROUP BY p.debit_account_id, p.credit_account_id",
    ):
        expected[row.d]["dpe"] += row.total
        expected[row.c]["cpe"] += row.total
    problems = []
    seen = set()
    for a in accounts:
        seen.add(a.id)
        e = expected.get(a.id, {"dpo": 0, "cpo": 0, "dpe": 0, "cpe": 0})
        actual = {
            "dpo": a.debits_posted,
            "cpo": a.credits_posted,
            "dpe": a.debits_pending,
            "cpe": a.credits_pending,
        }
        names = {
            "dpo": "debits_posted",
            "cpo": "credits_posted",
            "dpe": "debits_pending",
            "cpe": "credits_pending",
        }
        for key, name in names.items():
            if actual[key] != e[key]:
                problems.append(
                    f"account {a.id}: {name} is {actual[key]} but its transfers sum to {e[key]}"
                )
    for account_id in set(expected) - seen:
        problems.append(f"transfers name account {account_id}, which does not exist")
    return problems


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

    # Spends: a pending spend has unresolved ledger pendings, a resolved one has none.
    for row in await _rows(
        session,
        "SELECT s.id, s.status, s.two_phase, s.medals, "
        "(SELECT COALESCE(SUM(p.amount), 0) FROM ledger_transfers p "
        " WHERE p.id IN (s.id || '/free', s.id || '/paid') AND (p.flags & 2) <> 0 "
        "  AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)) AS open, "
        "(SELECT COALESCE(SUM(h.medals), 0) FROM medal_lot_holds h "
        "  WHERE h.spend_id = s.id AND h.resolved_at IS NULL) AS held "
        "FROM medal_spends s",
    ):
        want = row.medals if row.status == "pending" else 0
        if row.open != want or row.held != want:
            problems.append(
                f"spend {row.id} ({row.status}): open pendings {row.open}, held {row.held}, "
                f"expected {want}"
            )
    return problems

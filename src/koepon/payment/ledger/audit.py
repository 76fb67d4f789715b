"""The ledger's own invariants (DESIGN.md "The money"), checked against its tables.

The wallet adds its checks on top (``wallet/audit.py``: lots follow the wallet accounts), and
``wallet.audit.audit_ledger`` runs both on one snapshot. Each violation is one readable line.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.ledger.rules import Balance, TransferFlags, breaks_flags

PENDING = int(TransferFlags.PENDING)


async def _rows(session: AsyncSession, sql: str) -> list[Any]:
    return list((await session.execute(text(sql))).all())


async def ledger_accounts(session: AsyncSession) -> list[Any]:
    """Every account row (the wallet audit compares the fans' accounts with their lots)."""
    return await _rows(session, "SELECT * FROM ledger_accounts")


async def open_pendings(session: AsyncSession) -> dict[str, int]:
    """Pending transfers nobody posted or voided yet: id → amount."""
    rows = await _rows(
        session,
        "SELECT p.id, p.amount FROM ledger_transfers p WHERE (p.flags & 2) <> 0 "  # PENDING = 2
        "AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = p.id)",
    )
    return {row.id: int(row.amount) for row in rows}


async def audit_books(session: AsyncSession, accounts: list[Any]) -> list[str]:
    """The ledger's invariants on one snapshot; ``accounts`` from ``ledger_accounts``."""
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

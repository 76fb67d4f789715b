"""Ledger use cases: lock accounts in a fixed order, apply transfer batches, store the results.

One batch runs inside the caller's transaction. The steps are always the same:

1. read the pending transfers that posts/voids refer to (immutable, so no lock is needed),
2. lock every account of the batch with one ``SELECT … ORDER BY id FOR UPDATE`` — sorted ids
   are the one global lock order, so two batches never deadlock (SQLite has a single writer),
3. only then read which ids already exist and which pendings are resolved (after the lock,
   so a racing post and void of one pending see each other),
4. apply the batch in memory with the pure rules (``rules.apply``), linked chains all or nothing,
5. insert the new transfers and write the new balances.

The database backs every rule up: CHECK constraints on the balances, a unique transfer id, a
unique ``pending_id`` (a pending is resolved once), triggers refusing any update or delete of a
transfer. A transaction should touch one fan's wallet (plus platform shards); jobs over many fans
use one transaction per fan, so the sorted-lock order holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.ledger.accounts import spec_of
from koepon.payment.ledger.repository import (
    INSERT_TRANSFERS,
    LOCK,
    LOOKUP,
    PENDINGS,
    PG_INSERT,
    PG_INSERT_COLUMNS,
    PG_LOCK,
    PG_LOOKUP,
    PG_UPDATE,
    READ,
    WRITE_BALANCES,
    accounts_table,
)
from koepon.payment.ledger.rules import (
    RESOLVING,
    Balance,
    LedgerError,
    Pending,
    Transfer,
    TransferFlags,
    apply,
    chains,
    same_request,
    shape_error,
)


@dataclass(frozen=True)
class TransferResult:
    """``created`` (applied now), ``exists`` (an identical earlier request: nothing applied) or
    ``failed`` with a ``code``."""

    id: str
    status: str
    transfer: Transfer | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("created", "exists")


def _transfer_from_row(row: Any) -> Transfer:
    return Transfer(
        id=row.id,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        ledger=row.ledger,
        code=row.code,
        flags=row.flags,
        pending_id=row.pending_id,
        timeout_seconds=row.timeout_seconds,
        user_data=row.user_data,
    )


def _balance_from_row(row: Any) -> Balance:
    return Balance(
        ledger=row.ledger,
        flags=row.flags,
        debits_pending=row.debits_pending,
        debits_posted=row.debits_posted,
        credits_pending=row.credits_pending,
        credits_posted=row.credits_posted,
    )


class Ledger:
    """The ledger of one payment database."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    # -- accounts -------------------------------------------------------------------------

    async def lock(
        self,
        session: AsyncSession,
        account_ids: Iterable[str],
        locked: dict[str, Balance] | None = None,
    ) -> dict[str, Balance]:
        """Lock accounts (sorted ids, creating missing ones) and return their balances.

        ``locked`` holds accounts this transaction locked before; they are not read again.
        """
        locked = {} if locked is None else locked
        wanted = sorted(set(account_ids) - set(locked))
        if not wanted:
            return locked
        rows = await self._select_for_update(session, wanted)
        missing = [account_id for account_id in wanted if account_id not in rows]
        if missing:
            await self._create(session, missing)
            rows.update(await self._select_for_update(session, missing))
        locked.update(rows)
        return locked

    async def _select_for_update(self, session: AsyncSession, ids: list[str]) -> dict[str, Balance]:
        conn = await session.connection()
        if conn.dialect.name == "postgresql":
            rows = await conn.exec_driver_sql(PG_LOCK, (ids,))
        else:
            rows = await conn.execute(LOCK, {"ids": ids})
        return {row.id: _balance_from_row(row) for row in rows}

    async def _create(self, session: AsyncSession, ids: list[str]) -> None:
        specs = [spec_of(account_id) for account_id in ids]
        insert_ = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
        now = self.clock()
        await session.execute(
            insert_(accounts_table)
            .values(
                [
                    {
                        "id": s.id,
                        "ledger": s.ledger,
                        "code": s.code,
                        "flags": int(s.flags),
                        "user_id": s.user_id,
                        "debits_pending": 0,
                        "debits_posted": 0,
                        "credits_pending": 0,
                        "credits_posted": 0,
                        "created_at": now,
                    }
                    for s in specs
                ]
            )
            .on_conflict_do_nothing()
        )

    async def balances(
        self, session: AsyncSession, account_ids: Iterable[str]
    ) -> dict[str, Balance]:
        """Balances without locking (missing accounts read as empty)."""
        ids = sorted(set(account_ids))
        rows = await (await session.connection()).execute(READ, {"ids": ids})
        found = {row.id: _balance_from_row(row) for row in rows}
        for account_id in ids:
            if account_id not in found:
                spec = spec_of(account_id)
                found[account_id] = Balance(ledger=spec.ledger, flags=spec.flags)
        return found

    # -- transfers ------------------------------------------------------------------------

    async def lookup(self, session: AsyncSession, ids: Iterable[str]) -> dict[str, Transfer]:
        conn = await session.connection()
        if conn.dialect.name == "postgresql":
            rows = await conn.exec_driver_sql(PG_LOOKUP, (sorted(set(ids)),))
        else:
            rows = await conn.execute(LOOKUP, {"ids": sorted(set(ids))})
        return {row.id: _transfer_from_row(row) for row in rows}

    async def _pendings(self, session: AsyncSession, ids: set[str]) -> dict[str, Pending]:
        """Pending transfers by id with their resolution (call after locking their accounts)."""
        if not ids:
            return {}
        conn = await session.connection()
        rows = (await conn.execute(PENDINGS, {"ids": sorted(ids), "pids": sorted(ids)})).all()
        resolution: dict[str, str] = {}
        for row in rows:
            if row.pending_id in ids:
                posted = row.flags & TransferFlags.POST_PENDING
                resolution[row.pending_id] = "posted" if posted else "voided"
        return {
            row.id: Pending(_transfer_from_row(row), row.created_at, resolution.get(row.id))
            for row in rows
            if row.id in ids
        }

    async def create_transfers(
        self,
        session: AsyncSession,
        transfers: list[Transfer],
        *,
        locked: dict[str, Balance] | None = None,
    ) -> list[TransferResult]:
        """Apply a batch (TigerBeetle semantics); one result per transfer, in order."""
        now = self.clock()
        pending_ids = {t.pending_id for t in transfers if t.pending_id and t.flags & RESOLVING}
        # Pendings are immutable: their accounts can be read before locking.
        known = await self.lookup(session, pending_ids) if pending_ids else {}
        account_ids: set[str] = set()
        for t in transfers:
            if t.flags & RESOLVING:
                if t.pending_id in known:
                    p = known[t.pending_id]
                    account_ids.update((p.debit_account_id, p.credit_account_id))
            elif not shape_error(t):
                account_ids.update((t.debit_account_id, t.credit_account_id))
        try:
            balances = await self.lock(session, account_ids, locked)
        except ValueError as exc:
            raise LedgerError("account_id_invalid", detail=str(exc)) from exc
        # After the lock statement (this call's or an earlier one of this transaction), so the
        # transaction has begun and the driver's statements run inside it.
        driver = await self._driver(session) if account_ids else None
        if driver is not None:
            existing = {
                row["id"]: _transfer_from_row(_Row(dict(row)))
                for row in await driver.fetch(PG_LOOKUP, [t.id for t in transfers])
            }
        else:
            existing = await self.lookup(session, [t.id for t in transfers])
        pendings = await self._pendings(session, pending_ids)

        results: list[TransferResult] = []
        rows: list[dict[str, Any]] = []
        batch = chains(transfers)
        touched: set[str] = set()
        for index, chain in enumerate(batch):
            open_chain = index == len(batch) - 1 and bool(chain[-1].flags & TransferFlags.LINKED)
            snapshot = {k: v for k, v in balances.items()}
            chain_pendings = dict(pendings)
            chain_results: list[TransferResult] = []
            chain_rows: list[dict[str, Any]] = []
            failed: str | None = "linked_event_chain_open" if open_chain else None
            failed_at = len(chain) - 1 if open_chain else -1
            if not failed:
                for position, t in enumerate(chain):
                    try:
                        result, row = self._one(t, existing, chain_pendings, snapshot, now)
                    except LedgerError as exc:
                        failed, failed_at = exc.code, position
                        break
                    chain_results.append(result)
                    if row is not None:
                        chain_rows.append(row)
            if failed:
                for position, t in enumerate(chain):
                    code = failed if position == failed_at else "linked_event_failed"
                    results.append(TransferResult(t.id, "failed", code=code))
                continue
            balances = snapshot
            pendings = chain_pendings
            results.extend(chain_results)
            rows.extend(chain_rows)
            for row in chain_rows:
                existing[row["id"]] = _transfer_from_row(_Row(row))
                touched.update((row["debit_account_id"], row["credit_account_id"]))
        if rows and driver is not None:
            try:
                await driver.executemany(
                    PG_INSERT, [tuple(r[c] for c in PG_INSERT_COLUMNS) for r in rows]
                )
            except asyncpg.UniqueViolationError as exc:
                raise LedgerError("transfer_id_reused", detail=str(exc)[:200]) from exc
            await driver.executemany(
                PG_UPDATE,
                [
                    (
                        account_id,
                        balances[account_id].debits_pending,
                        balances[account_id].debits_posted,
                        balances[account_id].credits_pending,
                        balances[account_id].credits_posted,
                    )
                    for account_id in sorted(touched)
                ],
            )
        elif rows:
            conn = await session.connection()
            try:
                await conn.execute(INSERT_TRANSFERS, rows[0] if len(rows) == 1 else rows)
            except IntegrityError as exc:
                # A concurrent transaction committed the same id first (with other accounts).
                raise LedgerError("transfer_id_reused", detail=str(exc.orig)[:200]) from exc
            await conn.execute(
                WRITE_BALANCES,
                [
                    {
                        "account_id": account_id,
                        "dpe": balances[account_id].debits_pending,
                        "dpo": balances[account_id].debits_posted,
                        "cpe": balances[account_id].credits_pending,
                        "cpo": balances[account_id].credits_posted,
                    }
                    for account_id in sorted(touched)
                ],
            )
        if locked is not None:
            locked.update(balances)
        return results

    async def _driver(self, session: AsyncSession) -> Any:
        if _dialect(session) != "postgresql":
            return None
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        return raw.driver_connection

    def _one(
        self,
        t: Transfer,
        existing: dict[str, Transfer],
        pendings: dict[str, Pending],
        balances: dict[str, Balance],
        now: datetime,
    ) -> tuple[TransferResult, dict[str, Any] | None]:
        stored = existing.get(t.id)
        if stored is not None:
            pending = pendings.get(t.pending_id) if t.pending_id else None
            if same_request(stored, t, pending):
                return TransferResult(t.id, "exists", stored), None
            raise LedgerError("transfer_id_reused", t.id)
        pending = pendings.get(t.pending_id) if t.pending_id and t.flags & RESOLVING else None
        result = apply(t, balances, pending=pending, now=now)
        if t.flags & RESOLVING and pending is not None:
            posted = "posted" if t.flags & TransferFlags.POST_PENDING else "voided"
            pendings[pending.transfer.id] = Pending(pending.transfer, pending.created_at, posted)
        if t.flags & TransferFlags.PENDING:
            pendings[t.id] = Pending(result, now, None)
        expires_at = (
            now + timedelta(seconds=t.timeout_seconds)
            if t.flags & TransferFlags.PENDING and t.timeout_seconds
            else None
        )
        row = {
            "id": result.id,
            "debit_account_id": result.debit_account_id,
            "credit_account_id": result.credit_account_id,
            "amount": result.amount,
            "ledger": result.ledger,
            "code": result.code,
            "flags": result.flags,
            "pending_id": result.pending_id,
            "timeout_seconds": result.timeout_seconds,
            "expires_at": expires_at,
            "user_data": result.user_data,
            "created_at": now,
        }
        return TransferResult(t.id, "created", result), row

    async def transfer(
        self,
        session: AsyncSession,
        transfers: list[Transfer] | Transfer,
        *,
        locked: dict[str, Balance] | None = None,
    ) -> list[TransferResult]:
        """Like ``create_transfers`` but raises ``LedgerError`` on the first failure."""
        batch = [transfers] if isinstance(transfers, Transfer) else transfers
        results = await self.create_transfers(session, batch, locked=locked)
        for result in results:
            if result.status == "failed" and result.code != "linked_event_failed":
                raise LedgerError(result.code or "failed", result.id)
        for result in results:
            if result.status == "failed":
                raise LedgerError(result.code or "failed", result.id)
        return results


def _dialect(session: AsyncSession) -> str:
    bind = session.bind
    assert bind is not None
    return bind.dialect.name


class _Row:
    """Attribute access over an inserted row's dict (to reuse ``_transfer_from_row``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

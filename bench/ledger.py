"""Ledger throughput on PostgreSQL: spends through the ledger code next to the same SQL run
directly with asyncpg, in the same run, as a ratio (target ≥ 0.6).

Both sides do the same work per spend, one transaction each: lock the two accounts in id order
(``SELECT … ORDER BY id FOR UPDATE``), look the transfer id up (idempotency), check the flags,
insert the transfer, write both balances. "single wallet" spends from one fan's account (every
spend waits for the previous one's row lock: the worst case of one fan spamming draws);
"many wallets" spreads spends over 1,000 fans (the platform's shards keep the revenue side
from serialising them).

The two sides run in alternating short rounds (``ROUNDS`` of each), so a load change on the
machine hits both alike. ``python -m bench.ledger`` (also run by ``make bench``);
KOEPON_BENCH_PG_DSN picks the server, KOEPON_BENCH_SECONDS the time per side and scenario
(default 3; the whole run stays under ~20 s).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

import koepon.payment
from koepon.kernel.db import Database
from koepon.kernel.migrations import upgrade_async
from koepon.payment.ledger.accounts import LEDGERS, TransferCode, system_account, wallet_account
from koepon.payment.ledger.rules import Transfer
from koepon.payment.ledger.service import Ledger

DSN = os.environ.get("KOEPON_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
SECONDS = float(os.environ.get("KOEPON_BENCH_SECONDS", "3"))
CONCURRENCY = int(os.environ.get("KOEPON_BENCH_CONCURRENCY", "8"))
ROUNDS = 5
FANS = 1_000
SCHEMA = "payment"
MIGRATIONS = Path(koepon.payment.__file__).parent / "migrations"


def _dsn_for(database: str) -> str:
    return DSN.rsplit("/", 1)[0] + f"/{database}"


async def _run_for(
    seconds: float, workers: int, spend: Callable[[int, int], Awaitable[None]]
) -> tuple[int, float]:
    """(spends, elapsed seconds) over ``seconds`` with ``workers`` concurrent loops."""
    stop = time.perf_counter() + seconds
    counts = [0] * workers

    async def loop(worker: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            await spend(worker, n)
            n += 1
        counts[worker] = n

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(workers)))
    return sum(counts), time.perf_counter() - started


def _fan(single: bool) -> str:
    return wallet_account("bench-0" if single else f"bench-{random.randrange(FANS)}", "paid")


async def _through_ledger(
    db: Database, ledger: Ledger, single: bool, seconds: float
) -> tuple[int, float]:
    async def spend(_worker: int, _n: int) -> None:
        transfer_id = f"spend-{uuid.uuid4().hex}"
        async with db.transaction() as session:
            await ledger.transfer(
                session,
                Transfer(
                    id=transfer_id,
                    debit_account_id=_fan(single),
                    credit_account_id=system_account("revenue", "paid", transfer_id),
                    amount=1,
                    ledger=LEDGERS["paid"],
                    code=TransferCode.SPEND,
                    user_data="bench",
                ),
            )

    return await _run_for(seconds, CONCURRENCY, spend)


LOCK = (
    "SELECT id, ledger, flags, debits_pending, debits_posted, credits_pending, credits_posted "
    "FROM ledger_accounts WHERE id = ANY($1::varchar[]) ORDER BY id FOR UPDATE"
)
EXISTS = "SELECT id FROM ledger_transfers WHERE id = ANY($1::varchar[])"
INSERT = (
    "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, "
    "flags, pending_id, timeout_seconds, expires_at, user_data, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0, NULL, $8, $9)"
)
UPDATE = (
    "UPDATE ledger_accounts SET debits_pending = $2, debits_posted = $3, credits_pending = $4, "
    "credits_posted = $5 WHERE id = $1"
)


async def _direct_sql(pool: asyncpg.Pool, single: bool, seconds: float) -> tuple[int, float]:
    async def spend(_worker: int, _n: int) -> None:
        transfer_id = f"raw-{uuid.uuid4().hex}"
        debit, credit = _fan(single), system_account("revenue", "paid", transfer_id)
        async with pool.acquire() as conn, conn.transaction():
            rows = {r["id"]: dict(r) for r in await conn.fetch(LOCK, [debit, credit])}
            if await conn.fetch(EXISTS, [transfer_id]):
                return
            d, c = rows[debit], rows[credit]
            d["debits_posted"] += 1
            c["credits_posted"] += 1
            if d["flags"] & 1 and d["debits_posted"] + d["debits_pending"] > d["credits_posted"]:
                raise RuntimeError("exceeds_credits")
            await conn.execute(
                INSERT, transfer_id, debit, credit, 1, 1, 3, 0, "bench", datetime.now(UTC)
            )
            await conn.executemany(
                UPDATE,
                [
                    (
                        r["id"],
                        r["debits_pending"],
                        r["debits_posted"],
                        r["credits_pending"],
                        r["credits_posted"],
                    )
                    for r in sorted((d, c), key=lambda r: r["id"])
                ],
            )

    return await _run_for(seconds, CONCURRENCY, spend)


async def _seed(db: Database, ledger: Ledger) -> None:
    """Give every bench fan plenty of medals (through the ledger, like any issuance)."""
    async with db.transaction() as session:
        await ledger.transfer(
            session,
            [
                Transfer(
                    id=f"seed-{i}",
                    debit_account_id=system_account("issuance", "paid", f"seed-{i}"),
                    credit_account_id=wallet_account(f"bench-{i}", "paid"),
                    amount=10**12,
                    ledger=LEDGERS["paid"],
                    code=TransferCode.GRANT,
                )
                for i in range(FANS)
            ],
        )
        # Every revenue shard exists before the timed phases.
        await ledger.lock(
            session, {system_account("revenue", "paid", f"x-{i}") for i in range(2_000)}
        )


async def main() -> None:
    database = f"koepon_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = "postgresql+asyncpg://" + _dsn_for(database).split("://", 1)[1]
    db = Database(url, SCHEMA, pool_size=CONCURRENCY)
    pool = await asyncpg.create_pool(
        _dsn_for(database),
        min_size=CONCURRENCY,
        max_size=CONCURRENCY,
        server_settings={"search_path": SCHEMA},
    )
    try:
        await upgrade_async(MIGRATIONS, url, SCHEMA)
        ledger = Ledger(lambda: datetime.now(UTC))
        await _seed(db, ledger)
        print(
            f"ledger bench: PostgreSQL, {CONCURRENCY} concurrent spenders, {SECONDS:g} s a phase, "
            "1 medal a spend, one transaction each"
        )
        print(f"{'spends':<14}{'ledger code':>14}{'direct SQL':>14}{'ratio':>9}")
        ratios = []
        for name, single in (("single wallet", True), ("many wallets", False)):
            await _through_ledger(db, ledger, single, 0.3)  # warm both paths up
            await _direct_sql(pool, single, 0.3)
            totals = {"code": [0, 0.0], "raw": [0, 0.0]}
            for _ in range(ROUNDS):
                for side, (n, elapsed) in (
                    ("code", await _through_ledger(db, ledger, single, SECONDS / ROUNDS)),
                    ("raw", await _direct_sql(pool, single, SECONDS / ROUNDS)),
                ):
                    totals[side][0] += n
                    totals[side][1] += elapsed
            code = totals["code"][0] / totals["code"][1]
            raw = totals["raw"][0] / totals["raw"][1]
            ratio = code / raw
            ratios.append(ratio)
            print(f"{name:<14}{code:>10.0f} tx/s{raw:>10.0f} tx/s{ratio:>9.2f}")
        verdict = "meets" if min(ratios) >= 0.6 else "BELOW"
        print(f"lowest ratio {min(ratios):.2f}: {verdict} the 0.6 target")
    finally:
        await pool.close()
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())

"""The recovery drill at scale: fill the payment ledger with N fans' medal lots (one ledger
transfer each, through the wallet code, so the audit holds), back every service up, lose the
databases, restore, audit — printing backup and restore seconds and the dump sizes against
the brief's RTO of one hour.

``python -m bench recovery`` (not in ``make test``). Options by environment:
KOEPON_BENCH_BACKEND (``postgres``, default, or ``embedded``), KOEPON_BENCH_PG_DSN (the
server; the database made is ``koepon_drill_bench_…``), KOEPON_BENCH_FANS (1,000),
KOEPON_BENCH_LOTS (5,000 lots issued through the wallet code, KOEPON_BENCH_BATCH = 500 per
transaction), KOEPON_BENCH_TRANSFERS (1,000,000 ledger transfers in total: the rest are
round trips — a copy of an issued transfer and its reverse — written in bulk, with both
accounts' posted totals raised alike, so every balance and the audit still hold).
Draws are not generated here: the ledger is what grows, and what the drill times;
tests/ops/test_recovery_drill.py covers draws and entitlements.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from koepon.app import Platform
from koepon.kernel.settings import Settings
from koepon.ops.backup import backup_to_dir
from koepon.ops.restore import restore_from_dir
from koepon.payment.wallet.audit import audit_ledger

BACKEND = os.environ.get("KOEPON_BENCH_BACKEND", "postgres")
DSN = os.environ.get("KOEPON_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
FANS = int(os.environ.get("KOEPON_BENCH_FANS", "1000"))
TRANSFERS = int(os.environ.get("KOEPON_BENCH_TRANSFERS", "1000000"))
LOTS = min(TRANSFERS, int(os.environ.get("KOEPON_BENCH_LOTS", "5000")))
CHUNK = 10_000
BATCH = int(os.environ.get("KOEPON_BENCH_BATCH", "500"))


def _settings(work: Path, database: str | None) -> Settings:
    values: dict[str, object] = {"environment": "test", "data_dir": work / "data"}
    if database:
        host = DSN.split("://", 1)[1].rsplit("/", 1)[0]
        values["database_url"] = f"postgresql+asyncpg://{host}/{database}"
    return Settings(**values)  # type: ignore[arg-type]


async def _fill(platform: Platform) -> None:
    unit = platform.units["payment"]
    wallets = unit.services.wallets  # type: ignore[attr-defined]
    batches = [range(start, min(start + BATCH, LOTS)) for start in range(0, LOTS, BATCH)]
    queue: asyncio.Queue[range] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    started = time.perf_counter()

    async def work() -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            async with unit.db.transaction() as session:
                for n in batch:
                    await wallets.issue_lot(
                        session,
                        user_id=f"bench-fan-{n % FANS}",
                        kind="paid" if n % 3 else "free",
                        medals=100,
                        price_jpy=100 if n % 3 else 0,
                        source="bench",
                        transfer_id=f"bench-{n}",
                    )
            if batch.start % (BATCH * 200) == 0:
                done = batch.stop
                rate = done / (time.perf_counter() - started)
                print(f"  … {done:,} transfers ({rate:,.0f}/s)", flush=True)

    workers = 1  # one writer: batches of many fans would deadlock on their wallets in parallel
    await asyncio.gather(*(work() for _ in range(workers)))
    print(f"issued {LOTS:,} lots in {time.perf_counter() - started:.1f} s")
    await _round_trips(platform)


async def _round_trips(platform: Platform) -> None:
    """Fill the ledger up to TRANSFERS with balanced round trips (see the module's note)."""
    from collections import Counter
    from datetime import UTC, datetime

    from sqlalchemy import insert, text

    from koepon.payment.ledger.models import LedgerTransfer

    db = platform.units["payment"].db
    started = time.perf_counter()
    async with db.transaction(read_only=True) as session:
        have = int(await session.scalar(text("SELECT COUNT(*) FROM ledger_transfers")) or 0)
        base = (
            await session.execute(
                text(
                    "SELECT id, debit_account_id, credit_account_id, amount, ledger, code "
                    "FROM ledger_transfers WHERE flags = 0 AND pending_id IS NULL"
                )
            )
        ).all()
    pairs = max(0, TRANSFERS - have) // 2
    if not pairs or not base:
        return
    extra: Counter[str] = Counter()
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    for i in range(pairs):
        t = base[i % len(base)]
        for suffix, debit, credit in (("a", t[1], t[2]), ("b", t[2], t[1])):
            rows.append(
                {
                    "id": f"{t[0]}~rt{i}{suffix}",
                    "debit_account_id": debit,
                    "credit_account_id": credit,
                    "amount": t[3],
                    "ledger": t[4],
                    "code": t[5],
                    "flags": 0,
                    "timeout_seconds": 0,
                    "user_data": "bench round trip",
                    "created_at": now,
                }
            )
        extra[t[1]] += t[3]
        extra[t[2]] += t[3]
        if len(rows) >= CHUNK or i == pairs - 1:
            async with db.transaction() as session:
                await session.execute(insert(LedgerTransfer), rows)
            rows = []
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE ledger_accounts SET debits_posted = debits_posted + :x, "
                "credits_posted = credits_posted + :x WHERE id = :id"
            ),
            [{"x": x, "id": account} for account, x in extra.items()],
        )
    print(f"wrote {2 * pairs:,} round-trip transfers in {time.perf_counter() - started:.1f} s")


async def _lose(settings: Settings, database: str | None) -> None:
    if database is None:
        for path in settings.data_dir.glob("*.db*"):
            path.unlink()
        return
    admin = await asyncpg.connect(DSN)
    try:
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    finally:
        await admin.close()


async def drill() -> None:
    database = f"koepon_drill_bench_{uuid.uuid4().hex[:8]}" if BACKEND == "postgres" else None
    with tempfile.TemporaryDirectory(prefix="koepon-recovery-bench-") as tmp:
        work = Path(tmp)
        settings = _settings(work, database)
        if database:
            admin = await asyncpg.connect(DSN)
            await admin.execute(f'CREATE DATABASE "{database}"')
            await admin.close()
        try:
            platform = Platform(settings, ("payment",))
            await platform.migrate()
            await _fill(platform)
            await platform.stop()

            started = time.perf_counter()
            dumps = await asyncio.to_thread(backup_to_dir, settings, work / "backup", ("payment",))
            backup_s = time.perf_counter() - started
            for dump in dumps:
                print(f"  {dump.service:<8} {dump.file:<16} {dump.size / 1_048_576:10.1f} MiB")
            print(f"backup: {backup_s:.1f} s, {sum(d.size for d in dumps) / 1_048_576:.1f} MiB")

            await _lose(settings, database)
            started = time.perf_counter()
            await restore_from_dir(settings, work / "backup")
            restore_s = time.perf_counter() - started
            print(f"restore (verify + restore + migrate): {restore_s:.1f} s")

            again = Platform(settings, ("payment",))
            started = time.perf_counter()
            violations = await audit_ledger(again.units["payment"].db)
            print(
                f"audit after restore: {len(violations)} violation(s), "
                f"{time.perf_counter() - started:.1f} s"
            )
            await again.stop()
            print(f"restore used {restore_s / 36:.2f} % of the 1 h RTO")
        finally:
            if database:
                admin = await asyncpg.connect(DSN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                await admin.close()


def main() -> None:
    print(f"recovery drill: {BACKEND}, {FANS:,} fans, {TRANSFERS:,} ledger transfers")
    asyncio.run(drill())

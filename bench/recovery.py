"""The recovery drill at scale: fill the payment ledger with N fans' medal lots (one ledger
transfer each, through the wallet code, so the audit holds), back every service up, lose the
databases, restore, audit — printing backup and restore seconds and the dump sizes against
the brief's RTO of one hour.

``python -m bench recovery`` (not in ``make test``). Options by environment:
KOEPON_BENCH_BACKEND (``postgres``, default, or ``embedded``), KOEPON_BENCH_PG_DSN (the
server; the database made is ``koepon_drill_bench_…``), KOEPON_BENCH_FANS (1,000),
KOEPON_BENCH_TRANSFERS (1,000,000: ledger transfers in total), KOEPON_BENCH_BATCH (500 per
transaction). Draws are not generated here: the ledger is what grows, and what the drill
times; tests/ops/test_recovery_drill.py covers draws and entitlements.
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
BATCH = int(os.environ.get("KOEPON_BENCH_BATCH", "500"))
WORKERS = 4


def _settings(work: Path, database: str | None) -> Settings:
    values: dict[str, object] = {"environment": "test", "data_dir": work / "data"}
    if database:
        host = DSN.split("://", 1)[1].rsplit("/", 1)[0]
        values["database_url"] = f"postgresql+asyncpg://{host}/{database}"
    return Settings(**values)  # type: ignore[arg-type]


async def _fill(platform: Platform) -> None:
    unit = platform.units["payment"]
    wallets = unit.services.wallets  # type: ignore[attr-defined]
    batches = [range(start, min(start + BATCH, TRANSFERS)) for start in range(0, TRANSFERS, BATCH)]
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

    workers = 1 if BACKEND == "embedded" else WORKERS
    await asyncio.gather(*(work() for _ in range(workers)))
    print(f"filled {TRANSFERS:,} transfers in {time.perf_counter() - started:.1f} s")


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

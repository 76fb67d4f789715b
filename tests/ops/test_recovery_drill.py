"""The recovery drill (docs/RUNBOOK.md): fans buy medals, draw and receive their prizes; the
databases are backed up, lost, and restored; the platform starts again with every medal,
draw and entitlement back and the ledger audit passing. A dump with one byte flipped is
refused before anything is touched."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conftest import PG_ADMIN_DSN
from gacha import samples
from gacha.conftest import (  # noqa: F401 - the desk fixture
    Desk,
    desk_fixture,
    live_now,
    with_real_contents,
)
from koepon.app import Platform
from koepon.kernel.settings import SERVICES, Settings
from koepon.ops.backup import backup_to_dir
from koepon.ops.restore import RestoreRefused, restore_from_dir, verify
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture

# The rows that must all come back, by service.
COUNTED = {
    "auth": ("users",),
    "payment": ("ledger_accounts", "ledger_transfers", "medal_lots", "checkouts"),
    "gacha": ("draws", "draw_slots", "seed_pairs"),
    "rewards": ("entitlements", "rewards_contents"),
    "vtuber": ("vtuber_profiles", "vtuber_sales"),
}


async def snapshot(platform: Platform, fans: list[Any]) -> dict[str, Any]:
    """Row counts of the tables that matter and every fan's medal balance."""
    counts: dict[str, Any] = {}
    for service, tables in COUNTED.items():
        async with platform.units[service].db.sessionmaker() as session:
            for table in tables:
                counted = await session.scalar(text(f"SELECT COUNT(*) FROM {table}"))
                counts[f"{service}.{table}"] = counted
    payment = platform.units["payment"]
    for fan in fans:
        async with payment.db.sessionmaker() as session:
            balance = await payment.services.wallet_views.balance(session, fan.id)  # type: ignore[attr-defined]
        counts[f"balance.{fan.id}"] = (balance.paid_medals, balance.free_medals)
    return counts


async def entitled(desk: Desk, fan: Any, want: int) -> None:
    """Wait until the fan's collection holds ``want`` prizes (events relay asynchronously)."""
    for _ in range(150):
        page = await desk.client.get("/api/v1/collection", headers=fan.headers)
        if sum(item.get("count", 1) for item in page.json()["items"]) >= want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the collection never showed {want} prizes")


def database_name(settings: Settings) -> str:
    url, _schema = settings.database_url_for("payment")
    return str(make_url(url).database)


async def lose_the_databases(settings: Settings, backend: str) -> None:
    """The disaster: every SQLite file deleted, or the whole PostgreSQL database dropped."""
    if backend == "embedded":
        for path in settings.data_dir.glob("*.db*"):
            path.unlink()
        return
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE "{database_name(settings)}" WITH (FORCE)')
    finally:
        await conn.close()


async def databases_exist(settings: Settings, backend: str) -> bool:
    if backend == "embedded":
        return any(settings.data_dir.glob("*.db"))
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        found = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", database_name(settings)
        )
    finally:
        await conn.close()
    return bool(found)


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.timeout(120)
async def test_backup_loss_and_restore_bring_every_medal_draw_and_entitlement_back(
    desk: Desk, backend: str, tmp_path: Path
) -> None:
    platform = desk.platform
    settings = platform.settings
    raw = await with_real_contents(platform, "vt-drill", live_now(samples.box_raw()), {})
    gacha_id = await desk.publish(raw, vtuber_id="vt-drill")
    fans = [await desk.fan(medals=6000, free=100) for _ in range(2)]
    for fan in fans:
        drawn = await desk.client.post(
            f"/api/v1/gachas/{gacha_id}/draws", json={"count": 10}, headers=fan.ik()
        )
        assert drawn.status_code in (200, 202), drawn.text
    for fan in fans:
        await entitled(desk, fan, want=10)
    await platform.drain()
    before = await snapshot(platform, fans)
    assert before["rewards.entitlements"] > 0 and before["gacha.draws"] == 2

    backup = tmp_path / "backup"
    dumps = await asyncio.to_thread(backup_to_dir, settings, backup)  # while the platform runs
    assert {d.service for d in dumps} == set(SERVICES)
    assert all(d.size > 0 and len(d.sha256) == 64 and d.migration_head for d in dumps)

    await platform.stop()
    await lose_the_databases(settings, backend)

    # A dump with one byte flipped: refused, and nothing is created or changed.
    corrupted = tmp_path / "corrupted"
    shutil.copytree(backup, corrupted)
    flip_one_byte(corrupted / next(d.file for d in dumps if d.service == "payment"))
    with pytest.raises(RestoreRefused, match="payment"):
        await restore_from_dir(settings, corrupted)
    assert not await databases_exist(settings, backend)

    assert [d.service for d in verify(backup)] == list(SERVICES)
    restored = await restore_from_dir(settings, backup)
    assert [r.service for r in restored] == list(SERVICES)

    again = Platform(settings)
    await again.start()
    try:
        assert await audit_ledger(again.units["payment"].db) == []
        assert await snapshot(again, fans) == before
        # The fans carry on where they were: their collection and balance answer as before.
        for fan in fans:
            balance = await again.units["payment"].client.balance(fan.id)  # type: ignore[attr-defined]
            assert (balance.paid_medals, balance.free_medals) == before[f"balance.{fan.id}"]
    finally:
        await again.stop()


async def test_a_backup_in_the_object_store_comes_back_verified(
    settings: Settings, tmp_path: Path
) -> None:
    from koepon.ops.backup import download, timestamp
    from koepon.ops.commands import backup_to_store, backups_storage

    stamp = timestamp()
    keys = await backup_to_store(settings, stamp)
    assert keys[-1] == f"{stamp}/manifest.json"  # written last: a complete backup has one
    assert {key.split("/", 1)[0] for key in keys} == {stamp}
    storage = backups_storage(settings)
    try:
        await download(storage, stamp, tmp_path / "fetched")
    finally:
        await storage.close()
    assert [d.service for d in verify(tmp_path / "fetched")] == list(SERVICES)

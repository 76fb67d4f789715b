"""``koepon restore``: checks every dump of a backup against its manifest first, then puts each
service's database back (``pg_restore --clean --if-exists`` into its schema or database, or
the SQLite file copied back) and brings it to the newest migration.

Nothing is restored unless every checksum matches: a half-restored platform (one service from
today, another from last week) is worse than the outage.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from koepon.kernel.migrations import upgrade
from koepon.kernel.settings import Settings
from koepon.ops.backup import MANIFEST, Dump, pg_env, pg_tool, sha256_of, target_for


class RestoreRefused(RuntimeError):
    """The backup cannot be trusted (missing file, wrong checksum or size); nothing changed."""


@dataclass(frozen=True)
class Restored:
    service: str
    file: str
    size: int


def verify(backup_dir: Path) -> list[Dump]:
    """The manifest's dumps, once every file exists with its size and SHA-256."""
    manifest_path = backup_dir / MANIFEST
    if not manifest_path.is_file():
        raise RestoreRefused(f"no {MANIFEST} in {backup_dir}: not a complete backup")
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
        dumps = [Dump(**item) for item in raw["dumps"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise RestoreRefused(f"{MANIFEST} is unreadable: {exc}") from None
    problems = []
    for dump in dumps:
        path = backup_dir / dump.file
        if Path(dump.file).name != dump.file or not path.is_file():
            problems.append(f"{dump.service}: {dump.file} is missing")
        elif path.stat().st_size != dump.size:
            problems.append(
                f"{dump.service}: {dump.file} is {path.stat().st_size} bytes, not {dump.size}"
            )
        elif sha256_of(path) != dump.sha256:
            problems.append(f"{dump.service}: {dump.file} does not match its SHA-256")
    if problems:
        raise RestoreRefused("backup refused, nothing restored: " + "; ".join(problems))
    return dumps


def migrations_of(service: str) -> Path:
    module = importlib.import_module(f"koepon.{service}")
    assert module.__file__ is not None
    return Path(module.__file__).parent / "migrations"


async def ensure_database(libpq_url: str, password: str | None) -> None:
    """Create the service's database when it is gone (a lost server, a dropped database)."""
    url = make_url(libpq_url)
    name = url.database
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin, password=password)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _restore_sqlite(dump_path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)  # a WAL of the lost database must not be replayed onto it
    source = sqlite3.connect(dump_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _restore_pg(dump_path: Path, libpq_url: str, env: dict[str, str], service: str) -> None:
    done = subprocess.run(  # noqa: S603 - argv, no shell
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            libpq_url,
            str(dump_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{service}: pg_restore failed: {done.stderr.strip()[-500:]}")


async def restore_from_dir(
    settings: Settings, backup_dir: Path, *, migrate: bool = True
) -> list[Restored]:
    """Verify the whole backup, then restore each service in ``settings`` and migrate it.

    The platform's processes must be stopped (SQLite files are replaced under them)."""
    dumps = verify(backup_dir)
    restored = []
    for dump in dumps:
        target = target_for(settings, dump.service)
        path = backup_dir / dump.file
        if target.sqlite_path is not None:
            if dump.format != "sqlite":
                raise RestoreRefused(f"{dump.service}: a {dump.format} dump cannot fill SQLite")
            _restore_sqlite(path, target.sqlite_path)
            url, schema = settings.database_url_for(dump.service)
        else:
            if dump.format != "pg_custom":
                raise RestoreRefused(f"{dump.service}: a {dump.format} dump cannot fill PostgreSQL")
            assert target.libpq_url is not None
            await ensure_database(target.libpq_url, target.password)
            _restore_pg(path, target.libpq_url, pg_env(target), dump.service)
            url, schema = settings.database_url_for(dump.service)
        if migrate:
            await asyncio.to_thread(upgrade, migrations_of(dump.service), url, schema)
        restored.append(Restored(dump.service, dump.file, dump.size))
    return restored

"""``koepon backup``: one dump per service database, each checksummed, listed in a manifest.

PostgreSQL: ``pg_dump -Fc`` of the service's schema (``-n``) or of its whole database when it
has none. Embedded: SQLite's online backup API, a consistent copy while the platform runs.
The manifest (``manifest.json``) names each file with its SHA-256, size, time and the
service's migration revision; ``restore`` trusts nothing the manifest does not vouch for.

What a backup does not hold, and why (the manifest says so too):

- **Keys and secrets.** No service keeps one in a table: the JWT key, the draw log's signing key,
  the download signing key, webhook secrets, provider keys and the internal token come from the
  environment (the secret store, docs/DEPLOY.md), or outside production from files under
  ``data_dir/keys``, which a backup never copies. Tables hold only hashes of secrets given out
  (refresh and one-time tokens, overlay keys). Restore puts them back from the secret store.
- **Mail bodies** (``NO_DATA``): queued and development mails carry live one-time links
  (verification, password reset) in plain text; a backup keeps the tables, not their rows. A
  restore loses mail not yet sent; the fan asks for a new link.
- **Content files**: they live in the object store (``rewards_contents`` holds their keys and
  checksums), replicated across regions by the store itself (docs/DEPLOY.md "Backups").

Unrevealed server seeds of the provably fair draws are data the platform cannot run without,
so they are in the dump as they are in the database: the backup bucket is private and encrypted
like the database's volumes, and an anonymised staging copy replaces them (``anonymize.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from koepon.kernel.settings import SERVICES, Settings
from koepon.kernel.storage import Storage

MANIFEST = "manifest.json"
# Tables dumped without their rows: they carry live one-time links (see the module's docstring).
NO_DATA: dict[str, tuple[str, ...]] = {"auth": ("outgoing_mail", "dev_mailbox")}
NOT_INCLUDED = {
    "secrets": "keys, signing keys, webhook secrets and tokens: environment / secret store "
    "only (tables hold hashes of what is given out)",
    "content_files": "object store, replicated across regions (docs/DEPLOY.md Backups)",
    "mail_bodies": "rows of the tables in each dump's excluded_data (live one-time links)",
}
PG_CLIENT_MAJOR = 15  # the server's major version: pg_dump refuses a newer server


class BackupError(RuntimeError):
    """A dump could not be taken or written (the message says which service and why)."""


@dataclass(frozen=True)
class Dump:
    """One service's dump as the manifest lists it."""

    service: str
    file: str
    sha256: str
    size: int
    created_at: str
    migration_head: str | None
    format: str  # "pg_custom" or "sqlite"
    schema: str | None = None
    excluded_data: list[str] = field(default_factory=list)  # tables dumped without rows


@dataclass(frozen=True)
class Target:
    """Where one service's data lives: a SQLite file, or a PostgreSQL database (and schema)."""

    service: str
    sqlite_path: Path | None
    libpq_url: str | None
    password: str | None
    schema: str | None


def target_for(settings: Settings, service: str) -> Target:
    url, schema = settings.database_url_for(service)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return Target(service, Path(parsed.database or ""), None, None, None)
    # libpq gets the URL without the password; the password travels in PGPASSWORD, never argv.
    plain = parsed.set(drivername="postgresql", password=None)
    return Target(
        service,
        None,
        plain.render_as_string(hide_password=False),
        parsed.password,
        schema,
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pg_env(target: Target) -> dict[str, str]:
    env = dict(os.environ)
    if target.password:
        env["PGPASSWORD"] = target.password
    return env


def pg_tool(name: str) -> str:
    """The path of ``pg_dump``/``pg_restore``; refuses a client older than the server's 15."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: apt-get install postgresql-client-{PG_CLIENT_MAJOR}"
        )
    version = subprocess.run(  # noqa: S603 - a tool found on PATH, fixed arguments
        [path, "--version"], capture_output=True, text=True, check=False
    )
    major = next((w for w in version.stdout.split() if w[:1].isdigit()), "0").split(".")[0]
    if int(major) < PG_CLIENT_MAJOR:
        raise BackupError(
            f"{name} {major} is older than the server ({PG_CLIENT_MAJOR}): "
            f"apt-get install postgresql-client-{PG_CLIENT_MAJOR}"
        )
    return path


def sqlite_revision(path: Path) -> str | None:
    with closing(sqlite3.connect(path)) as conn:  # closed: a connection left open keeps files
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def pg_revision(target: Target) -> str | None:
    table = f'"{target.schema}".alembic_version' if target.schema else "alembic_version"
    psql = shutil.which("psql")
    if psql is None or target.libpq_url is None:
        return None
    query = f"SELECT version_num FROM {table}"  # noqa: S608 - the service's own schema
    done = subprocess.run(  # noqa: S603 - argv, no shell
        [psql, "-XAtq", "-d", target.libpq_url, "-c", query],
        capture_output=True,
        text=True,
        env=pg_env(target),
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def dump_service(settings: Settings, service: str, out_dir: Path, created_at: str) -> Dump:
    """Dump one service into ``out_dir`` and describe the file."""
    target = target_for(settings, service)
    excluded = list(NO_DATA.get(service, ()))
    if target.sqlite_path is not None:
        if not target.sqlite_path.exists():
            raise BackupError(f"{service}: no database file at {target.sqlite_path}")
        file = out_dir / f"{service}.sqlite"
        source = sqlite3.connect(target.sqlite_path)
        copy = sqlite3.connect(file)
        try:
            source.backup(copy)  # the online backup API: a consistent snapshot beside writers
            _empty_tables(copy, excluded)
            # One self-contained file: no -wal/-shm beside it to upload, lose or mismatch.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        head, kind = sqlite_revision(file), "sqlite"
    else:
        assert target.libpq_url is not None
        file = out_dir / f"{service}.dump"
        argv = [pg_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(file)]
        if target.schema:
            argv += ["-n", target.schema]
        for table in excluded:
            argv.append(f"--exclude-table-data={target.schema or 'public'}.{table}")
        done = subprocess.run(  # noqa: S603 - argv, no shell
            [*argv, "-d", target.libpq_url],
            capture_output=True,
            text=True,
            env=pg_env(target),
            check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"{service}: pg_dump failed: {done.stderr.strip()[-500:]}")
        head, kind = pg_revision(target), "pg_custom"
    return Dump(
        service=service,
        file=file.name,
        sha256=sha256_of(file),
        size=file.stat().st_size,
        created_at=created_at,
        migration_head=head,
        format=kind,
        schema=target.schema,
        excluded_data=excluded,
    )


def _empty_tables(copy: sqlite3.Connection, tables: list[str]) -> None:
    """Delete the rows of ``tables`` in a SQLite copy, then VACUUM so no freed page keeps them."""
    existing = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in tables:
        if table in existing:
            copy.execute(f'DELETE FROM "{table}"')  # noqa: S608 - NO_DATA's names
    copy.commit()
    copy.execute("VACUUM")


def backup_to_dir(
    settings: Settings, out_dir: Path, services: tuple[str, ...] = SERVICES
) -> list[Dump]:
    """Dump every service into ``out_dir`` (created) and write its manifest last, so a
    directory with a manifest is a complete backup."""
    out_dir.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(UTC).isoformat()
    dumps = [dump_service(settings, service, out_dir, created_at) for service in services]
    manifest = {
        "created_at": created_at,
        "dumps": [asdict(d) for d in dumps],
        "not_included": NOT_INCLUDED,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dumps


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


async def upload(storage: Storage, local_dir: Path, prefix: str) -> list[str]:
    """Copy a backup directory to the object store under ``prefix`` (manifest last)."""
    files = await asyncio.to_thread(lambda: sorted(p.name for p in local_dir.iterdir()))
    names = [*(n for n in files if n != MANIFEST), MANIFEST]
    keys = []
    for name in names:
        key = f"{prefix.rstrip('/')}/{name}"
        data = await asyncio.to_thread((local_dir / name).read_bytes)
        await storage.put(key, data, content_type="application/octet-stream")
        keys.append(key)
    return keys


async def download(storage: Storage, prefix: str, local_dir: Path) -> None:
    """Fetch a backup written by ``upload`` into ``local_dir``."""
    await asyncio.to_thread(local_dir.mkdir, parents=True, exist_ok=True)
    for key in await storage.keys(prefix.rstrip("/") + "/"):
        data = await storage.get(key)
        await asyncio.to_thread((local_dir / key.rsplit("/", 1)[-1]).write_bytes, data)

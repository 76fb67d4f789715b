"""``koepon backup``, ``koepon restore`` and ``koepon anonymize`` (docs/RUNBOOK.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from tempfile import TemporaryDirectory

import click

from koepon.kernel.settings import Settings, get_settings
from koepon.kernel.storage import Storage
from koepon.ops.backup import BackupError, backup_to_dir, download, timestamp, upload
from koepon.ops.restore import RestoreRefused, restore_from_dir

S3_SCHEME = "s3"


def backups_storage(settings: Settings) -> Storage:
    """The object store (S3/R2 when configured, else data_dir/objects) under ``backups/``."""
    from koepon.kernel.storage.factory import storage_from_settings

    return storage_from_settings(settings, "backups")


async def backup_to_store(settings: Settings, stamp: str) -> list[str]:
    storage = backups_storage(settings)
    try:
        with TemporaryDirectory(prefix="koepon-backup-") as work:
            backup_to_dir(settings, Path(work))
            return await upload(storage, Path(work), stamp)
    finally:
        await storage.close()


async def restore_from_store(settings: Settings, stamp: str) -> list[str]:
    storage = backups_storage(settings)
    try:
        with TemporaryDirectory(prefix="koepon-restore-") as work:
            await download(storage, stamp, Path(work))
            return [r.service for r in await restore_from_dir(settings, Path(work))]
    finally:
        await storage.close()


@click.command("backup")
@click.option(
    "--to",
    "to",
    required=True,
    help='A local directory, or "s3": the object store under backups/<timestamp>/',
)
def backup_command(to: str) -> None:
    """Dump every service database (pg_dump -Fc / SQLite online backup) with SHA-256 manifest."""
    settings = get_settings()
    try:
        if to == S3_SCHEME:
            stamp = timestamp()
            keys = asyncio.run(backup_to_store(settings, stamp))
            click.echo(f"backup written to the object store: backups/{stamp}/ ({len(keys)} files)")
            return
        dumps = backup_to_dir(settings, Path(to))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for dump in dumps:
        click.echo(f"{dump.service}\t{dump.file}\t{dump.size}\t{dump.sha256}")
    click.echo(f"backup written to {to}", err=True)


@click.command("restore")
@click.option(
    "--from",
    "source",
    required=True,
    help='A backup directory, or "s3:<timestamp>" (backups/<timestamp>/ in the object store)',
)
@click.option("--yes", is_flag=True, help="Replace the databases without asking")
def restore_command(source: str, yes: bool) -> None:
    """Verify every checksum, then replace each service database with its dump and migrate.
    Stop the platform's processes first."""
    settings = get_settings()
    if not yes:
        click.confirm("Replace every service database with this backup?", abort=True)
    try:
        if source.startswith(S3_SCHEME + ":"):
            services = asyncio.run(restore_from_store(settings, source.split(":", 1)[1]))
        else:
            services = [r.service for r in asyncio.run(restore_from_dir(settings, Path(source)))]
    except (RestoreRefused, BackupError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored and migrated: {', '.join(services)}")


def settings_for(location: str, base: Settings) -> Settings:
    """Settings whose databases are ``location``: a PostgreSQL URL or a data directory."""
    if location.startswith("postgresql"):
        return base.model_copy(update={"database_url": location})
    return base.model_copy(update={"database_url": None, "data_dir": Path(location)})


@click.command("anonymize")
@click.option("--from", "source", required=True, help="Source database URL or data directory")
@click.option("--to", "target", required=True, help="Target database URL or data directory")
@click.option(
    "--fans",
    type=click.IntRange(min=0),
    default=None,
    help="Keep this many fans (and everything they touched); default: every fan",
)
@click.option(
    "--fraction",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Keep this fraction of the fans instead of a count (0.05 = 5%)",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Chooses the fans: the same seed and source give the same fans (default: random, printed)",
)
def anonymize_command(
    source: str, target: str, fans: int | None, fraction: float | None, seed: int | None
) -> None:
    """Copy every service into the target, cut it down to a subset of fans (--fans/--fraction)
    and anonymise it for staging; the ledger audit passes on the copy (docs/RUNBOOK.md)."""
    import secrets

    from koepon.ops.anonymize import anonymised_copy
    from koepon.ops.subset import SubsetSpec

    if fans is not None and fraction is not None:
        raise click.UsageError("--fans and --fraction choose the same thing: give one")
    subset = None
    if fans is not None or fraction is not None:
        seed = secrets.randbelow(2**31) if seed is None else seed
        subset = SubsetSpec(fans=fans, fraction=fraction, seed=seed)
    base = get_settings()
    try:
        names = asyncio.run(
            anonymised_copy(settings_for(source, base), settings_for(target, base), subset)
        )
    except (RestoreRefused, BackupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if names.selection is not None:
        click.echo(
            f"subset: {len(names.selection.fans)} fans kept (seed {seed}), "
            f"{len(names.selection.dropped)} accounts dropped"
        )
    click.echo(
        f"anonymised copy ready: {names.users} accounts, {len(names.values)} values replaced, "
        f"{names.seeds_replaced} unrevealed server seeds replaced"
    )

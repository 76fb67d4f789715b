"""Rewards operators' commands: ``koepon trace-leak FILE``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from koepon.contracts.clients import Clients
from koepon.kernel.cache.memory import MemoryCache
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.settings import Settings, get_settings
from koepon.kernel.storage.factory import storage_from_settings
from koepon.rewards import settings as rewards_settings
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads.schemas import TraceResult
from koepon.rewards.models import inbox, outbox
from koepon.rewards.unit import build_services


def _context(settings: Settings) -> RewardsContext:
    """The rewards context for one command: its database and storage, no routes or jobs."""
    url, schema = settings.database_url_for("rewards")
    return RewardsContext(
        settings=settings,
        rewards_settings=rewards_settings.load(settings),
        db=Database(url, schema, pool_size=2),
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=MemoryCache(),
        rate_limiter=RateLimiter(None),
        authenticator=None,  # type: ignore[arg-type]  # no routes are served
        storage=storage_from_settings(settings, "rewards"),
        clients=Clients(),
    )


@click.command("trace-leak")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def trace_leak(file: Path) -> None:
    """Whose copy a leaked image is: the fan whose invisible watermark it carries, or unknown.

    FILE may have been re-encoded (JPEG) or resized; it is compared with the originals of the
    watermarked downloads. Exit status 0 when an owner is found, 1 when unknown."""
    from koepon.rewards.downloads.commands import trace_leak as trace
    from koepon.rewards.downloads.watermark import NotAnImage

    settings = get_settings()
    data = file.read_bytes()

    async def run() -> TraceResult | None:
        ctx = _context(settings)
        try:
            return await trace(build_services(ctx).downloads, data)
        finally:
            await ctx.storage.close()
            await ctx.db.dispose()

    try:
        result = asyncio.run(run())
    except NotAnImage:
        raise click.ClickException(f"{file} is not an image Koepon can read") from None
    if result is None:
        click.echo("unknown: no watermarked download matches this image")
        raise SystemExit(1)
    click.echo(
        f"owner: {result.user_id}\n"
        f"download: {result.download_id}\n"
        f"entitlement: {result.entitlement_id or '-'}\n"
        f"content: {result.content_id}\n"
        f"watermark: {result.watermark_id}\n"
        f"score: {result.score:.3f}"
    )

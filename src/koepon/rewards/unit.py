"""Builds the rewards service: its context, every sub-domain's service, routes, consumers, jobs.

``build_services`` is the one place that knows every rewards service; each is built after the
ones it takes (checks → contents → direct uploads → entitlements → downloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.runtime import Consumer, Runtime, ServiceRoutes, ServiceUnit
from koepon.kernel.storage.factory import storage_from_settings
from koepon.rewards import api, internal_api
from koepon.rewards import settings as rewards_settings
from koepon.rewards.client import InProcessRewardsContents
from koepon.rewards.contents.checks import FileChecks
from koepon.rewards.contents.direct import DirectUploads
from koepon.rewards.contents.service import Contents
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads.exports import Exports
from koepon.rewards.downloads.service import Downloads
from koepon.rewards.downloads.tasks import ExportSweeper
from koepon.rewards.entitlements.service import CONSUMER, TOPICS, Entitlements
from koepon.rewards.models import inbox, outbox
from koepon.rewards.services import RewardsServices


@dataclass
class RewardsUnit(ServiceUnit):
    """The rewards ``ServiceUnit`` with its context and services (commands and tests use them)."""

    context: RewardsContext | None = None
    services: RewardsServices | None = None


def build_context(runtime: Runtime, clients: Clients, db: Database) -> RewardsContext:
    return RewardsContext(
        settings=runtime.settings,
        rewards_settings=rewards_settings.load(runtime.settings),
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=runtime.cache,
        rate_limiter=runtime.rate_limiter,
        authenticator=runtime.authenticator,
        storage=storage_from_settings(runtime.settings, "rewards"),
        clients=clients,
    )


def build_services(ctx: RewardsContext) -> RewardsServices:
    checks = FileChecks(ctx)
    contents = Contents(ctx, checks)
    direct_uploads = DirectUploads(ctx, checks, contents)
    entitlements = Entitlements(ctx, contents)
    downloads = Downloads(ctx, entitlements, contents)
    exports = Exports(ctx, downloads)
    return RewardsServices(
        contents=contents,
        direct_uploads=direct_uploads,
        entitlements=entitlements,
        downloads=downloads,
        exports=exports,
        on_shutdown=[ctx.storage.close],
    )


def build(runtime: Runtime, clients: Clients) -> RewardsUnit:
    url, schema = runtime.settings.database_url_for("rewards")
    db = Database(url, schema)
    ctx = build_context(runtime, clients, db)
    services = build_services(ctx)
    client = InProcessRewardsContents(db, services.contents)
    return RewardsUnit(
        name="rewards",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        routes=lambda: ServiceRoutes(
            api.build_router(ctx, services), internal_api.build_internal_router(ctx, client)
        ),
        client=client,
        consumers=[
            Consumer(CONSUMER, list(TOPICS), services.entitlements.handle),
        ],
        background=[
            services.direct_uploads.sweep_forever,
            ExportSweeper(services.exports).run_forever,
        ],
        on_shutdown=services.on_shutdown,
        context=ctx,
        services=services,
    )

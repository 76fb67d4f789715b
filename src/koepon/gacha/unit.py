"""Builds the gacha service: its context, every sub-domain's service, routes, consumers, jobs.

``build_services`` is the one place that knows every gacha service; each is built after the
ones it takes (catalog, seeds, draw log → draws → audits).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from koepon.contracts.clients import Clients
from koepon.gacha import api
from koepon.gacha import settings as gacha_settings
from koepon.gacha.audit.service import Audits
from koepon.gacha.audit.tasks import NightlyAudit
from koepon.gacha.catalog.authoring import Authoring
from koepon.gacha.catalog.contents import ContentCheck
from koepon.gacha.catalog.proposals import Proposals
from koepon.gacha.catalog.public import PublicCatalog
from koepon.gacha.catalog.reviews import Reviews
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.catalog.teams import TeamPermissions
from koepon.gacha.context import GachaContext
from koepon.gacha.draws.events import DrawRequested
from koepon.gacha.draws.exchanges import Exchanges
from koepon.gacha.draws.profiles import Profiles
from koepon.gacha.draws.reversals import Reversals
from koepon.gacha.draws.saga import DrawSaga
from koepon.gacha.draws.service import Draws
from koepon.gacha.draws.tasks import DrawRecovery, DrawWorker
from koepon.gacha.draws.verification import Verifications
from koepon.gacha.draws.wallets import GuardedWallets
from koepon.gacha.fairness.service import Seeds
from koepon.gacha.models import inbox, outbox
from koepon.gacha.services import GachaServices
from koepon.gacha.transparency.service import DrawLog
from koepon.gacha.transparency.tasks import LogPublisher
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.runtime import Consumer, Runtime, ServiceRoutes, ServiceUnit

# Enough connections for a spike of draws (each saga step holds one briefly).
POOL_SIZE = 20


@dataclass
class GachaUnit(ServiceUnit):
    """The gacha ``ServiceUnit`` with its context and services (commands and tests use them)."""

    context: GachaContext | None = None
    services: GachaServices | None = None


def build_context(runtime: Runtime, clients: Clients, db: Database) -> GachaContext:
    return GachaContext(
        settings=runtime.settings,
        gacha_settings=gacha_settings.load(runtime.settings),
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=runtime.cache,
        authenticator=runtime.authenticator,
        clients=clients,
    )


def build_services(ctx: GachaContext) -> GachaServices:
    own = ctx.gacha_settings
    catalog = Catalog(ctx)
    content_check = ContentCheck(ctx)
    teams = TeamPermissions(ctx)
    seeds = Seeds(ctx)
    draw_log = DrawLog(ctx)
    wallets = GuardedWallets(
        ctx.payment,
        timeout_seconds=own.gacha_payment_timeout_seconds,
        failures=own.gacha_payment_breaker_failures,
        reset_seconds=own.gacha_payment_breaker_reset_seconds,
    )
    profiles = Profiles(ctx.clients.auth)
    saga = DrawSaga(
        ctx, catalog=catalog, seeds=seeds, draw_log=draw_log, wallets=wallets, profiles=profiles
    )
    worker = DrawWorker(saga)
    draws = Draws(ctx, catalog=catalog, draw_log=draw_log, wallets=wallets, profiles=profiles)
    audits = Audits(ctx, catalog)
    reviews = Reviews(ctx, catalog, content_check, teams)
    return GachaServices(
        catalog=catalog,
        authoring=Authoring(ctx, content_check, teams),
        reviews=reviews,
        proposals=Proposals(ctx, catalog, reviews, teams),
        public_catalog=PublicCatalog(ctx, catalog),
        seeds=seeds,
        draw_log=draw_log,
        log_publisher=LogPublisher(draw_log),
        wallets=wallets,
        saga=saga,
        draws=draws,
        draw_worker=worker,
        draw_recovery=DrawRecovery(ctx, worker, draws.gate),
        exchanges=Exchanges(ctx, catalog),
        reversals=Reversals(ctx, catalog),
        verifications=Verifications(catalog=catalog, seeds=seeds, draw_log=draw_log),
        audits=audits,
        nightly_audit=NightlyAudit(audits),
        on_shutdown=[worker.close],
    )


def build(runtime: Runtime, clients: Clients) -> GachaUnit:
    url, schema = runtime.settings.database_url_for("gacha")
    db = Database(
        url, schema, pool_size=POOL_SIZE, replica_url=runtime.settings.database_replica_url
    )
    ctx = build_context(runtime, clients, db)
    services = build_services(ctx)
    return GachaUnit(
        name="gacha",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        routes=lambda: ServiceRoutes(api.build_router(ctx, services)),
        consumers=[
            Consumer("gacha.draws", [DrawRequested.topic], services.draw_worker.handle),
        ],
        background=[
            services.draw_recovery.run_forever,
            services.log_publisher.run_forever,
            services.nightly_audit.run_forever,
        ],
        on_shutdown=services.on_shutdown,
        context=ctx,
        services=services,
    )

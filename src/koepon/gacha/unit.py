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
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext
from koepon.gacha.fairness.service import Seeds
from koepon.gacha.models import inbox, outbox
from koepon.gacha.services import GachaServices
from koepon.gacha.transparency.service import DrawLog
from koepon.gacha.transparency.tasks import LogPublisher
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.runtime import Runtime, ServiceUnit

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
    catalog = Catalog(ctx)
    draw_log = DrawLog(ctx)
    audits = Audits(ctx, catalog)
    return GachaServices(
        catalog=catalog,
        seeds=Seeds(ctx),
        draw_log=draw_log,
        log_publisher=LogPublisher(draw_log),
        audits=audits,
        nightly_audit=NightlyAudit(audits),
    )


def build(runtime: Runtime, clients: Clients) -> GachaUnit:
    url, schema = runtime.settings.database_url_for("gacha")
    db = Database(url, schema, pool_size=POOL_SIZE)
    ctx = build_context(runtime, clients, db)
    services = build_services(ctx)
    return GachaUnit(
        name="gacha",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        router=api.build_router(ctx, services),
        consumers=[],
        background=[services.log_publisher.run_forever, services.nightly_audit.run_forever],
        on_shutdown=services.on_shutdown,
        context=ctx,
        services=services,
    )

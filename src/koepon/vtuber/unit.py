"""Builds the VTuber service: its context, every sub-domain's service, routes, consumers, jobs.

``build_services`` is the one place that knows every VTuber service; each is built after the
ones it takes (gachas → profiles, directory → teams → overlays, sales → payouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.runtime import Consumer, Runtime, ServiceRoutes, ServiceUnit
from koepon.vtuber import api, internal_api
from koepon.vtuber import settings as vtuber_settings
from koepon.vtuber.client import InProcessVtuberTeams
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas import service as gachas_service
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.models import inbox, outbox
from koepon.vtuber.overlays.service import Overlays
from koepon.vtuber.payouts.service import Payouts
from koepon.vtuber.sales import service as sales_service
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.services import VtuberServices
from koepon.vtuber.teams.directory import Directory
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams


@dataclass
class VtuberUnit(ServiceUnit):
    """The VTuber ``ServiceUnit`` with its context and services (commands and tests use them)."""

    context: VtuberContext | None = None
    services: VtuberServices | None = None


def build_context(runtime: Runtime, clients: Clients, db: Database) -> VtuberContext:
    return VtuberContext(
        settings=runtime.settings,
        vtuber_settings=vtuber_settings.load(runtime.settings),
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=runtime.cache,
        rate_limiter=runtime.rate_limiter,
        authenticator=runtime.authenticator,
        clients=clients,
    )


def build_services(ctx: VtuberContext) -> VtuberServices:
    gachas = GachaCopies(ctx)
    profiles = Profiles(ctx, gachas)
    teams = Teams(ctx, profiles)
    sales = Sales(ctx, teams, gachas)
    payouts = Payouts(ctx, profiles, teams, sales)
    return VtuberServices(
        gachas=gachas,
        profiles=profiles,
        directory=Directory(ctx, gachas),
        teams=teams,
        overlays=Overlays(ctx, teams, gachas),
        sales=sales,
        payouts=payouts,
        on_shutdown=[payouts.keys.close],
    )


def build(runtime: Runtime, clients: Clients) -> VtuberUnit:
    url, schema = runtime.settings.database_url_for("vtuber")
    db = Database(url, schema, replica_url=runtime.settings.database_replica_url)
    ctx = build_context(runtime, clients, db)
    services = build_services(ctx)
    client = InProcessVtuberTeams(db, services.teams)
    return VtuberUnit(
        name="vtuber",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        routes=lambda: ServiceRoutes(
            api.build_router(ctx, services), internal_api.build_internal_router(ctx, client)
        ),
        client=client,
        consumers=[
            Consumer(gachas_service.CONSUMER, list(gachas_service.TOPICS), services.gachas.handle),
            Consumer(sales_service.CONSUMER, list(sales_service.TOPICS), services.sales.handle),
        ],
        background=[],
        on_shutdown=services.on_shutdown,
        context=ctx,
        services=services,
    )

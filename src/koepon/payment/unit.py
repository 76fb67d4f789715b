"""Builds the payment service: database, ledger, wallets, reports, routes, client, jobs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.runtime import Consumer, Runtime, ServiceUnit
from koepon.payment import api
from koepon.payment.checkout import unit as purchases_unit  # medal purchases (issue 4)
from koepon.payment.client import InProcessMedalWallets
from koepon.payment.context import PaymentContext
from koepon.payment.ledger.service import Ledger
from koepon.payment.models import inbox, outbox
from koepon.payment.reports.service import PrepaidReports
from koepon.payment.wallet.service import WalletService

# Enough connections for bursts of concurrent spends (each holds one while it waits its turn).
POOL_SIZE = 20


def build(runtime: Runtime, clients: Clients) -> ServiceUnit:
    url, schema = runtime.settings.database_url_for("payment")
    db = Database(url, schema, pool_size=POOL_SIZE)
    ctx = PaymentContext(
        settings=runtime.settings,
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=runtime.cache,
        authenticator=runtime.authenticator,
        clients=clients,
    )
    ctx.ledger = Ledger(ctx.now)
    ctx.wallets = WalletService(ctx)
    ctx.reports = PrepaidReports(db, runtime.settings, ctx.now)

    # Sub-domains' consumers and background jobs: add yours here.
    consumers: list[Consumer] = []
    background: list[Callable[[], Coroutine[Any, Any, None]]] = [ctx.wallets.run_sweeps]
    # Medal purchases (issue 4): packs, providers, checkouts, webhooks, receipts.
    purchases = purchases_unit.build(ctx)
    background += purchases.background

    unit = ServiceUnit(
        name="payment",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        router=api.build_router(ctx),
        internal_router=api.build_internal_router(ctx),
        client=InProcessMedalWallets(ctx),
        consumers=consumers,
        background=background,
        on_shutdown=purchases.on_shutdown,  # medal purchases (issue 4): provider HTTP clients
    )
    unit.context = ctx  # type: ignore[attr-defined]  # tests and commands reach services here
    return unit

"""Operators' payment commands: ``koepon payments reconcile --date YYYY-MM-DD --provider X``."""

from __future__ import annotations

import asyncio
import sys
from datetime import date, datetime

import click

from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.settings import Settings, get_settings
from koepon.payment.receipts.reconciliation import Finding


async def reconcile_day(settings: Settings, *, day: date, provider: str) -> list[Finding]:
    """Our checkouts of one JST day against the provider's own list of payments."""
    from koepon.payment.checkout import unit as purchases_unit
    from koepon.payment.context import PaymentContext
    from koepon.payment.models import inbox, outbox

    url, schema = settings.database_url_for("payment")
    db = Database(url, schema, pool_size=2)
    ctx = PaymentContext(
        settings=settings,
        db=db,
        outbox=Outbox(outbox),
        inbox=Inbox(inbox),
        cache=None,  # type: ignore[arg-type]  # not used by reconciliation
        authenticator=None,  # type: ignore[arg-type]
        clients=Clients(),
    )
    purchases = purchases_unit.build(ctx)
    try:
        findings: list[Finding] = await ctx.services["receipts"].reconcile(
            day=day, provider_name=provider
        )
        return findings
    finally:
        for hook in purchases.on_shutdown:
            await hook()
        await db.dispose()


@click.group("payments")
def payments() -> None:
    """Medal purchases: reconciliation with the payment providers."""


@payments.command("reconcile")
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The JST calendar day, YYYY-MM-DD",
)
@click.option(
    "--provider",
    required=True,
    type=click.Choice(["sandbox", "stripe", "komoju"]),
    help="Whose list of payments to compare with ours",
)
def reconcile_command(day: datetime, provider: str) -> None:
    """Compare our checkouts with the provider's payments for one JST day; print each
    difference (tab-separated) and exit 1 if there is any."""
    settings = get_settings()
    if provider not in settings.payment_providers:
        raise click.BadParameter(f"{provider} is not enabled here", param_hint="--provider")
    findings = asyncio.run(reconcile_day(settings, day=day.date(), provider=provider))
    for finding in findings:
        click.echo(finding.line())
    if findings:
        click.echo(f"{len(findings)} difference(s) with {provider} on {day.date()}", err=True)
        sys.exit(1)
    click.echo(f"{provider} {day.date()}: our records and the provider's agree")

"""Payment operators' commands: ``koepon audit ledger``, ``koepon report prepaid``,
``koepon payments reconcile [--repair]`` and ``koepon payments recover``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import click

from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.settings import Settings, get_settings
from koepon.payment import settings as payment_settings
from koepon.payment.checkout.tasks import RecoveryRun
from koepon.payment.receipts.reconciliation import Finding

if TYPE_CHECKING:
    from koepon.payment.services import PaymentServices


def _database() -> Database:
    url, schema = get_settings().database_url_for("payment")
    return Database(url, schema, pool_size=2)


@click.group("audit")
def audit() -> None:
    """Check invariants and print what breaks."""


@audit.command("ledger")
def audit_ledger_command() -> None:
    """Check every ledger invariant (DESIGN.md "The money"); exit 1 if any is broken."""
    from koepon.payment.wallet.audit import audit_ledger

    async def run() -> list[str]:
        db = _database()
        try:
            return await audit_ledger(db)
        finally:
            await db.dispose()

    violations = asyncio.run(run())
    for violation in violations:
        click.echo(f"VIOLATION {violation}")
    if violations:
        click.echo(f"ledger audit failed: {len(violations)} violation(s)", err=True)
        sys.exit(1)
    click.echo("ledger audit passed: every invariant holds")


@click.group("report")
def report() -> None:
    """Operators' reports."""


@report.command("prepaid")
@click.option(
    "--base-date",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="A base date (3/31 or 9/30, JST), YYYY-MM-DD",
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (summary and daily book)")
def prepaid(base_date: datetime, as_csv: bool) -> None:
    """The base-date unused balance of paid medals (COMPLIANCE M3)."""
    from koepon.payment.reports.prepaid import PrepaidReport, is_base_date
    from koepon.payment.reports.service import PrepaidReports, report_csv, report_dict

    day: date = base_date.date()
    if not is_base_date(day):
        raise click.BadParameter(
            f"{day} is not a base date: use a 3/31 or a 9/30", param_hint="--base-date"
        )

    async def run() -> PrepaidReport:
        db = _database()
        try:
            return await PrepaidReports(
                db, payment_settings.load(get_settings()), lambda: datetime.now(UTC)
            ).report(day)
        finally:
            await db.dispose()

    result = asyncio.run(run())
    if as_csv:
        click.echo(report_csv(result), nl=False)
    else:
        click.echo(json.dumps(report_dict(result), default=str, ensure_ascii=False, indent=2))


@dataclass(frozen=True)
class OtherServices:
    """How operators' commands reach other services (the auth service, whose spending limits a
    repair re-checks before crediting); given by the composition root (``cli.py``)."""

    clients: Callable[[Settings], AbstractAsyncContextManager[Clients]]


@asynccontextmanager
async def _no_clients(settings: Settings) -> AsyncIterator[Clients]:
    yield Clients()


@asynccontextmanager
async def _services(
    settings: Settings, others: OtherServices | None
) -> AsyncIterator[PaymentServices]:
    """The payment services, built for one command (no routes, no background jobs)."""
    from koepon.kernel.cache.memory import MemoryCache
    from koepon.payment.context import PaymentContext
    from koepon.payment.models import inbox, outbox
    from koepon.payment.unit import build_services

    url, schema = settings.database_url_for("payment")
    db = Database(url, schema, pool_size=2)
    async with (others.clients if others else _no_clients)(settings) as clients:
        ctx = PaymentContext(
            settings=settings,
            payment_settings=payment_settings.load(settings),
            db=db,
            outbox=Outbox(outbox),
            inbox=Inbox(inbox),
            cache=MemoryCache(),
            authenticator=None,  # type: ignore[arg-type]  # no routes are served
            clients=clients,
        )
        services = build_services(ctx)
        try:
            yield services
        finally:
            for hook in services.on_shutdown:
                await hook()
            await db.dispose()


async def reconcile_day(
    settings: Settings,
    *,
    day: date,
    provider: str,
    repair: bool = False,
    others: OtherServices | None = None,
) -> tuple[list[Finding], int]:
    """Our checkouts of one JST day against the provider's own list of payments; with
    ``repair``, each difference is fixed through the webhook path (the provider's word applied
    once) and the day compared again. Returns the differences left and how many were fixed."""
    async with _services(settings, others) as services:
        findings = await services.receipts.reconcile(day=day, provider_name=provider)
        if not repair or not findings:
            return findings, 0
        run = await services.payment_recovery.repair(
            [(f.checkout_id, f.reference) for f in findings if f.checkout_id]
        )
        again = await services.receipts.reconcile(day=day, provider_name=provider)
        return again, len(run.applied) + run.refunds_sent


async def recover_once(settings: Settings, others: OtherServices | None = None) -> RecoveryRun:
    """One pass of the lost-webhook recovery job (what the service runs in the background)."""
    async with _services(settings, others) as services:
        run: RecoveryRun = await services.payment_recovery.run_once()
        return run


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
@click.option(
    "--repair",
    is_flag=True,
    help="Apply the provider's word to each difference (as its webhook would), then compare again",
)
def reconcile_command(day: datetime, provider: str, repair: bool) -> None:
    """Compare our checkouts with the provider's payments for one JST day; print each
    difference (tab-separated) and exit 1 if there is any."""
    settings = get_settings()
    if provider not in payment_settings.load(settings).payment_providers:
        raise click.BadParameter(f"{provider} is not enabled here", param_hint="--provider")
    others = click.get_current_context().find_object(OtherServices)
    findings, repaired = asyncio.run(
        reconcile_day(settings, day=day.date(), provider=provider, repair=repair, others=others)
    )
    if repair:
        click.echo(f"{repaired} payment(s) repaired through the webhook path", err=True)
    for finding in findings:
        click.echo(finding.line())
    if findings:
        click.echo(f"{len(findings)} difference(s) with {provider} on {day.date()}", err=True)
        sys.exit(1)
    click.echo(f"{provider} {day.date()}: our records and the provider's agree")


@payments.command("recover")
def recover_command() -> None:
    """Ask the providers about checkouts left unsettled (lost webhooks) and apply their answers
    once; resend refunds still owed. The service runs the same job every minute."""
    settings = get_settings()
    others = click.get_current_context().find_object(OtherServices)
    run = asyncio.run(recover_once(settings, others))
    click.echo(
        f"asked {run.asked}, repaired {len(run.applied)}, refunds sent {run.refunds_sent}, "
        f"unanswered {run.unanswered}"
    )
    for checkout_id in run.applied:
        click.echo(f"repaired\tcheckout={checkout_id}")

"""Payment operators' commands: ``koepon audit ledger`` and ``koepon report prepaid``."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime

import click

from koepon.kernel.db import Database
from koepon.kernel.settings import get_settings


def _database() -> Database:
    url, schema = get_settings().database_url_for("payment")
    return Database(url, schema, pool_size=2)


@click.group("audit")
def audit() -> None:
    """Check invariants and print what breaks."""


@audit.command("ledger")
def audit_ledger_command() -> None:
    """Check every ledger invariant (DESIGN.md "The money"); exit 1 if any is broken."""
    from koepon.payment.ledger.audit import audit_ledger

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
            return await PrepaidReports(db, get_settings(), lambda: datetime.now(UTC)).report(day)
        finally:
            await db.dispose()

    result = asyncio.run(run())
    if as_csv:
        click.echo(report_csv(result), nl=False)
    else:
        click.echo(json.dumps(report_dict(result), default=str, ensure_ascii=False, indent=2))

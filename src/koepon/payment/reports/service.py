"""Prepaid reports from the database: the base-date figures, the daily book, the CSV export."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable
from datetime import date, datetime

from koepon.kernel.db import Database
from koepon.payment.reports.prepaid import (
    LotAtBaseDate,
    Movement,
    PrepaidReport,
    day_end,
    day_start,
    period_start,
    unused_balance_report,
)
from koepon.payment.settings import PaymentSettings
from koepon.payment.wallet import repository as lots_repository


class PrepaidReports:
    def __init__(
        self, db: Database, settings: PaymentSettings, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def report(self, base_date: date) -> PrepaidReport:
        """COMPLIANCE M3 for one base date (raises ``NotABaseDate`` for any other day)."""
        start = period_start(base_date)  # validates the date first
        cutoff = day_end(base_date)
        async with self.db.sessionmaker() as session:
            rows = await lots_repository.paid_lots_used_before(session, cutoff)
            movements = await lots_repository.movements_between(session, day_start(start), cutoff)
        lots = [
            LotAtBaseDate(r.id, r.medals, r.price_jpy, int(r.used), r.issued_at, r.expires_at)
            for r in rows
        ]
        return unused_balance_report(
            base_date,
            lots,
            all_paid_validities=[(r.issued_at, r.expires_at) for r in rows],
            threshold_jpy=self.settings.prepaid_threshold_jpy,
            alert_jpy=self.settings.prepaid_alert_jpy,
            movements=[
                Movement(m.occurred_at, m.kind, m.entry, m.medals, m.value_jpy) for m in movements
            ],
        )


def report_dict(report: PrepaidReport) -> dict[str, object]:
    data = dataclasses.asdict(report)
    return data


SUMMARY_FIELDS = [
    "base_date",
    "unused_paid_medals",
    "unused_balance_jpy",
    "lots_counted",
    "threshold_jpy",
    "exceeds_threshold",
    "alert_threshold_jpy",
    "alert",
    "exempt",
    "obligations_apply",
    "required_deposit_jpy",
    "filing_deadline",
    "period_start",
]


def report_csv(report: PrepaidReport) -> str:
    """The report as CSV: the summary as key,value rows, then the daily book as a table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["item", "value"])
    for name in SUMMARY_FIELDS:
        value = getattr(report, name)
        writer.writerow([name, str(value).lower() if isinstance(value, bool) else value])
    writer.writerow([])
    book_fields = [f.name for f in dataclasses.fields(report.book[0])] if report.book else ["day"]
    writer.writerow(book_fields)
    for day in report.book:
        writer.writerow([getattr(day, name) for name in book_fields])
    return out.getvalue()

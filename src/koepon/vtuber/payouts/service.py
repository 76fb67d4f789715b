"""Monthly statements, payout batches, the 全銀 transfer file and the yen ledger.

``Payouts`` closes JST months (one statement per VTuber with sales or a carried debt, posted to
the yen ledger in the same transaction); ``Payouts.views`` reads statements and reconciles a
month; ``Payouts.batches`` gathers statements into bank-transfer batches, writes their 全銀 file
and marks them paid.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.idempotency import IdempotencyKeys
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import MonthClosedOutOfOrder, MonthClosingInProgress, MonthNotEnded
from koepon.vtuber.models import idempotency_keys
from koepon.vtuber.payouts import months, postings, repository
from koepon.vtuber.payouts.batches import PayoutBatches
from koepon.vtuber.payouts.models import Statement
from koepon.vtuber.payouts.schemas import MonthClosing
from koepon.vtuber.payouts.statements import figures, input_tax_deduction_pct
from koepon.vtuber.payouts.views import StatementViews, month_statements
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams

log = structlog.get_logger(__name__)


class Payouts:
    def __init__(self, ctx: VtuberContext, profiles: Profiles, teams: Teams, sales: Sales) -> None:
        self.ctx = ctx
        self.profiles = profiles
        self.teams = teams
        self.sales = sales
        # Idempotency-Key of the batch creation (the service's own keys table).
        self.keys = IdempotencyKeys(ctx.db, idempotency_keys, clock=ctx.clock)
        self.views = StatementViews(ctx, profiles, teams, sales)
        self.batches = PayoutBatches(ctx, profiles, self.keys)

    async def close_month(
        self, session: AsyncSession, month: str, operator_id: str
    ) -> MonthClosing:
        """Issue the statements of JST ``month`` (ended) for every VTuber with sales in it or a
        debt carried from before, and post them to the yen ledger, in ``session``'s transaction.
        Closing again issues only what is missing (nothing, unless sales arrived late)."""
        months.parse(month)
        now = self.ctx.now()
        if not months.has_ended(month, now):
            raise MonthNotEnded(
                f"{month} ends at {months.end_instant(month).isoformat()} (00:00 JST); "
                "its statements can be issued after that",
                month=month,
            )
        existing = {row.vtuber_id for row in await repository.statements_of_month(session, month)}
        totals = await self.sales.month_totals(session, month)
        debts = await repository.debts_before(session, month)
        to_issue = sorted((set(totals) | set(debts)) - existing)
        if to_issue and await repository.any_statement_after(session, month):
            raise MonthClosedOutOfOrder(
                f"A month after {month} already has statements; close months in order",
                month=month,
            )
        schedule = self.ctx.vtuber_settings.deduction_schedule()
        last_day = months.last_day(month)
        issued: list[Statement] = []
        for vtuber_id in to_issue:
            profile = await self.profiles.get(session, vtuber_id)
            if profile is None:
                # Sales of an id the service does not know: left for reconciliation to show.
                log.warning("vtuber.payouts.unknown_vtuber", vtuber_id=vtuber_id, month=month)
                continue
            result = figures(
                gross_jpy=totals.get(vtuber_id, 0),
                share_bp=profile.revenue_share_bp,
                carried_in_jpy=debts.get(vtuber_id, 0),
                entity_type=profile.entity_type,
            )
            row = Statement(
                id=str(uuid.uuid4()),
                vtuber_id=vtuber_id,
                month=month,
                gross_jpy=result.gross_jpy,
                revenue_share_bp=result.revenue_share_bp,
                vtuber_share_jpy=result.vtuber_share_jpy,
                platform_fee_jpy=result.platform_fee_jpy,
                carried_in_jpy=result.carried_in_jpy,
                payable_jpy=result.payable_jpy,
                withholding_jpy=result.withholding_jpy,
                net_payable_jpy=result.net_payable_jpy,
                carried_out_jpy=result.carried_out_jpy,
                entity_type=profile.entity_type,
                invoice_number=profile.invoice_number,
                input_tax_deduction_pct=input_tax_deduction_pct(
                    last_day=last_day,
                    invoice_number=profile.invoice_number,
                    invoice_registered_on=profile.invoice_registered_on,
                    schedule=schedule,
                ),
                status="issued",
                batch_id=None,
                issued_at=now,
                issued_by=operator_id,
                paid_at=None,
            )
            issued.append(row)
        try:
            await repository.add(session, issued)
            for row in issued:
                await repository.post(
                    session,
                    row.id,
                    postings.closing(
                        vtuber_id=row.vtuber_id,
                        gross_jpy=row.gross_jpy,
                        vtuber_share_jpy=row.vtuber_share_jpy,
                        withholding_jpy=row.withholding_jpy,
                    ),
                    now,
                )
        except IntegrityError as exc:
            raise MonthClosingInProgress(
                f"{month} is being closed by another request; retry to see its statements",
                headers={"Retry-After": "1"},
            ) from exc
        log.info("vtuber.month_closed", month=month, issued=len(issued), operator_id=operator_id)
        closing = month_statements(month, await repository.statements_of_month(session, month))
        return MonthClosing(**closing.model_dump(), issued=len(issued), requested_by=operator_id)

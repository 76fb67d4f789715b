"""What payouts show: statements (a VTuber's, a month's) and the month's reconciliation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission
from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import NotAllowed, StatementNotFound, VtuberNotFound
from koepon.vtuber.payouts import postings, repository
from koepon.vtuber.payouts.models import Statement, YenTransfer
from koepon.vtuber.payouts.schemas import (
    AccountCheck,
    GachaLine,
    GrossMismatch,
    MonthStatements,
    MonthTotals,
    Reconciliation,
    StatementDetail,
    StatementPage,
    StatementRead,
)
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams

# Platform roles that read every VTuber's statements (R2 filings, audits).
READER_ROLES = ("admin", "compliance")


def statement_read(row: Statement) -> StatementRead:
    return StatementRead(
        id=row.id,
        vtuber_id=row.vtuber_id,
        month=row.month,
        entity_type=row.entity_type,
        gross_jpy=row.gross_jpy,
        revenue_share_bp=row.revenue_share_bp,
        vtuber_share_jpy=row.vtuber_share_jpy,
        platform_fee_jpy=row.platform_fee_jpy,
        carried_in_jpy=row.carried_in_jpy,
        payable_jpy=row.payable_jpy,
        withholding_jpy=row.withholding_jpy,
        net_payable_jpy=row.net_payable_jpy,
        carried_out_jpy=row.carried_out_jpy,
        invoice_number=row.invoice_number,
        input_tax_deduction_pct=row.input_tax_deduction_pct,
        status=row.status,
        batch_id=row.batch_id,
        issued_at=row.issued_at,
        paid_at=row.paid_at,
    )


def month_statements(month: str, rows: list[Statement]) -> MonthStatements:
    return MonthStatements(
        month=month,
        statements=[statement_read(row) for row in rows],
        totals=MonthTotals(
            gross_jpy=sum(row.gross_jpy for row in rows),
            vtuber_share_jpy=sum(row.vtuber_share_jpy for row in rows),
            platform_fee_jpy=sum(row.platform_fee_jpy for row in rows),
            withholding_jpy=sum(row.withholding_jpy for row in rows),
            net_payable_jpy=sum(row.net_payable_jpy for row in rows),
        ),
    )


def expected_postings(row: Statement) -> set[tuple[str, str, int, str]]:
    entries = postings.closing(
        vtuber_id=row.vtuber_id,
        gross_jpy=row.gross_jpy,
        vtuber_share_jpy=row.vtuber_share_jpy,
        withholding_jpy=row.withholding_jpy,
    )
    if row.status == "paid":
        entries += postings.payout(vtuber_id=row.vtuber_id, net_payable_jpy=row.net_payable_jpy)
    return {(e.debit_account, e.credit_account, e.amount_jpy, e.reason) for e in entries}


def _posted(rows: list[YenTransfer]) -> dict[str, set[tuple[str, str, int, str]]]:
    by_ref: dict[str, set[tuple[str, str, int, str]]] = {}
    for row in rows:
        by_ref.setdefault(row.ref, set()).add(
            (row.debit_account, row.credit_account, row.amount_jpy, row.reason)
        )
    return by_ref


class StatementViews:
    def __init__(self, ctx: VtuberContext, profiles: Profiles, teams: Teams, sales: Sales) -> None:
        self.ctx = ctx
        self.profiles = profiles
        self.teams = teams
        self.sales = sales

    async def authorize(self, session: AsyncSession, vtuber_id: str, principal: Principal) -> None:
        """The caller may read ``vtuber_id``'s statements (payout.read, admin or compliance)."""
        if not principal.has_any(*READER_ROLES):
            allowed = await self.teams.permissions(
                session, vtuber_id, principal.user_id, principal.roles
            )
            if Permission.PAYOUT_READ not in allowed:
                raise NotAllowed("Reading statements needs payout.read for this VTuber")
        if await self.profiles.get(session, vtuber_id) is None:
            raise VtuberNotFound("No such VTuber")

    async def of_vtuber(
        self, session: AsyncSession, vtuber_id: str, *, cursor: str | None, limit: int
    ) -> StatementPage:
        rows = await repository.statements_of_vtuber(
            session, vtuber_id, before=cursor, limit=limit + 1
        )
        page = rows[:limit]
        return StatementPage(
            items=[statement_read(row) for row in page],
            next_cursor=page[-1].month if len(rows) > limit else None,
        )

    async def one(self, session: AsyncSession, vtuber_id: str, month: str) -> StatementDetail:
        row = await repository.statement(session, vtuber_id, month)
        if row is None:
            raise StatementNotFound(f"No statement of {month} for this VTuber")
        lines = await self.sales.month_breakdown(session, vtuber_id, month)
        return StatementDetail(
            **statement_read(row).model_dump(),
            gachas=[
                GachaLine(
                    gacha_id=line.gacha_id,
                    title=line.title,
                    draws=line.draws,
                    paid_medals=line.paid_medals,
                    free_medals=line.free_medals,
                    value_jpy=line.value_jpy,
                    refunds_jpy=line.refunds_jpy,
                    net_jpy=line.net_jpy,
                )
                for line in lines
            ],
        )

    async def of_month(self, session: AsyncSession, month: str) -> MonthStatements:
        return month_statements(month, await repository.statements_of_month(session, month))

    async def reconciliation(self, session: AsyncSession, month: str) -> Reconciliation:
        """Σ statements' gross = Σ sales of the month (per VTuber too); each statement's ledger
        transfers are exactly its figures; every account's balance = what all statements say."""
        rows = await repository.statements_of_month(session, month)
        sales = await self.sales.month_totals(session, month)
        by_vtuber = {row.vtuber_id: row for row in rows}
        mismatches: list[GrossMismatch] = []
        for vtuber_id in sorted(set(sales) | set(by_vtuber)):
            issued, sold = by_vtuber.get(vtuber_id), sales.get(vtuber_id, 0)
            if (issued is None and sold != 0) or (issued is not None and issued.gross_jpy != sold):
                mismatches.append(
                    GrossMismatch(
                        vtuber_id=vtuber_id,
                        statement_gross_jpy=None if issued is None else issued.gross_jpy,
                        sales_gross_jpy=sold,
                    )
                )
        posted = _posted(await repository.transfers_of(session, [row.id for row in rows]))
        unposted = [row.id for row in rows if posted.get(row.id, set()) != expected_postings(row)]
        totals = await repository.statement_totals(session)
        expected = {
            postings.MEDAL_VALUE: -totals["gross"],
            postings.PLATFORM_SALES: totals["gross"] - totals["share"],
            "vtuber:*:payable": totals["share"] - totals["withholding"] - totals["paid"],
            postings.WITHHOLDING: totals["withholding"],
            postings.BANK: totals["paid"],
        }
        accounts = []
        for account, want in expected.items():
            actual = (
                await repository.payables_balance(session)
                if account == "vtuber:*:payable"
                else await repository.balance(session, account)
            )
            accounts.append(
                AccountCheck(
                    account=account, expected_jpy=want, actual_jpy=actual, balanced=want == actual
                )
            )
        statements_gross = sum(row.gross_jpy for row in rows)
        sales_gross = sum(sales.values())
        return Reconciliation(
            month=month,
            statements=len(rows),
            statements_gross_jpy=statements_gross,
            sales_gross_jpy=sales_gross,
            gross_mismatches=mismatches,
            unposted_statements=unposted,
            accounts=accounts,
            balanced=statements_gross == sales_gross
            and not mismatches
            and not unposted
            and all(check.balanced for check in accounts),
        )

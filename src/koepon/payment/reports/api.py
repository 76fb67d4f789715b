"""Operators' report routes: the base-date prepaid balance (COMPLIANCE M3), JSON or CSV."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from koepon.kernel.problems import Problem
from koepon.kernel.tokens import Principal
from koepon.payment.context import PaymentContext, provide
from koepon.payment.reports.prepaid import is_base_date
from koepon.payment.reports.schemas import PrepaidReportRead
from koepon.payment.reports.service import PrepaidReports, report_csv, report_dict


def build_router(ctx: PaymentContext, reports: PrepaidReports) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin/reports", tags=["reports"])
    Reader = Annotated[Principal, Depends(ctx.authenticator.roles("admin", "compliance"))]
    Reports = Annotated[PrepaidReports, Depends(provide(reports))]

    @router.get(
        "/prepaid-balance",
        response_model=PrepaidReportRead,
        responses={200: {"content": {"text/csv": {}}}},
    )
    async def prepaid_balance(
        principal: Reader,
        reports: Reports,
        base_date: Annotated[date, Query(description="A 3/31 or 9/30 (JST)")],
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Any:
        if not is_base_date(base_date):
            raise Problem(
                422,
                "not_a_base_date",
                f"{base_date.isoformat()} is not a base date: use a 3/31 or a 9/30",
            )
        report = await reports.report(base_date)
        if format == "csv":
            return Response(
                report_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="prepaid-{base_date}.csv"'},
            )
        return report_dict(report)

    return router

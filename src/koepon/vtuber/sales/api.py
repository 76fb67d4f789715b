"""The sales routes (API.md "VTuber studio"): the report per gacha and JST day, as JSON, as a
CSV sheet and as an SVG chart, for callers holding ``sales.read`` for the VTuber."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext, provide
from koepon.vtuber.sales.chart import sales_chart
from koepon.vtuber.sales.schemas import SalesReport
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.sales.sheet import sales_csv

VtuberId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,36}$")]
From = Annotated[
    date | None,
    Query(alias="from", description="First JST day (YYYY-MM-DD); default: 29 days before to"),
]
To = Annotated[
    date | None, Query(alias="to", description="Last JST day (YYYY-MM-DD); default: today")
]
GachaFilter = Annotated[
    str | None, Query(pattern=r"^[0-9A-Za-z_.:-]{1,64}$", description="Only this gacha")
]
Metric = Annotated[Literal["value_jpy", "draws"], Query(description="What the bars show")]
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
REFUSALS: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "forbidden: the caller lacks sales.read for this VTuber"},
    422: {"description": "validation_failed (a malformed parameter) or invalid_range"},
}


def build_router(ctx: VtuberContext, sales: Sales) -> APIRouter:
    router = APIRouter(prefix="/api/v1/vtubers/{vtuber_id}", tags=["sales"])
    Caller = Annotated[Principal, Depends(ctx.authenticator.user)]
    Session = Annotated[AsyncSession, Depends(ctx.db.session_dependency, scope="function")]
    SalesDep = Annotated[Sales, Depends(provide(sales))]

    async def report(
        vtuber_id: VtuberId,
        principal: Caller,
        session: Session,
        sales: SalesDep,
        start: From = None,
        end: To = None,
        gacha_id: GachaFilter = None,
    ) -> SalesReport:
        return await sales.report(
            session,
            vtuber_id=vtuber_id,
            user_id=principal.user_id,
            roles=principal.roles,
            start=start,
            end=end,
            gacha_id=gacha_id,
        )

    Report = Annotated[SalesReport, Depends(report)]

    @router.get("/sales", response_model=SalesReport, responses=REFUSALS)
    async def sales_report(found: Report) -> SalesReport:
        """Per gacha and JST day: slots drawn, paid and free medals, this VTuber's yen value
        of the paid medals (free medals earn nothing, COMPLIANCE R1), refunds, distinct fans
        (counts only), rarities and, for boxes, the sell-through of their stock."""
        return found

    @router.get(
        "/sales.csv",
        responses={**REFUSALS, 200: {"content": {"text/csv": {}}}},
        response_class=Response,
    )
    async def sales_sheet(found: Report, vtuber_id: VtuberId) -> Response:
        """The report's rows per gacha and day as CSV for Excel (UTF-8 with BOM)."""
        name = f"sales-{vtuber_id}-{found.from_.isoformat()}-{found.to.isoformat()}.csv"
        return Response(
            sales_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )

    @router.get(
        "/sales/chart.svg",
        responses={**REFUSALS, 200: {"content": {"image/svg+xml": {}}}},
        response_class=Response,
    )
    async def sales_chart_svg(found: Report, metric: Metric = "value_jpy") -> Response:
        """A bar per JST day of the report's ``metric`` (server-rendered SVG, no script)."""
        return Response(
            sales_chart(found, metric),
            media_type="image/svg+xml",
            headers={
                "Content-Security-Policy": CHART_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )

    return router

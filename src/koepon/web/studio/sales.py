"""Sales: the report by JST month or days, its chart and CSV (fetched from the API as the
visitor and passed on with the API's own headers), and the monthly statements."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from koepon.web.rendering import render
from koepon.web.studio.access import VtuberId, may, member_who_may, membership, take_notice
from koepon.web.viewer import Viewer, signed_in

router = APIRouter(include_in_schema=False)
Month = Annotated[str, Path(pattern=r"^\d{4}-\d{2}$")]
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PASSED_ON = ("content-type", "content-disposition", "content-security-policy",
             "x-content-type-options", "cache-control")  # fmt: skip


def period(month: str | None, start: str | None, end: str | None) -> dict[str, str | None]:
    """The report's ``from``/``to`` from a month (``2026-11``) or days; None: the API's default."""
    if month and MONTH.match(month):
        year, number = (int(part) for part in month.split("-"))
        last = calendar.monthrange(year, number)[1]
        return {"from": f"{month}-01", "to": date(year, number, last).isoformat()}
    return {
        "from": start if start and DAY.match(start) else None,
        "to": end if end and DAY.match(end) else None,
    }


Filter = Annotated[str | None, Query(max_length=10)]
GachaFilter = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")]


@router.get("/studio/{vtuber_id}/sales")
async def sales_page(
    vtuber_id: VtuberId,
    seen: Viewer = Depends(signed_in),
    month: Filter = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    gacha_id: GachaFilter = None,
) -> Response:
    member = await member_who_may(seen, vtuber_id, "sales.read")
    chosen = {**period(month, start, end), "gacha_id": gacha_id}
    report = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/sales", **chosen)
    query = "&".join(f"{k}={v}" for k, v in chosen.items() if v)
    statements = []
    if may(member, "payout.read"):
        statements = (await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/statements"))["items"]
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "report": report,
        "month": month if month and MONTH.match(month) else "",
        "query": query,
        "statements": statements,
        "notice": take_notice(seen),
    }
    return render(seen, "studio/sales.html", context, personal=True)


async def _passed_on(seen: Viewer, path: str, params: dict[str, str | None]) -> Response:
    clean = {k: v for k, v in params.items() if v}
    answer = await seen.api.request("GET", path, params=clean or None)
    headers = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_ON}
    headers.setdefault("cache-control", "private, no-store")
    return Response(answer.content, headers=headers)


@router.get("/studio/{vtuber_id}/sales/chart.svg")
async def chart(
    vtuber_id: VtuberId,
    seen: Viewer = Depends(signed_in),
    month: Filter = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    gacha_id: GachaFilter = None,
    metric: Annotated[str, Query(pattern=r"^(value_jpy|draws)$")] = "value_jpy",
) -> Response:
    await member_who_may(seen, vtuber_id, "sales.read")
    params = {**period(month, start, end), "gacha_id": gacha_id, "metric": metric}
    return await _passed_on(seen, f"/api/v1/vtubers/{vtuber_id}/sales/chart.svg", params)


@router.get("/studio/{vtuber_id}/sales.csv")
async def sheet(
    vtuber_id: VtuberId,
    seen: Viewer = Depends(signed_in),
    month: Filter = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    gacha_id: GachaFilter = None,
) -> Response:
    await member_who_may(seen, vtuber_id, "sales.read")
    params = {**period(month, start, end), "gacha_id": gacha_id}
    return await _passed_on(seen, f"/api/v1/vtubers/{vtuber_id}/sales.csv", params)


@router.get("/studio/{vtuber_id}/statements/{month}")
async def statement(
    vtuber_id: VtuberId, month: Month, seen: Viewer = Depends(signed_in)
) -> Response:
    member = await membership(seen, vtuber_id)
    found = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/statements/{month}")
    context = {"vtuber_id": vtuber_id, "member": member, "statement": found}
    return render(seen, "studio/statement.html", context, personal=True)

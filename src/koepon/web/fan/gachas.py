"""Public gacha pages: the home page (live and upcoming gachas, VTubers), a gacha's page with
the full odds disclosure (COMPLIANCE G6, G7) and the live box stock partial."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from koepon.web import legal
from koepon.web.fan import odds
from koepon.web.gateway_client import ApiProblem
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, viewer

router = APIRouter(include_in_schema=False)

GachaId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


async def vtuber_of(seen: Viewer, vtuber_id: str) -> dict[str, Any] | None:
    """A VTuber's public profile, or None when it is not public."""
    try:
        found: dict[str, Any] = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}")
    except ApiProblem as problem:
        if problem.status in (404, 422):
            return None
        raise
    return found


async def _vtubers(seen: Viewer, gachas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The directory's first page; derived from the gachas if the directory is not there."""
    try:
        page = await seen.api.get("/api/v1/vtubers", limit=24)
        return list(page.get("items") or [])
    except ApiProblem as problem:
        if problem.status not in (404, 405):
            raise
    found: list[dict[str, Any]] = []
    for vtuber_id in dict.fromkeys(str(g["vtuber_id"]) for g in gachas):
        profile = await vtuber_of(seen, vtuber_id)
        if profile is not None:
            found.append(profile)
    return found


def base_url(seen: Viewer) -> str:
    return str(seen.request.base_url).rstrip("/")


@router.get("/")
async def home(seen: Viewer = Depends(viewer)) -> Response:
    page = await seen.api.get("/api/v1/gachas", limit=50)
    gachas = list(page.get("items") or [])
    vtubers = await _vtubers(seen, gachas)
    names = {str(v["id"]): v.get("display_name", "") for v in vtubers}
    context = {
        "live": [g for g in gachas if g.get("phase") == "live"],
        "upcoming": [g for g in gachas if g.get("phase") == "scheduled"],
        "vtubers": vtubers,
        "names": names,
        "no_cancel_notice": legal.NO_CANCEL_NOTICE,
        "page_url": base_url(seen) + "/",
    }
    return render(seen, "fan/home.html", context)


@router.get("/gachas/{gacha_id}")
async def gacha_page(gacha_id: GachaId, seen: Viewer = Depends(viewer)) -> Response:
    gacha = await seen.api.get(f"/api/v1/gachas/{gacha_id}")
    vtuber = await vtuber_of(seen, str(gacha["vtuber_id"]))
    gacha_odds = gacha.get("odds") or {}
    totals = gacha_odds.get("rarity_totals") or {}
    tables = odds.ordered_tables(gacha_odds)
    charts = []
    for name, _lines in tables:
        bars = odds.chart_bars(totals.get(name) or [])
        if bars:
            charts.append({"name": name, "bars": bars, "height": odds.chart_height(bars)})
    context = {
        "gacha": gacha,
        "vtuber": vtuber,
        "tables": tables,
        "totals": totals,
        "charts": charts,
        "table_title": odds.table_title,
        "stock": odds.stock_of(gacha),
        "items": odds.item_names(gacha),
        "page_url": f"{base_url(seen)}/gachas/{gacha['id']}",
        "no_cancel_notice": gacha.get("no_cancellation_notice") or legal.NO_CANCEL_NOTICE,
    }
    return render(seen, "fan/gacha.html", context)


@router.get("/gachas/{gacha_id}/stock")
async def stock_partial(gacha_id: GachaId, seen: Viewer = Depends(viewer)) -> Response:
    """The box's remaining stock alone (fetched again when the socket says it changed)."""
    gacha = await seen.api.get(f"/api/v1/gachas/{gacha_id}")
    response = render(seen, "fan/_stock.html", {"gacha": gacha, "stock": odds.stock_of(gacha)})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/gachas/{gacha_id}/odds")
async def odds_log(gacha_id: GachaId, seen: Viewer = Depends(viewer)) -> Response:
    """Every published odds version of a gacha, newest last (the API serves each in full)."""
    gacha = await seen.api.get(f"/api/v1/gachas/{gacha_id}")
    log = await seen.api.get(f"/api/v1/gachas/{gacha_id}/odds")
    context = {"gacha": gacha, "versions": log.get("versions") or []}
    return render(seen, "fan/odds_log.html", context)

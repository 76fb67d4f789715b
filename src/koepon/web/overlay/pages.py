"""The stream overlay: a page a VTuber adds to OBS as a browser source (COMPLIANCE I1).

The secret token in the URL is resolved by the API; the page gets a realtime ticket for that
VTuber's overlay room only, and always shows a link and a QR code to the odds page of each live
gacha. The token is never logged and the page is never cached or sent on as a referrer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from koepon.kernel.realtime_tickets import issue_ticket, overlay_room
from koepon.web.gateway_client import ApiProblem
from koepon.web.overlay.qr import qr_data_uri
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, viewer

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=8, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
TICKET_SECONDS = 12 * 3600  # an overlay stays open for a whole stream


@router.get("/overlay/{token}")
async def overlay(token: Token, seen: Viewer = Depends(viewer)) -> Response:
    try:
        found = await seen.api.get(f"/api/v1/overlays/{token}")
    except ApiProblem as problem:
        if problem.status in (404, 422):
            return _private(render(seen, "overlay/unknown.html", status_code=404, personal=True))
        raise
    vtuber_id = str(found["vtuber_id"])
    ticket = await issue_ticket(
        seen.request.app.state.web_sessions.cache, [overlay_room(vtuber_id)], TICKET_SECONDS
    )
    base = str(seen.request.base_url).rstrip("/")
    gachas: list[dict[str, Any]] = []
    for gacha in found.get("live_gachas") or []:
        url = f"{base}/gachas/{gacha['id']}"
        gachas.append({"title": gacha.get("title", ""), "url": url, "qr": qr_data_uri(url)})
    page = render(
        seen,
        "overlay/live.html",
        {
            "display_name": found.get("display_name", ""),
            "gachas": gachas,
            "ticket": ticket,
        },
        personal=True,
    )
    return _private(page)


def _private(response: Response) -> Response:
    """Never cached; the secret URL never leaves as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

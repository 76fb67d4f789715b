"""Routes of the fan pages: they render HTML; all data comes from the public API in the browser."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from koepon.web import account_pages, legal

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
static_files = StaticFiles(directory=HERE / "static")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NO_CANCEL_NOTICE = legal.NO_CANCEL_NOTICE
MINORS_NOTICE = legal.MINORS_NOTICE


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "home.html",
            {"no_cancel_notice": NO_CANCEL_NOTICE, "minors_notice": MINORS_NOTICE},
        )

    @router.get("/checkouts/{checkout_id}/{outcome}", response_class=HTMLResponse)
    async def checkout_return(request: Request, checkout_id: str, outcome: str) -> HTMLResponse:
        """Where a payment provider sends the fan back; the page asks the API for the status."""
        if outcome not in ("success", "cancel") or not _ID.match(checkout_id):
            return templates.TemplateResponse(request, "not_found.html", status_code=404)
        return templates.TemplateResponse(
            request, "checkout_return.html", {"checkout_id": checkout_id, "outcome": outcome}
        )

    router.include_router(account_pages.build_router(templates))
    router.include_router(legal.build_router(templates))
    return router

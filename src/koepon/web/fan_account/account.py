"""The fan's account page: profile (age bracket, never the birth date), email verification,
language, links to the limits, sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import RedirectResponse, Response

from koepon.web.fan_account.forms import signed_form
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, signed_in

router = APIRouter(include_in_schema=False)


@router.get("/account")
async def account_page(sent: str | None = None, seen: Viewer = Depends(signed_in)) -> Response:
    me = await seen.api.get("/api/v1/me")
    return render(seen, "fan_account/account.html", {"me": me, "sent": bool(sent)}, personal=True)


@router.post("/account/verify-email")
async def resend_verification(seen: Viewer = Depends(signed_form)) -> Response:
    await seen.api.send("POST", "/api/v1/auth/verify-email/request")
    return RedirectResponse("/account?sent=1", status_code=303)

"""The pages the auth mails link to: they finish email verification and password reset in the
browser, calling the public auth API (the token stays in the page, never in a form post)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates


def build_router(templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/verify-email", response_class=HTMLResponse)
    async def verify_email(request: Request) -> HTMLResponse:
        return _private(templates.TemplateResponse(request, "account/verify_email.html"))

    @router.get("/password-reset", response_class=HTMLResponse)
    async def password_reset(request: Request) -> HTMLResponse:
        return _private(templates.TemplateResponse(request, "account/password_reset.html"))

    return router


def _private(response: HTMLResponse) -> HTMLResponse:
    # Opened with a one-time token in the URL: keep it out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

"""The pages the auth mails link to: they finish email verification and password reset in the
browser, calling the public auth API (the token stays in the page, never in a form post)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from koepon.web.i18n import gettext as _
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, viewer


def messages() -> dict[str, str]:
    """What account.js says, in the visitor's language (JS reads them from a JSON block)."""
    return {
        "incomplete": _("The link is incomplete. Open the link from the mail as it is."),
        "verified": _("Your email address is verified."),
        "invalid": _("This link is invalid, expired or already used."),
        "sent": _("If the address is registered, a link is on its way."),
        "differ": _("The two passwords differ."),
        "changed": _("Password changed: sign in with the new one."),
    }


def build_router(templates: Jinja2Templates | None = None) -> APIRouter:
    """``templates`` is unused (kept for the caller's signature)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/verify-email", response_class=HTMLResponse)
    async def verify_email(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        page = render(seen, "account/verify_email.html", {"messages": messages()}, personal=True)
        return _private(page)

    @router.get("/password-reset", response_class=HTMLResponse)
    async def password_reset(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        page = render(seen, "account/password_reset.html", {"messages": messages()}, personal=True)
        return _private(page)

    return router


def _private(response: HTMLResponse) -> HTMLResponse:
    # Opened with a one-time token in the URL: keep it out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

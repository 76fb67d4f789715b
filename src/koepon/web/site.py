"""The web app on the gateway: pages, static files, the web session store, error pages.

Pages call the public API through the gateway (``gateway_client``) as the visitor, so they are
served by whatever process runs the gateway (the embedded platform or the gateway process).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from koepon.kernel.cache import Cache
from koepon.kernel.routers import attach
from koepon.web import pages
from koepon.web.assets import Assets
from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.rendering import templates, use_assets
from koepon.web.sessions import SESSION_COOKIE, WebSessions
from koepon.web.viewer import LoginRequired, PageForbidden, SessionsUnavailable, login_url


def install_web(app: FastAPI, cache: Cache, *, public_url: str = "") -> None:
    app.state.web_sessions = WebSessions(cache)
    app.state.web_public_https = public_url.startswith("https://")
    assets = Assets()
    use_assets(assets.url)
    attach(app, assets.router())
    attach(app, pages.build_router())
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _forbidden)
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(SessionsUnavailable, _sessions_unavailable)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if request.headers.get("hx-request"):
        return Response(
            status_code=401,
            headers={"HX-Redirect": login_url(exc.next_path), "Cache-Control": "no-store"},
        )
    return RedirectResponse(
        login_url(exc.next_path), status_code=303, headers={"Cache-Control": "no-store"}
    )


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    return error_page(
        request, 403, _("Not allowed"), _("You cannot open this page or send this form.")
    )


async def _api_problem(request: Request, exc: Exception) -> Response:
    """An API refusal a page did not handle itself, shown as a page (never a stack trace)."""
    assert isinstance(exc, ApiProblem)
    if exc.status == 401:
        response = RedirectResponse(login_url(request.url.path), status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
    if exc.status == 404:
        return error_page(
            request, 404, _("Not found"), _("This page does not exist or is not public.")
        )
    if exc.status == 403:
        return error_page(
            request, 403, _("Not allowed"), _("You cannot open this page or send this form.")
        )
    if exc.status == 429:
        return error_page(
            request, 429, _("Too many requests"), _("Please wait a moment and try again.")
        )
    if exc.status < 500:
        return error_page(request, exc.status, _("Request refused"), exc.detail)
    return error_page(
        request,
        503,
        _("Temporarily unavailable"),
        _(
            "Part of Koepon is not answering right now. "
            "Nothing was charged; please try again shortly."
        ),
    )


async def _sessions_unavailable(request: Request, exc: Exception) -> Response:
    response = error_page(
        request,
        503,
        _("Temporarily unavailable"),
        _(
            "Part of Koepon is not answering right now. "
            "Nothing was charged; please try again shortly."
        ),
    )
    response.headers["Retry-After"] = "5"
    return response


def error_page(request: Request, status: int, heading: str, message: str) -> Response:
    response = templates.TemplateResponse(
        request,
        "errors/error.html",
        {"heading": heading, "message": message},
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response

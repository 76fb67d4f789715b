"""Templates and how a page answer is cached.

Autoescaping is on for every template: text a VTuber or fan typed is always shown as text.
Personal pages are ``no-store``; public pages may be kept briefly by the browser and shared
caches, and only when nobody is signed in (the header shows who is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from koepon.web import formats, i18n

if TYPE_CHECKING:
    from koepon.web.viewer import Viewer

TEMPLATES = Path(__file__).parent / "templates"
PUBLIC_SECONDS = 60

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)
templates.env.filters.update(
    yen=formats.yen,
    number=formats.number,
    day=formats.day,
    moment=formats.moment,
    percent=formats.ppm_percent,
)
templates.env.globals["languages"] = i18n.LANGUAGES


def use_assets(url: Callable[[str], str]) -> None:
    """Where static files are served (content-hashed names once built)."""
    templates.env.globals["asset"] = url


use_assets(lambda name: f"/static/{name}")


class _LazyToken:
    """The CSRF token, made only when a page prints it: an anonymous visitor gets its cookie
    with a form, never with every public (cacheable) page."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer

    def __str__(self) -> str:
        return self.viewer.csrf_token

    def __html__(self) -> str:
        return self.viewer.csrf_token


def render(
    viewer: Viewer,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    personal: bool = False,
) -> HTMLResponse:
    values = {"viewer": viewer, "lang": viewer.language, "csrf_token": _LazyToken(viewer)}
    values.update(context or {})
    response = templates.TemplateResponse(viewer.request, name, values, status_code=status_code)
    if personal or viewer.session is not None or status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={PUBLIC_SECONDS}"
        response.headers["Vary"] = "Cookie, Accept-Language"
    response.headers["Content-Language"] = viewer.language
    viewer.finish(response)
    return response

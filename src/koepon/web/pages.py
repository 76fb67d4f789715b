"""All page routes: sign-in, the fan site, the VTuber studio, the admin console, the overlay."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.kernel.routers import attach
from koepon.web import account_pages, legal, signin
from koepon.web.admin import pages as admin
from koepon.web.fan import pages as fan
from koepon.web.fan_account import pages as fan_account
from koepon.web.overlay import pages as overlay
from koepon.web.rendering import templates
from koepon.web.studio import pages as studio

NO_CANCEL_NOTICE = legal.NO_CANCEL_NOTICE
MINORS_NOTICE = legal.MINORS_NOTICE


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    attach(router, signin.router)
    attach(router, fan.router)
    attach(router, fan_account.router)
    attach(router, studio.router)
    attach(router, admin.router)
    attach(router, overlay.router)
    attach(router, account_pages.build_router(templates))
    attach(router, legal.build_router(templates))
    return router

"""All page routes: sign-in, the fan site, the VTuber studio, the admin console, the overlay."""

from __future__ import annotations

from fastapi import APIRouter

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
    router.include_router(signin.router)
    router.include_router(fan.router)
    router.include_router(fan_account.router)
    router.include_router(studio.router)
    router.include_router(admin.router)
    router.include_router(overlay.router)
    router.include_router(account_pages.build_router(templates))
    router.include_router(legal.build_router(templates))
    return router

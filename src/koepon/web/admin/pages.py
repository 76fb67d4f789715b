"""The admin console: the dashboard here, the reviews, users and payments in their modules.

Every page needs an operator (admin, compliance or support); every action is also checked by
the API it calls, so a role sees exactly what the API lets it do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from koepon.kernel.routers import attach
from koepon.web.admin import gachas, payments, users, vtubers
from koepon.web.admin.console import take_notice
from koepon.web.gateway_client import ApiProblem
from koepon.web.rendering import render
from koepon.web.viewer import Viewer, operator

router = APIRouter(include_in_schema=False)

# What the dashboard counts: (label key, API path, query, console link).
QUEUES: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("vtubers", "/api/v1/admin/vtubers", {"status": "pending"}, "/admin/vtubers"),
    ("gachas", "/api/v1/admin/gachas", {"status": "submitted"}, "/admin/gachas"),
    (
        "proposals",
        "/api/v1/admin/gacha-proposals",
        {"status": "submitted"},
        "/admin/gacha-proposals",
    ),
)
COUNT_LIMIT = 50


@router.get("/admin")
async def dashboard(seen: Viewer = Depends(operator)) -> Response:
    counts: dict[str, str | None] = {}
    for key, path, query, _link in QUEUES:
        counts[key] = await _count(seen, path, query)
    return render(
        seen,
        "admin/dashboard.html",
        {"counts": counts, "notice": take_notice(seen)},
        personal=True,
    )


async def _count(seen: Viewer, path: str, query: dict[str, Any]) -> str | None:
    """How many wait (``50+`` past one page); None when this role may not read the queue."""
    try:
        page = await seen.api.get(path, limit=COUNT_LIMIT, **query)
    except ApiProblem as problem:
        if problem.status == 403:
            return None
        raise
    items = len(page.get("items", []))
    return f"{items}+" if page.get("next_cursor") else str(items)


attach(router, vtubers.router)
attach(router, gachas.router)
attach(router, users.router)
attach(router, payments.router)

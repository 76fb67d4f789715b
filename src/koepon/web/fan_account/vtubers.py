"""VTubers: the directory of approved VTubers and each one's public page (with OGP tags)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from koepon.web.rendering import render
from koepon.web.viewer import Viewer, viewer

router = APIRouter(include_in_schema=False)


@router.get("/vtubers")
async def directory(cursor: str | None = None, seen: Viewer = Depends(viewer)) -> Response:
    page = await seen.api.get("/api/v1/vtubers", cursor=cursor, limit=24)
    return render(seen, "fan_account/vtubers.html", {"page": page, "cursor": cursor})


@router.get("/vtubers/{vtuber_id}")
async def profile(vtuber_id: str, seen: Viewer = Depends(viewer)) -> Response:
    vtuber = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}")
    return render(seen, "fan_account/vtuber.html", {"vtuber": vtuber})

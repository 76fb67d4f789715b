"""A VTuber's contents: the list, the upload (sent on to the API as the visitor, its progress
shown by static/studio-upload.js) and retirement.

The upload route forwards the browser's multipart body to the API unchanged, so the API's own
limits and checks apply (size per kind, type read from the bytes, the hourly limit); reading
stops at the largest body the API would take.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, Query
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from koepon.web.gateway_client import ApiProblem
from koepon.web.i18n import gettext as _
from koepon.web.notices import describe
from koepon.web.rendering import render
from koepon.web.studio.access import (
    ItemId,
    VtuberId,
    done,
    member_who_may,
    membership,
    refused,
    take_notice,
)
from koepon.web.viewer import Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)
# The API takes files up to KOEPON_MAX_DIRECT_UPLOAD_BYTES through the service (50 MiB by
# default) plus the multipart envelope; anything larger is refused here before it is held.
MAX_FORWARD_BYTES = 50 * 1_048_576 + 65_536
STATUSES = ("ready", "processing", "retired")


@router.get("/studio/{vtuber_id}/contents")
async def contents_page(
    vtuber_id: VtuberId,
    seen: Viewer = Depends(signed_in),
    status: str | None = Query(None, max_length=20),
) -> Response:
    member = await member_who_may(seen, vtuber_id, "content.upload")
    chosen = status if status in STATUSES else None
    page = await seen.api.get(f"/api/v1/vtubers/{vtuber_id}/contents", status=chosen, limit=100)
    context = {
        "vtuber_id": vtuber_id,
        "member": member,
        "items": page.get("items", []),
        "status": chosen,
        "notice": take_notice(seen),
    }
    return render(seen, "studio/contents.html", context, personal=True)


@router.post("/studio/{vtuber_id}/contents/upload")
async def upload(vtuber_id: VtuberId, seen: Viewer = Depends(checked_form)) -> Response:
    """From studio-upload.js (CSRF token in the header, JSON answer) or a plain form post."""
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    scripted = seen.request.headers.get("x-csrf-token") is not None
    to = f"/studio/{vtuber_id}/contents"
    try:
        body, content_type = await (_raw(seen) if scripted else _from_form(seen))
    except _TooLarge:
        message = _("The file is too large to upload here.")
        if scripted:
            return JSONResponse({"ok": False, "message": message}, status_code=413)
        return refused(seen, to, ApiProblem(413, "content_too_large", message, {}))
    try:
        made = await seen.api.request(
            "POST",
            f"/api/v1/vtubers/{vtuber_id}/contents",
            content=body,
            content_type=content_type,
        )
    except ApiProblem as problem:
        if not scripted:
            return refused(seen, to, problem)
        if problem.status == 401:
            raise
        return JSONResponse(
            {"ok": False, "message": describe(problem)},
            status_code=problem.status if problem.status < 500 else 503,
        )
    created: dict[str, Any] = made.json()
    message = _("Uploaded: %(title)s") % {"title": created.get("title", "")}
    if scripted:
        return JSONResponse({"ok": True, "message": message, "id": created.get("id")})
    return done(seen, to, message)


class _TooLarge(Exception):
    pass


async def _raw(seen: Viewer) -> tuple[bytes, str]:
    held = bytearray()
    async for chunk in seen.request.stream():
        held += chunk
        if len(held) > MAX_FORWARD_BYTES:
            raise _TooLarge
    return bytes(held), seen.request.headers.get("content-type", "")


async def _from_form(seen: Viewer) -> tuple[bytes, str]:
    """A plain form post was already read (for its CSRF token): send its file and title on."""
    form = await seen.request.form()
    file = form.get("file")
    title = form.get("title")
    if not isinstance(file, UploadFile):
        return b"", "multipart/form-data; boundary=none"
    data = await file.read(MAX_FORWARD_BYTES + 1)
    if len(data) > MAX_FORWARD_BYTES:
        raise _TooLarge
    encoded = httpx.Request(
        "POST",
        "http://upload.invalid/",
        data={"title": title if isinstance(title, str) else ""},
        files={"file": (file.filename or "upload", data, file.content_type)},
    )
    return encoded.read(), encoded.headers["content-type"]


@router.post("/studio/{vtuber_id}/contents/{content_id}/retire")
async def retire(
    vtuber_id: VtuberId, content_id: ItemId, seen: Viewer = Depends(checked_form)
) -> Response:
    await signed_in(seen.request, seen)
    await membership(seen, vtuber_id)
    to = f"/studio/{vtuber_id}/contents"
    try:
        await seen.api.send("POST", f"/api/v1/vtubers/{vtuber_id}/contents/{content_id}/retire")
    except ApiProblem as problem:
        return refused(seen, to, problem)
    return done(seen, to, _("The content is retired: no longer offered; fans keep theirs."))

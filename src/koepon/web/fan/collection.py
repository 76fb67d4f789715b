"""The fan's collection: an album per VTuber (owned items with serials and counts, the rest of
those VTubers' live gachas greyed out), an item's page, downloads through the API's signed URLs
and the whole-collection export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query
from starlette.responses import RedirectResponse, Response

from koepon.web.fan import odds
from koepon.web.fan.gachas import vtuber_of
from koepon.web.gateway_client import ApiProblem
from koepon.web.rendering import render
from koepon.web.viewer import LoginRequired, Viewer, checked_form, signed_in

router = APIRouter(include_in_schema=False)

EntitlementId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
ExportId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
PAGE = 100
MAX_PAGES = 10  # an album of 1,000 entries; the rest on the API's own pages


async def signed_form(seen: Viewer = Depends(checked_form)) -> Viewer:
    if seen.session is None:
        raise LoginRequired("/collection")
    return seen


async def _owned(seen: Viewer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = await seen.api.get("/api/v1/collection", limit=PAGE, cursor=cursor)
        items.extend(page.get("items") or [])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


async def _albums(seen: Viewer, owned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per VTuber: the owned entries, then the items of their public gachas not yet owned."""
    albums = []
    by_vtuber: dict[str, list[dict[str, Any]]] = {}
    for entry in owned:
        by_vtuber.setdefault(str(entry["vtuber_id"]), []).append(entry)
    for vtuber_id, entries in by_vtuber.items():
        vtuber = await vtuber_of(seen, vtuber_id)
        have = {(str(e["gacha_id"]), str(e["item_id"])) for e in entries}
        missing = []
        gacha_ids = {str(e["gacha_id"]) for e in entries}
        for live in (vtuber or {}).get("live_gachas") or []:
            gacha_ids.add(str(live.get("gacha_id") or live.get("id")))
        for gacha_id in sorted(gacha_ids):
            try:
                gacha = await seen.api.get(f"/api/v1/gachas/{gacha_id}")
            except ApiProblem as problem:
                if problem.status in (404, 422):
                    continue
                raise
            for item_id, line in odds.item_names(gacha).items():
                if (gacha_id, item_id) not in have:
                    missing.append({**line, "gacha_id": gacha_id, "gacha_title": gacha["title"]})
        albums.append(
            {
                "vtuber_id": vtuber_id,
                "name": (vtuber or {}).get("display_name") or "",
                "owned": entries,
                "missing": missing,
            }
        )
    return albums


@router.get("/collection")
async def collection(seen: Viewer = Depends(signed_in)) -> Response:
    owned = await _owned(seen)
    context = {
        "albums": await _albums(seen, owned),
        "total": len(owned),
        "export_key": uuid.uuid4().hex,
    }
    return render(seen, "fan/collection.html", context, personal=True)


@router.get("/collection/exports/{export_id}")
async def export_page(
    export_id: ExportId,
    files: Annotated[int | None, Query(ge=0)] = None,
    size: Annotated[int | None, Query(ge=0)] = None,
    sha256: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    seen: Viewer = Depends(signed_in),
) -> Response:
    """The archive just made: what it holds and a button for a fresh download link."""
    context = {"export_id": export_id, "files": files, "size": size, "sha256": sha256}
    return render(seen, "fan/export.html", context, personal=True)


@router.get("/collection/{entitlement_id}")
async def item_page(entitlement_id: EntitlementId, seen: Viewer = Depends(signed_in)) -> Response:
    item = await seen.api.get(f"/api/v1/collection/{entitlement_id}")
    vtuber = await vtuber_of(seen, str(item["vtuber_id"]))
    return render(seen, "fan/item.html", {"item": item, "vtuber": vtuber}, personal=True)


@router.post("/collection/export")
async def export(
    idempotency_key: Annotated[str, Form(min_length=16, max_length=64, pattern=r"^[0-9a-f]+$")],
    seen: Viewer = Depends(signed_form),
) -> Response:
    made = await seen.api.send("POST", "/api/v1/collection/export", idempotency_key=idempotency_key)
    target = (
        f"/collection/exports/{made['export_id']}?files={int(made['files'])}"
        f"&size={int(made['size_bytes'])}&sha256={made['checksum_sha256']}"
    )
    return RedirectResponse(target, status_code=303)


@router.post("/collection/exports/{export_id}/download")
async def export_download(export_id: ExportId, seen: Viewer = Depends(signed_form)) -> Response:
    link = await seen.api.send("POST", f"/api/v1/collection/exports/{export_id}/download")
    return RedirectResponse(str(link["url"]), status_code=303)


@router.post("/collection/{entitlement_id}/download")
async def download(entitlement_id: EntitlementId, seen: Viewer = Depends(signed_form)) -> Response:
    """A fresh signed URL from the API; the browser goes straight to the file."""
    link = await seen.api.send("POST", f"/api/v1/collection/{entitlement_id}/download")
    return RedirectResponse(str(link["url"]), status_code=303)

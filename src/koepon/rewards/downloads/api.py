"""Downloads' routes (API.md "Collection and downloads"): signed download URLs for the owner's
live entitlements, the URLs themselves, and the collection export."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.idempotency_header import idempotency_key
from koepon.kernel.tokens import Principal
from koepon.rewards.context import RewardsContext, provide
from koepon.rewards.downloads.exports import Exports
from koepon.rewards.downloads.schemas import DownloadLink, ExportLink, Served
from koepon.rewards.downloads.service import Downloads

EntitlementId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
ExportId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
# Checked by the service (a malformed token is a 403 problem, like a tampered one).
Token = Annotated[str, Path(max_length=2048)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_REFUSED_LINK: dict[int | str, dict[str, Any]] = {
    403: {"description": "download_link_invalid: altered, malformed or not issued by Koepon"},
    410: {"description": "download_link_expired: past its expiry, or the archive is gone"},
}


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _answer(served: Served) -> Response:
    headers = dict(NO_STORE)
    if served.redirect is not None:
        return RedirectResponse(served.redirect, status_code=302, headers=headers)
    ascii_name = served.filename.encode("ascii", "replace").decode().replace('"', "")
    headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(served.filename)}"
    )
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(served.data or b"", media_type=served.mime_type, headers=headers)


def build_router(ctx: RewardsContext, downloads: Downloads, exports: Exports) -> APIRouter:
    router = APIRouter(tags=["downloads"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    user = Depends(ctx.authenticator.user)
    downloads_dep = Depends(provide(downloads))
    exports_dep = Depends(provide(exports))
    optional_key = Depends(idempotency_key(required=False))

    @router.post(
        "/api/v1/collection/{entitlement_id}/download",
        response_model=DownloadLink,
        responses={
            404: {"description": "entitlement_not_found: unknown, or not the caller's"},
            410: {"description": "entitlement_revoked: the entitlement was taken back"},
            429: {"description": "downloads_rate_limited (with Retry-After)"},
        },
    )
    async def issue_download(
        entitlement_id: EntitlementId,
        request: Request,
        response: Response,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        service: Downloads = downloads_dep,
    ) -> DownloadLink:
        """A signed URL for one of the caller's own live entitlements, valid a few minutes
        (KOEPON_DOWNLOAD_URL_SECONDS). Images are watermarked for the caller."""
        response.headers.update(NO_STORE)
        return await service.issue(session, principal.user_id, entitlement_id, _ip(request))

    @router.get(
        "/api/v1/downloads/{token}",
        response_class=Response,
        responses={
            200: {"description": "The file, as an attachment"},
            302: {"description": "Redirect to the store's own short-lived URL"},
            **_REFUSED_LINK,
        },
    )
    async def download(
        token: Token, request: Request, service: Downloads = downloads_dep
    ) -> Response:
        """The file behind a signed URL. The URL is the credential (no access token), but it
        works only for its owner's entitlement while that entitlement is live, until it
        expires."""
        return _answer(await service.fetch(token, _ip(request)))

    @router.post(
        "/api/v1/collection/export",
        status_code=201,
        response_model=ExportLink,
        responses={429: {"description": "exports_rate_limited (with Retry-After)"}},
    )
    async def export_collection(
        request: Request,
        response: Response,
        principal: Principal = user,
        service: Exports = exports_dep,
        key: str | None = optional_key,
    ) -> ExportLink:
        """A ZIP of every live entitlement's file (images watermarked) and a manifest.json,
        kept a day, with a signed URL (KOEPON_EXPORTS_PER_DAY per fan). An ``Idempotency-Key``
        (optional) makes a replay answer the same archive with a new link."""
        response.headers.update(NO_STORE)
        return await service.export(principal.user_id, _ip(request), key)

    @router.post(
        "/api/v1/collection/exports/{export_id}/download",
        response_model=ExportLink,
        responses={
            404: {"description": "export_not_found: unknown, or not the caller's"},
            410: {"description": "download_link_expired: the archive is no longer kept"},
            429: {"description": "downloads_rate_limited (with Retry-After)"},
        },
    )
    async def relink_export(
        export_id: ExportId,
        request: Request,
        response: Response,
        principal: Principal = user,
        service: Exports = exports_dep,
    ) -> ExportLink:
        """A new signed URL for one of the caller's archives still kept."""
        response.headers.update(NO_STORE)
        return await service.relink(principal.user_id, export_id, _ip(request))

    return router

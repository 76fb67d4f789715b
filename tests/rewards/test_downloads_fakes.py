"""Small fakes of entitlements and contents for the downloads tests, and ``kit``: the downloads
routes on the running platform's rewards context (its database, storage, clock, rate limiter
and authenticator) with those fakes passed in, as ``unit.py`` passes the real ones.

No tests here; ``test_downloads.py`` and ``test_export.py`` import the fixture.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.app import Platform
from koepon.kernel.problems import install_problem_handlers
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads import api as downloads_api
from koepon.rewards.downloads.exports import Exports
from koepon.rewards.downloads.service import Downloads
from koepon.rewards.entitlements.schemas import EntitlementView
from koepon.rewards.errors import EntitlementNotFound, EntitlementRevoked
from payment.fixtures.shop import Fan, Shop, shop_fixture  # noqa: F401 - the shop fixture
from rewards.conftest import rewards_context
from rewards.images import leak, picture  # noqa: F401 - re-exported for the downloads tests

CLIENT_IP = "203.0.113.7"


class FakeEntitlements:
    """Entitlements as downloads sees them: ``for_download`` and ``all_live``."""

    def __init__(self) -> None:
        self.rows: dict[str, EntitlementView] = {}

    def grant(self, user_id: str, content: ContentView, *, serial: int | None = None) -> str:
        entitlement = EntitlementView(
            id=str(uuid.uuid4()),
            user_id=user_id,
            content_id=content.id,
            vtuber_id=content.vtuber_id,
            gacha_id=None,
            item_id=f"item-{content.id[:8]}",
            rarity="SSR",
            count=1,
            serial=serial,
            serial_of=100 if serial else None,
            status="live",
            granted_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        self.rows[entitlement.id] = entitlement
        return entitlement.id

    def revoke(self, entitlement_id: str) -> None:
        self.rows[entitlement_id] = replace(self.rows[entitlement_id], status="revoked")

    async def for_download(
        self, session: AsyncSession, user_id: str, entitlement_id: str
    ) -> EntitlementView:
        found = self.rows.get(entitlement_id)
        if found is None or found.user_id != user_id:
            raise EntitlementNotFound("No such entitlement")
        if found.status != "live":
            raise EntitlementRevoked("This entitlement was revoked")
        return found

    async def all_live(self, session: AsyncSession, user_id: str) -> list[EntitlementView]:
        return [e for e in self.rows.values() if e.user_id == user_id and e.status == "live"]


class FakeContents:
    """Contents as downloads sees them; originals really are in the platform's storage."""

    def __init__(self, ctx: RewardsContext) -> None:
        self.ctx = ctx
        self.views: dict[str, ContentView] = {}

    async def add(self, data: bytes, *, kind: str, mime_type: str, title: str) -> ContentView:
        content_id = str(uuid.uuid4())
        key = f"contents/test/{content_id}/original"
        await self.ctx.storage.put(key, data, content_type=mime_type)
        view = ContentView(
            id=content_id,
            vtuber_id="vtuber-1",
            kind=kind,
            title=title,
            mime_type=mime_type,
            status="ready",
            size_bytes=len(data),
            checksum_sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            preview_key=None,
            thumbnail_key=None,
            created_at=datetime(2026, 10, 1, tzinfo=UTC),
        )
        self.views[content_id] = view
        return view

    async def image(
        self, seed: int = 1, title: str = "Summer art", fmt: str = "PNG"
    ) -> ContentView:
        mime = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
        return await self.add(
            picture(seed=seed, fmt=fmt), kind="image", mime_type=mime, title=title
        )

    async def audio(self, title: str = "Good night voice") -> ContentView:
        data = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8
        return await self.add(data, kind="audio", mime_type="audio/mpeg", title=title)

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        return {i: self.views[i] for i in content_ids if i in self.views}

    async def original(self, content: ContentView) -> bytes:
        return await self.ctx.storage.get(content.storage_key)


@dataclass
class Kit:
    ctx: RewardsContext
    entitlements: FakeEntitlements
    contents: FakeContents
    downloads: Downloads
    exports: Exports
    http: httpx.AsyncClient
    shop: Shop

    async def fan(self, roles: list[str] | None = None) -> Fan:
        return await self.shop.fan(roles=roles)

    async def issue(self, fan: Fan | None, entitlement_id: str) -> httpx.Response:
        return await self.http.post(
            f"/api/v1/collection/{entitlement_id}/download",
            headers=fan.headers if fan else {},
        )

    async def get(self, url: str) -> httpx.Response:
        """GET a download URL; a redirect to the store's own signed URL (S3 in the distributed
        backend) is followed there, as a browser would."""
        response = await self.http.get(url)
        if response.status_code != 302:
            return response
        assert response.headers["cache-control"] == "no-store"
        async with httpx.AsyncClient() as store:
            return await store.get(response.headers["location"])

    async def url_for(self, fan: Fan, entitlement_id: str) -> str:
        issued = await self.issue(fan, entitlement_id)
        assert issued.status_code == 200, issued.text
        url: str = issued.json()["url"]
        return url


def build_kit(ctx: RewardsContext, shop: Shop) -> tuple[Kit, FastAPI]:
    entitlements = FakeEntitlements()
    contents = FakeContents(ctx)
    downloads = Downloads(ctx, entitlements, contents)
    exports = Exports(ctx, downloads)
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(downloads_api.build_router(ctx, downloads, exports))
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(CLIENT_IP, 443)),
        base_url="http://testserver",
    )
    return Kit(ctx, entitlements, contents, downloads, exports, http, shop), app


@pytest.fixture(name="kit")
async def kit_fixture(platform: Platform, shop: Shop) -> AsyncIterator[Kit]:
    made, _ = build_kit(rewards_context(platform), shop)
    try:
        yield made
    finally:
        await made.http.aclose()

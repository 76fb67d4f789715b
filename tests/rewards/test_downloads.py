"""Downloads: signed URLs for the owner's live entitlement only, watermarked images, every issue
and fetch logged, refusals (someone else's, expired, tampered, revoked), the rate limit, and
``trace_leak`` naming whose copy a leaked image is.

Entitlements and contents are small fakes passed to ``Downloads`` (``test_downloads_fakes``);
everything else is the running platform's (database, storage, clock, rate limiter, tokens).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select

from clocks import MovableClock
from koepon.app import Platform
from koepon.contracts.gacha import ItemExchanged
from koepon.kernel.bus import Message
from koepon.kernel.storage import PresignedUpload, Storage
from koepon.rewards.contents.schemas import Actor, Upload
from koepon.rewards.downloads import tokens, watermark
from koepon.rewards.downloads.commands import trace_leak
from koepon.rewards.downloads.keys import load_signing_key
from koepon.rewards.downloads.models import DownloadFetchRow, DownloadRow
from koepon.rewards.downloads.service import Downloads
from koepon.rewards.settings import RewardsSettings
from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401 - the shop fixture
from rewards.conftest import rewards_context, rewards_services
from rewards.test_downloads_fakes import (  # noqa: F401 - the kit fixture
    CLIENT_IP,
    Kit,
    kit_fixture,
    leak,
)
from rewards.test_downloads_fakes import picture as kit_picture


def token_of(url: str) -> str:
    assert url.startswith("/api/v1/downloads/")
    return url.rsplit("/", 1)[1]


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert "Traceback" not in response.text


async def rows(kit: Kit) -> list[DownloadRow]:
    async with kit.ctx.db.transaction(read_only=True) as session:
        return list(await session.scalars(select(DownloadRow).order_by(DownloadRow.issued_at)))


async def fetch_rows(kit: Kit) -> list[DownloadFetchRow]:
    async with kit.ctx.db.transaction(read_only=True) as session:
        return list(await session.scalars(select(DownloadFetchRow).order_by(DownloadFetchRow.id)))


async def test_the_owner_downloads_a_watermarked_image_and_both_steps_are_logged(kit: Kit) -> None:
    owner = await kit.fan()
    content = await kit.contents.image(title="Summer art")
    entitlement = kit.entitlements.grant(owner.id, content)

    issued = await kit.issue(owner, entitlement)
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert set(body) == {"url", "expires_at"}
    [row] = await rows(kit)
    assert (row.user_id, row.entitlement_id, row.content_id) == (owner.id, entitlement, content.id)
    assert row.kind == "entitlement" and row.watermark_id and len(row.watermark_id) == 16
    assert row.ip_hash and CLIENT_IP not in row.ip_hash
    assert timedelta(seconds=299) < row.expires_at - row.issued_at <= timedelta(seconds=300)

    served = await kit.http.get(body["url"])
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "no-store"
    disposition = served.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Summer-art-') and ".png" in disposition
    original = await kit.contents.original(content)
    assert served.content != original
    assert Image.open(io.BytesIO(served.content)).size == (640, 480)
    found = watermark.identify(
        original, served.content, kit.downloads.watermark_key, [row.watermark_id]
    )
    assert found is not None and found.watermark_id == row.watermark_id

    # A second fetch of the same URL serves the same copy; both fetches are logged.
    again = await kit.http.get(body["url"])
    assert again.content == served.content
    fetches = await fetch_rows(kit)
    assert [(f.download_id, f.user_id, f.outcome) for f in fetches] == [
        (row.id, owner.id, "served"),
        (row.id, owner.id, "served"),
    ]
    [row] = await rows(kit)
    assert row.fetches == 2 and row.content_hash == watermark.perceptual_hash(original)


async def test_other_kinds_are_served_as_the_original_bytes(kit: Kit) -> None:
    owner = await kit.fan()
    content = await kit.contents.audio(title="おやすみボイス")
    url = await kit.url_for(owner, kit.entitlements.grant(owner.id, content))
    served = await kit.get(url)
    assert served.status_code == 200
    assert served.content == await kit.contents.original(content)
    assert served.headers["content-type"] == "audio/mpeg"
    assert served.headers["content-disposition"].startswith("attachment;")
    [row] = await rows(kit)
    assert row.watermark_id is None


class PresigningStorage:
    """The platform's storage, but able to sign GET URLs (as S3/R2 are)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.signed: list[tuple[str, int, str]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def presigned_get(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        self.signed.append((key, expires_seconds, filename))
        return f"https://bucket.example/{key}?sig=x"

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str
    ) -> PresignedUpload | None:
        return None


async def test_a_store_that_signs_urls_gets_a_redirect_for_non_images(kit: Kit) -> None:
    storage = PresigningStorage(kit.ctx.storage)
    downloads = Downloads(replace(kit.ctx, storage=storage), kit.entitlements, kit.contents)
    owner = await kit.fan()
    audio = await kit.contents.audio()
    image = await kit.contents.image()
    async with kit.ctx.db.transaction() as session:
        link = await downloads.issue(session, owner.id, kit.entitlements.grant(owner.id, audio), "")
        image_link = await downloads.issue(
            session, owner.id, kit.entitlements.grant(owner.id, image), ""
        )
    served = await downloads.fetch(token_of(link.url), "")
    assert served.redirect == f"https://bucket.example/{audio.storage_key}?sig=x"
    assert storage.signed[0][0] == audio.storage_key and 0 < storage.signed[0][1] <= 300
    # Images are always watermarked by the service, never redirected to the original.
    marked = await downloads.fetch(token_of(image_link.url), "")
    assert marked.redirect is None and marked.data


async def test_who_may_ask_for_a_download_url(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    admin = await kit.fan(roles=["admin"])
    entitlement = kit.entitlements.grant(owner.id, await kit.contents.image())

    anonymous = await kit.issue(None, entitlement)
    assert anonymous.status_code == 401
    assert_problem(await kit.issue(other, entitlement), 404, "entitlement_not_found")
    assert_problem(await kit.issue(admin, entitlement), 404, "entitlement_not_found")
    assert_problem(await kit.issue(owner, str(uuid.uuid4())), 404, "entitlement_not_found")
    bad = await kit.issue(owner, "not an id!")
    assert bad.status_code == 422 and "entitlement_id" in bad.text
    assert (await kit.issue(owner, entitlement)).status_code == 200
    assert len(await rows(kit)) == 1


async def test_a_url_bound_to_someone_else_is_refused(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    mine = kit.entitlements.grant(owner.id, await kit.contents.image(seed=2))
    theirs = kit.entitlements.grant(other.id, await kit.contents.image(seed=3))
    url = await kit.url_for(owner, mine)
    claims = tokens.verify(token_of(url), kit.downloads.token_key, kit.ctx.now())

    # Even signed with the real key: the owner's download re-bound to another fan or to
    # another entitlement is not what was issued.
    for forged in (
        replace(claims, user_id=other.id),
        replace(claims, subject_id=theirs),
        replace(claims, user_id=other.id, subject_id=theirs),
        replace(claims, download_id=str(uuid.uuid4())),
    ):
        response = await kit.http.get(
            "/api/v1/downloads/" + tokens.sign(forged, kit.downloads.token_key)
        )
        assert_problem(response, 403, "download_link_invalid")
    # Signed with any other key: refused before anything is read.
    foreign = tokens.sign(replace(claims, user_id=other.id), b"z" * 32)
    assert_problem(await kit.http.get("/api/v1/downloads/" + foreign), 403, "download_link_invalid")
    assert await fetch_rows(kit) == []
    assert (await kit.http.get(url)).status_code == 200


async def test_an_expired_url_is_refused_with_410(kit: Kit) -> None:
    clock = MovableClock(kit.ctx.now())
    kit.ctx.clock.use(clock)
    owner = await kit.fan()
    url = await kit.url_for(owner, kit.entitlements.grant(owner.id, await kit.contents.audio()))
    clock.advance(seconds=299)
    assert (await kit.http.get(url)).status_code in (200, 302)
    clock.advance(seconds=1)
    assert_problem(await kit.http.get(url), 410, "download_link_expired")
    clock.advance(days=30)
    assert_problem(await kit.http.get(url), 410, "download_link_expired")
    # A genuine link's late fetches are logged too.
    assert [f.outcome for f in await fetch_rows(kit)] == ["served", "expired", "expired"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],
        lambda t: t[: len(t) // 2] + ("x" if t[len(t) // 2] != "x" else "y") + t[len(t) // 2 + 1 :],
        lambda t: t[:-5],
        lambda t: t + "AAAA",
        lambda t: t.replace(t[3], "%21", 1),
        lambda t: "!!!not-base64***",
        lambda t: "A" * 1500,
    ],
)
async def test_a_tampered_url_is_refused_with_403(kit: Kit, mangle: object) -> None:
    owner = await kit.fan()
    url = await kit.url_for(owner, kit.entitlements.grant(owner.id, await kit.contents.audio()))
    tampered = mangle(token_of(url))  # type: ignore[operator]
    response = await kit.http.get("/api/v1/downloads/" + tampered)
    assert_problem(response, 403, "download_link_invalid")


async def test_a_revoked_entitlement_cannot_be_downloaded(kit: Kit) -> None:
    owner = await kit.fan()
    entitlement = kit.entitlements.grant(owner.id, await kit.contents.image())
    url = await kit.url_for(owner, entitlement)
    kit.entitlements.revoke(entitlement)
    # A URL issued before the revocation stops working; the refusal is logged.
    assert_problem(await kit.http.get(url), 410, "entitlement_revoked")
    [fetch] = await fetch_rows(kit)
    assert fetch.outcome == "refused"
    # And no new URL is issued.
    assert_problem(await kit.issue(owner, entitlement), 410, "entitlement_revoked")


@pytest.mark.service_settings(rewards={"downloads_per_minute": 3})
async def test_download_urls_are_rate_limited_per_fan(kit: Kit) -> None:
    owner = await kit.fan()
    other = await kit.fan()
    content = await kit.contents.audio()
    entitlement = kit.entitlements.grant(owner.id, content)
    for _ in range(3):
        assert (await kit.issue(owner, entitlement)).status_code == 200
    refused = await kit.issue(owner, entitlement)
    assert_problem(refused, 429, "downloads_rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(await rows(kit)) == 3
    # Another fan has their own allowance.
    assert (await kit.issue(other, kit.entitlements.grant(other.id, content))).status_code == 200


@pytest.mark.service_settings(rewards={"downloads_per_minute": 1})
async def test_fetches_are_rate_limited_per_fan(kit: Kit) -> None:
    owner = await kit.fan()
    url = await kit.url_for(owner, kit.entitlements.grant(owner.id, await kit.contents.audio()))
    for _ in range(3):  # three fetches per URL a fan may ask for
        assert (await kit.http.get(url)).status_code in (200, 302)
    refused = await kit.http.get(url)
    assert_problem(refused, 429, "downloads_rate_limited")
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_content_still_processing_is_not_served(kit: Kit) -> None:
    owner = await kit.fan()
    content = await kit.contents.audio()
    entitlement = kit.entitlements.grant(owner.id, content)
    url = await kit.url_for(owner, entitlement)
    kit.contents.views[content.id] = replace(content, status="processing")
    assert_problem(await kit.http.get(url), 404, "content_not_found")
    assert_problem(await kit.issue(owner, entitlement), 404, "content_not_found")
    kit.contents.views[content.id] = replace(content, status="retired")
    assert (await kit.get(url)).status_code == 200  # a retired content stays its owners'


async def test_trace_leak_names_the_fan_whose_copy_leaked(kit: Kit) -> None:
    content = await kit.contents.image(seed=4, fmt="JPEG")
    decoy = await kit.contents.image(seed=9)
    fans = [await kit.fan() for _ in range(5)]
    copies = {}
    for fan in fans:
        for item in (content, decoy):
            url = await kit.url_for(fan, kit.entitlements.grant(fan.id, item))
            served = await kit.http.get(url)
            assert served.status_code == 200
            if item is content:
                copies[fan.id] = served.content
    culprit = fans[3]
    result = await trace_leak(kit.downloads, leak(copies[culprit.id]))
    assert result is not None, "the leaked copy was not traced"
    assert result.user_id == culprit.id and result.content_id == content.id
    assert result.score >= watermark.THRESHOLD
    [row] = [r for r in await rows(kit) if r.id == result.download_id]
    assert row.entitlement_id == result.entitlement_id and row.user_id == culprit.id

    # The unmarked original, and a picture nobody downloaded, are "unknown".
    assert await trace_leak(kit.downloads, leak(await kit.contents.original(content))) is None
    stranger = await kit.contents.image(seed=21)
    assert await trace_leak(kit.downloads, leak(await kit.contents.original(stranger))) is None
    with pytest.raises(watermark.NotAnImage):
        await trace_leak(kit.downloads, b"not an image")


def test_production_refuses_to_start_without_a_signing_key(platform: Platform) -> None:
    settings = platform.settings.model_copy(update={"environment": "production"})
    with pytest.raises(RuntimeError, match="KOEPON_DOWNLOAD_SIGNING_KEY"):
        load_signing_key(settings, RewardsSettings(download_signing_key=None))
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        load_signing_key(settings, RewardsSettings(download_signing_key=SecretStr("c2hvcnQ=")))
    # Outside production the generated key is kept: the same key after a restart.
    ctx = rewards_context(platform)
    assert load_signing_key(ctx.settings, ctx.rewards_settings) == load_signing_key(
        ctx.settings, ctx.rewards_settings
    )


async def _grant_through_the_platform(platform: Platform, user_id: str) -> tuple[str, str]:
    """An image uploaded through contents and granted to ``user_id`` through entitlements'
    consumer (an exchange event): (entitlement id, content id)."""
    services = rewards_services(platform)
    vtuber = str(uuid.uuid4())
    content = await services.contents.upload(
        Actor(user_id=str(uuid.uuid4()), roles=frozenset({"admin"})),
        vtuber,
        Upload(
            title="Real art",
            data=leak(kit_picture(), quality=95, scale=1.0),
            content_type="image/jpeg",
            filename="art.jpg",
        ),
    )
    now = rewards_context(platform).now()
    event = ItemExchanged(
        exchange_id=str(uuid.uuid4()),
        user_id=user_id,
        gacha_id=str(uuid.uuid4()),
        vtuber_id=vtuber,
        item_id=str(uuid.uuid4()),
        content_id=content.id,
        rarity="SSR",
        points=100,
        exchanged_at=now,
    )
    await services.entitlements.apply(
        Message(
            id=str(uuid.uuid4()),
            topic=ItemExchanged.topic,
            payload=event.model_dump(mode="json"),
            occurred_at=now,
        )
    )
    async with rewards_context(platform).db.transaction(read_only=True) as session:
        owned = await services.entitlements.all_live(session, user_id)
    assert owned, "the exchange event granted nothing"
    return owned[0].id, content.id


async def test_end_to_end_through_the_platform(
    platform: Platform, client: httpx.AsyncClient, shop: Shop
) -> None:
    """The real contents and entitlements through the gateway: the owner's URL serves a
    watermarked copy that trace-leak names; another fan is refused; revoked is refused."""
    owner = await shop.fan()
    other = await shop.fan()
    entitlement, content_id = await _grant_through_the_platform(platform, owner.id)
    path = f"/api/v1/collection/{entitlement}/download"
    assert (await client.post(path)).status_code == 401
    assert_problem(await client.post(path, headers=other.headers), 404, "entitlement_not_found")
    issued = await client.post(path, headers=owner.headers)
    assert issued.status_code == 200, issued.text
    served = await client.get(issued.json()["url"])
    assert served.status_code == 200, served.text
    assert served.headers["cache-control"].startswith("no-store")
    downloads = rewards_services(platform).downloads
    traced = await trace_leak(downloads, leak(served.content))
    assert traced is not None and traced.user_id == owner.id and traced.content_id == content_id

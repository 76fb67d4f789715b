"""``GET /api/v1/collection`` and ``GET /api/v1/collection/{entitlement_id}``: the signed-in
fan's own items only (anonymous 401, anyone else's 404 like an unknown id), newest first with
cursor pages, filters, counts and serial numbers; a content not known shows without title."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.app import Platform
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.entitlements.service import Entitlements
from payment.fixtures.shop import signed_in
from rewards.conftest import rewards_context
from rewards.test_entitlements import (
    T0,
    completed,
    entitlements_of,
    item,
    message,
    reversal,
)

COLLECTION = "/api/v1/collection"


class Fan:
    def __init__(self, user_id: str, token: str) -> None:
        self.id = user_id
        self.headers = {"Authorization": f"Bearer {token}"}


async def fan(client: httpx.AsyncClient, platform: Platform, **kwargs: Any) -> Fan:
    user_id, _email, token = await signed_in(client, platform, **kwargs)
    return Fan(user_id, token)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem


async def test_a_fan_sees_their_items_newest_first_page_by_page(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    me = await fan(client, platform)
    entitlements = entitlements_of(platform)
    box = f"box-{uuid.uuid4().hex[:8]}"
    first = completed(me.id, [item(0, "voice-n1"), item(1, "voice-n1")], at=T0)
    second = completed(
        me.id,
        [item(0, "photo", rarity="UR", limited=True)],
        gacha_id=box,
        vtuber_id="vtuber-2",
        at=T0 + timedelta(hours=1),
    )
    third = completed(me.id, [item(0, "illust-sr1", rarity="SR")], at=T0 + timedelta(hours=2))
    for draw in (first, second, third):
        await entitlements.apply(message(draw))

    page = await client.get(COLLECTION, params={"limit": 2}, headers=me.headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert [i["item_id"] for i in body["items"]] == ["illust-sr1", "photo"]
    photo = body["items"][1]
    assert photo["serial"] == 1 and photo["serial_label"] == "No. 1" and photo["limited"]
    assert (photo["gacha_id"], photo["vtuber_id"], photo["rarity"]) == (box, "vtuber-2", "UR")
    # Contents not known (yet): shown without title, kind or preview.
    assert (photo["title"], photo["kind"], photo["preview_url"]) == (None, None, None)
    assert photo["content_id"] == "content-photo" and photo["status"] == "live"
    assert body["next_cursor"]

    rest = await client.get(
        COLLECTION, params={"limit": 2, "cursor": body["next_cursor"]}, headers=me.headers
    )
    assert rest.status_code == 200, rest.text
    [voice] = rest.json()["items"]
    assert (voice["item_id"], voice["count"], voice["serial"], voice["serial_label"]) == (
        "voice-n1",
        2,
        None,
        None,
    )
    assert rest.json()["next_cursor"] is None

    by_vtuber = await client.get(COLLECTION, params={"vtuber_id": "vtuber-2"}, headers=me.headers)
    assert [i["item_id"] for i in by_vtuber.json()["items"]] == ["photo"]
    by_rarity = await client.get(COLLECTION, params={"rarity": "SR"}, headers=me.headers)
    assert [i["item_id"] for i in by_rarity.json()["items"]] == ["illust-sr1"]

    one = await client.get(f"{COLLECTION}/{photo['id']}", headers=me.headers)
    assert one.status_code == 200, one.text
    assert one.json() == photo

    # A reversed draw leaves the collection; the item itself still says why.
    await entitlements.apply(message(reversal(second)))
    after = await client.get(COLLECTION, headers=me.headers)
    assert [i["item_id"] for i in after.json()["items"]] == ["illust-sr1", "voice-n1"]
    revoked = await client.get(f"{COLLECTION}/{photo['id']}", headers=me.headers)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]


async def test_bad_input_is_refused_by_name(client: httpx.AsyncClient, platform: Platform) -> None:
    me = await fan(client, platform)
    for params, named in [
        ({"rarity": "LEGENDARY"}, "rarity"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"vtuber_id": "no spaces"}, "vtuber_id"),
    ]:
        response = await client.get(COLLECTION, params=params, headers=me.headers)
        assert response.status_code == 422, (params, response.text)
        assert named in response.text, response.text
    forged = await client.get(COLLECTION, params={"cursor": "not-ours"}, headers=me.headers)
    assert_problem(forged, 422, "invalid_cursor")
    bad_id = await client.get(f"{COLLECTION}/{'x' * 65}", headers=me.headers)
    assert bad_id.status_code == 422, bad_id.text


async def test_only_the_owner_sees_an_entitlement(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await fan(client, platform)
    other = await fan(client, platform)
    admin = await fan(client, platform, roles=["admin"])
    await entitlements_of(platform).apply(message(completed(owner.id, [item(0, "voice-n1")])))
    mine = (await client.get(COLLECTION, headers=owner.headers)).json()["items"]
    assert len(mine) == 1
    path = f"{COLLECTION}/{mine[0]['id']}"

    anonymous = await client.get(path)
    assert_problem(anonymous, 401, "unauthenticated")
    assert_problem(await client.get(COLLECTION), 401, "unauthenticated")

    assert (await client.get(path, headers=owner.headers)).status_code == 200
    theirs = assert_problem(
        await client.get(path, headers=other.headers), 404, "entitlement_not_found"
    )
    unknown = assert_problem(
        await client.get(f"{COLLECTION}/{uuid.uuid4()}", headers=other.headers),
        404,
        "entitlement_not_found",
    )
    assert theirs["detail"] == unknown["detail"]  # the same answer: no existence leak
    # An operator's collection is their own too: fans' items are not shown here.
    assert_problem(await client.get(path, headers=admin.headers), 404, "entitlement_not_found")
    for caller in (other, admin):
        listed = await client.get(COLLECTION, headers=caller.headers)
        assert listed.status_code == 200 and listed.json()["items"] == []


class KnownContents:
    """A contents sub-domain that knows some of the contents (what ``get_many`` promises)."""

    def __init__(self, *known: ContentView) -> None:
        self.known = {c.id: c for c in known}
        self.asked: list[set[str]] = []

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        self.asked.append(set(content_ids))
        return {i: self.known[i] for i in content_ids if i in self.known}


def content(content_id: str, *, status: str = "ready", preview: bool = True) -> ContentView:
    return ContentView(
        id=content_id,
        vtuber_id="vtuber-1",
        kind="audio",
        title=f"Title of {content_id}",
        mime_type="audio/ogg",
        status=status,
        size_bytes=1234,
        checksum_sha256="0" * 64,
        storage_key=f"originals/{content_id}",
        preview_key=f"previews/{content_id}" if preview else None,
        thumbnail_key=None,
        created_at=T0,
    )


async def test_items_show_what_is_known_of_their_contents(platform: Platform) -> None:
    ctx = rewards_context(platform)
    known = KnownContents(
        content("content-voice-n1"),
        content("content-voice-r1", status="processing"),
        content("content-voice-sr1", preview=False),
    )
    entitlements = Entitlements(ctx, known)  # type: ignore[arg-type]
    user = str(uuid.uuid4())
    items = [item(0, "voice-n1"), item(1, "voice-r1"), item(2, "voice-sr1"), item(3, "gone")]
    await entitlements.apply(message(completed(user, items)))

    async with ctx.db.transaction(read_only=True) as session:
        page = await entitlements.collection(session, user, limit=10)
        one = await entitlements.one(session, user, page.items[0].id)
    shown = {i.item_id: (i.title, i.kind, i.preview_url) for i in page.items}
    assert shown == {
        "voice-n1": ("Title of content-voice-n1", "audio", "/api/v1/previews/content-voice-n1"),
        "voice-r1": ("Title of content-voice-r1", "audio", None),  # no preview until ready
        "voice-sr1": ("Title of content-voice-sr1", "audio", None),
        "gone": (None, None, None),
    }
    assert known.asked[0] == {f"content-{i}" for i in ("voice-n1", "voice-r1", "voice-sr1", "gone")}
    assert one == page.items[0]

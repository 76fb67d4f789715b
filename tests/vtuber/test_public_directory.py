"""The public directory of VTubers (GET /api/v1/vtubers): approved ones only, nothing private,
newest first or by name, in keyset pages whose bad parameters are 422 problems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from koepon.kernel.clock import Clock
from vtuber.conftest import vtuber_services
from vtuber.sales_events import catalog, message, shares
from vtuber.teams_kit import Studio, assert_problem, studio_fixture  # noqa: F401

DIRECTORY = "/api/v1/vtubers"
PUBLIC_FIELDS = {"id", "display_name", "avatar_url", "bio", "channel_links", "live_gachas"}


async def listed(studio: Studio, **params: Any) -> dict[str, Any]:
    answer = await studio.client.get(DIRECTORY, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def every_page(studio: Studio, **params: Any) -> list[str]:
    """The ids of every page, following next_cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await listed(studio, **params, **({"cursor": cursor} if cursor else {}))
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def named(studio: Studio, name: str) -> str:
    """An approved VTuber called ``name``, registered a moment after the previous one."""
    _, vtuber_id = await studio.vtuber()
    services = vtuber_services(studio.platform)
    async with studio.ctx.db.transaction() as session:
        row = await services.profiles.get(session, vtuber_id)
        assert row is not None
        row.display_name = name
    return vtuber_id


@pytest.fixture
def ticking(studio: Studio) -> Clock:
    """A clock that moves one second per registration, so "newest" has an order to show."""
    clock = studio.ctx.clock
    start = clock()
    steps = iter(range(1, 10_000))
    clock.use(lambda: start + timedelta(seconds=next(steps)))
    return clock


async def test_only_approved_vtubers_are_listed_newest_first_with_public_fields_only(
    studio: Studio, ticking: Clock
) -> None:
    owner, first = await studio.vtuber()
    edited = await studio.client.patch(
        f"/api/v1/vtubers/{first}",
        json={
            "avatar_url": "https://cdn.example.jp/a.png",
            "channel_links": ["https://www.youtube.com/@first"],
            "bio": "歌枠",
        },
        headers=owner.headers,
    )
    assert edited.status_code == 200, edited.text
    _, second = await studio.vtuber()
    _, suspended = await studio.vtuber()
    applicant = await studio.account()
    assert (await studio.apply(applicant)).status_code == 201
    rejected_by = await studio.account()
    rejected = (await studio.apply(rejected_by)).json()["id"]
    admin = await studio.staff("admin")
    for path, body in (
        (f"/api/v1/admin/vtubers/{suspended}/suspend", {"reason": "調査中"}),
        (f"/api/v1/admin/vtubers/{rejected}/reject", {"reason": "書類不備"}),
    ):
        answer = await studio.client.post(path, json=body, headers=admin.headers)
        assert answer.status_code == 200, answer.text

    page = await listed(studio)
    assert [item["id"] for item in page["items"]] == [second, first]
    assert page["next_cursor"] is None
    assert all(set(item) == PUBLIC_FIELDS for item in page["items"])
    assert page["items"][1] == {
        "id": first,
        "display_name": "テスト配信者",
        "avatar_url": "https://cdn.example.jp/a.png",
        "bio": "歌枠",
        "channel_links": ["https://www.youtube.com/@first"],
        "live_gachas": 0,
    }
    for private in ("声本", "legal_name", "bank", "owner_user_id", "invoice", "status", "7000"):
        assert private not in str(page)


async def test_pages_follow_the_cursor_in_either_order(studio: Studio, ticking: Clock) -> None:
    names = ["いろは", "Aki", "ゆめ", "Bea", "Aki"]
    ids = [await named(studio, name) for name in names]
    newest = await every_page(studio, limit=2)
    assert newest == list(reversed(ids))
    by_name = await every_page(studio, order="name", limit=2)
    want = [vid for _, vid in sorted(zip(names, ids, strict=True))]
    assert by_name == want
    assert await every_page(studio, order="name", limit=100) == want


async def test_a_long_bio_is_cut_and_live_gachas_are_counted(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    _, partner = await studio.vtuber()
    long_bio = "あ" * 300
    edited = await studio.client.patch(
        f"/api/v1/vtubers/{vtuber_id}", json={"bio": long_bio}, headers=owner.headers
    )
    assert edited.status_code == 200, edited.text
    gachas = vtuber_services(studio.platform).gachas
    now = studio.ctx.now()
    collab = shares((partner, 5000), (vtuber_id, 5000))
    for event in (
        catalog("g-1", vtuber_id, starts_at=now - timedelta(days=1)),
        catalog("g-2", vtuber_id),
        catalog("g-collab", partner, parties=collab),
        catalog("g-ended", vtuber_id, ends_at=now - timedelta(seconds=1)),
        catalog("g-later", vtuber_id, starts_at=now + timedelta(days=1)),
        catalog("g-draft", partner, status="draft"),
    ):
        assert await gachas.apply(message(event))

    items = {item["id"]: item for item in (await listed(studio))["items"]}
    assert items[vtuber_id]["live_gachas"] == 3
    assert items[partner]["live_gachas"] == 1
    bio = items[vtuber_id]["bio"]
    assert len(bio) == 160 and bio.endswith("…") and long_bio.startswith(bio[:-1])
    # The whole bio stays on the VTuber's own page.
    assert (await studio.client.get(f"/api/v1/vtubers/{vtuber_id}")).json()["bio"] == long_bio


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"order": "popular"}, "order"),
        ({"cursor": "x" * 600}, "cursor"),
    ],
)
async def test_bad_parameters_are_422_naming_them(
    studio: Studio, params: dict[str, Any], where: str
) -> None:
    answer = await studio.client.get(DIRECTORY, params=params)
    assert answer.status_code == 422, answer.text
    assert where in answer.text


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "WyJuZXdlc3QiLDEsMl0"])
async def test_a_cursor_not_handed_out_is_refused(studio: Studio, cursor: str) -> None:
    problem = assert_problem(
        await studio.client.get(DIRECTORY, params={"cursor": cursor}), 422, "invalid_cursor"
    )
    assert problem["parameter"] == "cursor"


async def test_a_cursor_only_works_with_its_own_order(studio: Studio, ticking: Clock) -> None:
    for name in ("A", "B", "C"):
        await named(studio, name)
    by_name = await listed(studio, order="name", limit=1)
    newest = await listed(studio, limit=1)
    for order, cursor in (("newest", by_name["next_cursor"]), ("name", newest["next_cursor"])):
        answer = await studio.client.get(DIRECTORY, params={"order": order, "cursor": cursor})
        assert_problem(answer, 422, "invalid_cursor")


async def test_anyone_may_read_it_signed_in_or_not(studio: Studio) -> None:
    _, vtuber_id = await studio.vtuber()
    fan = await studio.account()
    for headers in ({}, fan.headers):
        answer = await studio.client.get(DIRECTORY, headers=headers)
        assert answer.status_code == 200, answer.text
        assert [item["id"] for item in answer.json()["items"]] == [vtuber_id]

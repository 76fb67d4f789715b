"""The stream overlay's secret URL (COMPLIANCE I1): made and rotated by the team (profile.edit),
stored as a hash only, resolved by anyone holding it while the VTuber is approved."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from koepon.vtuber.models import idempotency_keys
from koepon.vtuber.overlays import repository as overlay_repository
from koepon.vtuber.overlays.models import OverlayKey
from vtuber.conftest import vtuber_services
from vtuber.sales_events import catalog, message, shares
from vtuber.teams_kit import Account, Studio, assert_problem, studio_fixture  # noqa: F401


def overlay(vtuber_id: str) -> str:
    return f"/api/v1/vtubers/{vtuber_id}/overlay"


async def rotate(studio: Studio, vtuber_id: str, who: Account, **headers: str) -> httpx.Response:
    return await studio.client.post(
        overlay(vtuber_id) + "/rotate", headers={**who.headers, **headers}
    )


async def made(studio: Studio, vtuber_id: str, who: Account) -> dict[str, Any]:
    answer = await rotate(studio, vtuber_id, who)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def resolve(studio: Studio, token: str) -> httpx.Response:
    return await studio.client.get(f"/api/v1/overlays/{token}")


async def kept_rows(studio: Studio) -> list[OverlayKey]:
    async with studio.ctx.db.transaction(read_only=True) as session:
        return list((await session.scalars(select(OverlayKey))).all())


async def test_rotating_shows_the_token_once_and_keeps_only_its_hash(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    answer = await rotate(studio, vtuber_id, owner)
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    token = body["token"]
    assert len(token) == 43 and body["url_path"] == f"/overlay/{token}"
    assert body["token_hint"] == token[:4] and body["created_at"]

    shown = await studio.client.get(overlay(vtuber_id), headers=owner.headers)
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert shown.json() == {
        "token_hint": token[:4],
        "url_path": f"/overlay/{token[:4]}…",
        "created_at": body["created_at"],
    }
    assert token not in shown.text

    [row] = await kept_rows(studio)
    assert row.vtuber_id == vtuber_id
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps([str(getattr(row, c.key)) for c in OverlayKey.__table__.c])


async def test_a_vtuber_without_an_overlay_url_shows_none(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    shown = await studio.client.get(overlay(vtuber_id), headers=owner.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"token_hint": None, "url_path": None, "created_at": None}


async def test_the_token_resolves_anonymously_to_the_vtuber_and_its_live_gachas(
    studio: Studio,
) -> None:
    owner, vtuber_id = await studio.vtuber()
    _, partner = await studio.vtuber()
    gachas = vtuber_services(studio.platform).gachas
    now = studio.ctx.now()
    collab = shares((partner, 6000), (vtuber_id, 4000))
    for event in (
        catalog("g-live", vtuber_id, title="配信記念ボイス", starts_at=now - timedelta(days=1)),
        catalog("g-collab", partner, title="コラボガチャ", parties=collab),
        catalog("g-ended", vtuber_id, ends_at=now - timedelta(seconds=1)),
        catalog("g-draft", vtuber_id, status="draft"),
    ):
        assert await gachas.apply(message(event))
    token = (await made(studio, vtuber_id, owner))["token"]

    answer = await resolve(studio, token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["vtuber_id"] == vtuber_id and body["display_name"] == "テスト配信者"
    assert body["avatar_url"] is None
    assert sorted(body["live_gachas"], key=lambda g: g["id"]) == [
        {"id": "g-collab", "title": "コラボガチャ"},
        {"id": "g-live", "title": "配信記念ボイス"},
    ]
    assert set(body) == {"vtuber_id", "display_name", "avatar_url", "live_gachas"}


async def test_rotating_invalidates_the_previous_token(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    first = (await made(studio, vtuber_id, owner))["token"]
    second = (await made(studio, vtuber_id, owner))["token"]
    assert first != second
    gone = await resolve(studio, first)
    assert_problem(gone, 404, "overlay_not_found")
    assert gone.headers["cache-control"] == "no-store"
    assert (await resolve(studio, second)).status_code == 200
    assert len(await kept_rows(studio)) == 1


async def test_unknown_rotated_and_suspended_tokens_get_the_same_answer(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    admin = await studio.staff("admin")
    rotated = (await made(studio, vtuber_id, owner))["token"]
    token = (await made(studio, vtuber_id, owner))["token"]
    suspended = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/suspend",
        json={"reason": "規約違反の調査中"},
        headers=admin.headers,
    )
    assert suspended.status_code == 200, suspended.text

    answers = [await resolve(studio, t) for t in (token, rotated, "A" * 43)]
    bodies = []
    for answer in answers:
        body = assert_problem(answer, 404, "overlay_not_found")
        bodies.append({k: v for k, v in body.items() if k not in ("instance", "request_id")})
    assert bodies[0] == bodies[1] == bodies[2]

    # Reinstated, the same URL works again (suspension did not rotate it).
    approved = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", headers=admin.headers
    )
    assert approved.status_code == 200, approved.text
    assert (await resolve(studio, token)).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 500,
        "A" * 42 + "!",
        "A" * 42 + "=",
        "A" * 41 + "%20",
        "あ" * 43,
    ],
)
async def test_a_malformed_token_is_refused_before_any_query(
    studio: Studio, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_query(*_: object, **__: object) -> None:
        raise AssertionError("the database was asked about a malformed token")

    monkeypatch.setattr(overlay_repository, "by_digest", no_query)
    answer = await resolve(studio, token)
    problem = assert_problem(answer, 422, "invalid_overlay_token")
    assert problem["parameter"] == "token"
    assert answer.headers["cache-control"] == "no-store"


async def test_a_replayed_rotation_rotates_nothing_and_never_stores_the_token(
    studio: Studio,
) -> None:
    owner, vtuber_id = await studio.vtuber()
    first = await rotate(studio, vtuber_id, owner, **{"Idempotency-Key": "rotate-1"})
    assert first.status_code == 201, first.text
    token = first.json()["token"]
    again = await rotate(studio, vtuber_id, owner, **{"Idempotency-Key": "rotate-1"})
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert again.json() == first.json() | {"token": None, "url_path": None}
    assert (await resolve(studio, token)).status_code == 200  # still the live token

    async with studio.ctx.db.transaction(read_only=True) as session:
        stored = (await session.execute(select(idempotency_keys.c.response_body))).all()
    assert stored and all(token not in json.dumps(body) for (body,) in stored)


async def test_managers_and_admins_rotate_and_the_record_names_who(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    manager = await studio.member(vtuber_id, owner, "manager")
    admin = await studio.staff("admin")
    by_manager = await made(studio, vtuber_id, manager)
    by_admin = await made(studio, vtuber_id, admin)
    assert (await resolve(studio, by_manager["token"])).status_code == 404
    assert (await resolve(studio, by_admin["token"])).status_code == 200

    rotations = [
        c for c in await studio.changes(vtuber_id, owner) if c["action"] == "overlay.rotated"
    ]
    assert [c["actor_id"] for c in rotations] == [admin.id, manager.id]
    assert [c["detail"] for c in rotations] == [
        {"token_hint": by_admin["token_hint"]},
        {"token_hint": by_manager["token_hint"]},
    ]


async def test_outsiders_and_members_without_profile_edit_are_refused(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    token = (await made(studio, vtuber_id, owner))["token"]
    other_owner, _ = await studio.vtuber()
    refused = {
        "fan": await studio.account(),
        "other_owner": other_owner,
        "editor": await studio.member(vtuber_id, owner, "editor"),
        "analyst": await studio.member(vtuber_id, owner, "analyst"),
        "compliance": await studio.staff("compliance"),
        "support": await studio.staff("support"),
    }
    for name, who in refused.items():
        for answer in (
            await studio.client.get(overlay(vtuber_id), headers=who.headers),
            await rotate(studio, vtuber_id, who),
        ):
            assert answer.status_code in (403, 404), (name, answer.text)
            assert token not in answer.text and "token_hint" not in answer.text
    for answer in (
        await studio.client.get(overlay(vtuber_id)),
        await studio.client.post(overlay(vtuber_id) + "/rotate"),
    ):
        assert_problem(answer, 401, "unauthenticated")
    # Nobody refused changed anything: the owner's URL still works.
    assert (await resolve(studio, token)).status_code == 200
    assert len(await kept_rows(studio)) == 1


async def test_an_unknown_vtuber_is_not_found_for_admins(studio: Studio) -> None:
    admin = await studio.staff("admin")
    for answer in (
        await studio.client.get(overlay("no-such-vtuber"), headers=admin.headers),
        await rotate(studio, "no-such-vtuber", admin),
    ):
        assert_problem(answer, 404, "vtuber_not_found")
    assert await kept_rows(studio) == []


async def test_a_suspended_vtubers_team_cannot_rotate(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    admin = await studio.staff("admin")
    suspended = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/suspend",
        json={"reason": "調査中"},
        headers=admin.headers,
    )
    assert suspended.status_code == 200, suspended.text
    assert_problem(await rotate(studio, vtuber_id, owner), 403, "forbidden")
    assert await kept_rows(studio) == []

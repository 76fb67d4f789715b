"""Applications, operators' decisions, the public and private profile, over HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from koepon.contracts.vtuber import Permission, VtuberApproved
from koepon.vtuber.models import outbox
from koepon.vtuber.teams.models import VtuberProfile
from vtuber.teams_kit import Studio, application, assert_problem, studio_fixture  # noqa: F401 - the studio fixture


async def count_profiles(studio: Studio) -> int:
    async with studio.ctx.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(VtuberProfile)) or 0)


async def test_apply_then_approve_makes_a_public_vtuber(studio: Studio) -> None:
    fan = await studio.account()
    admin = await studio.staff("admin")
    made = await studio.apply(fan)
    assert made.status_code == 201, made.text
    body = made.json()
    vtuber_id = body["id"]
    assert body["status"] == "pending" and body["owner_user_id"] == fan.id
    assert body["bank"]["holder_kana"] == "ﾎｼﾐ ｺｴｺ"  # stored half-width for 全銀
    assert body["bank"]["account_number"] == "7654321" and body["revenue_share_bp"] == 7000
    # Not public while pending; the owner reads the application.
    assert_problem(await studio.client.get(f"/api/v1/vtubers/{vtuber_id}"), 404, "vtuber_not_found")
    own = await studio.client.get(f"/api/v1/vtubers/{vtuber_id}/private", headers=fan.headers)
    assert own.status_code == 200 and own.json()["status"] == "pending"
    assert await studio.permissions(vtuber_id, fan) == set()

    queue = await studio.client.get("/api/v1/admin/vtubers?status=pending", headers=admin.headers)
    assert vtuber_id in [item["id"] for item in queue.json()["items"]]
    approved = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", headers=admin.headers
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    public = await studio.client.get(f"/api/v1/vtubers/{vtuber_id}")
    assert public.status_code == 200
    shown = public.json()
    assert shown["display_name"] == "星見こえ" and shown["invoice_registered"] is True
    assert shown["live_gachas"] == []
    for secret in ("legal_name", "bank", "invoice_number", "owner_user_id", "revenue_share_bp"):
        assert secret not in shown
    assert "7654321" not in public.text and "星見 声子" not in public.text
    assert await studio.permissions(vtuber_id, fan) == {str(p) for p in Permission}

    async with studio.ctx.db.sessionmaker() as session:
        events = (
            await session.execute(outbox.select().where(outbox.c.topic == VtuberApproved.topic))
        ).all()
    payloads = [row.payload for row in events if row.payload["vtuber_id"] == vtuber_id]
    assert len(payloads) == 1 and payloads[0]["owner_user_id"] == fan.id
    actions = [c["action"] for c in await studio.changes(vtuber_id, admin)]
    assert actions == ["approved", "applied"]
    # A second approval is a conflict, not a second event.
    again = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", headers=admin.headers
    )
    assert_problem(again, 409, "vtuber_status_conflict")


async def test_reject_with_a_reason_then_the_fan_may_apply_again(studio: Studio) -> None:
    fan = await studio.account()
    officer = await studio.staff("compliance")
    vtuber_id = (await studio.apply(fan)).json()["id"]
    assert_problem(await studio.apply(fan), 409, "application_exists")
    no_reason = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/reject", json={"reason": "  "}, headers=officer.headers
    )
    assert_problem(no_reason, 422, "validation_failed")
    rejected = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/reject",
        json={"reason": "チャンネルの確認ができませんでした"},
        headers=officer.headers,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    own = (
        await studio.client.get(f"/api/v1/vtubers/{vtuber_id}/private", headers=fan.headers)
    ).json()
    assert own["decision_reason"] == "チャンネルの確認ができませんでした"
    approve = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", headers=officer.headers
    )
    assert_problem(approve, 409, "vtuber_status_conflict")
    assert (await studio.apply(fan)).status_code == 201


async def test_a_suspended_vtubers_owner_loses_every_permission(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    admin = await studio.staff("admin")
    manager = await studio.member(vtuber_id, owner, "manager")
    assert len(await studio.permissions(vtuber_id, owner)) == 7
    suspended = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/suspend",
        json={"reason": "規約違反の調査中"},
        headers=admin.headers,
    )
    assert suspended.status_code == 200
    assert await studio.permissions(vtuber_id, owner) == set()
    assert await studio.permissions(vtuber_id, manager) == set()
    assert_problem(await studio.client.get(f"/api/v1/vtubers/{vtuber_id}"), 404, "vtuber_not_found")
    edit = await studio.client.patch(
        f"/api/v1/vtubers/{vtuber_id}", json={"bio": "x"}, headers=owner.headers
    )
    assert_problem(edit, 403, "forbidden")
    invite = await studio.invite(owner, vtuber_id, "someone@example.jp")
    assert_problem(invite, 403, "forbidden")
    mine = (await studio.client.get("/api/v1/me/vtubers", headers=owner.headers)).json()
    assert mine == [
        {
            "vtuber_id": vtuber_id,
            "display_name": "テスト配信者",
            "status": "suspended",
            "role": "owner",
            "permissions": [],
        }
    ]
    # The owner cannot escape a suspension by applying again; reinstating restores everything.
    assert_problem(await studio.apply(owner), 409, "application_exists")
    back = await studio.client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", headers=admin.headers
    )
    assert back.status_code == 200
    assert len(await studio.permissions(vtuber_id, owner)) == 7


HOSTILE_APPLICATIONS: list[tuple[dict[str, Any], str]] = [
    ({"display_name": "x" * 65}, "display_name"),
    ({"display_name": ""}, "display_name"),
    ({"bio": "あ" * 2001}, "bio"),
    ({"avatar_url": "http://cdn.example.jp/a.png"}, "avatar_url"),
    ({"channel_links": ["http://www.youtube.com/@a"]}, "channel_links"),
    ({"channel_links": [f"https://x.com/{i}" for i in range(11)]}, "channel_links"),
    ({"invoice_number": "T7000012050003"}, "invoice_number"),
    ({"invoice_number": "7000012050002"}, "invoice_number"),
    ({"legal_name": "a" * 101}, "legal_name"),
    ({"entity_type": "llc"}, "entity_type"),
    ({"unknown": 1}, "unknown"),
]

BAD_BANKS: list[tuple[dict[str, str], str]] = [
    ({"holder_kana": "山田太郎"}, "holder_kana"),
    ({"holder_kana": "ﾔﾏﾀﾞ<b>"}, "holder_kana"),
    ({"bank_code": "12345"}, "bank_code"),
    ({"branch_code": "12"}, "branch_code"),
    ({"account_number": "123456"}, "account_number"),
    ({"account_type": "checking"}, "account_type"),
]


async def test_hostile_applications_are_refused_naming_the_field(studio: Studio) -> None:
    # Every case on one platform (one platform per case was the slow part of this file).
    fan = await studio.account()
    before = await count_profiles(studio)
    for change, field in HOSTILE_APPLICATIONS:
        answer = await studio.client.post(
            "/api/v1/vtubers", json=application(**change), headers=fan.headers
        )
        problem = assert_problem(answer, 422, "validation_failed")
        assert field in problem["detail"], (change, problem)
    assert await count_profiles(studio) == before


async def test_bad_bank_fields_are_refused(studio: Studio) -> None:
    fan = await studio.account()
    before = await count_profiles(studio)
    for bank, field in BAD_BANKS:
        base = application()["bank"] | bank
        answer = await studio.client.post(
            "/api/v1/vtubers", json=application(bank=base), headers=fan.headers
        )
        problem = assert_problem(answer, 422, "validation_failed")
        assert f"bank.{field}" in problem["detail"], (bank, problem)
    assert await count_profiles(studio) == before


async def test_invoice_number_needs_its_date_and_a_date_that_has_come(studio: Studio) -> None:
    fan = await studio.account()
    missing = await studio.client.post(
        "/api/v1/vtubers", json=application(invoice_registered_on=None), headers=fan.headers
    )
    assert_problem(missing, 422, "validation_failed")
    future = await studio.client.post(
        "/api/v1/vtubers", json=application(invoice_registered_on="2999-01-01"), headers=fan.headers
    )
    assert_problem(future, 422, "invalid_field")
    without = await studio.client.post(
        "/api/v1/vtubers",
        json=application(invoice_number=None, invoice_registered_on=None),
        headers=fan.headers,
    )
    assert without.status_code == 201 and without.json()["invoice_number"] is None


async def test_an_oversized_body_is_refused(studio: Studio) -> None:
    fan = await studio.account()
    before = await count_profiles(studio)
    huge = await studio.client.post(
        "/api/v1/vtubers", json=application(bio="あ" * 300_000), headers=fan.headers
    )
    assert huge.status_code in (413, 422), huge.text
    assert huge.headers["content-type"].startswith("application/problem+json")
    assert await count_profiles(studio) == before


async def test_an_application_replayed_with_its_key_is_one_application(studio: Studio) -> None:
    fan = await studio.account()
    headers = fan.ik("apply-1")
    first = await studio.client.post("/api/v1/vtubers", json=application(), headers=headers)
    again = await studio.client.post("/api/v1/vtubers", json=application(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    other = await studio.client.post(
        "/api/v1/vtubers", json=application(bio="別の内容"), headers=headers
    )
    assert_problem(other, 422, "idempotency_key_reused")
    async with studio.ctx.db.sessionmaker() as session:
        owned = await session.scalar(
            select(func.count())
            .select_from(VtuberProfile)
            .where(VtuberProfile.owner_user_id == fan.id)
        )
    assert owned == 1
    # A refused request frees its key: the same key and body work once the cause is gone.
    fan2 = await studio.account()
    earlier = (await studio.apply(fan2)).json()["id"]
    refused = await studio.client.post("/api/v1/vtubers", json=application(), headers=fan2.ik("k"))
    assert_problem(refused, 409, "application_exists")
    admin = await studio.staff("admin")
    await studio.client.post(
        f"/api/v1/admin/vtubers/{earlier}/reject", json={"reason": "重複"}, headers=admin.headers
    )
    retried = await studio.client.post("/api/v1/vtubers", json=application(), headers=fan2.ik("k"))
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


async def test_private_profile_masks_the_account_for_admins_and_hides_it_from_others(
    studio: Studio,
) -> None:
    owner, vtuber_id = await studio.vtuber()
    url = f"/api/v1/vtubers/{vtuber_id}/private"
    mine = (await studio.client.get(url, headers=owner.headers)).json()
    assert mine["bank"]["account_number"] == "1234567" and mine["bank"]["masked"] is False
    admin = (await studio.client.get(url, headers=(await studio.staff("admin")).headers)).json()
    assert admin["bank"]["account_number"] == "****567" and admin["bank"]["masked"] is True
    officer = (
        await studio.client.get(url, headers=(await studio.staff("compliance")).headers)
    ).json()
    assert officer["bank"] is None and officer["legal_name"]
    manager = await studio.member(vtuber_id, owner, "manager")
    for refused in (manager, await studio.staff("support"), await studio.account()):
        assert_problem(await studio.client.get(url, headers=refused.headers), 403, "forbidden")
    assert_problem(
        await studio.client.get("/api/v1/vtubers/nope/private", headers=owner.headers),
        404,
        "vtuber_not_found",
    )


async def test_profile_edits_by_permission_and_payout_fields_by_the_owner(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    url = f"/api/v1/vtubers/{vtuber_id}"
    manager = await studio.member(vtuber_id, owner, "manager")
    editor = await studio.member(vtuber_id, owner, "editor")
    edited = await studio.client.patch(
        url, json={"bio": "新しい自己紹介", "avatar_url": None}, headers=manager.headers
    )
    assert edited.status_code == 200 and edited.json()["bio"] == "新しい自己紹介"
    assert edited.json()["bank"] is None  # a manager never sees the bank
    assert_problem(
        await studio.client.patch(url, json={"bio": "x"}, headers=editor.headers), 403, "forbidden"
    )
    bank = application()["bank"]
    assert_problem(
        await studio.client.patch(url, json={"bank": bank}, headers=manager.headers),
        403,
        "forbidden",
    )
    by_owner = await studio.client.patch(url, json={"bank": bank}, headers=owner.headers)
    assert by_owner.status_code == 200 and by_owner.json()["bank"]["holder_kana"] == "ﾎｼﾐ ｺｴｺ"
    other_owner, _ = await studio.vtuber()
    assert_problem(
        await studio.client.patch(url, json={"bio": "乗っ取り"}, headers=other_owner.headers),
        403,
        "forbidden",
    )
    assert_problem(
        await studio.client.patch(url, json={"display_name": None}, headers=owner.headers),
        422,
        "validation_failed",
    )
    record = await studio.changes(vtuber_id, owner)
    edits = [c for c in record if c["action"] == "profile.edited"]
    assert [e["detail"]["fields"] for e in edits] == [["bank"], ["avatar_url", "bio"]]
    assert {e["actor_id"] for e in edits} == {owner.id, manager.id}


async def test_revenue_share_is_admins_and_recorded(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    admin = await studio.staff("admin")
    url = f"/api/v1/admin/vtubers/{vtuber_id}/revenue-share"
    for refused in (owner, await studio.staff("compliance")):
        assert_problem(
            await studio.client.put(url, json={"share_bp": 9000}, headers=refused.headers),
            403,
            "forbidden",
        )
    assert_problem(
        await studio.client.put(url, json={"share_bp": 10001}, headers=admin.headers),
        422,
        "validation_failed",
    )
    done = await studio.client.put(url, json={"share_bp": 8000}, headers=admin.headers)
    assert done.status_code == 200 and done.json()["revenue_share_bp"] == 8000
    change = (await studio.changes(vtuber_id, admin))[0]
    assert change["action"] == "share.changed" and change["actor_id"] == admin.id
    assert change["detail"] == {"from_bp": 7000, "to_bp": 8000}


async def test_operator_routes_admit_their_roles_only(studio: Studio) -> None:
    fan = await studio.account()
    vtuber_id = (await studio.apply(fan)).json()["id"]
    support = await studio.staff("support")
    listing = await studio.client.get("/api/v1/admin/vtubers", headers=support.headers)
    assert listing.status_code == 200 and "bank" not in listing.json()["items"][0]
    assert_problem(
        await studio.client.get("/api/v1/admin/vtubers", headers=fan.headers), 403, "forbidden"
    )
    assert (await studio.client.get("/api/v1/admin/vtubers")).status_code == 401
    for action, body in (
        ("approve", None),
        ("reject", {"reason": "x"}),
        ("suspend", {"reason": "x"}),
    ):
        url = f"/api/v1/admin/vtubers/{vtuber_id}/{action}"
        for refused in (fan, support):
            assert_problem(
                await studio.client.post(url, json=body, headers=refused.headers), 403, "forbidden"
            )
    assert_problem(
        await studio.client.post("/api/v1/admin/vtubers/unknown/approve", headers=support.headers),
        403,
        "forbidden",
    )
    admin = await studio.staff("admin")
    assert_problem(
        await studio.client.post("/api/v1/admin/vtubers/unknown/approve", headers=admin.headers),
        404,
        "vtuber_not_found",
    )


async def test_the_application_queue_pages_oldest_first(studio: Studio) -> None:
    admin = await studio.staff("admin")
    made = [(await studio.apply(await studio.account())).json()["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (
            await studio.client.get("/api/v1/admin/vtubers" + query, headers=admin.headers)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i for i in seen if i in made] == made
    assert_problem(
        await studio.client.get("/api/v1/admin/vtubers?cursor=bogus", headers=admin.headers),
        422,
        "invalid_cursor",
    )

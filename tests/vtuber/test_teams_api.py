"""Team RBAC over HTTP: invitations by email, roles, removal, the record of changes."""

from __future__ import annotations

from sqlalchemy import func, select

from clocks import MovableClock
from koepon.auth.models import OutgoingMail
from koepon.contracts.vtuber import MemberInvited
from koepon.kernel.bus import Message
from koepon.vtuber.models import outbox
from koepon.vtuber.teams.models import Invitation
from vtuber.teams_kit import Studio, assert_problem, studio_fixture  # noqa: F401 - the studio fixture


async def invitations(studio: Studio, vtuber_id: str) -> int:
    async with studio.ctx.db.sessionmaker() as session:
        query = (
            select(func.count()).select_from(Invitation).where(Invitation.vtuber_id == vtuber_id)
        )
        return int(await session.scalar(query) or 0)


async def test_invite_then_accept_by_the_invited_verified_email(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    joiner = await studio.account()
    made = await studio.invite(owner, vtuber_id, joiner.email.upper(), "analyst")
    assert made.status_code == 201, made.text
    invitation = made.json()
    assert invitation["email"] == joiner.email and invitation["status"] == "pending"
    assert invitation["vtuber_name"] == "テスト配信者"

    mine = await studio.client.get("/api/v1/vtuber-invitations", headers=joiner.headers)
    assert [i["id"] for i in mine.json()] == [invitation["id"]]
    accepted = await studio.client.post(
        f"/api/v1/vtuber-invitations/{invitation['id']}/accept", headers=joiner.headers
    )
    assert accepted.status_code == 200 and accepted.json()["role"] == "analyst"
    assert await studio.permissions(vtuber_id, joiner) == {"sales.read"}
    again = await studio.client.post(
        f"/api/v1/vtuber-invitations/{invitation['id']}/accept", headers=joiner.headers
    )
    assert_problem(again, 409, "invitation_accepted")

    team = (
        await studio.client.get(f"/api/v1/vtubers/{vtuber_id}/members", headers=joiner.headers)
    ).json()
    assert [(m["user_id"], m["role"]) for m in team["members"]] == [
        (owner.id, "owner"),
        (joiner.id, "analyst"),
    ]
    assert team["invitations"] == []
    mine_now = (await studio.client.get("/api/v1/me/vtubers", headers=joiner.headers)).json()
    assert mine_now == [
        {
            "vtuber_id": vtuber_id,
            "display_name": "テスト配信者",
            "status": "approved",
            "role": "analyst",
            "permissions": ["sales.read"],
        }
    ]
    actions = [(c["action"], c["actor_id"]) for c in await studio.changes(vtuber_id, owner)]
    assert actions[:2] == [("member.joined", joiner.id), ("member.invited", owner.id)]


async def test_the_wrong_account_or_an_unverified_one_cannot_accept(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    invitee = await studio.account(verified=False)
    stranger = await studio.account()
    invitation_id = (await studio.invite(owner, vtuber_id, invitee.email)).json()["id"]
    url = f"/api/v1/vtuber-invitations/{invitation_id}/accept"
    assert_problem(
        await studio.client.post(url, headers=stranger.headers), 403, "invitation_not_yours"
    )
    assert_problem(
        await studio.client.post(url, headers=invitee.headers), 403, "email_not_verified"
    )
    unverified = await studio.client.get("/api/v1/vtuber-invitations", headers=invitee.headers)
    assert unverified.status_code == 200 and unverified.json() == []
    assert (
        await studio.client.get("/api/v1/vtuber-invitations", headers=stranger.headers)
    ).json() == []
    assert_problem(
        await studio.client.post(
            "/api/v1/vtuber-invitations/nope/accept", headers=stranger.headers
        ),
        404,
        "invitation_not_found",
    )
    assert await studio.permissions(vtuber_id, stranger) == set()


async def test_an_invitation_expires_with_the_clock(studio: Studio) -> None:
    clock = MovableClock(studio.ctx.now())
    studio.ctx.clock.use(clock)
    owner, vtuber_id = await studio.vtuber()
    joiner = await studio.account()
    invitation_id = (await studio.invite(owner, vtuber_id, joiner.email)).json()["id"]
    clock.advance(days=7)  # KOEPON_INVITATION_DAYS
    url = f"/api/v1/vtuber-invitations/{invitation_id}/accept"
    assert_problem(await studio.client.post(url, headers=joiner.headers), 410, "invitation_expired")
    assert (
        await studio.client.get("/api/v1/vtuber-invitations", headers=joiner.headers)
    ).json() == []
    team = (
        await studio.client.get(f"/api/v1/vtubers/{vtuber_id}/members", headers=owner.headers)
    ).json()
    assert [i["status"] for i in team["invitations"]] == ["expired"]
    # An expired invitation no longer blocks a new one to the same address.
    assert (await studio.invite(owner, vtuber_id, joiner.email)).status_code == 201


async def test_a_revoked_invitation_is_gone(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    joiner = await studio.account()
    invitation_id = (await studio.invite(owner, vtuber_id, joiner.email)).json()["id"]
    assert_problem(await studio.invite(owner, vtuber_id, joiner.email), 409, "invitation_pending")
    revoke = f"/api/v1/vtubers/{vtuber_id}/invitations/{invitation_id}"
    assert (await studio.client.delete(revoke, headers=owner.headers)).status_code == 204
    assert_problem(
        await studio.client.delete(revoke, headers=owner.headers), 410, "invitation_revoked"
    )
    url = f"/api/v1/vtuber-invitations/{invitation_id}/accept"
    assert_problem(await studio.client.post(url, headers=joiner.headers), 410, "invitation_revoked")
    assert (await studio.changes(vtuber_id, owner))[0]["action"] == "invitation.revoked"


async def test_an_invitation_replayed_with_its_key_is_one_invitation_and_one_mail(
    studio: Studio,
) -> None:
    owner, vtuber_id = await studio.vtuber()
    body = {"email": "replay@example.jp", "role": "editor"}
    url = f"/api/v1/vtubers/{vtuber_id}/members"
    first = await studio.client.post(url, json=body, headers=owner.ik("invite-1"))
    again = await studio.client.post(url, json=body, headers=owner.ik("invite-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await invitations(studio, vtuber_id) == 1
    async with studio.ctx.db.sessionmaker() as session:
        rows = (
            await session.execute(outbox.select().where(outbox.c.topic == MemberInvited.topic))
        ).all()
    mine = [row for row in rows if row.payload["vtuber_id"] == vtuber_id]
    assert len(mine) == 1

    # The auth service mails it (Japanese first, link to the studio), once per event.
    auth = studio.platform.units["auth"]
    consumer = next(c for c in auth.consumers if MemberInvited.topic in c.topics)
    row = mine[0]
    message = Message(id=row.id, topic=row.topic, payload=row.payload, occurred_at=row.created_at)
    await consumer.handler(message)
    await consumer.handler(message)
    async with auth.db.sessionmaker() as session:
        mails = (
            await session.scalars(
                select(OutgoingMail).where(OutgoingMail.to_address == "replay@example.jp")
            )
        ).all()
    assert len(mails) == 1
    assert mails[0].subject == "テスト配信者 のチームへの招待"
    assert "編集者" in mails[0].body and "/studio/invitations" in mails[0].body


async def test_managers_manage_everyone_but_owners(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    manager = await studio.member(vtuber_id, owner, "manager")
    co_owner = await studio.member(vtuber_id, owner, "owner")
    editor = await studio.member(vtuber_id, manager, "editor")
    assert_problem(
        await studio.invite(manager, vtuber_id, "boss@example.jp", "owner"), 403, "forbidden"
    )
    members = f"/api/v1/vtubers/{vtuber_id}/members"
    promote = await studio.client.patch(
        f"{members}/{editor.id}", json={"role": "manager"}, headers=manager.headers
    )
    assert promote.status_code == 200 and promote.json()["role"] == "manager"
    assert_problem(
        await studio.client.patch(
            f"{members}/{editor.id}", json={"role": "owner"}, headers=manager.headers
        ),
        403,
        "forbidden",
    )
    assert_problem(
        await studio.client.patch(
            f"{members}/{co_owner.id}", json={"role": "editor"}, headers=manager.headers
        ),
        403,
        "forbidden",
    )
    assert_problem(
        await studio.client.delete(f"{members}/{co_owner.id}", headers=manager.headers),
        403,
        "forbidden",
    )
    assert_problem(
        await studio.client.delete(f"{members}/{owner.id}", headers=co_owner.headers),
        409,
        "owner_not_removable",
    )
    assert_problem(
        await studio.client.patch(
            f"{members}/{owner.id}", json={"role": "editor"}, headers=co_owner.headers
        ),
        409,
        "owner_not_removable",
    )
    assert_problem(
        await studio.client.delete(f"{members}/nobody", headers=owner.headers),
        404,
        "member_not_found",
    )
    assert (
        await studio.client.delete(f"{members}/{co_owner.id}", headers=owner.headers)
    ).status_code == 204
    # Anyone may leave; an editor may not remove others.
    analyst = await studio.member(vtuber_id, owner, "analyst")
    demoted = await studio.member(vtuber_id, owner, "editor")
    assert_problem(
        await studio.client.delete(f"{members}/{analyst.id}", headers=demoted.headers),
        403,
        "forbidden",
    )
    leave = await studio.client.delete(f"{members}/{analyst.id}", headers=analyst.headers)
    assert leave.status_code == 204
    assert await studio.permissions(vtuber_id, analyst) == set()
    record = await studio.changes(vtuber_id, manager)
    assert [c["action"] for c in record[:3]] == ["member.left", "member.joined", "member.invited"]
    removed = next(c for c in record if c["action"] == "member.removed")
    assert removed["actor_id"] == owner.id and removed["detail"] == {
        "user_id": co_owner.id,
        "role": "owner",
    }
    changed = next(c for c in record if c["action"] == "member.role_changed")
    assert changed["detail"] == {"user_id": editor.id, "from": "editor", "to": "manager"}


async def test_other_vtubers_owners_and_weaker_roles_are_refused(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    rival, rival_id = await studio.vtuber()
    editor = await studio.member(vtuber_id, owner, "editor")
    analyst = await studio.member(vtuber_id, owner, "analyst")
    fan = await studio.account()
    base = f"/api/v1/vtubers/{vtuber_id}"
    invitation_id = (await studio.invite(owner, vtuber_id, "later@example.jp")).json()["id"]
    for who in (rival, editor, analyst, fan):
        assert_problem(await studio.invite(who, vtuber_id, "x@example.jp"), 403, "forbidden")
        assert_problem(
            await studio.client.patch(
                f"{base}/members/{editor.id}", json={"role": "analyst"}, headers=who.headers
            ),
            403,
            "forbidden",
        )
        assert_problem(
            await studio.client.delete(f"{base}/invitations/{invitation_id}", headers=who.headers),
            403,
            "forbidden",
        )
        assert_problem(
            await studio.client.get(f"{base}/changes", headers=who.headers), 403, "forbidden"
        )
    for who in (rival, fan):
        assert_problem(
            await studio.client.get(f"{base}/members", headers=who.headers), 403, "forbidden"
        )
        assert_problem(
            await studio.client.delete(f"{base}/members/{editor.id}", headers=who.headers),
            403,
            "forbidden",
        )
    assert await studio.permissions(vtuber_id, rival) == set()
    assert len(await studio.permissions(rival_id, rival)) == 7
    # Anonymous callers are asked to sign in.
    for method, path in (
        ("GET", f"{base}/members"),
        ("POST", f"{base}/members"),
        ("GET", f"{base}/changes"),
        ("GET", "/api/v1/me/vtubers"),
        ("GET", "/api/v1/vtuber-invitations"),
    ):
        answer = await studio.client.request(method, path, json={} if method == "POST" else None)
        assert answer.status_code == 401, (method, path)


async def test_operators_see_the_team_and_the_record(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    await studio.member(vtuber_id, owner, "editor")
    for role, record in (("admin", 200), ("compliance", 200), ("support", 403)):
        staff = await studio.staff(role)
        team = await studio.client.get(
            f"/api/v1/vtubers/{vtuber_id}/members", headers=staff.headers
        )
        assert team.status_code == 200 and len(team.json()["members"]) == 2
        changes = await studio.client.get(
            f"/api/v1/vtubers/{vtuber_id}/changes", headers=staff.headers
        )
        assert changes.status_code == record
    admin = await studio.staff("admin")
    assert (
        await studio.invite(admin, vtuber_id, "by-admin@example.jp", "owner")
    ).status_code == 201


async def test_the_record_pages_newest_first(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    for i in range(4):
        await studio.invite(owner, vtuber_id, f"p{i}@example.jp")
    url = f"/api/v1/vtubers/{vtuber_id}/changes?limit=2"
    first = (await studio.client.get(url, headers=owner.headers)).json()
    second = (
        await studio.client.get(url + f"&cursor={first['next_cursor']}", headers=owner.headers)
    ).json()
    third = (
        await studio.client.get(url + f"&cursor={second['next_cursor']}", headers=owner.headers)
    ).json()
    emails = [c["detail"].get("email") for c in first["items"] + second["items"] + third["items"]]
    assert emails == ["p3@example.jp", "p2@example.jp", "p1@example.jp", "p0@example.jp", None]
    assert third["next_cursor"] is None


async def test_bad_invitations_are_refused_and_store_nothing(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    for body in (
        {"email": "not-an-email", "role": "editor"},
        {"email": "a@example.jp", "role": "admin"},
        {"email": "a@example.jp"},
    ):
        answer = await studio.client.post(
            f"/api/v1/vtubers/{vtuber_id}/members", json=body, headers=owner.headers
        )
        assert_problem(answer, 422, "validation_failed")
    assert await invitations(studio, vtuber_id) == 0
    assert_problem(
        await studio.invite(owner, "unknown-vtuber", "a@example.jp"), 404, "vtuber_not_found"
    )


async def test_a_team_sends_a_bounded_number_of_invitations_a_day(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    for i in range(30):
        assert (await studio.invite(owner, vtuber_id, f"many{i}@example.jp")).status_code == 201
    refused = await studio.invite(owner, vtuber_id, "one-more@example.jp")
    assert_problem(refused, 429, "invitations_rate_limited")
    assert int(refused.headers["retry-after"]) > 0
    assert await invitations(studio, vtuber_id) == 30


TEAM_ROUTES = [
    ("POST", "/api/v1/vtubers"),
    ("GET", "/api/v1/vtubers/{v}/private"),
    ("PATCH", "/api/v1/vtubers/{v}"),
    ("GET", "/api/v1/me/vtubers"),
    ("POST", "/api/v1/vtubers/{v}/members"),
    ("GET", "/api/v1/vtubers/{v}/members"),
    ("PATCH", "/api/v1/vtubers/{v}/members/{u}"),
    ("DELETE", "/api/v1/vtubers/{v}/members/{u}"),
    ("DELETE", "/api/v1/vtubers/{v}/invitations/{i}"),
    ("GET", "/api/v1/vtubers/{v}/changes"),
    ("GET", "/api/v1/vtuber-invitations"),
    ("POST", "/api/v1/vtuber-invitations/{i}/accept"),
    ("GET", "/api/v1/admin/vtubers"),
    ("POST", "/api/v1/admin/vtubers/{v}/approve"),
    ("POST", "/api/v1/admin/vtubers/{v}/reject"),
    ("POST", "/api/v1/admin/vtubers/{v}/suspend"),
    ("PUT", "/api/v1/admin/vtubers/{v}/revenue-share"),
]


async def test_every_route_but_the_public_profile_wants_a_token(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    editor = await studio.member(vtuber_id, owner, "editor")
    invitation_id = (await studio.invite(owner, vtuber_id, "open@example.jp")).json()["id"]
    for method, template in TEAM_ROUTES:
        path = template.format(v=vtuber_id, u=editor.id, i=invitation_id)
        body = {} if method in ("POST", "PATCH", "PUT") else None
        answer = await studio.client.request(method, path, json=body)
        assert_problem(answer, 401, "unauthenticated")
    assert (await studio.client.get(f"/api/v1/vtubers/{vtuber_id}")).status_code == 200


async def test_compliance_and_support_cannot_change_a_team(studio: Studio) -> None:
    owner, vtuber_id = await studio.vtuber()
    editor = await studio.member(vtuber_id, owner, "editor")
    for role in ("compliance", "support"):
        staff = await studio.staff(role)
        assert_problem(await studio.invite(staff, vtuber_id, "x@example.jp"), 403, "forbidden")
        url = f"/api/v1/vtubers/{vtuber_id}/members/{editor.id}"
        change = await studio.client.patch(url, json={"role": "analyst"}, headers=staff.headers)
        assert_problem(change, 403, "forbidden")
        assert_problem(await studio.client.delete(url, headers=staff.headers), 403, "forbidden")
        edit = await studio.client.patch(
            f"/api/v1/vtubers/{vtuber_id}", json={"bio": "x"}, headers=staff.headers
        )
        assert_problem(edit, 403, "forbidden")

"""Operators suspend and reinstate accounts (admin console, Users page), on both backends."""

from __future__ import annotations

from sqlalchemy import select

from koepon.auth.models import SuspensionChange

from .conftest import AuthHarness
from .test_api import assert_problem

REASON = {"reason": "規約違反の通報 (ticket #42)"}


def url(user_id: str, action: str) -> str:
    return f"/api/v1/admin/users/{user_id}/{action}"


async def test_suspended_account_is_locked_out_until_reinstated(auth: AuthHarness) -> None:
    fan = await auth.account()
    support = await auth.account(roles=["support"])
    response = await auth.client.post(url(fan.id, "suspend"), headers=support.headers, json=REASON)
    assert response.status_code == 200, response.text
    assert response.json()["suspended_at"] is not None
    assert response.json()["suspended_reason"] == REASON["reason"]
    # Its access token is refused at once, its refresh token too, and it cannot sign in.
    assert_problem(await auth.client.get("/api/v1/me", headers=fan.headers), 401)
    refresh = await auth.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": fan.refresh_token}
    )
    assert refresh.status_code == 401, refresh.text
    assert_problem(await auth.login(fan.email), 403, "account_suspended")
    # A wrong password learns nothing about the suspension.
    assert_problem(await auth.login(fan.email, "wrong password here"), 401, "invalid_credentials")
    seen = await auth.client.get(f"/api/v1/admin/users/{fan.id}", headers=support.headers)
    assert seen.json()["suspended_reason"] == REASON["reason"]

    back = await auth.client.post(
        url(fan.id, "reinstate"), headers=support.headers, json={"reason": "異議申立て認容"}
    )
    assert back.status_code == 200, back.text
    assert back.json()["suspended_at"] is None
    assert back.json()["suspended_reason"] is None
    login = await auth.login(fan.email)
    assert login.status_code == 200, login.text
    me = await auth.client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.status_code == 200, me.text
    async with auth.service.db.transaction() as session:
        rows = (
            await session.scalars(
                select(SuspensionChange)
                .where(SuspensionChange.user_id == fan.id)
                .order_by(SuspensionChange.changed_at)
            )
        ).all()
    assert [(r.action, r.changed_by) for r in rows] == [
        ("suspend", support.id),
        ("reinstate", support.id),
    ]


async def test_suspending_twice_answers_the_same(auth: AuthHarness) -> None:
    fan = await auth.account()
    admin = await auth.account(roles=["admin"])
    first = await auth.client.post(url(fan.id, "suspend"), headers=admin.headers, json=REASON)
    again = await auth.client.post(
        url(fan.id, "suspend"), headers=admin.headers, json={"reason": "another reason"}
    )
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    twice = await auth.client.post(url(fan.id, "reinstate"), headers=admin.headers, json=REASON)
    thrice = await auth.client.post(url(fan.id, "reinstate"), headers=admin.headers, json=REASON)
    assert twice.status_code == thrice.status_code == 200
    assert thrice.json() == twice.json()


async def test_support_cannot_suspend_staff_but_admin_can(auth: AuthHarness) -> None:
    support = await auth.account(roles=["support"])
    admin = await auth.account(roles=["admin"])
    for roles in (["admin"], ["compliance"], ["support"]):
        staff = await auth.account(roles=roles)
        assert_problem(
            await auth.client.post(url(staff.id, "suspend"), headers=support.headers, json=REASON),
            403,
            "staff_account",
        )
    response = await auth.client.post(url(staff.id, "suspend"), headers=admin.headers, json=REASON)
    assert response.status_code == 200, response.text
    assert_problem(await auth.login(staff.email), 403, "account_suspended")


async def test_an_operator_cannot_suspend_themselves(auth: AuthHarness) -> None:
    admin = await auth.account(roles=["admin"])
    assert_problem(
        await auth.client.post(url(admin.id, "suspend"), headers=admin.headers, json=REASON),
        422,
        "own_account",
    )
    assert (await auth.client.get("/api/v1/me", headers=admin.headers)).status_code == 200


async def test_a_fan_cannot_suspend_and_a_reason_is_required(auth: AuthHarness) -> None:
    fan = await auth.account()
    other = await auth.account()
    assert_problem(
        await auth.client.post(url(other.id, "suspend"), headers=fan.headers, json=REASON),
        403,
        "forbidden",
    )
    support = await auth.account(roles=["support"])
    for body in ({"reason": "  x "}, {"reason": "x" * 501}, {}):
        assert_problem(
            await auth.client.post(url(other.id, "suspend"), headers=support.headers, json=body),
            422,
        )
    assert (await auth.client.get("/api/v1/me", headers=other.headers)).status_code == 200
    assert_problem(
        await auth.client.post(
            url("no-such-user", "suspend"), headers=support.headers, json=REASON
        ),
        404,
    )

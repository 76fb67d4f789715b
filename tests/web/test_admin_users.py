"""The admin console's Users page: suspend and reinstate an account with a recorded reason;
the API's refusals come back as notices and cross-site posts are refused."""

from __future__ import annotations

import uuid

import httpx

from koepon.app import Platform
from web.admin_kit import Api
from web.pages_kit import DEMO_PASSWORD, form_token, sign_in

REASON = "<b>規約違反</b>"


def fresh() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_suspend_and_reinstate_a_fan_from_the_users_page(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        fan = await Api.sign_in(api, "fan@demo.koepon.jp")
        user_id = (await fan.get("/api/v1/me"))["id"]
        await sign_in(console, "admin@demo.koepon.jp")
        page = await console.get("/admin/users", params={"user_id": user_id})
        assert 'data-suspended="no"' in page.text
        assert f'action="/admin/users/{user_id}/suspend"' in page.text
        token = form_token(page.text)

        short = await console.post(
            f"/admin/users/{user_id}/suspend", data={"csrf_token": token, "reason": ""}
        )
        assert short.status_code == 303
        assert "notice-error" in (await console.get(short.headers["location"])).text
        assert (await api.get("/api/v1/me", headers=fan.headers())).status_code == 200

        suspended = await console.post(
            f"/admin/users/{user_id}/suspend",
            data={"csrf_token": token, "reason": REASON},
        )
        assert suspended.status_code == 303
        after = await console.get(suspended.headers["location"])
        assert "notice-success" in after.text and 'data-suspended="yes"' in after.text
        assert "&lt;b&gt;規約違反&lt;/b&gt;" in after.text and "<b>規約違反" not in after.text
        assert f'action="/admin/users/{user_id}/reinstate"' in after.text
        assert (await api.get("/api/v1/me", headers=fan.headers())).status_code == 401
        login = {"email": "fan@demo.koepon.jp", "password": DEMO_PASSWORD}
        assert (
            await api.post("/api/v1/auth/login", json=login, headers=fresh())
        ).status_code == 403

        reinstated = await console.post(
            f"/admin/users/{user_id}/reinstate", data={"csrf_token": token, "reason": "異議認容"}
        )
        assert reinstated.status_code == 303
        back = await console.get(reinstated.headers["location"])
        assert "notice-success" in back.text and 'data-suspended="no"' in back.text
        assert (
            await api.post("/api/v1/auth/login", json=login, headers=fresh())
        ).status_code == 200


async def test_suspending_oneself_is_a_notice_and_cross_site_posts_are_refused(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        admin = await Api.sign_in(api, "admin@demo.koepon.jp")
        fan = await Api.sign_in(api, "fan@demo.koepon.jp")
        admin_id = (await admin.get("/api/v1/me"))["id"]
        fan_id = (await fan.get("/api/v1/me"))["id"]
        await sign_in(console, "admin@demo.koepon.jp")
        token = form_token((await console.get("/admin/users")).text)

        own = await console.post(
            f"/admin/users/{admin_id}/suspend", data={"csrf_token": token, "reason": "試しに停止"}
        )
        assert own.status_code == 303
        assert "notice-error" in (await console.get(own.headers["location"])).text

        data = {"csrf_token": token, "reason": "規約違反"}
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            evil = await console.post(f"/admin/users/{fan_id}/suspend", data=data, headers=headers)
            assert evil.status_code == 403
        forged = await console.post(
            f"/admin/users/{fan_id}/suspend", data={"csrf_token": "x" * 43, "reason": "規約違反"}
        )
        assert forged.status_code == 403
        assert (await api.get("/api/v1/me", headers=fan.headers())).status_code == 200

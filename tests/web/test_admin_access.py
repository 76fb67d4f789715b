"""Who gets into each admin console page: anonymous visitors go to sign-in, a fan gets the
403 page, and an operator gets what the API lets that role read (support cannot read the
gacha review queues nor the reports, which the API keeps for admin and compliance)."""

from __future__ import annotations

import httpx

from koepon.app import Platform
from koepon.seed import demo_gacha_id
from web.admin_kit import Api, demo_vtuber_id, make_support_only
from web.pages_kit import form_token, sign_in

GACHA = demo_gacha_id("luna-first")

# path → (admin, support); every one is 303 → /login for anonymous and 403 for a fan.
MATRIX: dict[str, tuple[int, int]] = {
    "/admin": (200, 200),
    "/admin/vtubers": (200, 200),
    "/admin/vtubers?status=approved": (200, 200),
    "/admin/vtubers/{vtuber}/reject": (200, 200),
    "/admin/vtubers/{vtuber}/suspend": (200, 200),
    "/admin/gachas": (200, 403),
    "/admin/gachas?status=approved": (200, 403),
    f"/admin/gachas/{GACHA}": (200, 403),
    f"/admin/gachas/{GACHA}/reject": (200, 403),
    f"/admin/gachas/{GACHA}/end": (200, 403),
    f"/admin/gachas/{GACHA}/audit": (200, 200),
    "/admin/gacha-proposals": (200, 403),
    "/admin/gacha-proposals/some-proposal/reject": (200, 200),
    "/admin/users": (200, 200),
    "/admin/users?user_id=nobody": (200, 200),
    "/admin/payments": (200, 200),
    "/admin/payments/no-such-payment": (404, 404),
    "/admin/payments/no-such-payment/refund": (404, 404),
    "/admin/reports": (200, 200),
    "/admin/reports?base_date=2026-03-31": (200, 403),
    "/admin/statements": (200, 200),
    "/admin/statements?month=2026-10": (200, 403),
}


async def test_every_admin_page_admits_only_the_roles_the_api_admits(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as anonymous,
        httpx.AsyncClient(base_url=served, timeout=30) as fan,
        httpx.AsyncClient(base_url=served, timeout=30) as admin,
    ):
        vtuber = await demo_vtuber_id(await Api.sign_in(anonymous, "vtuber@demo.koepon.jp"))
        await sign_in(fan, "fan@demo.koepon.jp")
        await sign_in(admin, "admin@demo.koepon.jp")
        for template, (for_admin, _support) in MATRIX.items():
            path = template.format(vtuber=vtuber)
            away = await anonymous.get(path)
            assert away.status_code == 303, path
            assert away.headers["location"].startswith("/login?next="), path
            refused = await fan.get(path)
            assert refused.status_code == 403, path
            assert "koepon" not in refused.headers.get("x-powered-by", "")
            page = await admin.get(path)
            assert page.status_code == for_admin, (path, page.status_code)
            assert page.headers["cache-control"] == "no-store", path


async def test_support_sees_what_the_api_lets_support_see(served: str, seeded: Platform) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as support,
    ):
        admin = await Api.sign_in(api, "admin@demo.koepon.jp")
        await make_support_only(admin, await Api.sign_in(api, "fan@demo.koepon.jp"))
        vtuber = await demo_vtuber_id(await Api.sign_in(api, "vtuber@demo.koepon.jp"))
        await sign_in(support, "fan@demo.koepon.jp")
        for template, (_admin, for_support) in MATRIX.items():
            path = template.format(vtuber=vtuber)
            page = await support.get(path)
            assert page.status_code == for_support, (path, page.status_code)
        dashboard = (await support.get("/admin")).text
        assert "あなたのロールではこの一覧を見られません" in dashboard
        listing = await support.get("/admin/vtubers?status=approved")
        assert 'name="share_percent"' not in listing.text  # the revenue share is admin only
        # The API refuses support's decision: shown as a notice, nothing changes.
        token = form_token(listing.text)
        answer = await support.post(
            f"/admin/vtubers/{vtuber}/suspend", data={"csrf_token": token, "reason": "test"}
        )
        assert answer.status_code == 303
        back = await support.get(answer.headers["location"])
        assert "403" in back.text
        approved = await admin.get("/api/v1/admin/vtubers", status="approved")
        assert vtuber in {v["id"] for v in approved["items"]}


async def test_anonymous_and_fan_form_posts_change_nothing(served: str, seeded: Platform) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as anonymous,
        httpx.AsyncClient(base_url=served, timeout=30) as fan,
    ):
        await sign_in(fan, "fan@demo.koepon.jp")
        page = await fan.get("/login")  # signed in: a redirect, so read a token from a form
        assert page.status_code == 303
        token = form_token((await fan.get("/signup")).text)
        for path in (
            f"/admin/gachas/{GACHA}/end",
            "/admin/payments/anything/refund",
            "/admin/users/anyone/birthdate",
        ):
            assert (await anonymous.post(path, data={})).status_code == 403
            assert (await fan.post(path, data={"csrf_token": token})).status_code == 403
        public = await anonymous.get(f"/api/v1/gachas/{GACHA}")
        assert public.status_code == 200  # still live: the fan could not end it

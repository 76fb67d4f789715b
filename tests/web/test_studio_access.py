"""Who gets into each studio page: anonymous visitors go to sign-in, a fan outside the team gets
the 403 page, the owner gets in, an analyst reads sales only, an editor edits but the submit
button is not offered (and the API refuses the submission)."""

from __future__ import annotations

import httpx

from koepon.app import Platform
from web.admin_kit import Api, demo_vtuber_id
from web.pages_kit import form_token, sign_in
from web.studio_kit import FAN, OWNER, draft, fan_joins

# path → (owner, analyst, editor); anonymous: 303 → /login; a fan outside the team: 403.
MATRIX: dict[str, tuple[int, int, int]] = {
    "/studio/{v}": (200, 200, 200),
    "/studio/{v}/profile": (200, 403, 403),
    "/studio/{v}/team": (200, 200, 200),
    "/studio/{v}/contents": (200, 403, 200),
    "/studio/{v}/gachas": (200, 403, 200),
    "/studio/{v}/gachas/new": (200, 403, 200),
    "/studio/{v}/gachas/{g}": (200, 403, 200),
    "/studio/{v}/gachas/{g}/proposals": (200, 403, 200),
    "/studio/{v}/sales": (200, 200, 403),
    "/studio/{v}/sales/chart.svg": (200, 200, 403),
    "/studio/{v}/sales.csv": (200, 200, 403),
    "/studio/{v}/overlay": (200, 403, 403),
}
OPEN_TO_EVERY_ACCOUNT = ("/studio", "/studio/invitations")


async def test_every_studio_page_admits_only_the_team(served: str, seeded: Platform) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as anonymous,
        httpx.AsyncClient(base_url=served, timeout=30) as fan,
        httpx.AsyncClient(base_url=served, timeout=30) as owner,
        httpx.AsyncClient(base_url=served, timeout=30) as admin,
    ):
        vtuber_id, gacha_id = await draft(anonymous, "access")
        await sign_in(fan, FAN)
        await sign_in(owner, OWNER)
        await sign_in(admin, "admin@demo.koepon.jp")
        for path in OPEN_TO_EVERY_ACCOUNT:
            assert (await anonymous.get(path)).status_code == 303
            assert (await fan.get(path)).status_code == 200
        for template, (for_owner, _a, _e) in MATRIX.items():
            path = template.format(v=vtuber_id, g=gacha_id)
            away = await anonymous.get(path)
            assert away.status_code == 303, path
            assert away.headers["location"].startswith("/login?next="), path
            assert (await fan.get(path)).status_code == 403, path
            assert (await admin.get(path)).status_code == 403, path  # operators use /admin
            assert (await owner.get(path)).status_code == for_owner, path


async def test_team_roles_see_what_their_permissions_allow(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id, gacha_id = await draft(http, "roles")
        vtuber_id, fan_id = await fan_joins(http, "analyst")
        owner = await Api.sign_in(http, OWNER)
        await sign_in(http, FAN)
        for template, (_o, for_analyst, _e) in MATRIX.items():
            path = template.format(v=vtuber_id, g=gacha_id)
            assert (await http.get(path)).status_code == for_analyst, ("analyst", path)
        await owner.send(
            "PATCH", f"/api/v1/vtubers/{vtuber_id}/members/{fan_id}", {"role": "editor"}
        )
        for template, (_o, _a, for_editor) in MATRIX.items():
            path = template.format(v=vtuber_id, g=gacha_id)
            assert (await http.get(path)).status_code == for_editor, ("editor", path)
        editor = await http.get(f"/studio/{vtuber_id}/gachas/{gacha_id}")
        assert f"/gachas/{gacha_id}/submit" not in editor.text
        refused = await http.post(
            f"/studio/{vtuber_id}/gachas/{gacha_id}/submit",
            data={"csrf_token": form_token(editor.text)},
        )
        assert refused.status_code == 303
        after = await http.get(refused.headers["location"])
        assert "notice-error" in after.text and "403" in after.text
        assert (await demo_vtuber_id(owner)) == vtuber_id


# Every form post of a VTuber's studio: anonymous → sign-in, a fan outside the team → 403.
POSTS = (
    "/studio/{v}/profile",
    "/studio/{v}/team/invite",
    "/studio/{v}/team/{u}/role",
    "/studio/{v}/team/{u}/remove",
    "/studio/{v}/invitations/some-invitation/revoke",
    "/studio/{v}/contents/upload",
    "/studio/{v}/contents/some-content/retire",
    "/studio/{v}/gachas/new",
    "/studio/{v}/gachas/{g}",
    "/studio/{v}/gachas/{g}/check",
    "/studio/{v}/gachas/{g}/submit",
    "/studio/{v}/gachas/{g}/proposals",
    "/studio/{v}/gachas/{g}/proposals/some-proposal/submit",
    "/studio/{v}/overlay/rotate",
)


async def test_every_studio_form_post_refuses_strangers(served: str, seeded: Platform) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as anonymous,
        httpx.AsyncClient(base_url=served, timeout=30) as fan,
    ):
        vtuber_id, gacha_id = await draft(anonymous, "posts")
        anonymous_token = form_token((await anonymous.get("/login")).text)
        await sign_in(fan, FAN)
        fan_token = form_token((await fan.get("/studio")).text)
        for template in POSTS:
            path = template.format(v=vtuber_id, g=gacha_id, u=vtuber_id)
            away = await anonymous.post(path, data={"csrf_token": anonymous_token})
            assert away.status_code == 303 and away.headers["location"].startswith("/login"), path
            refused = await fan.post(path, data={"csrf_token": fan_token})
            assert refused.status_code == 403, path

"""The admin console over HTTP: reviews change state through the API, refusals come back as
notices, VTuber-supplied text is shown as text, and cross-site posts are refused."""

from __future__ import annotations

import asyncio

import httpx

from koepon.app import Platform
from koepon.seed import demo_gacha_id
from web.admin_kit import XSS, Api, make_support_only, submitted_gacha, vtuber_application
from web.pages_kit import form_token, sign_in

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def shown_as_text(html: str) -> None:
    assert XSS not in html
    assert ESCAPED in html


async def test_a_vtuber_application_is_approved_or_rejected_with_its_name_as_text(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        fan = await Api.sign_in(api, "fan@demo.koepon.jp")
        admin = await Api.sign_in(api, "admin@demo.koepon.jp")
        first = await vtuber_application(fan, XSS)
        await sign_in(console, "admin@demo.koepon.jp")

        queue = await console.get("/admin/vtubers")
        assert queue.status_code == 200 and f'data-vtuber="{first}"' in queue.text
        shown_as_text(queue.text)
        dashboard = await console.get("/admin")
        assert 'data-count="vtubers"' in dashboard.text

        confirm = await console.get(f"/admin/vtubers/{first}/reject")
        shown_as_text(confirm.text)
        answer = await console.post(
            f"/admin/vtubers/{first}/reject",
            data={"csrf_token": form_token(confirm.text), "reason": XSS},
        )
        assert answer.status_code == 303
        back = await console.get(answer.headers["location"])
        assert "notice-success" in back.text
        rejected = await console.get("/admin/vtubers?status=rejected")
        shown_as_text(rejected.text)
        assert f'data-vtuber="{first}"' in rejected.text
        listed = await admin.get("/api/v1/admin/vtubers", status="rejected")
        assert {v["id"]: v["decision_reason"] for v in listed["items"]}[first] == XSS


async def test_approve_suspend_and_reinstate_a_vtuber(served: str, seeded: Platform) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        fan = await Api.sign_in(api, "fan@demo.koepon.jp")
        admin = await Api.sign_in(api, "admin@demo.koepon.jp")
        vtuber = await vtuber_application(fan, "審査テスト")
        await sign_in(console, "admin@demo.koepon.jp")
        token = form_token((await console.get("/admin/vtubers")).text)

        approved = await console.post(
            f"/admin/vtubers/{vtuber}/approve", data={"csrf_token": token, "status": "pending"}
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == "/admin/vtubers?status=pending"
        assert (await api.get(f"/api/v1/vtubers/{vtuber}")).status_code == 200

        share = await console.post(
            f"/admin/vtubers/{vtuber}/revenue-share",
            data={"csrf_token": token, "share_percent": "72.5"},
        )
        assert share.status_code == 303
        listed = await admin.get("/api/v1/admin/vtubers", status="approved")
        assert {v["id"]: v["revenue_share_bp"] for v in listed["items"]}[vtuber] == 7250
        wrong = await console.post(
            f"/admin/vtubers/{vtuber}/revenue-share",
            data={"csrf_token": token, "share_percent": "150"},
        )
        assert "notice-error" in (await console.get(wrong.headers["location"])).text

        suspended = await console.post(
            f"/admin/vtubers/{vtuber}/suspend", data={"csrf_token": token, "reason": "規約違反"}
        )
        assert suspended.status_code == 303
        assert (await api.get(f"/api/v1/vtubers/{vtuber}")).status_code == 404
        again = await console.post(
            f"/admin/vtubers/{vtuber}/approve", data={"csrf_token": token, "status": "suspended"}
        )
        assert again.status_code == 303
        assert (await api.get(f"/api/v1/vtubers/{vtuber}")).status_code == 200


async def test_a_submitted_gacha_is_reviewed_with_its_checks_and_costs(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        vtuber = await Api.sign_in(api, "vtuber@demo.koepon.jp")
        rejected_id = await submitted_gacha(vtuber, XSS)
        approved_id = await submitted_gacha(vtuber, "承認されるガチャ")
        await sign_in(console, "admin@demo.koepon.jp")

        queue = await console.get("/admin/gachas")
        shown_as_text(queue.text)
        assert f'data-gacha="{approved_id}"' in queue.text
        detail = await console.get(f"/admin/gachas/{rejected_id}")
        shown_as_text(detail.text)
        assert "ssr-0" in detail.text and "rarity-SSR" in detail.text  # items and costs

        confirm = await console.get(f"/admin/gachas/{rejected_id}/reject")
        token = form_token(confirm.text)
        answer = await console.post(
            f"/admin/gachas/{rejected_id}/reject", data={"csrf_token": token, "reason": XSS}
        )
        assert answer.status_code == 303
        back = await console.get(answer.headers["location"])
        shown_as_text(back.text)
        assert "notice-success" in back.text
        assert (await api.get(f"/api/v1/gachas/{rejected_id}")).status_code == 404

        assert (await api.get(f"/api/v1/gachas/{approved_id}")).status_code == 404
        approved = await console.post(
            f"/admin/gachas/{approved_id}/approve", data={"csrf_token": token}
        )
        assert approved.status_code == 303
        assert (await api.get(f"/api/v1/gachas/{approved_id}")).status_code == 200
        twice = await console.post(
            f"/admin/gachas/{rejected_id}/approve", data={"csrf_token": token}
        )
        assert "notice-error" in (await console.get(twice.headers["location"])).text

        ended = await console.post(f"/admin/gachas/{approved_id}/end", data={"csrf_token": token})
        assert ended.status_code == 303
        public = (await api.get(f"/api/v1/gachas/{approved_id}")).json()
        assert public["phase"] == "ended"

        audit = await console.get(f"/admin/gachas/{demo_gacha_id('luna-first')}/audit")
        assert audit.status_code == 200
        proposals = await console.get("/admin/gacha-proposals")
        assert proposals.status_code == 200


async def test_cross_site_posts_are_refused_and_change_nothing(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
    ):
        gacha = await submitted_gacha(await Api.sign_in(api, "vtuber@demo.koepon.jp"), "CSRF")
        await sign_in(console, "admin@demo.koepon.jp")
        token = form_token((await console.get(f"/admin/gachas/{gacha}")).text)
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            evil = await console.post(
                f"/admin/gachas/{gacha}/approve", data={"csrf_token": token}, headers=headers
            )
            assert evil.status_code == 403
        forged = await console.post(f"/admin/gachas/{gacha}/approve", data={"csrf_token": "x" * 43})
        assert forged.status_code == 403
        assert (await api.get(f"/api/v1/gachas/{gacha}")).status_code == 404  # not approved


async def test_support_corrects_a_birth_date_with_a_reason_and_never_sees_it(
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
        assert page.status_code == 200 and f'data-user="{user_id}"' in page.text
        assert "1995-12-24" not in page.text and "1995年12月24日" not in page.text
        missing = await console.get("/admin/users", params={"user_id": "<b>nobody</b>"})
        assert missing.status_code == 200 and "<b>nobody" not in missing.text

        token = form_token(page.text)
        short = await console.post(
            f"/admin/users/{user_id}/birthdate",
            data={"csrf_token": token, "birthdate": "1996-01-02", "reason": ""},
        )
        back = await console.get(short.headers["location"])
        assert "notice-error" in back.text  # the reason is required
        changed = await console.post(
            f"/admin/users/{user_id}/birthdate",
            data={"csrf_token": token, "birthdate": "1996-01-02", "reason": "本人確認書類で確認"},
        )
        assert changed.status_code == 303
        after = await console.get(changed.headers["location"])
        assert "notice-success" in after.text
        assert "1996-01-02" not in after.text and "1996年1月2日" not in after.text


async def test_payments_reports_and_statements_pages(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as console:
        await sign_in(console, "admin@demo.koepon.jp")
        listing = await console.get("/admin/payments", params={"status": "succeeded"})
        assert listing.status_code == 200
        assert (await console.get("/admin/payments/nothing-here/refund")).status_code == 404
        report = await console.get("/admin/reports", params={"base_date": "2026-03-31"})
        assert report.status_code == 200 and "2026年3月31日" in report.text
        wrong = await console.get("/admin/reports", params={"base_date": "2026-04-01"})
        assert wrong.status_code == 200 and "notice-error" in wrong.text
        statements = await console.get("/admin/statements", params={"month": "2026-10"})
        assert statements.status_code == 200


async def paid_checkout(http: httpx.AsyncClient, fan: Api) -> str:
    """The demo fan buys the cheapest demo pack through the sandbox provider."""
    packs = await fan.get("/api/v1/medal-packs")
    pack = min(packs, key=lambda p: p["price_jpy"])
    made = await fan.send(
        "POST", "/api/v1/checkouts", {"pack_id": pack["id"], "provider": "sandbox"}, status=201
    )
    paid = await http.post(
        f"/sandbox/checkouts/{made['id']}/complete", json={"outcome": "succeeded"}
    )
    assert paid.status_code == 200, paid.text
    return str(made["id"])


async def test_a_refund_needs_a_confirmation_and_a_legal_ground_and_an_admin(
    served: str, seeded: Platform
) -> None:
    async with (
        httpx.AsyncClient(base_url=served, timeout=30) as api,
        httpx.AsyncClient(base_url=served, timeout=30) as console,
        httpx.AsyncClient(base_url=served, timeout=30) as support,
    ):
        fan = await Api.sign_in(api, "fan@demo.koepon.jp")
        admin = await Api.sign_in(api, "admin@demo.koepon.jp")
        checkout = await paid_checkout(api, fan)
        for _ in range(50):
            if (await admin.get(f"/api/v1/admin/payments/{checkout}"))["status"] == "succeeded":
                break
            await asyncio.sleep(0.1)
        await sign_in(console, "admin@demo.koepon.jp")
        listing = await console.get("/admin/payments", params={"status": "succeeded"})
        assert f'href="/admin/payments/{checkout}"' in listing.text
        detail = await console.get(f"/admin/payments/{checkout}")
        assert f'href="/admin/payments/{checkout}/refund"' in detail.text
        confirm = await console.get(f"/admin/payments/{checkout}/refund")
        assert 'name="legal_ground"' in confirm.text
        token = form_token(confirm.text)

        # Support may read payments but not refund: the API's 403 comes back as a notice.
        await make_support_only(admin, fan)
        await sign_in(support, "fan@demo.koepon.jp")
        refused = await support.post(
            f"/admin/payments/{checkout}/refund",
            data={
                "csrf_token": form_token((await support.get("/admin/users")).text),
                "legal_ground": "やむを得ない事由による返金",
            },
        )
        assert "403" in (await support.get(refused.headers["location"])).text

        short = await console.post(
            f"/admin/payments/{checkout}/refund", data={"csrf_token": token, "legal_ground": "x"}
        )
        assert "notice-error" in (await console.get(short.headers["location"])).text
        assert (await admin.get(f"/api/v1/admin/payments/{checkout}"))["status"] == "succeeded"
        done = await console.post(
            f"/admin/payments/{checkout}/refund",
            data={"csrf_token": token, "legal_ground": "やむを得ない事由による返金"},
        )
        assert done.status_code == 303
        after = await console.get(done.headers["location"])
        assert "notice-success" in after.text
        for _ in range(50):
            payment = await admin.get(f"/api/v1/admin/payments/{checkout}")
            if payment["status"] == "refunded":
                break
            await asyncio.sleep(0.1)
        assert payment["status"] == "refunded"
        assert payment["refund_ground"].startswith("やむを得ない事由による返金")

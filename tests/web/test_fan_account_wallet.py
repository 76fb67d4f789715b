"""The wallet and the medal purchase pages: numbers as the API's, the final confirmation
(COMPLIANCE P2/M4/A1), checkout → sandbox → return page → wallet, limits and cooling-off."""

from __future__ import annotations

import httpx

from koepon.app import Platform
from web.fan_account_kit import FAN, api_token, first_pack, start_checkout
from web.pages_kit import form_token, sign_in

NO_CANCEL = "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません"
MINORS = "未成年の方は親権者の同意を得てから購入してください"


async def test_the_purchase_path_ends_with_the_medals_in_the_wallet(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        auth = await api_token(http, FAN)
        before = (await http.get("/api/v1/wallet", headers=auth)).json()
        pack = await first_pack(http)

        packs = await http.get("/wallet/buy")
        assert packs.status_code == 200 and packs.headers["cache-control"] == "no-store"
        assert f"/wallet/buy/{pack['id']}" in packs.text and NO_CANCEL in packs.text

        screen = await http.get(f"/wallet/buy/{pack['id']}")
        assert str(pack["price_label"]) in screen.text
        for notice in (NO_CANCEL, MINORS, "idempotency_key", 'action="/wallet/checkouts"'):
            assert notice in screen.text, notice

        started = await start_checkout(http, str(pack["id"]))
        assert started.status_code == 303, started.text
        sandbox = started.headers["location"]
        assert "/sandbox/checkouts/" in sandbox
        checkout_id = sandbox.rstrip("/").split("/")[-1]
        assert (await http.get(sandbox)).status_code == 200

        waiting = await http.get(f"/checkouts/{checkout_id}/success")
        assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in waiting.text

        done = await http.post(
            f"/sandbox/checkouts/{checkout_id}/complete", data={"outcome": "succeeded"}
        )
        assert done.status_code == 303
        back = await http.get(f"/checkouts/{checkout_id}/success")
        assert back.headers["cache-control"] == "no-store"
        assert 'data-status="succeeded"' in back.text and "every 2s" not in back.text
        fragment = await http.get(f"/checkouts/{checkout_id}/status")
        assert 'data-status="succeeded"' in fragment.text and "<html" not in fragment.text

        after = (await http.get("/api/v1/wallet", headers=auth)).json()
        assert after["paid_medals"] == before["paid_medals"] + pack["paid_medals"]
        wallet = await http.get("/wallet")
        assert wallet.status_code == 200 and wallet.headers["cache-control"] == "no-store"
        assert f'id="paid-medals">{after["paid_medals"]:,}<' in wallet.text
        assert f'id="free-medals">{after["free_medals"]:,}<' in wallet.text
        assert str(pack["name"]) in wallet.text  # the receipt


async def test_a_cap_refusal_is_shown_on_the_confirmation_screen(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        page = await http.get("/wallet")
        saved = await http.post(
            "/wallet/limits",
            data={"csrf_token": form_token(page.text), "monthly_purchase_cap_jpy": "1"},
        )
        assert saved.status_code == 303
        shown = await http.get("/wallet")
        assert "1円(税込)" in shown.text and "7" in shown.text
        pack = await first_pack(http)
        refused = await start_checkout(http, str(pack["id"]))
        assert refused.status_code in (402, 403, 422), refused.text
        assert 'id="refusal"' in refused.text and 'data-code="' in refused.text


async def test_limits_form_refuses_bad_numbers_and_cross_site_posts(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        token = form_token((await http.get("/wallet")).text)
        bad = await http.post(
            "/wallet/limits", data={"csrf_token": token, "monthly_purchase_cap_jpy": "abc"}
        )
        assert bad.status_code == 422 and "notice-error" in bad.text
        evil = await http.post(
            "/wallet/limits",
            data={"csrf_token": token, "monthly_purchase_cap_jpy": "5"},
            headers={"Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        tokenless = await http.post("/wallet/checkouts", data={"pack_id": "x"})
        assert tokenless.status_code == 403


async def test_cooling_off_needs_the_confirmation_then_pauses(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        page = await http.get("/wallet/cooling-off")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        token = form_token(page.text)
        unticked = await http.post("/wallet/cooling-off", data={"csrf_token": token, "days": 7})
        assert unticked.status_code == 422
        paused = await http.post(
            "/wallet/cooling-off", data={"csrf_token": token, "days": 7, "confirm": "yes"}
        )
        assert paused.status_code == 303
        auth = await api_token(http, FAN)
        limits = (await http.get("/api/v1/me/limits", headers=auth)).json()
        assert limits["cooling_off_until"]


async def test_the_wallet_speaks_english_too(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(
        base_url=served, timeout=30, cookies={"koepon_lang": "en"}
    ) as http:
        await sign_in(http, FAN)
        page = await http.get("/wallet")
        assert page.status_code == 200 and page.headers["content-language"] == "en"
        assert "Paid medals" in page.text
        ja = await http.get("/wallet", cookies={"koepon_lang": "ja"})
        assert "有償メダル" in ja.text


async def test_a_konbini_payment_is_explained_and_polled_and_a_cancel_said_plainly(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        pack = await first_pack(http)
        started = await start_checkout(http, str(pack["id"]))
        checkout_id = started.headers["location"].rstrip("/").split("/")[-1]
        later = await http.post(
            f"/sandbox/checkouts/{checkout_id}/complete", data={"outcome": "pending"}
        )
        assert later.status_code == 303
        page = await http.get(f"/checkouts/{checkout_id}/success")
        assert 'data-status="pending"' in page.text and 'hx-trigger="every 2s"' in page.text
        assert "コンビニ" in page.text

        other = await start_checkout(http, str(pack["id"]))
        other_id = other.headers["location"].rstrip("/").split("/")[-1]
        gone = await http.post(
            f"/sandbox/checkouts/{other_id}/complete", data={"outcome": "cancelled"}
        )
        assert gone.status_code == 303
        cancelled = await http.get(f"/checkouts/{other_id}/cancel")
        assert 'data-status="cancelled"' in cancelled.text and "every 2s" not in cancelled.text
        assert "お支払いは行われていません" in cancelled.text

"""Fairness, VTubers and the account page: numbers as the API's, both languages, forms with
CSRF, VTuber text shown as text, public caching only where nobody is signed in."""

from __future__ import annotations

import asyncio

import httpx

from koepon.app import Platform
from koepon.gacha.draws.states import DrawStatus
from koepon.seed import demo_gacha_id
from web.fan_account_kit import FAN, VTUBER, api_token, start_checkout
from web.pages_kit import form_token, sign_in

XSS = "<script>alert(1)</script>"


async def test_fairness_is_public_and_lets_a_fan_set_and_rotate_seeds(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        public = await http.get("/fairness")
        assert public.status_code == 200
        assert public.headers["cache-control"].startswith("public")
        assert "HMAC-SHA256" in public.text and "/fairness/verifier.py" in public.text
        verifier = await http.get("/fairness/verifier.py")
        assert verifier.status_code == 200 and "def " in verifier.text
        assert "attachment" in verifier.headers["content-disposition"]

        await sign_in(http, FAN)
        auth = await api_token(http, FAN)
        seeds = (await http.get("/api/v1/me/seeds", headers=auth)).json()
        page = await http.get("/fairness")
        assert page.headers["cache-control"] == "no-store"
        assert seeds["server_seed_hash"] in page.text and seeds["client_seed"] in page.text
        assert f'id="next-nonce">{seeds["next_nonce"]:,}<' in page.text

        token = form_token(page.text)
        bad = await http.post(
            "/fairness/client-seed", data={"csrf_token": token, "client_seed": "é" * 3}
        )
        assert bad.status_code == 422 and "notice-error" in bad.text
        good = await http.post(
            "/fairness/client-seed", data={"csrf_token": token, "client_seed": "my-lucky-seed"}
        )
        assert good.status_code == 303
        assert (await http.get("/api/v1/me/seeds", headers=auth)).json()[
            "client_seed"
        ] == "my-lucky-seed"

        rotated = await http.post("/fairness/rotate", data={"csrf_token": token})
        assert rotated.status_code == 303
        shown = await http.get(rotated.headers["location"])
        revealed = (await http.get("/api/v1/me/seeds/revealed", headers=auth)).json()["items"]
        assert revealed and revealed[0]["server_seed"] in shown.text
        assert seeds["server_seed_hash"] == revealed[0]["server_seed_hash"]

        cross = await http.post(
            "/fairness/rotate", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403

        english = await http.get("/fairness", cookies={"koepon_lang": "en"})
        assert "Your seed pair" in english.text
        assert "あなたのシード" in (await http.get("/fairness")).text


async def test_an_unknown_draw_verification_is_not_found(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        anonymous = await http.get("/draws/nope/verify")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        await sign_in(http, FAN)
        assert (await http.get("/draws/nope/verify")).status_code == 404


async def test_vtuber_pages_are_public_and_show_vtuber_text_as_text(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        owner = await api_token(http, VTUBER)
        mine = (await http.get("/api/v1/me/vtubers", headers=owner)).json()
        vtuber_id = (mine[0].get("vtuber_id") or mine[0]["id"]) if mine else None
        assert vtuber_id
        edited = await http.patch(
            f"/api/v1/vtubers/{vtuber_id}",
            json={"display_name": f"Demo {XSS}", "bio": f"bio {XSS}"},
            headers={**owner, "Idempotency-Key": "fan-account-xss-1"},
        )
        assert edited.status_code == 200, edited.text
        public = (await http.get(f"/api/v1/vtubers/{vtuber_id}")).json()

        listing = await http.get("/vtubers")
        assert listing.status_code == 200
        assert listing.headers["cache-control"].startswith("public")
        assert f"/vtubers/{vtuber_id}" in listing.text
        assert XSS not in listing.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text

        page = await http.get(f"/vtubers/{vtuber_id}")
        assert page.status_code == 200 and page.headers["cache-control"].startswith("public")
        assert XSS not in page.text and "&lt;script&gt;" in page.text
        assert 'property="og:title"' in page.text
        for gacha in public["live_gachas"]:
            assert f"/gachas/{gacha['gacha_id']}" in page.text
        english = await http.get(f"/vtubers/{vtuber_id}", cookies={"koepon_lang": "en"})
        assert "Live gachas" in english.text
        assert (await http.get("/vtubers/no-such-vtuber")).status_code == 404


async def test_the_account_page_shows_the_age_bracket_never_the_birth_date(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        auth = await api_token(http, FAN)
        me = (await http.get("/api/v1/me", headers=auth)).json()
        page = await http.get("/account")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert me["email"] in page.text and 'id="age-bracket"' in page.text
        assert "birthdate" not in page.text and "/lang/en" in page.text
        assert "/wallet#limits" in page.text and 'action="/logout"' in page.text
        if not me["email_verified"]:
            sent = await http.post(
                "/account/verify-email", data={"csrf_token": form_token(page.text)}
            )
            assert sent.status_code == 303
        english = await http.get("/account", cookies={"koepon_lang": "en"})
        assert "Age bracket" in english.text


async def test_a_draw_is_verifiable_once_its_seed_is_revealed(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        auth = await api_token(http, FAN)
        packs = (await http.get("/api/v1/medal-packs")).json()
        pack = next(p for p in packs if p["total_medals"] >= 300)
        started = await start_checkout(http, pack["id"])
        checkout_id = started.headers["location"].rstrip("/").split("/")[-1]
        paid = await http.post(
            f"/sandbox/checkouts/{checkout_id}/complete", data={"outcome": "succeeded"}
        )
        assert paid.status_code == 303
        made = await http.post(
            f"/api/v1/gachas/{demo_gacha_id('luna-first')}/draws",
            json={"count": 1},
            headers={**auth, "Idempotency-Key": "fan-account-verify-1"},
        )
        assert made.status_code in (200, 201, 202), made.text
        draw_id = made.json()["id"]
        # The draw may answer 202 "accepted" and finish on the worker a moment later.
        for _ in range(300):
            draw = (await http.get(f"/api/v1/draws/{draw_id}", headers=auth)).json()
            if DrawStatus(draw["status"]).final:
                break
            await asyncio.sleep(0.1)
        assert draw["status"] == "completed", draw

        committed = await http.get(f"/draws/{draw_id}/verify")
        assert committed.status_code == 200 and "/fairness#seeds" in committed.text
        page = await http.get("/fairness")
        await http.post("/fairness/rotate", data={"csrf_token": form_token(page.text)})
        bundle = (await http.get(f"/api/v1/draws/{draw_id}/verification", headers=auth)).json()
        shown = await http.get(f"/draws/{draw_id}/verify")
        assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
        assert bundle["server_seed"] in shown.text and bundle["server_seed_hash"] in shown.text
        assert 'id="bundle"' in shown.text and "verifier.py" in shown.text

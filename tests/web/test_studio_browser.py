"""The studio in Chromium: the demo VTuber uploads a picture (the progress bar reaches 100 %),
builds a weighted gacha in the editor, watches the live validation refuse a blank line (G8)
and accept the fixed table, submits it; the demo operator approves it in the admin console.
Every studio page passes axe and fits 360 px."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from koepon.app import Platform
from web.admin_kit import Api, demo_vtuber_id
from web.browser_kit import check_page, new_phone_page
from web.studio_kit import OWNER, PNG, XSS, browser_sign_in


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_vtuber_builds_and_submits_a_gacha_and_an_operator_approves_it(
    served: str, seeded: Platform, chromium: Any
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber_id = await demo_vtuber_id(await Api.sign_in(http, OWNER))
    studio = f"/studio/{vtuber_id}"
    page = await new_phone_page(chromium)
    try:
        await browser_sign_in(page, served, OWNER, "/studio")
        await check_page(page, "studio-home")
        for name, path in (
            ("studio-dashboard", studio),
            ("studio-profile", f"{studio}/profile"),
            ("studio-team", f"{studio}/team"),
            ("studio-sales", f"{studio}/sales"),
            ("studio-overlay", f"{studio}/overlay"),
            ("studio-invitations", "/studio/invitations"),
        ):
            await page.goto(f"{served}{path}")
            await check_page(page, name)

        await page.goto(f"{served}{studio}/overlay")
        await page.click(f'form[action="{studio}/overlay/rotate"] button')
        url = await page.input_value("[data-overlay-url]")
        assert "/overlay/" in url
        await check_page(page, "studio-overlay-rotated")

        await page.goto(f"{served}{studio}/contents")
        await page.fill("#f-title", "ブラウザ画像")
        await page.set_input_files(
            "#f-file", files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
        )
        await page.click("#upload-form button[type=submit]")
        await page.wait_for_function(
            "() => document.getElementById('upload-progress').value === 100"
        )
        await page.wait_for_selector("#upload-message.notice-success")
        await page.wait_for_selector("text=ブラウザ画像")
        await check_page(page, "studio-contents")

        await page.goto(f"{served}{studio}/gachas/new")
        await check_page(page, "studio-gacha-new")
        await page.fill("#f-title", "ブラウザガチャ " + XSS)
        await page.click("main form button[type=submit]")
        await page.wait_for_selector("#gacha-form")
        gacha_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert XSS in await page.inner_text("[data-title]")  # shown as text

        await page.select_option("select[name=content_id-0]", index=1)
        await page.fill("input[name=name-0]", "ノーマル " + XSS)
        await page.select_option("select[name=rarity-0]", "R")
        await page.fill("input[name=weight-0]", "0")  # a line without weight: refused (G8)
        await page.press("input[name=weight-0]", "Tab")
        await page.wait_for_selector('#checks [data-rule="G8"]', timeout=10_000)
        await check_page(page, "studio-gacha-refused")
        await page.fill("input[name=weight-0]", "9")
        await page.select_option("select[name=content_id-1]", index=2)
        await page.fill("input[name=name-1]", "スーパーレア")
        await page.select_option("select[name=rarity-1]", "SSR")
        await page.fill("input[name=weight-1]", "1")
        await page.press("input[name=weight-1]", "Tab")
        await page.wait_for_selector("#checks [data-sound]", timeout=10_000)
        assert "90.0000%" in await page.inner_text("#checks")
        await check_page(page, "studio-gacha-editor")

        await page.click(f'form[action="{studio}/gachas/{gacha_id}/submit"] button')
        await page.wait_for_selector(".notice-success")
        await page.goto(f"{served}{studio}/gachas")
        await check_page(page, "studio-gachas")
        await page.goto(f"{served}{studio}/gachas/{gacha_id}/proposals")
        await check_page(page, "studio-proposals")
    finally:
        await page.context.close()

    admin = await new_phone_page(chromium)
    try:
        await browser_sign_in(admin, served, "admin@demo.koepon.jp", f"/admin/gachas/{gacha_id}")
        await admin.click(f'form[action="/admin/gachas/{gacha_id}/approve"] button')
        await admin.wait_for_selector(".notice-success")
    finally:
        await admin.context.close()
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        assert (await http.get(f"/api/v1/gachas/{gacha_id}")).status_code == 200

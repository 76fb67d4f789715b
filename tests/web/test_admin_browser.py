"""An operator reviews in the console in Chromium: the demo admin approves a gacha the demo
VTuber submitted (through the API), and every review page passes axe and fits 360 px."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from koepon.app import Platform
from koepon.seed import demo_gacha_id
from web.admin_kit import XSS, Api, submitted_gacha
from web.browser_kit import check_page, new_phone_page
from web.pages_kit import DEMO_PASSWORD


async def browser_sign_in(page: Any, served: str, email: str, next_path: str) -> None:
    await page.goto(f"{served}/login?next={next_path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{served}{next_path}")


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_an_operator_approves_a_submitted_gacha_in_the_console(
    served: str, seeded: Platform, chromium: Any
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        gacha_id = await submitted_gacha(
            await Api.sign_in(http, "vtuber@demo.koepon.jp"), "ブラウザ審査 " + XSS
        )
        page = await new_phone_page(chromium)
        try:
            await browser_sign_in(page, served, "admin@demo.koepon.jp", "/admin")
            await check_page(page, "admin-dashboard")
            await page.goto(f"{served}/admin/vtubers?status=approved")
            await check_page(page, "admin-vtubers")
            await page.goto(f"{served}/admin/gacha-proposals")
            await check_page(page, "admin-proposals")
            await page.goto(f"{served}/admin/gachas/{demo_gacha_id('luna-first')}/audit")
            await check_page(page, "admin-audit")

            await page.goto(f"{served}/admin/gachas")
            await check_page(page, "admin-gachas")
            await page.click(f'[data-gacha="{gacha_id}"] a')
            await page.wait_for_url(f"{served}/admin/gachas/{gacha_id}")
            assert XSS in await page.inner_text("[data-title]")  # shown as text
            await check_page(page, "admin-gacha-review")
            await page.click(f'form[action="/admin/gachas/{gacha_id}/approve"] button')
            await page.wait_for_selector(".notice-success")
            assert (
                await page.locator(f'form[action="/admin/gachas/{gacha_id}/approve"]').count() == 0
            )
            await page.goto(f"{served}/admin/gachas/{gacha_id}/end")
            await check_page(page, "admin-confirm")
        finally:
            await page.context.close()
        public = await http.get(f"/api/v1/gachas/{gacha_id}")
        assert public.status_code == 200  # approved: published

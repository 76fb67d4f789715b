"""A fan buys medals in Chromium through the pages (packs → final confirmation → sandbox →
return page → wallet), sets a client seed on the fairness page, and every fan_account page
passes axe and fits 360 px (Japanese screens, one in English)."""

from __future__ import annotations

from typing import Any

import pytest

from koepon.app import Platform
from web.browser_kit import check_page, new_phone_page
from web.pages_kit import DEMO_PASSWORD

LEGAL = {
    "terms": "/terms",
    "privacy": "/privacy",
    "tokushoho": "/legal/tokushoho",
    "payment-services": "/legal/payment-services",
}


async def paid_medals(page: Any) -> int:
    return int((await page.inner_text("#paid-medals")).replace(",", ""))


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_fan_buys_medals_and_sets_a_client_seed_in_the_browser(
    served: str, seeded: Platform, chromium: Any
) -> None:
    page = await new_phone_page(chromium)
    try:
        await page.goto(f"{served}/login?next=/wallet")
        await page.fill("input[name=email]", "fan@demo.koepon.jp")
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("main form button[type=submit]")
        await page.wait_for_url(f"{served}/wallet")
        before = await paid_medals(page)
        await check_page(page, "fan-account-wallet")

        await page.click("a[href='/wallet/buy']")
        await page.wait_for_url(f"{served}/wallet/buy")
        await check_page(page, "fan-account-buy")
        await page.locator("#packs a").first.click()
        await page.wait_for_url(f"{served}/wallet/buy/*")
        assert "キャンセル・返品はできません" in await page.inner_text("#confirm")
        await check_page(page, "fan-account-confirm")

        await page.click("#pay")
        await page.wait_for_url("**/sandbox/checkouts/**")
        await page.get_by_role("button", name="支払う").click()
        await page.wait_for_selector('#status[data-status="succeeded"]')
        await page.click("#return")
        await page.wait_for_url("**/checkouts/*/success")
        await page.wait_for_selector('#checkout-box[data-status="succeeded"]', timeout=10_000)
        await check_page(page, "fan-account-return")

        await page.goto(f"{served}/wallet")
        assert await paid_medals(page) > before

        await page.goto(f"{served}/fairness")
        await page.fill("#client-seed-input", "browser-seed-42")
        await page.click("#client-seed-form button")
        await page.wait_for_url(f"{served}/fairness*")
        assert await page.inner_text("#client-seed") == "browser-seed-42"
        await check_page(page, "fan-account-fairness")

        await page.goto(f"{served}/vtubers")
        await check_page(page, "fan-account-vtubers")
        await page.locator("#vtubers a").first.click()
        await page.wait_for_selector("#vtuber-name")
        await check_page(page, "fan-account-vtuber")

        await page.goto(f"{served}/account")
        await check_page(page, "fan-account-account")
        for name, path in LEGAL.items():
            await page.goto(served + path)
            await check_page(page, f"legal-{name}")

        await page.goto(f"{served}/lang/en?next=/legal/tokushoho")
        await page.wait_for_url(f"{served}/legal/tokushoho")
        assert "prevails" in await page.inner_text("main")
        await check_page(page, "legal-tokushoho-en")
    finally:
        await page.context.close()

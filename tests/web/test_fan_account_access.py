"""Who gets into each fan_account page: personal pages send a visitor to /login and are never
stored; public ones open for anyone (cached briefly only when nobody is signed in)."""

from __future__ import annotations

import httpx
import pytest

from koepon.app import Platform
from web.fan_account_kit import FAN
from web.pages_kit import sign_in

PERSONAL = [
    "/wallet",
    "/wallet/buy",
    "/wallet/cooling-off",
    "/account",
    "/checkouts/some-checkout/success",
    "/checkouts/some-checkout/cancel",
    "/checkouts/some-checkout/status",
    "/draws/some-draw/verify",
]
PUBLIC = [
    "/fairness",
    "/vtubers",
    "/terms",
    "/privacy",
    "/legal/tokushoho",
    "/legal/payment-services",
]
POSTS = [
    "/wallet/limits",
    "/wallet/cooling-off",
    "/wallet/checkouts",
    "/fairness/client-seed",
    "/fairness/rotate",
    "/account/verify-email",
]


async def test_a_visitor_is_sent_to_sign_in_on_every_personal_page(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        for path in PERSONAL:
            answer = await http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
        for path in PUBLIC:
            answer = await http.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["cache-control"].startswith("public"), path


async def test_a_fan_gets_in_and_nothing_personal_is_stored(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        for path in ["/wallet", "/wallet/buy", "/wallet/cooling-off", "/account", *PUBLIC]:
            answer = await http.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["cache-control"] == "no-store", path
        # Someone else's (or no) checkout: the API's own refusal, as a page.
        assert (await http.get("/checkouts/some-checkout/success")).status_code == 404
        assert (await http.get("/checkouts/some-checkout/elsewhere")).status_code == 404


@pytest.mark.parametrize("path", POSTS)
async def test_every_form_post_needs_the_form_token(
    served: str, seeded: Platform, path: str
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, FAN)
        assert (await http.post(path, data={"days": "7"})).status_code == 403
        cross = await http.post(path, data={}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403

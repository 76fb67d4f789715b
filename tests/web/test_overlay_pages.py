"""The stream overlay page over HTTP (COMPLIANCE I1): an unknown token is a 404 page, a known
one is never cached nor sent on as a referrer, links (and QR codes) to the odds page of each
live gacha, and carries a realtime ticket for that VTuber's overlay room only."""

from __future__ import annotations

import re

import httpx

from koepon.app import Platform
from koepon.kernel.realtime_tickets import redeem_ticket
from koepon.seed import demo_gacha_id
from web.admin_kit import Api
from web.overlay_kit import rotate_overlay_token


async def test_an_unknown_overlay_token_is_a_private_404(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        for token in ("unknown-overlay-token-123", "x" * 43):
            page = await http.get(f"/overlay/{token}")
            assert page.status_code == 404
            assert page.headers["cache-control"] == "no-store"
            assert page.headers["referrer-policy"] == "no-referrer"
            assert token not in page.text
        malformed = await http.get("/overlay/%3Cscript%3E")
        assert malformed.status_code in (404, 422)


async def test_the_overlay_page_links_the_odds_and_opens_only_its_room(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber = await Api.sign_in(http, "vtuber@demo.koepon.jp")
        vtuber_id, token = await rotate_overlay_token(http, vtuber)
        async with httpx.AsyncClient(base_url=served, timeout=30) as obs:  # OBS: nobody signed in
            page = await obs.get(f"/overlay/{token}")
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert 'class="overlay-body' in page.text and "<header" not in page.text
        odds = f"{served}/gachas/{demo_gacha_id('luna-first')}"
        assert f'href="{odds}"' in page.text
        assert 'src="data:image/svg+xml' in page.text  # the QR code, drawn on the server
        ticket = re.search(r'data-ticket="([^"]+)"', page.text)
        assert ticket
        rooms = await redeem_ticket(seeded.runtime.cache, ticket.group(1))
        assert rooms == [f"overlay:{vtuber_id}"]

"""Paid draws from the pages: the final confirmation screen (COMPLIANCE P2) shows what, how many,
the price in medals and yen, the balance and the no-cancel notice; its form draws once however
often it is sent; a short balance, a cross-site post or a bad form draws nothing; the draw page
and its result partial show the results to their owner only."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from koepon.app import Platform
from koepon.web.legal import NO_CANCEL_NOTICE
from web.admin_kit import Api
from web.fan_kit import (
    BOX,
    ESCAPED,
    VTUBER,
    WEIGHTED,
    XSS,
    balance,
    confirmation,
    scripted_gacha,
    signed_in_fan,
)
from web.pages_kit import sign_in


async def completed_draws(fan: Api) -> list[dict[str, object]]:
    """The fan's draws that took medals (a refused one is recorded, with nothing spent)."""
    for _ in range(50):
        items = (await fan.get("/api/v1/draws"))["items"]
        if all(d["status"] in ("completed", "refused", "voided") for d in items):
            break
    return [d for d in items if d["status"] == "completed"]


async def limited_entries(fan: Api, expected: int = 3) -> list[dict[str, Any]]:
    """The fan's limited items once ``expected`` are in the collection: the draws may finish
    after the pages' short wait, and the rewards service grants them from the draws' events."""
    limited: list[dict[str, Any]] = []
    for _ in range(150):
        items = (await fan.get("/api/v1/collection", limit=100))["items"]
        limited = [e for e in items if e["limited"]]
        if len(limited) >= expected:
            break
        await asyncio.sleep(0.1)
    return limited


async def test_confirmation_screen_states_everything_before_a_paid_draw(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await signed_in_fan(http, medals=5000)
        page = await http.get(f"/gachas/{WEIGHTED}/confirm", params={"count": 10})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert "星宮ルナ 1stガチャ" in html and "3,000" in html and "3,000円(税込)" in html
    assert 'data-balance="5000"' in html and 'id="spend-order"' in html
    assert NO_CANCEL_NOTICE in html
    assert (
        'name="show_on_stream"' in html
        and "checked" not in html.split('id="show-on-stream"')[1][:40]
    )
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', html)


async def test_a_replayed_confirmation_draws_once(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=1000)
        form = await confirmation(http, WEIGHTED)
        first = await http.post(f"/gachas/{WEIGHTED}/draws", data=form)
        again = await http.post(f"/gachas/{WEIGHTED}/draws", data=form)
        assert first.status_code == 303 and again.status_code == 303, first.text
        assert first.headers["location"] == again.headers["location"]
        assert first.headers["location"].startswith("/draws/")
        assert await balance(fan) == 1000 - 300
        assert len(await completed_draws(fan)) == 1


async def test_draw_page_shows_the_results_to_their_owner(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=3000)
        form = await confirmation(http, WEIGHTED, count=10)
        made = await http.post(f"/gachas/{WEIGHTED}/draws", data=form)
        where = made.headers["location"]
        draw_id = where.rsplit("/", 1)[1]
        drawn = await fan.get(f"/api/v1/draws/{draw_id}")
        for _ in range(50):
            if drawn["status"] == "completed":
                break
            drawn = await fan.get(f"/api/v1/draws/{draw_id}")
        page = await http.get(where)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert page.text.count('data-slot="') == 10
        for result in drawn["results"]:
            assert f"reveal-{result['rarity']}" in page.text
        assert 'data-ticket="' in page.text and "fan-reveal" in page.text
        partial = await http.get(f"{where}/result")
        assert partial.status_code == 200 and partial.text.count('data-slot="') == 10
        assert "<html" not in partial.text

        async with httpx.AsyncClient(base_url=served, timeout=30) as other:
            await sign_in(other, VTUBER)
            assert (await other.get(where)).status_code == 404
            assert (await other.get(f"{where}/result")).status_code == 404
        async with httpx.AsyncClient(base_url=served, timeout=30) as anonymous:
            answer = await anonymous.get(where)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_a_box_draw_shows_the_serial_number_of_a_limited_item(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=15000)
        for _ in range(3):
            form = await confirmation(http, BOX, count=10)
            made = await http.post(f"/gachas/{BOX}/draws", data=form)
            assert made.status_code == 303, made.text
        limited = await limited_entries(fan)
        assert len(limited) == 3, "the whole box holds three signed photos"
        page = await http.get(made.headers["location"])
        collection = await http.get("/collection")
    labels = [e["serial_label"] for e in limited]
    assert any(label in page.text for label in labels) or any(
        label in collection.text for label in labels
    )
    assert all(label in collection.text for label in labels)


async def test_a_short_balance_returns_to_the_confirmation_with_a_link_to_buy(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=100)
        form = await confirmation(http, WEIGHTED)
        answer = await http.post(f"/gachas/{WEIGHTED}/draws", data=form)
        assert answer.status_code == 402
        assert 'id="refusal"' in answer.text and 'href="/wallet/buy"' in answer.text
        assert await balance(fan) == 100
        assert await completed_draws(fan) == []


async def test_a_cross_site_or_broken_draw_post_draws_nothing(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        fan = await signed_in_fan(http, medals=1000)
        form = await confirmation(http, WEIGHTED)
        evil = await http.post(
            f"/gachas/{WEIGHTED}/draws", data=form, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        no_token = await http.post(
            f"/gachas/{WEIGHTED}/draws", data={**form, "csrf_token": "wrong"}
        )
        assert no_token.status_code == 403
        bad_count = await http.post(f"/gachas/{WEIGHTED}/draws", data={**form, "count": "7"})
        assert bad_count.status_code in (404, 422)
        assert await balance(fan) == 1000
        assert await completed_draws(fan) == []


async def test_confirmation_needs_a_signed_in_fan(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        answer = await http.get(f"/gachas/{WEIGHTED}/confirm?count=1")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/gachas/")


async def test_scripted_names_are_text_on_the_confirmation_and_draw_pages(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        gacha_id, _ = await scripted_gacha(http)
        await signed_in_fan(http, medals=500)
        form = await confirmation(http, gacha_id)
        confirm = await http.get(f"/gachas/{gacha_id}/confirm")
        made = await http.post(f"/gachas/{gacha_id}/draws", data=form)
        assert made.status_code == 303, made.text
        fan = await Api.sign_in(http, "fan@demo.koepon.jp")
        draw_id = made.headers["location"].rsplit("/", 1)[1]
        for _ in range(50):
            if (await fan.get(f"/api/v1/draws/{draw_id}"))["status"] == "completed":
                break
        page = await http.get(made.headers["location"])
        collection = await http.get("/collection")
    for html in (confirm.text, page.text, collection.text):
        assert XSS not in html and ESCAPED in html

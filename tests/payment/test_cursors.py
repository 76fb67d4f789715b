"""Paginated payment routes refuse a bad cursor with a 422 problem (never a 500) and still page
correctly with the cursors they hand out."""

from __future__ import annotations

import pytest

from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401

BAD_SEQUENCES = ["99999999999999999999", "9223372036854775808", "-1", "abc", "1.5", "0x10"]
BAD_KEYSETS = ["99999999999999999999", "not-a-cursor", "%%%", "A" * 300]


@pytest.mark.parametrize("cursor", BAD_SEQUENCES)
async def test_a_bad_wallet_transactions_cursor_is_a_422_problem(shop: Shop, cursor: str) -> None:
    fan = await shop.fan()
    answer = await shop.client.get(
        "/api/v1/wallet/transactions", params={"cursor": cursor}, headers=fan.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "cursor" in answer.json()["detail"]


async def test_bad_receipt_and_payment_cursors_are_422_problems(shop: Shop) -> None:
    fan = await shop.fan()
    admin = await shop.fan(roles=["admin"])
    for cursor in BAD_KEYSETS:
        for url, who in (("/api/v1/receipts", fan), ("/api/v1/admin/payments", admin)):
            answer = await shop.client.get(url, params={"cursor": cursor}, headers=who.headers)
            assert answer.status_code == 422, (url, cursor, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] in ("invalid_cursor", "validation_failed")


async def test_the_cursors_handed_out_page_through_everything(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=100, paid_medals=100)
    bought = [(await shop.buy(fan, pack_id))["id"] for _ in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await shop.client.get("/api/v1/receipts", params=params, headers=fan.headers)
        ).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(bought) and len(seen) == 3

    entries: list[int] = []
    sequence: str | None = None
    while True:
        params = {"limit": 2, **({"cursor": sequence} if sequence else {})}
        page = (
            await shop.client.get("/api/v1/wallet/transactions", params=params, headers=fan.headers)
        ).json()
        entries += [len(page["items"])]
        sequence = page["next_cursor"]
        if sequence is None:
            break
    assert sum(entries) == 3  # one paid lot per purchase

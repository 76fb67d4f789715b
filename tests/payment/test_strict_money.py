"""Operators' money and medal fields are strict integers (COMPLIANCE P4): ``true``, ``"100"`` and
``100.0`` are refused with a 422 problem naming the field and change nothing; grants and
claw-backs name real accounts only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401

PACK = {"name": "スタンダード", "price_jpy": 1_100, "paid_medals": 1_100, "bonus_medals": 100}
NOT_INTEGERS: list[Any] = [True, False, "100", 100.0, 1e3, None]


async def _packs(shop: Shop, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The catalogue's amounts (a PATCH that changes nothing may still touch updated_at)."""
    listed = (await shop.client.get("/api/v1/admin/medal-packs", headers=headers)).json()
    return [{k: v for k, v in pack.items() if k != "updated_at"} for pack in listed]


@pytest.mark.parametrize("field", ["price_jpy", "paid_medals", "bonus_medals"])
async def test_a_pack_with_a_non_integer_amount_is_refused_and_nothing_changes(
    shop: Shop, field: str
) -> None:
    admin = await shop.fan(roles=["admin"])
    made = await shop.client.post("/api/v1/admin/medal-packs", json=PACK, headers=admin.headers)
    assert made.status_code == 201, made.text
    before = await _packs(shop, admin.headers)
    for value in NOT_INTEGERS:
        body = {**PACK, field: value}
        created = await shop.client.post(
            "/api/v1/admin/medal-packs", json=body, headers=admin.headers
        )
        assert created.status_code == 422, (value, created.text)
        problem = created.json()
        assert created.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "validation_failed" and field in problem["detail"]
        edited = await shop.client.patch(
            f"/api/v1/admin/medal-packs/{made.json()['id']}",
            json={field: value},
            headers=admin.headers,
        )
        # None on a PATCH means "leave it"; every other non-integer is refused.
        assert edited.status_code == (200 if value is None else 422), (value, edited.text)
    assert await _packs(shop, admin.headers) == before


@pytest.mark.parametrize("action", ["grants", "claw-backs"])
async def test_grant_and_claw_back_medals_are_strict_integers(shop: Shop, action: str) -> None:
    admin = await shop.fan(roles=["admin"])
    fan = await shop.fan()
    url = f"/api/v1/admin/wallets/{fan.id}/{action}"
    for value in NOT_INTEGERS:
        body = {"medals": value, "reason": "お詫び", "kind": "free"}
        if action == "grants":
            del body["kind"]
        refused = await shop.client.post(url, json=body, headers=admin.headers)
        assert refused.status_code == 422, (value, refused.text)
        assert "medals" in refused.json()["detail"]
    assert await shop.medals(fan.id) == (0, 0)
    async with shop.ctx.db.sessionmaker() as session:
        wallet = await shop.services.wallet_views.balance(session, fan.id)
    assert wallet.owed_medals == 0


@pytest.mark.parametrize("action", ["grants", "claw-backs"])
async def test_grants_and_claw_backs_for_unknown_accounts_are_404(shop: Shop, action: str) -> None:
    admin = await shop.fan(roles=["admin"])
    ghost = str(uuid.uuid4())
    body: dict[str, Any] = {"medals": 100, "reason": "お詫び"}
    refused = await shop.client.post(
        f"/api/v1/admin/wallets/{ghost}/{action}", json=body, headers=admin.headers
    )
    assert refused.status_code == 404, refused.text
    assert refused.json()["code"] == "account_not_found"
    assert await shop.medals(ghost) == (0, 0)
    fan = await shop.fan()
    if action == "claw-backs":
        body["kind"] = "free"
    done = await shop.client.post(
        f"/api/v1/admin/wallets/{fan.id}/{action}", json=body, headers=admin.headers
    )
    assert done.status_code == 201, done.text

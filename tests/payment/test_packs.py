"""Medal packs: a public catalogue with tax-included prices; only operators change it."""

from __future__ import annotations

from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401

PACK = {"name": "スタンダード", "price_jpy": 1_100, "paid_medals": 1_100, "bonus_medals": 100}


async def test_operators_create_update_and_deactivate_packs(shop: Shop) -> None:
    admin = await shop.fan(roles=["admin"])
    created = await shop.client.post("/api/v1/admin/medal-packs", json=PACK, headers=admin.headers)
    assert created.status_code == 201, created.text
    pack = created.json()
    assert (pack["price_jpy"], pack["tax_jpy"], pack["tax_rate_percent"]) == (1_100, 100, 10)
    assert pack["price_label"] == "1,100円(税込)"
    assert pack["total_medals"] == 1_200

    updated = await shop.client.patch(
        f"/api/v1/admin/medal-packs/{pack['id']}",
        json={"price_jpy": 550},
        headers=admin.headers,
    )
    assert updated.status_code == 200
    assert (updated.json()["price_jpy"], updated.json()["tax_jpy"]) == (550, 50)

    public = await shop.client.get("/api/v1/medal-packs")
    assert public.status_code == 200
    listed = {p["id"]: p for p in public.json()}
    assert listed[pack["id"]]["paid_medals"] == 1_100
    assert listed[pack["id"]]["bonus_medals"] == 100
    assert "active" not in listed[pack["id"]]

    gone = await shop.client.post(
        f"/api/v1/admin/medal-packs/{pack['id']}/deactivate", headers=admin.headers
    )
    assert gone.status_code == 200 and gone.json()["active"] is False
    everything = await shop.client.get("/api/v1/admin/medal-packs", headers=admin.headers)
    assert pack["id"] in [p["id"] for p in everything.json()]
    fan = await shop.fan()
    refused = await shop.checkout(fan, pack["id"])
    assert refused.status_code == 404 and refused.json()["code"] == "medal_pack_not_found"


async def test_a_bonus_beyond_the_allowed_share_is_refused_naming_g10(shop: Shop) -> None:
    admin = await shop.fan(roles=["admin"])
    too_generous = {**PACK, "bonus_medals": 1_101}
    refused = await shop.client.post(
        "/api/v1/admin/medal-packs", json=too_generous, headers=admin.headers
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "medal_pack_invalid"
    assert "G10" in refused.json()["detail"]
    free = await shop.client.post(
        "/api/v1/admin/medal-packs", json={**PACK, "price_jpy": 0}, headers=admin.headers
    )
    assert free.status_code == 422
    float_price = await shop.client.post(
        "/api/v1/admin/medal-packs", json={**PACK, "price_jpy": 1100.5}, headers=admin.headers
    )
    assert float_price.status_code == 422


async def test_only_admins_manage_packs_and_anyone_reads_the_catalogue(shop: Shop) -> None:
    fan = await shop.fan()
    support = await shop.fan(roles=["support"])
    pack_id = await shop.pack()
    calls = [
        ("GET", "/api/v1/admin/medal-packs", None),
        ("POST", "/api/v1/admin/medal-packs", PACK),
        ("PATCH", f"/api/v1/admin/medal-packs/{pack_id}", {"name": "x"}),
        ("POST", f"/api/v1/admin/medal-packs/{pack_id}/deactivate", None),
    ]
    for method, path, body in calls:
        anonymous = await shop.client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        for who in (fan, support):
            answer = await shop.client.request(method, path, json=body, headers=who.headers)
            assert answer.status_code == 403, (method, path)
    assert (await shop.client.get("/api/v1/medal-packs")).status_code == 200

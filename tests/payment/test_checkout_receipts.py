"""Receipts for fans, the operators' payment view, refunds with a legal ground, and
reconciliation with the provider's records."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import update

from koepon.payment.checkout.caps import tokyo_day
from koepon.payment.checkout.models import Checkout
from koepon.payment.commands import payments as payments_command
from koepon.payment.providers.models import SandboxPayment
from payment.fixtures.shop import Shop, shop_fixture  # noqa: F401


async def test_receipts_list_a_fans_purchases_with_tax_included_amounts(shop: Shop) -> None:
    fan = await shop.fan()
    other = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100)
    bought = [await shop.buy(fan, pack_id) for _ in range(3)]
    await shop.checkout(fan, pack_id)  # opened, never paid: not a purchase
    await shop.buy(other, pack_id)

    first = await shop.client.get("/api/v1/receipts?limit=2", headers=fan.headers)
    assert first.status_code == 200
    page = first.json()
    assert [r["id"] for r in page["items"]] == [bought[2]["id"], bought[1]["id"]]
    assert page["items"][0]["price_label"] == "1,100円(税込)"
    assert page["items"][0]["tax_jpy"] == 100
    assert page["month_spent_jpy"] >= 3_300
    second = await shop.client.get(
        f"/api/v1/receipts?limit=2&cursor={page['next_cursor']}", headers=fan.headers
    )
    assert [r["id"] for r in second.json()["items"]] == [bought[0]["id"]]
    assert second.json()["next_cursor"] is None
    bad = await shop.client.get("/api/v1/receipts?cursor=%%%", headers=fan.headers)
    assert bad.status_code == 422


async def test_operators_see_payments_with_provider_references(shop: Shop) -> None:
    fan = await shop.fan()
    support = await shop.fan(roles=["support"])
    checkout = await shop.buy(fan, await shop.pack())
    listed = await shop.client.get(
        "/api/v1/admin/payments", params={"user_id": fan.id}, headers=support.headers
    )
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["provider_session_id"].startswith("sbx_cs_")
    assert item["provider_payment_id"].startswith("sbx_py_")
    detail = await shop.client.get(
        f"/api/v1/admin/payments/{checkout['id']}", headers=support.headers
    )
    assert [e["event_type"] for e in detail.json()["events"]] == ["payment.succeeded"]


async def test_an_admin_refund_with_a_legal_ground_claws_the_medals_back(shop: Shop) -> None:
    fan = await shop.fan()
    admin = await shop.fan(roles=["admin"])
    checkout = await shop.buy(fan, await shop.pack(price_jpy=600, paid_medals=600))
    assert await shop.medals(fan.id) == (600, 0)
    refunded = await shop.client.post(
        f"/api/v1/admin/payments/{checkout['id']}/refund",
        json={"legal_ground": "サービス終了に伴う払戻し（資金決済法第20条）"},
        headers=admin.headers,
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"
    assert "資金決済法" in refunded.json()["refund_ground"]
    assert await shop.medals(fan.id) == (0, 0)
    again = await shop.client.post(
        f"/api/v1/admin/payments/{checkout['id']}/refund",
        json={"legal_ground": "二重の払戻し"},
        headers=admin.headers,
    )
    assert again.status_code == 409


async def test_payment_views_and_refunds_need_their_roles(shop: Shop) -> None:
    fan = await shop.fan()
    support = await shop.fan(roles=["support"])
    checkout = await shop.buy(fan, await shop.pack())
    for path in ("/api/v1/admin/payments", f"/api/v1/admin/payments/{checkout['id']}"):
        assert (await shop.client.get(path)).status_code == 401
        assert (await shop.client.get(path, headers=fan.headers)).status_code == 403
    refund = f"/api/v1/admin/payments/{checkout['id']}/refund"
    body = {"legal_ground": "事業廃止による払戻し"}
    assert (await shop.client.post(refund, json=body)).status_code == 401
    for who in (fan, support):
        assert (await shop.client.post(refund, json=body, headers=who.headers)).status_code == 403
    assert (await shop.client.get("/api/v1/receipts")).status_code == 401


async def test_reconciliation_lists_differences_with_the_provider(shop: Shop) -> None:
    fan = await shop.fan()
    pack_id = await shop.pack()
    agreed = await shop.buy(fan, pack_id)
    drifted = await shop.buy(fan, pack_id)
    async with shop.ctx.db.transaction() as session:
        # The provider's book says one payment was refunded behind our back.
        await session.execute(
            update(SandboxPayment)
            .where(SandboxPayment.checkout_id == drifted["id"])
            .values(status="refunded")
        )
    receipts = shop.services.receipts
    findings = await receipts.reconcile(day=tokyo_day(shop.ctx.now()), provider_name="sandbox")
    assert [(f.kind, f.checkout_id, f.ours, f.theirs) for f in findings] == [
        ("status_mismatch", drifted["id"], "succeeded", "refunded")
    ]
    assert agreed["id"] not in {f.checkout_id for f in findings}
    async with shop.ctx.db.transaction() as session:
        # And we have a paid checkout the provider never heard of.
        await session.execute(
            update(Checkout).where(Checkout.id == agreed["id"]).values(provider_session_id="x")
        )
        await session.execute(
            update(SandboxPayment)
            .where(SandboxPayment.checkout_id == agreed["id"])
            .values(checkout_id="someone-else")
        )
    findings = await receipts.reconcile(day=tokyo_day(shop.ctx.now()), provider_name="sandbox")
    assert ("missing_at_provider", agreed["id"]) in {(f.kind, f.checkout_id) for f in findings}


def test_the_reconcile_command_prints_differences_and_exits_1(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KOEPON_DATA_DIR", str(tmp_path))
    from koepon.kernel.settings import get_settings

    get_settings.cache_clear()
    try:
        from koepon.cli import main

        runner = CliRunner()
        assert runner.invoke(main, ["migrate", "--service", "payment"]).exit_code == 0
        agreed = runner.invoke(
            payments_command, ["reconcile", "--date", "2025-01-10", "--provider", "sandbox"]
        )
        assert agreed.exit_code == 0, agreed.output
        assert "agree" in agreed.output
        refused = runner.invoke(
            payments_command, ["reconcile", "--date", "2025-01-10", "--provider", "stripe"]
        )
        assert refused.exit_code == 2 and "not enabled" in refused.output
    finally:
        get_settings.cache_clear()


async def test_the_wallets_month_spend_is_exact_right_after_a_checkout(shop: Shop) -> None:
    """The wallet page (cached lots) and the receipts agree on this month's spend at once."""
    fan = await shop.fan()
    pack_id = await shop.pack(price_jpy=1_100, paid_medals=1_100)
    before = (await shop.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert before["month_spent_jpy"] == 0

    made = await shop.checkout(fan, pack_id)  # pending: it reserves room under the caps
    assert made.status_code == 201, made.text
    pending = (await shop.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert pending["month_spent_jpy"] == 1_100

    await shop.pay(made.json()["id"])
    wallet = (await shop.client.get("/api/v1/wallet", headers=fan.headers)).json()
    receipts = (await shop.client.get("/api/v1/receipts", headers=fan.headers)).json()
    assert wallet["month_spent_jpy"] == receipts["month_spent_jpy"] == 1_100
    assert wallet["paid_medals"] == 1_100

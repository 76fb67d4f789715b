"""The VTuber's whole path over HTTP, as one story: a fan applies to become a VTuber, an operator
approves, the VTuber uploads pictures and drafts a gacha that a G-rule refuses, fixes it, an
operator approves it, it is live, fans draw with paid and free medals, the VTuber sees the sales,
and after the JST month ends an operator closes it and the VTuber reads the statement.

Every step is a public endpoint called through the app (the gateway in front of all services);
only the clock of the VTuber service is moved, to the next month, so the month can be closed
(and the sandbox provider posts its webhook into the same app, as the shop fixture arranges).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from clocks import MovableClock
from koepon.app import Platform
from koepon.demo_files import demo_picture
from koepon.kernel.clock import JST, jst_day
from payment.fixtures.shop import Fan, Shop, shop_fixture, signed_in  # noqa: F401 - shop
from vtuber.conftest import vtuber_context

BANK = {
    "bank_code": "0005",
    "branch_code": "123",
    "account_type": "ordinary",
    "account_number": "7654321",
    "holder_kana": "ホシゾラ ミオ",
}


async def account(client: httpx.AsyncClient, platform: Platform, *roles: str) -> Fan:
    return Fan(*await signed_in(client, platform, roles=list(roles) or None))


def gacha_config(contents: list[str], *, broken: bool) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(hours=1)
    items = [
        {"item_id": "voice-n", "content_id": contents[0], "rarity": "N", "name": "ボイス"},
        {"item_id": "wall-r", "content_id": contents[1], "rarity": "R", "name": "壁紙"},
        {"item_id": "illust-sr", "content_id": contents[2], "rarity": "SR", "name": "イラスト"},
    ]
    if broken:
        items[2]["stock"] = 10  # a stock-limited item outside a box (COMPLIANCE G5)
    return {
        "kind": "weighted",
        "price_medals": 300,
        "price_jpy": 300,
        "period": {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(days=14)).isoformat(),
        },
        "items": items,
        "main": [
            {"item_id": "voice-n", "weight": 700},
            {"item_id": "wall-r", "weight": 250},
            {"item_id": "illust-sr", "weight": 50},
        ],
    }


async def eventually(probe: Any, *, tries: int = 100) -> Any:
    """``probe()``'s answer once it is truthy (events travel through outbox and bus)."""
    for _ in range(tries):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the expected state never arrived")


async def test_apply_approve_upload_draft_refuse_fix_approve_draw_sell_and_state(
    client: httpx.AsyncClient, platform: Platform, shop: Shop
) -> None:
    admin = await account(client, platform, "admin")
    owner = await account(client, platform)

    # 1. A fan applies; an operator approves.
    applied = await client.post(
        "/api/v1/vtubers",
        json={
            "display_name": "星空ミオ",
            "bio": "歌とASMRの配信をしています。",
            "channel_links": ["https://www.youtube.com/@hoshizora-mio"],
            "legal_name": "星空 美緒",
            "bank": BANK,
        },
        headers=owner.ik(),
    )
    assert applied.status_code == 201, applied.text
    vtuber_id = applied.json()["id"]
    assert (await client.get(f"/api/v1/vtubers/{vtuber_id}")).status_code == 404  # pending
    early = await client.post(
        f"/api/v1/vtubers/{vtuber_id}/contents",
        files={"file": ("a.png", demo_picture("早い", 10, size=(64, 64)), "image/png")},
        data={"title": "早すぎる"},
        headers=owner.headers,
    )
    assert early.status_code == 403, early.text  # not approved yet: no team permissions
    approved = await client.post(
        f"/api/v1/admin/vtubers/{vtuber_id}/approve", json={}, headers=admin.headers
    )
    assert approved.status_code == 200, approved.text
    public = await client.get(f"/api/v1/vtubers/{vtuber_id}")
    assert public.status_code == 200 and public.json()["display_name"] == "星空ミオ"
    assert "bank" not in public.text and "星空 美緒" not in public.text

    # 2. The VTuber uploads three pictures.
    contents = []
    for hue, title in ((30, "ボイス"), (150, "壁紙"), (270, "イラスト")):
        made = await client.post(
            f"/api/v1/vtubers/{vtuber_id}/contents",
            files={"file": (f"{hue}.png", demo_picture(title, hue, size=(96, 96)), "image/png")},
            data={"title": title},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
        contents.append(made.json()["id"])

    # 3. A draft that breaks G5 is refused at submission, fixed, submitted and approved.
    drafted = await client.post(
        f"/api/v1/vtubers/{vtuber_id}/gachas",
        json={"title": "星空ガチャ", "config": gacha_config(contents, broken=True)},
        headers=owner.headers,
    )
    assert drafted.status_code == 201, drafted.text
    gacha_id = drafted.json()["id"]
    refused = await client.post(f"/api/v1/gachas/{gacha_id}/submit", headers=owner.headers)
    assert refused.status_code == 422 and refused.json()["code"] == "G5", refused.text
    fixed = await client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "星空ガチャ", "config": gacha_config(contents, broken=False)},
        headers=owner.headers,
    )
    assert fixed.status_code == 200, fixed.text
    submitted = await client.post(f"/api/v1/gachas/{gacha_id}/submit", headers=owner.headers)
    assert submitted.status_code == 200, submitted.text
    live = await client.post(f"/api/v1/admin/gachas/{gacha_id}/approve", headers=admin.headers)
    assert live.status_code == 200, live.text
    shown = await client.get(f"/api/v1/gachas/{gacha_id}")
    assert shown.status_code == 200, shown.text

    # The public profile lists the live gacha once the catalogue event reached the VTuber service.
    async def listed() -> bool:
        profile = (await client.get(f"/api/v1/vtubers/{vtuber_id}")).json()
        return any(g["gacha_id"] == gacha_id for g in profile["live_gachas"])

    await eventually(listed)

    # 4. Fans draw: one with paid medals bought through the sandbox, one with granted free ones.
    pack = await client.post(
        "/api/v1/admin/medal-packs",
        json={"name": "1,100枚パック", "price_jpy": 1100, "paid_medals": 1100, "bonus_medals": 0},
        headers=admin.headers,
    )
    assert pack.status_code == 201, pack.text
    payer = await account(client, platform)
    checkout = await client.post(
        "/api/v1/checkouts",
        json={"pack_id": pack.json()["id"], "provider": "sandbox"},
        headers=payer.ik(),
    )
    assert checkout.status_code == 201, checkout.text
    paid = await client.post(
        f"/sandbox/checkouts/{checkout.json()['id']}/complete", json={"outcome": "succeeded"}
    )
    assert paid.status_code == 200 and paid.json()["webhook_status"] == 200, paid.text
    freeloader = await account(client, platform)
    granted = await client.post(
        f"/api/v1/admin/wallets/{freeloader.id}/grants",
        json={"medals": 600, "reason": "配信記念キャンペーン"},
        headers=admin.ik(),
    )
    assert granted.status_code == 201, granted.text

    async def draw(fan: Fan) -> str:
        made = await client.post(
            f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
        )
        assert made.status_code in (200, 202), made.text
        draw_id: str = made.json()["id"]

        async def done() -> bool:
            read = await client.get(f"/api/v1/draws/{draw_id}", headers=fan.headers)
            return bool(read.json()["status"] == "completed")

        await eventually(done)
        return draw_id

    for _ in range(3):
        await draw(payer)  # 3 × 300 paid medals bought at 1 yen each: ¥900 of paid value
    for _ in range(2):
        await draw(freeloader)  # 2 × 300 free medals: they earn nothing (R1)

    # 5. The sales show what was drawn and what it earned.
    today = jst_day(datetime.now(UTC)).isoformat()

    async def sold() -> dict[str, Any] | None:
        report = await client.get(
            f"/api/v1/vtubers/{vtuber_id}/sales",
            params={"from": today, "to": today},
            headers=owner.headers,
        )
        assert report.status_code == 200, report.text
        body: dict[str, Any] = report.json()
        return body if body["totals"]["draws"] == 5 else None

    report = await eventually(sold)
    totals = report["totals"]
    assert totals["paid_medals"] == 900 and totals["free_medals"] == 600
    assert totals["value_jpy"] == 900 and totals["unique_fans"] == 2
    assert sum(totals["rarities"].values()) == 5
    outsider = await account(client, platform)
    assert (
        await client.get(f"/api/v1/vtubers/{vtuber_id}/sales", headers=outsider.headers)
    ).status_code == 403

    # 6. After the JST month, an operator closes it and the VTuber reads the statement.
    now = datetime.now(UTC)
    month_start = datetime.combine(jst_day(now).replace(day=1), datetime.min.time(), tzinfo=JST)
    next_month = (month_start + timedelta(days=32)).replace(day=1, hour=1)
    vtuber_context(platform).clock.use(MovableClock(next_month.astimezone(UTC)))
    month = month_start.strftime("%Y-%m")
    closed = await client.post(
        "/api/v1/admin/statements/close", json={"month": month}, headers=admin.headers
    )
    assert closed.status_code == 200, closed.text
    statement = await client.get(
        f"/api/v1/vtubers/{vtuber_id}/statements/{month}", headers=owner.headers
    )
    assert statement.status_code == 200, statement.text
    figures = statement.json()
    # By hand: gross ¥900; 70% = ¥630 to the VTuber, ¥270 platform fee; an individual's
    # withholding floor(630 × 10.21%) = ¥64; net ¥566.
    assert {
        key: figures[key]
        for key in (
            "gross_jpy",
            "vtuber_share_jpy",
            "platform_fee_jpy",
            "withholding_jpy",
            "net_payable_jpy",
        )
    } == {
        "gross_jpy": 900,
        "vtuber_share_jpy": 630,
        "platform_fee_jpy": 270,
        "withholding_jpy": 64,
        "net_payable_jpy": 566,
    }
    assert [line["gacha_id"] for line in figures["gachas"]] == [gacha_id]
    assert (
        await client.get(
            f"/api/v1/vtubers/{vtuber_id}/statements/{month}", headers=outsider.headers
        )
    ).status_code == 403

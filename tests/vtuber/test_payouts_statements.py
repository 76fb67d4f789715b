"""Monthly statements from the gacha's events (Done-when): one JST month with draws paid with
paid and free medals, a refund and a collab gacha, closed and checked figure by figure against
numbers computed by hand below — including withholding at exactly ¥1,000,000 and ¥1,000,001.

The helpers at the top (VTubers, events, the clock) are used by the other payouts tests too.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from clocks import MovableClock
from koepon.app import Platform
from koepon.contracts import Event
from koepon.contracts.gacha import DrawCompleted, DrawnItem, DrawReversed
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.bus import Message
from payment.fixtures.shop import signed_in
from vtuber.conftest import approved_vtuber, vtuber_context, vtuber_services

JST_OFFSET = timedelta(hours=9)


def jst(*args: int) -> datetime:
    """A JST wall-clock time as a UTC instant."""
    return datetime(*args, tzinfo=UTC) - JST_OFFSET  # type: ignore[misc]


# --- accounts and VTubers --------------------------------------------------------------------


@dataclass
class Caller:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ik(self, key: str | None = None) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def caller(client: httpx.AsyncClient, platform: Platform, *roles: str) -> Caller:
    user_id, _, token = await signed_in(client, platform, roles=list(roles) or None)
    return Caller(user_id, token)


BANK_AOI = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
    "holder_kana": "ｱｵｲ ﾊﾙｶ",
}
BANK_BENI = {
    "bank_code": "0009",
    "branch_code": "123",
    "account_type": "savings",
    "account_number": "0000042",
    "holder_kana": "ﾍﾞﾆ ｶｽﾞﾊ",
}


@dataclass
class Cast:
    """Aoi (individual, no invoice number) and her collab partner Beni (individual, registered
    for invoices on 31 Oct 2026), and Chika (individual) whose refund outweighs her month."""

    aoi: str
    beni: str
    chika: str
    aoi_owner: Caller
    beni_owner: Caller
    chika_owner: Caller
    admin: Caller
    clock: MovableClock


async def cast(client: httpx.AsyncClient, platform: Platform) -> Cast:
    aoi_owner = await caller(client, platform)
    beni_owner = await caller(client, platform)
    chika_owner = await caller(client, platform)
    admin = await caller(client, platform, "admin")
    aoi = await approved_vtuber(
        platform, aoi_owner.user_id, display_name="蒼井", legal_name="蒼井 遥", bank=BANK_AOI
    )
    beni = await approved_vtuber(
        platform,
        beni_owner.user_id,
        display_name="紅",
        legal_name="紅 和葉",
        bank=BANK_BENI,
        invoice_number="T1234567890123",
        invoice_registered_on=date(2026, 10, 31),
    )
    chika = await approved_vtuber(platform, chika_owner.user_id, display_name="千佳")
    clock = MovableClock(datetime(2026, 10, 31, 14, 59, 59, tzinfo=UTC))  # 23:59:59 JST
    vtuber_context(platform).clock.use(clock)
    return Cast(aoi, beni, chika, aoi_owner, beni_owner, chika_owner, admin, clock)


# --- the gacha's events ----------------------------------------------------------------------


def message(event: Event) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        topic=event.topic,
        payload=event.model_dump(mode="json"),
        occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
    )


async def feed(platform: Platform, *events: Event) -> None:
    """Deliver the events to sales as the bus would."""
    sales = vtuber_services(platform).sales
    for event in events:
        await sales.handle(message(event))


def draw(
    vtuber_id: str,
    gacha_id: str,
    at: datetime,
    *,
    count: int = 1,
    paid_medals: int,
    free_medals: int = 0,
    paid_value_jpy: int,
    shares: list[RevenueShare] | None = None,
    draw_id: str | None = None,
) -> DrawCompleted:
    return DrawCompleted(
        draw_id=draw_id or f"draw-{uuid.uuid4().hex[:12]}",
        user_id="fan-1",
        gacha_id=gacha_id,
        vtuber_id=vtuber_id,
        odds_version=1,
        count=count,
        price_medals=paid_medals + free_medals,
        paid_medals=paid_medals,
        free_medals=free_medals,
        paid_value_jpy=paid_value_jpy,
        items=[
            DrawnItem(slot=i, item_id="voice-n1", content_id="content-1", rarity="N", nonce=i)
            for i in range(count)
        ],
        completed_at=at,
        shares=shares or [],
    )


def reversal(completed: DrawCompleted, at: datetime) -> DrawReversed:
    return DrawReversed(
        draw_id=completed.draw_id,
        user_id=completed.user_id,
        reason="chargeback",
        reversed_at=at,
        gacha_id=completed.gacha_id,
        vtuber_id=completed.vtuber_id,
        paid_value_jpy=completed.paid_value_jpy,
        shares=completed.shares,
    )


async def september_and_october(platform: Platform, c: Cast) -> None:
    """The events of the story (figures worked out in the Done-when test)."""
    aoi_september = draw(
        c.aoi, "gacha-aoi", jst(2026, 9, 28, 21, 0), paid_medals=1000, paid_value_jpy=1_000
    )
    chika_september = draw(
        c.chika, "gacha-chika", jst(2026, 9, 10, 20, 0), paid_medals=10_000, paid_value_jpy=10_000
    )
    collab = [
        RevenueShare(vtuber_id=c.aoi, share_bp=6000),
        RevenueShare(vtuber_id=c.beni, share_bp=4000),
    ]
    await feed(
        platform,
        aoi_september,
        chika_september,
        # October 1, 00:30 JST (30 September 15:30 UTC): an October draw; 10連 all paid medals
        draw(
            c.aoi,
            "gacha-aoi",
            jst(2026, 10, 1, 0, 30),
            count=10,
            paid_medals=30_000,
            paid_value_jpy=1_200_000,
        ),
        # paid and free medals: only the paid part's yen value counts (R1)
        draw(
            c.aoi,
            "gacha-aoi",
            jst(2026, 10, 12, 20, 0),
            paid_medals=1_000,
            free_medals=2_000,
            paid_value_jpy=1_000,
        ),
        # free medals only: earns nothing
        draw(
            c.aoi,
            "gacha-aoi",
            jst(2026, 10, 13, 20, 0),
            free_medals=3_000,
            paid_medals=0,
            paid_value_jpy=0,
        ),
        # the collab gacha, Aoi 60% / Beni 40% of 380,953 yen
        draw(
            c.aoi,
            "gacha-collab",
            jst(2026, 10, 20, 22, 0),
            count=10,
            paid_medals=9_000,
            paid_value_jpy=380_953,
            shares=collab,
        ),
        # Beni's own gacha
        draw(
            c.beni,
            "gacha-beni",
            jst(2026, 10, 21, 22, 0),
            count=10,
            paid_medals=40_000,
            paid_value_jpy=1_276_192,
        ),
        # refunds in October of September draws
        reversal(aoi_september, jst(2026, 10, 3, 12, 0)),
        reversal(chika_september, jst(2026, 10, 5, 12, 0)),
        # 1 November 00:00:30 JST: November's, not October's
        draw(
            c.aoi, "gacha-aoi", jst(2026, 11, 1, 0, 0, 30), paid_medals=5_000, paid_value_jpy=5_000
        ),
    )


async def close(client: httpx.AsyncClient, admin: Caller, month: str) -> httpx.Response:
    return await client.post(
        "/api/v1/admin/statements/close", json={"month": month}, headers=admin.headers
    )


def figures(statement: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "gross_jpy",
        "revenue_share_bp",
        "vtuber_share_jpy",
        "platform_fee_jpy",
        "carried_in_jpy",
        "payable_jpy",
        "withholding_jpy",
        "net_payable_jpy",
        "carried_out_jpy",
        "input_tax_deduction_pct",
        "entity_type",
        "status",
    )
    return {key: statement[key] for key in keys}


# --- the Done-when test ----------------------------------------------------------------------


async def test_a_month_of_paid_free_refunded_and_collab_draws(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await cast(client, platform)
    await september_and_october(platform, c)

    # September (the clock is at 31 Oct 23:59:59 JST: September has ended, October not yet)
    #   Aoi   gross 1,000  → share floor(700.0) = 700; withholding floor(700 × 10.21%) =
    #         floor(71.47) = 71; net 629
    #   Chika gross 10,000 → share 7,000; withholding floor(714.7) = 714; net 6,286
    closed = await close(client, c.admin, "2026-09")
    assert closed.status_code == 200, closed.text
    september = {s["vtuber_id"]: s for s in closed.json()["statements"]}
    assert (
        september[c.aoi]["vtuber_share_jpy"],
        september[c.aoi]["withholding_jpy"],
        september[c.aoi]["net_payable_jpy"],
    ) == (700, 71, 629)
    assert (
        september[c.chika]["vtuber_share_jpy"],
        september[c.chika]["withholding_jpy"],
        september[c.chika]["net_payable_jpy"],
    ) == (7_000, 714, 6_286)

    refused = await close(client, c.admin, "2026-10")
    assert refused.status_code == 409
    assert refused.json()["code"] == "month_not_ended"

    c.clock.advance(seconds=1)  # 1 November 00:00:00 JST
    closed = await close(client, c.admin, "2026-10")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["issued"] == 3
    october = {s["vtuber_id"]: s for s in body["statements"]}

    # Aoi, October:
    #   gacha-aoi   1,200,000 (10連, paid)  + 1,000 (paid part of a mixed draw) + 0 (free only)
    #   collab      380,953 × 60% = 228,571.8 → 228,571, Beni 152,381.2 → 152,381; the yen
    #               left over goes to the larger remainder (Aoi's .8): Aoi 228,572, Beni 152,381
    #   refund      −1,000 (the September draw reversed on 3 October)
    #   gross       1,200,000 + 1,000 + 228,572 − 1,000 = 1,428,572
    #   share       floor(1,428,572 × 7000 / 10000) = floor(1,000,000.4) = 1,000,000
    #   fee         1,428,572 − 1,000,000 = 428,572
    #   withholding payable ¥1,000,000 exactly: 1,000,000 × 10.21% = 102,100
    #   net         1,000,000 − 102,100 = 897,900
    #   deduction   no invoice number: the schedule's 50% in force on 31 Oct 2026
    assert figures(october[c.aoi]) == {
        "gross_jpy": 1_428_572,
        "revenue_share_bp": 7000,
        "vtuber_share_jpy": 1_000_000,
        "platform_fee_jpy": 428_572,
        "carried_in_jpy": 0,
        "payable_jpy": 1_000_000,
        "withholding_jpy": 102_100,
        "net_payable_jpy": 897_900,
        "carried_out_jpy": 0,
        "input_tax_deduction_pct": 50,
        "entity_type": "individual",
        "status": "issued",
    }
    # Beni, October:
    #   gross       152,381 (collab) + 1,276,192 (own gacha) = 1,428,573
    #   share       floor(1,428,573 × 0.7) = floor(1,000,001.1) = 1,000,001
    #   fee         428,572
    #   withholding 102,100 + floor((1,000,001 − 1,000,000) × 20.42%) = 102,100 + floor(0.2042)
    #               = 102,100
    #   net         1,000,001 − 102,100 = 897,901
    #   deduction   invoice number registered on 31 Oct 2026 (the month's last day): 100%
    assert figures(october[c.beni]) == {
        "gross_jpy": 1_428_573,
        "revenue_share_bp": 7000,
        "vtuber_share_jpy": 1_000_001,
        "platform_fee_jpy": 428_572,
        "carried_in_jpy": 0,
        "payable_jpy": 1_000_001,
        "withholding_jpy": 102_100,
        "net_payable_jpy": 897_901,
        "carried_out_jpy": 0,
        "input_tax_deduction_pct": 100,
        "entity_type": "individual",
        "status": "issued",
    }
    # Chika, October: only the refund of her September draw
    #   gross −10,000; share floor(−7,000.0) = −7,000; fee −3,000; payable −7,000 ≤ 0:
    #   nothing withheld nor paid, −7,000 carried to November
    assert figures(october[c.chika]) == {
        "gross_jpy": -10_000,
        "revenue_share_bp": 7000,
        "vtuber_share_jpy": -7_000,
        "platform_fee_jpy": -3_000,
        "carried_in_jpy": 0,
        "payable_jpy": -7_000,
        "withholding_jpy": 0,
        "net_payable_jpy": 0,
        "carried_out_jpy": -7_000,
        "input_tax_deduction_pct": 50,
        "entity_type": "individual",
        "status": "issued",
    }
    # month totals: gross 1,428,572 + 1,428,573 − 10,000 = 2,847,145; withholding 204,200;
    # net 897,900 + 897,901 = 1,795,801
    assert body["totals"] == {
        "gross_jpy": 2_847_145,
        "vtuber_share_jpy": 1_993_001,
        "platform_fee_jpy": 854_144,
        "withholding_jpy": 204_200,
        "net_payable_jpy": 1_795_801,
    }

    # Aoi's statement per gacha (what the studio shows)
    detail = await client.get(
        f"/api/v1/vtubers/{c.aoi}/statements/2026-10", headers=c.aoi_owner.headers
    )
    assert detail.status_code == 200, detail.text
    lines = {line["gacha_id"]: line for line in detail.json()["gachas"]}
    assert lines["gacha-aoi"] == {
        "gacha_id": "gacha-aoi",
        "title": lines["gacha-aoi"]["title"],
        "draws": 12,  # 10 + 1 + 1
        "paid_medals": 31_000,
        "free_medals": 5_000,
        "value_jpy": 1_201_000,
        "refunds_jpy": 1_000,
        "net_jpy": 1_200_000,
    }
    assert lines["gacha-collab"]["net_jpy"] == 228_572
    assert sum(line["net_jpy"] for line in lines.values()) == 1_428_572

    # the reconciliation: Σ statements' gross = Σ sales, the ledger agrees
    checked = await client.get(
        "/api/v1/admin/statements/reconciliation",
        params={"month": "2026-10"},
        headers=c.admin.headers,
    )
    assert checked.status_code == 200, checked.text
    report = checked.json()
    assert report["statements_gross_jpy"] == report["sales_gross_jpy"] == 2_847_145
    assert report["balanced"] is True, report

    # closing again issues nothing twice
    again = await close(client, c.admin, "2026-10")
    assert again.status_code == 200
    assert again.json()["issued"] == 0
    assert {s["id"] for s in again.json()["statements"]} == {s["id"] for s in body["statements"]}

    # November: Chika's debt is taken from her next share before withholding
    #   Chika gross 20,000 → share 14,000; payable 14,000 − 7,000 = 7,000;
    #         withholding floor(714.7) = 714; net 6,286
    #   Aoi   the 1 Nov 00:00:30 JST draw: gross 5,000 → share 3,500;
    #         withholding floor(357.35) = 357; net 3,143
    await feed(
        platform,
        draw(
            c.chika,
            "gacha-chika",
            jst(2026, 11, 15, 20, 0),
            paid_medals=20_000,
            paid_value_jpy=20_000,
        ),
    )
    c.clock.now = jst(2026, 12, 1, 9, 0)
    november = await close(client, c.admin, "2026-11")
    assert november.status_code == 200, november.text
    by_vtuber = {s["vtuber_id"]: s for s in november.json()["statements"]}
    assert set(by_vtuber) == {c.aoi, c.chika}
    chika = by_vtuber[c.chika]
    assert (
        chika["carried_in_jpy"],
        chika["payable_jpy"],
        chika["withholding_jpy"],
        chika["net_payable_jpy"],
        chika["carried_out_jpy"],
    ) == (-7_000, 7_000, 714, 6_286, 0)
    aoi = by_vtuber[c.aoi]
    assert (
        aoi["gross_jpy"],
        aoi["vtuber_share_jpy"],
        aoi["withholding_jpy"],
        aoi["net_payable_jpy"],
    ) == (5_000, 3_500, 357, 3_143)


async def test_a_debt_is_carried_over_a_month_without_sales(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await cast(client, platform)
    first = draw(
        c.chika, "gacha-chika", jst(2026, 8, 10, 20, 0), paid_medals=1_000, paid_value_jpy=1_000
    )
    await feed(platform, first, reversal(first, jst(2026, 9, 2, 12, 0)))
    assert (await close(client, c.admin, "2026-08")).status_code == 200
    september = await close(client, c.admin, "2026-09")
    # −1,000 → share −700, carried −700
    (statement,) = september.json()["statements"]
    assert statement["carried_out_jpy"] == -700
    c.clock.advance(seconds=1)
    october = await close(client, c.admin, "2026-10")
    # no sales in October, but the debt: a statement carrying it on
    (carried,) = october.json()["statements"]
    assert (carried["gross_jpy"], carried["carried_in_jpy"], carried["carried_out_jpy"]) == (
        0,
        -700,
        -700,
    )


async def test_months_are_closed_in_order(client: httpx.AsyncClient, platform: Platform) -> None:
    c = await cast(client, platform)
    await feed(
        platform,
        draw(c.aoi, "gacha-aoi", jst(2026, 8, 10, 20, 0), paid_medals=1, paid_value_jpy=1_000),
        draw(c.aoi, "gacha-aoi", jst(2026, 9, 10, 20, 0), paid_medals=1, paid_value_jpy=1_000),
    )
    assert (await close(client, c.admin, "2026-09")).status_code == 200
    late = await close(client, c.admin, "2026-08")
    assert late.status_code == 409
    assert late.json()["code"] == "month_closed_out_of_order"


async def test_a_bad_month_is_refused(client: httpx.AsyncClient, platform: Platform) -> None:
    admin = await caller(client, platform, "admin")
    for month in ("2026-13", "2026-1", "november", "1999-12"):
        refused = await client.post(
            "/api/v1/admin/statements/close", json={"month": month}, headers=admin.headers
        )
        assert refused.status_code == 422, (month, refused.text)


async def test_a_vtubers_statements_page_by_month(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await cast(client, platform)
    await september_and_october(platform, c)
    c.clock.advance(seconds=1)
    assert (await close(client, c.admin, "2026-09")).status_code == 200
    assert (await close(client, c.admin, "2026-10")).status_code == 200
    url = f"/api/v1/vtubers/{c.aoi}/statements"
    first = await client.get(url, params={"limit": 1}, headers=c.aoi_owner.headers)
    assert [s["month"] for s in first.json()["items"]] == ["2026-10"]
    assert first.json()["next_cursor"] == "2026-10"
    second = await client.get(
        url, params={"limit": 1, "cursor": "2026-10"}, headers=c.aoi_owner.headers
    )
    assert [s["month"] for s in second.json()["items"]] == ["2026-09"]
    assert second.json()["next_cursor"] is None
    listed = await client.get(
        "/api/v1/admin/statements", params={"month": "2026-09"}, headers=c.admin.headers
    )
    assert {s["vtuber_id"] for s in listed.json()["statements"]} == {c.aoi, c.chika}
    assert listed.json()["totals"]["net_payable_jpy"] == 629 + 6_286


async def test_two_operators_closing_a_month_at_once_issue_it_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await cast(client, platform)
    await september_and_october(platform, c)
    c.clock.advance(seconds=1)
    assert (await close(client, c.admin, "2026-09")).status_code == 200
    first, second = await asyncio.gather(
        close(client, c.admin, "2026-10"), close(client, c.admin, "2026-10")
    )
    answers = sorted([first, second], key=lambda r: r.status_code)
    assert answers[0].status_code == 200, answers[0].text
    assert answers[1].status_code in (200, 409), answers[1].text
    if answers[1].status_code == 409:
        assert answers[1].json()["code"] == "month_closing_in_progress"
    issued = sum(r.json()["issued"] for r in answers if r.status_code == 200)
    assert issued == 3
    report = await client.get(
        "/api/v1/admin/statements/reconciliation",
        params={"month": "2026-10"},
        headers=c.admin.headers,
    )
    assert report.json()["balanced"] is True

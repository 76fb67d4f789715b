"""Payout batches: gathering October's statements (Idempotency-Key), the 全銀 file of the batch
byte for byte, marking it paid once (the nets posted to the bank account), the reconciliation
after it, and a payee whose bank details cannot be written held back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from koepon.app import Platform
from koepon.vtuber.payouts.models import YenTransfer
from vtuber.conftest import vtuber_services
from vtuber.test_payouts_statements import (
    Cast,
    cast,
    close,
    draw,
    feed,
    jst,
    september_and_october,
)

BATCHES = "/api/v1/admin/payouts/batches"


async def closed_october(client: httpx.AsyncClient, platform: Platform) -> Cast:
    c = await cast(client, platform)
    await september_and_october(platform, c)
    assert (await close(client, c.admin, "2026-09")).status_code == 200
    c.clock.advance(seconds=1)  # Sunday 1 November 2026, 00:00 JST
    assert (await close(client, c.admin, "2026-10")).status_code == 200
    return c


async def reconciliation(client: httpx.AsyncClient, c: Cast, month: str) -> dict[str, Any]:
    answer = await client.get(
        "/api/v1/admin/statements/reconciliation", params={"month": month}, headers=c.admin.headers
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_batch_from_closing_to_paid(client: httpx.AsyncClient, platform: Platform) -> None:
    c = await closed_october(client, platform)
    request = {"month": "2026-10", "transfer_date": "2026-11-10"}  # a Tuesday
    headers = c.admin.ik("october-run")
    created = await client.post(BATCHES, json=request, headers=headers)
    assert created.status_code == 201, created.text
    batch = created.json()
    # Aoi 897,900 + Beni 897,901; Chika's net 0 is not paid
    assert batch["status"] == "open"
    assert batch["total_jpy"] == 1_795_801
    assert batch["statements"] == 2
    assert {(line["vtuber_id"], line["net_payable_jpy"]) for line in batch["lines"]} == {
        (c.aoi, 897_900),
        (c.beni, 897_901),
    }
    assert batch["held"] == []

    replay = await client.post(BATCHES, json=request, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == batch
    reused = await client.post(
        BATCHES, json={**request, "transfer_date": "2026-11-11"}, headers=headers
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    nothing = await client.post(BATCHES, json=request, headers=c.admin.ik())
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "nothing_to_pay"

    statement = await client.get(
        f"/api/v1/vtubers/{c.aoi}/statements/2026-10", headers=c.aoi_owner.headers
    )
    assert (statement.json()["status"], statement.json()["batch_id"]) == ("batched", batch["id"])

    # the 全銀 file: header, Aoi's and Beni's transfers (by VTuber id), trailer, end
    exported = await client.get(f"{BATCHES}/{batch['id']}/zengin", headers=c.admin.headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/plain; charset=Shift_JIS"
    assert "attachment" in exported.headers["content-disposition"]
    records = exported.content.split(b"\r\n")
    assert records[-1] == b""
    records = records[:-1]
    assert [len(record) for record in records] == [120] * 5
    header = records[0].decode("cp932")
    assert header[:4] == "1210" and header[4:14] == "0000000000"
    assert header[14:54] == "ｺｴﾎﾟﾝ(ｶ".ljust(40)
    assert header[54:58] == "1110"  # 10 November
    expected = {
        c.aoi: "2"
        + "0001"
        + " " * 15
        + "001"
        + " " * 15
        + "0000"
        + "1"
        + "1234567"
        + "ｱｵｲ ﾊﾙｶ".ljust(30)
        + "0000897900"
        + "0"
        + "0" * 20
        + "7"
        + " " * 8,
        c.beni: "2"
        + "0009"
        + " " * 15
        + "123"
        + " " * 15
        + "0000"
        + "4"
        + "0000042"
        + "ﾍﾞﾆ ｶｽﾞﾊ".ljust(30)
        + "0000897901"
        + "0"
        + "0" * 20
        + "7"
        + " " * 8,
    }
    assert [record.decode("cp932") for record in records[1:3]] == [
        expected[vtuber_id] for vtuber_id in sorted(expected)
    ]
    assert records[3].decode("cp932") == "8" + "000002" + "000001795801" + " " * 101
    assert records[4].decode("cp932") == "9" + " " * 119

    paid = await client.post(f"{BATCHES}/{batch['id']}/paid", headers=c.admin.headers)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_by"] == c.admin.user_id
    again = await client.post(f"{BATCHES}/{batch['id']}/paid", headers=c.admin.headers)
    assert again.status_code == 200
    assert again.json() == paid.json()
    read = await client.get(f"{BATCHES}/{batch['id']}", headers=c.admin.headers)
    assert read.json() == paid.json()
    statement = await client.get(
        f"/api/v1/vtubers/{c.beni}/statements/2026-10", headers=c.beni_owner.headers
    )
    assert statement.json()["status"] == "paid"

    # the ledger: paid once; every balance agrees with the statements
    report = await reconciliation(client, c, "2026-10")
    assert report["balanced"] is True, report
    accounts = {check["account"]: check for check in report["accounts"]}
    assert accounts["bank:payouts"]["actual_jpy"] == 1_795_801
    # withheld: September 71 + 714, October 102,100 + 102,100
    assert accounts["tax:withholding_payable"]["actual_jpy"] == 204_985
    # still owed: September's nets 629 + 6,286, Chika's carried debt −7,000
    assert accounts["vtuber:*:payable"]["actual_jpy"] == 629 + 6_286 - 7_000


async def test_a_payee_whose_bank_details_cannot_be_written_is_held(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await closed_october(client, platform)
    services = vtuber_services(platform)
    async with services.profiles.ctx.db.transaction() as session:
        profile = await services.profiles.get(session, c.chika)
        assert profile is not None
        profile.bank = {**profile.bank, "holder_kana": "千佳"}
    created = await client.post(
        BATCHES,
        json={"month": "2026-09", "transfer_date": "2026-11-02"},
        headers=c.admin.ik(),
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    # September: Aoi's 629 is paid; Chika's 6,286 waits for her bank details
    assert [(line["vtuber_id"], line["net_payable_jpy"]) for line in batch["lines"]] == [
        (c.aoi, 629)
    ]
    assert [(held["vtuber_id"]) for held in batch["held"]] == [c.chika]
    assert "千" in batch["held"][0]["reason"]


async def test_transfer_dates_a_bank_can_carry_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await closed_october(client, platform)
    for transfer_date in ("2026-10-30", "2026-11-07", "2027-03-01"):  # past, Saturday, far
        refused = await client.post(
            BATCHES,
            json={"month": "2026-10", "transfer_date": transfer_date},
            headers=c.admin.ik(),
        )
        assert refused.status_code == 422, transfer_date
        assert refused.json()["code"] == "transfer_date_invalid"
    missing = await client.post(
        BATCHES, json={"month": "2026-10", "transfer_date": "2026-11-10"}, headers=c.admin.headers
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    unknown = await client.get(
        f"{BATCHES}/00000000-0000-0000-0000-000000000000", headers=c.admin.headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "payout_batch_not_found"


async def test_a_sale_arriving_after_its_month_was_closed_unbalances_the_month(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await closed_october(client, platform)
    # a draw completed on 30 October whose event is delivered only now
    await feed(
        platform,
        draw(c.aoi, "gacha-aoi", jst(2026, 10, 30, 23, 0), paid_medals=500, paid_value_jpy=500),
    )
    report = await reconciliation(client, c, "2026-10")
    assert report["balanced"] is False
    assert report["sales_gross_jpy"] - report["statements_gross_jpy"] == 500
    assert report["gross_mismatches"] == [
        {"vtuber_id": c.aoi, "statement_gross_jpy": 1_428_572, "sales_gross_jpy": 1_429_072}
    ]
    # the ledger itself still agrees with the statements
    assert report["unposted_statements"] == []
    assert all(check["balanced"] for check in report["accounts"])
    # closing again does not edit an issued statement
    again = await close(client, c.admin, "2026-10")
    assert again.json()["issued"] == 0


async def test_a_ledger_transfer_no_statement_explains_unbalances_the_month(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    c = await closed_october(client, platform)
    statements = await client.get(
        "/api/v1/admin/statements", params={"month": "2026-10"}, headers=c.admin.headers
    )
    aoi = next(s for s in statements.json()["statements"] if s["vtuber_id"] == c.aoi)
    services = vtuber_services(platform)
    async with services.profiles.ctx.db.transaction() as session:
        session.add(
            YenTransfer(
                id=str(uuid.uuid4()),
                debit_account="platform:paid_medal_sales",
                credit_account=f"vtuber:{c.aoi}:payable",
                amount_jpy=1,
                reason="bonus",
                ref=aoi["id"],
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    report = await reconciliation(client, c, "2026-10")
    assert report["balanced"] is False
    assert report["unposted_statements"] == [aoi["id"]]
    accounts = {check["account"]: check for check in report["accounts"]}
    payable = accounts["vtuber:*:payable"]
    assert payable["actual_jpy"] - payable["expected_jpy"] == 1
    assert payable["balanced"] is False

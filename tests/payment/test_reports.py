"""The base-date report (COMPLIANCE M3): a hand-computed example on both backends, the API with
its authorization, the CSV export and the ``koepon report prepaid`` command, and the pure rules."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.payment.reports.prepaid import (
    NotABaseDate,
    add_months,
    day_end,
    filing_deadline,
    is_base_date,
    period_start,
    valid_six_months_or_less,
)

from .conftest import WalletHarness, new_user

JST = ZoneInfo("Asia/Tokyo")
ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


async def build_example(wallets: WalletHarness) -> None:
    """The hand-computed example for base date 2025-03-31 (cutoff 2025-04-01 00:00 JST).

    One fan per lot, so each spend takes from a known lot. Paid lots:

    A  2024-12-01 10:00  1,000 medals for ¥1,100, valid 1 year (longer than 6 months!)
       2025-02-10  300 spent: ceil(1100·1000/1000) − ceil(1100·700/1000) = 1100 − 770 = ¥330
       at the base date 700 unused, worth ceil(1100·700/1000) = ¥770                  → counted
    B  2025-01-15 12:34  3 medals for ¥10 (¥3.33… each)
       2025-03-01  1 spent: 10 − ceil(10·2/3) = 10 − 7 = ¥3
       at the base date 2 unused, worth ceil(10·2/3) = ceil(6.67) = ¥7                → counted
    C  2024-10-05  500 medals for ¥500, expires 2025-03-31 20:00 JST (on the base date)
       written off at 21:00 the same day (500 medals, ¥500)                          → excluded
    D  2025-01-10  100 medals for ¥100, expires 2025-04-01 00:00 JST = exactly the cutoff:
       expired by the end of the base date although not yet written off             → excluded
    E  2025-02-01  200 medals for ¥240; 50 reserved 2025-03-31 13:00, spent 2025-04-01 10:00:
       held medals are still unused at the base date: 200 unused, worth ¥240          → counted
    G  2025-04-01 09:00 (after the cutoff) 1,000 medals for ¥1,000                    → excluded
    plus a free lot of 999 medals (free medals are outside the act)                  → excluded

    Unused paid balance: 700 + 2 + 200 = 902 medals, ¥770 + ¥7 + ¥240 = ¥1,017.
    With a threshold of ¥1,000 and an alert from ¥700: exceeded, alert on; lot A's validity of
    a year means no exemption, so the deposit is ceil(1017 / 2) = ¥509, filed by 2025-05-31.
    """
    clock = wallets.freeze(jst("2024-10-05T09:00"))
    medals = wallets.platform.clients.payment
    users = {name: new_user() for name in "ABCDEGF"}
    await wallets.issue(users["C"], 500, price_jpy=500, expires_at=jst("2025-03-31T20:00"))
    clock.now = jst("2024-12-01T10:00")
    await wallets.issue(users["A"], 1_000, price_jpy=1_100, expires_at=jst("2025-12-01T10:00"))
    clock.now = jst("2025-01-10T08:00")
    await wallets.issue(users["D"], 100, price_jpy=100, expires_at=jst("2025-04-01T00:00"))
    clock.now = jst("2025-01-15T12:34")
    await wallets.issue(users["B"], 3, price_jpy=10)
    await wallets.issue(users["F"], 999, kind="free")
    clock.now = jst("2025-02-01T18:00")
    await wallets.issue(users["E"], 200, price_jpy=240)
    clock.now = jst("2025-02-10T20:00")
    await medals.reserve(users["A"], 300, "report-a", 60)
    await medals.post("report-a")
    clock.now = jst("2025-03-01T12:00")
    await medals.reserve(users["B"], 1, "report-b", 60)
    await medals.post("report-b")
    clock.now = jst("2025-03-31T13:00")
    await medals.reserve(users["E"], 50, "report-e", 86_400)
    clock.now = jst("2025-03-31T21:00")
    sweeper = wallets.services.wallet_sweeper
    assert await sweeper.write_off_expired_lots() == 1  # C only; D expires at 00:00
    clock.now = jst("2025-04-01T09:00")
    await wallets.issue(users["G"], 1_000, price_jpy=1_000)
    clock.now = jst("2025-04-01T10:00")
    await medals.post("report-e")
    clock.now = jst("2025-04-02T10:00")
    assert await sweeper.write_off_expired_lots() == 1  # D, after the base date


EXPECTED_SUMMARY = {
    "base_date": "2025-03-31",
    "unused_paid_medals": 902,
    "unused_balance_jpy": 1_017,
    "lots_counted": 3,
    "threshold_jpy": 1_000,
    "exceeds_threshold": True,
    "alert_threshold_jpy": 700,
    "alert": True,
    "exempt": False,
    "obligations_apply": True,
    "required_deposit_jpy": 509,
    "filing_deadline": "2025-05-31",
    "period_start": "2024-10-01",
}


def expected_book() -> dict[str, dict[str, int]]:
    """Per JST day, the non-zero figures (only the half-year up to the base date)."""
    return {
        "2024-10-05": {"paid_issued_medals": 500, "paid_issued_jpy": 500},
        "2024-12-01": {"paid_issued_medals": 1_000, "paid_issued_jpy": 1_100},
        "2025-01-10": {"paid_issued_medals": 100, "paid_issued_jpy": 100},
        "2025-01-15": {"paid_issued_medals": 3, "paid_issued_jpy": 10, "free_issued_medals": 999},
        "2025-02-01": {"paid_issued_medals": 200, "paid_issued_jpy": 240},
        "2025-02-10": {"paid_used_medals": 300, "paid_used_jpy": 330},
        "2025-03-01": {"paid_used_medals": 1, "paid_used_jpy": 3},
        "2025-03-31": {"paid_expired_medals": 500, "paid_expired_jpy": 500},
    }


# Thresholds of the example, given to payment before the platform is built: nothing changes
# settings under a running service.
SMALL_THRESHOLDS = pytest.mark.service_settings(
    payment={"prepaid_threshold_jpy": 1_000, "prepaid_alert_jpy": 700}
)


@SMALL_THRESHOLDS
async def test_the_base_date_report_matches_the_hand_computed_example(
    wallets: WalletHarness,
) -> None:
    assert wallets.ctx.payment_settings.prepaid_threshold_jpy == 1_000  # built with it
    await build_example(wallets)
    admin = await wallets.account(roles=["admin"])
    response = await wallets.client.get(
        "/api/v1/admin/reports/prepaid-balance",
        params={"base_date": "2025-03-31"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    book = {row["day"]: {k: v for k, v in row.items() if k != "day" and v} for row in body["book"]}
    assert book == expected_book()

    csv_response = await wallets.client.get(
        "/api/v1/admin/reports/prepaid-balance",
        params={"base_date": "2025-03-31", "format": "csv"},
        headers=admin.headers,
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    lines = csv_response.text.splitlines()
    assert "unused_balance_jpy,1017" in lines
    assert "required_deposit_jpy,509" in lines
    assert any(line.startswith("2025-02-10,0,0,300,330,") for line in lines)

    # The previous base date: no lot existed yet (C came on 2024-10-05): nothing owed, and no
    # lot valid longer than 6 months, so exempt.
    earlier = await wallets.client.get(
        "/api/v1/admin/reports/prepaid-balance",
        params={"base_date": "2024-09-30"},
        headers=admin.headers,
    )
    assert earlier.json()["unused_balance_jpy"] == 0
    assert earlier.json()["exempt"] is True

    # The command prints the same figures.
    env = {**os.environ, "KOEPON_DATA_DIR": str(wallets.ctx.settings.data_dir)}
    env.pop("KOEPON_DATABASE_URL", None)
    if wallets.ctx.settings.database_url:
        env["KOEPON_DATABASE_URL"] = wallets.ctx.settings.database_url
    env["KOEPON_PREPAID_THRESHOLD_JPY"] = "1000"
    env["KOEPON_PREPAID_ALERT_JPY"] = "700"
    command = [sys.executable, "-m", "koepon.cli", "report", "prepaid"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    printed = await asyncio.to_thread(run, "--base-date", "2025-03-31", "--csv")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == lines
    refused = await asyncio.to_thread(run, "--base-date", "2025-03-30")
    assert refused.returncode != 0
    assert "not a base date" in refused.stderr


async def test_the_report_endpoint_is_for_admin_and_compliance_only(
    wallets: WalletHarness,
) -> None:
    path = "/api/v1/admin/reports/prepaid-balance"
    params = {"base_date": "2025-09-30"}
    fan = await wallets.account()
    support = await wallets.account(roles=["support"])
    compliance = await wallets.account(roles=["compliance"])
    admin = await wallets.account(roles=["admin"])
    assert (await wallets.client.get(path, params=params)).status_code == 401
    for who, status in ((fan, 403), (support, 403), (compliance, 200), (admin, 200)):
        response = await wallets.client.get(path, params=params, headers=who.headers)
        assert response.status_code == status, response.text
    for bad in ("2025-09-29", "2025-13-01", "yesterday", ""):
        response = await wallets.client.get(path, params={"base_date": bad}, headers=admin.headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    not_base = await wallets.client.get(
        path, params={"base_date": "2025-06-30"}, headers=admin.headers
    )
    assert not_base.json()["code"] == "not_a_base_date"
    assert (await wallets.client.get(path, headers=admin.headers)).status_code == 422


# -- pure rules ----------------------------------------------------------------------------------


def test_base_dates_deadlines_and_periods() -> None:
    assert is_base_date(date(2025, 3, 31)) and is_base_date(date(2025, 9, 30))
    assert not is_base_date(date(2025, 3, 30)) and not is_base_date(date(2025, 12, 31))
    assert filing_deadline(date(2025, 3, 31)) == date(2025, 5, 31)
    assert filing_deadline(date(2025, 9, 30)) == date(2025, 11, 30)
    assert period_start(date(2025, 3, 31)) == date(2024, 10, 1)
    assert period_start(date(2025, 9, 30)) == date(2025, 4, 1)
    assert day_end(date(2025, 3, 31)) == jst("2025-04-01T00:00")
    with pytest.raises(NotABaseDate):
        filing_deadline(date(2025, 6, 30))


def test_six_months_is_counted_in_calendar_months_in_jst() -> None:
    assert add_months(jst("2024-08-31T12:00"), 6) == jst("2025-02-28T12:00")
    assert add_months(jst("2023-08-31T12:00"), 6) == jst("2024-02-29T12:00")
    issued = jst("2025-01-15T10:00")
    assert valid_six_months_or_less(issued, jst("2025-07-15T10:00"))
    assert not valid_six_months_or_less(issued, jst("2025-07-15T10:00:01"))
    # The default paid validity (180 days, ending on the next whole hour) is always ≤ 6 months.
    from koepon.payment.wallet.lots import expiry_for

    for month in range(1, 13):
        start = jst(f"2025-{month:02d}-28T23:59:59")
        assert valid_six_months_or_less(start, expiry_for(start, 180))


@given(
    price=st.integers(0, 10**9),
    medals=st.integers(1, 10**6),
    cuts=st.lists(st.integers(1, 10**6), max_size=12),
)
def test_a_lots_consumptions_are_worth_exactly_its_price(
    price: int, medals: int, cuts: list[int]
) -> None:
    from koepon.payment.wallet.lots import consumption_value_jpy, value_jpy

    consumed, total = 0, 0
    takes = [*cuts, medals]
    while consumed < medals:
        take = min(takes.pop(0), medals - consumed)
        part = consumption_value_jpy(price, medals, consumed, take)
        assert part >= 0
        total += part
        consumed += take
        # Never understated: the unconsumed value is at least the exact fraction.
        left = value_jpy(price, medals, medals - consumed)
        assert left * medals >= price * (medals - consumed)
        assert (left - 1) * medals < price * (medals - consumed) or left == 0
    assert total == price

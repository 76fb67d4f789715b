"""The month's draws (the VTuber service's sales facts) against the payment service's medal
ledger: real draws through the gacha's saga, the bus and the sales consumer; then the sales
facts are altered in the VTuber database as a bug or a hand edit would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from gacha import samples
from gacha.conftest import Desk, desk_fixture, live_now  # noqa: F401 - the desk fixture
from koepon.app import Platform
from koepon.contracts.payment import PaymentUnavailable, PostedSpend
from koepon.kernel.clock import jst_day
from koepon.vtuber.gachas.events import Malformed
from koepon.vtuber.payouts.medals import MedalTally
from koepon.vtuber.sales.events import parse
from koepon.vtuber.sales.facts import DrawSpend
from koepon.vtuber.sales.models import SaleFact
from payment.fixtures.shop import shop_fixture, signed_in  # noqa: F401 - the shop fixture
from vtuber.conftest import approved_vtuber, vtuber_context
from vtuber.sales_events import catalog, completed, eventually, feed, message

PATH = "/api/v1/admin/statements/medal-reconciliation"


class DownPayment:
    """A payment client whose service does not answer."""

    async def posted_values(self, transfer_ids: Sequence[str]) -> dict[str, PostedSpend]:
        raise PaymentUnavailable("the payment service did not answer")


async def facts_of(platform: Platform, vtuber_id: str) -> list[SaleFact]:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        rows = await session.scalars(
            select(SaleFact).where(SaleFact.vtuber_id == vtuber_id).order_by(SaleFact.draw_id)
        )
        return list(rows)


async def alter(platform: Platform, draw_id: str, **values: Any) -> None:
    async with vtuber_context(platform).db.transaction() as session:
        await session.execute(update(SaleFact).where(SaleFact.draw_id == draw_id).values(**values))


async def test_real_draws_balance_with_the_medal_ledger_until_sales_are_altered(
    desk: Desk, client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, _ = await signed_in(client, platform)
    _, _, admin = await signed_in(client, platform, roles=["admin"])
    _, _, auditor = await signed_in(client, platform, roles=["compliance"])
    _, _, stranger = await signed_in(client, platform)
    vtuber_id = await approved_vtuber(platform, owner)
    gacha_id = await desk.publish(live_now(samples.weighted_raw()), vtuber_id=vtuber_id)
    await feed(platform, catalog(gacha_id, vtuber_id))
    fan = await desk.fan(medals=1200, free=100)  # the first draw: 100 free + 200 paid medals
    for _ in range(4):
        drawn = await client.post(
            f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
        )
        assert drawn.status_code in (200, 202), drawn.text
    facts: list[SaleFact] = []

    async def recorded() -> bool:
        facts[:] = await facts_of(platform, vtuber_id)
        return len(facts) == 4

    await eventually(recorded)
    assert all(f.transfer_id == f"draw-{f.draw_id}" for f in facts)
    assert sorted(f.paid_value_jpy for f in facts) == [200, 300, 300, 300]
    month = jst_day(datetime.now(UTC)).strftime("%Y-%m")

    async def check(token: str = admin, **params: str) -> httpx.Response:
        return await client.get(
            PATH,
            params={"month": month, **params},
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )

    answer = await check()
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json() == {
        "month": month,
        "checked": 4,
        "matching": 4,
        "mismatch_count": 0,
        "mismatches": [],
        "missing_count": 0,
        "missing_in_payment": [],
        "unverifiable_count": 0,
        "unverifiable": [],
        "balanced": True,
    }
    assert (await check(auditor)).json()["balanced"] is True
    assert (await check("")).status_code == 401
    assert (await check(stranger)).status_code == 403
    bad = await check(month="2026-13")
    assert bad.status_code == 422 and "month" in bad.text
    previous = await check(month="2026-01")  # no draws that month: nothing to check
    assert previous.json()["checked"] == 0 and previous.json()["balanced"] is True

    tampered, unknown, old = facts[0], facts[1], facts[2]
    await alter(platform, tampered.draw_id, paid_value_jpy=tampered.paid_value_jpy + 1)
    await alter(platform, unknown.draw_id, transfer_id="draw-not-in-payment")
    await alter(platform, old.draw_id, transfer_id=None)  # an event from before transfer ids
    body = (await check()).json()
    assert body["mismatches"] == [
        {
            "draw_id": tampered.draw_id,
            "transfer_id": f"draw-{tampered.draw_id}",
            "sales_paid_value_jpy": tampered.paid_value_jpy + 1,
            "payment_paid_value_jpy": tampered.paid_value_jpy,
            "payment_status": "posted",
        }
    ]
    assert body["missing_in_payment"] == [unknown.draw_id]
    assert body["unverifiable"] == [old.draw_id]
    counts = ("checked", "matching", "mismatch_count", "missing_count", "unverifiable_count")
    assert [body[k] for k in counts] == [3, 1, 1, 1, 1]
    assert body["balanced"] is False

    payment = platform.clients.payment
    try:
        platform.clients.payment = DownPayment()  # type: ignore[assignment]
        down = await check()
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.json()["code"] == "dependency_unavailable"
        assert "Retry-After" in down.headers
        platform.clients.payment = None
        assert (await check()).json()["code"] == "dependency_unavailable"
    finally:
        platform.clients.payment = payment
    assert (await check()).status_code == 200


def test_a_collab_draw_is_checked_once_and_any_altered_party_row_is_a_mismatch() -> None:
    posted = {"t": PostedSpend(transfer_id="t", status="posted", posted_paid_value_jpy=300)}
    tally = MedalTally("2026-11")
    tally.add(DrawSpend("d1", 300, 300, "t"), posted)  # both parties' rows say 300
    tally.add(DrawSpend("d2", 300, 301, "t"), posted)  # one party's row was altered
    pending = {"t": PostedSpend(transfer_id="t", status="pending")}
    tally.add(DrawSpend("d3", 300, 300, "t"), pending)  # never posted: not what sales says
    result = tally.result()
    assert (result.checked, result.matching, result.mismatch_count) == (3, 1, 2)
    assert [
        (m.draw_id, m.sales_paid_value_jpy, m.payment_paid_value_jpy) for m in result.mismatches
    ] == [("d2", 301, 300), ("d3", 300, None)]
    assert not result.balanced


async def test_events_from_before_transfer_ids_are_unverifiable_not_missing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, _ = await signed_in(client, platform)
    _, _, admin = await signed_in(client, platform, roles=["admin"])
    vtuber_id = await approved_vtuber(platform, owner)
    draw = completed(vtuber_id=vtuber_id)  # no transfer id, as published before
    await feed(platform, draw)
    month = jst_day(draw.completed_at).strftime("%Y-%m")
    answer = await client.get(
        PATH, params={"month": month}, headers={"Authorization": f"Bearer {admin}"}
    )
    body = answer.json()
    assert body["unverifiable"] == [draw.draw_id]
    assert (body["checked"], body["balanced"]) == (0, True)


def test_a_transfer_id_the_sales_table_cannot_hold_is_malformed() -> None:
    draw = completed(vtuber_id="vt-1").model_copy(update={"transfer_id": "x" * 101})
    with pytest.raises(Malformed):
        parse(message(draw))
    assert parse(message(draw.model_copy(update={"transfer_id": "x" * 100}))) is not None

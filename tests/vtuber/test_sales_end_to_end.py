"""A fan's 10連 on a box gacha, paid partly with free medals, reaches the VTuber's sales report
through the real path: the gacha's draw saga, its outbox, the bus and the sales consumer."""

from __future__ import annotations

from typing import Any

import httpx

from gacha import samples
from gacha.conftest import Desk, desk_fixture, live_now  # noqa: F401 - the desk fixture
from koepon.app import Platform
from payment.fixtures.shop import shop_fixture, signed_in  # noqa: F401 - the shop fixture
from vtuber.conftest import approved_vtuber
from vtuber.sales_events import catalog, eventually, feed


async def test_a_10_draw_paid_partly_with_free_medals_earns_its_paid_yen_only(
    desk: Desk, client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, token = await signed_in(client, platform)
    vtuber_id = await approved_vtuber(platform, owner)
    gacha_id = await desk.publish(live_now(samples.box_raw()), vtuber_id=vtuber_id)
    await feed(platform, catalog(gacha_id, vtuber_id, title="BOX", kind="box", box_stock=20))
    fan = await desk.fan(medals=4000, free=1000)  # free medals are spent first (M1 default)

    drawn = await client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 10}, headers=fan.ik()
    )
    assert drawn.status_code in (200, 202), drawn.text

    report: dict[str, Any] = {}

    async def reported() -> bool:
        answer = await client.get(
            f"/api/v1/vtubers/{vtuber_id}/sales", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        report.update(answer.json())
        return bool(report["totals"]["draws"])

    await eventually(reported)
    assert {k: report["totals"][k] for k in ("draws", "paid_medals", "free_medals")} == {
        "draws": 10,
        "paid_medals": 4000,
        "free_medals": 1000,
    }
    assert report["totals"]["value_jpy"] == 4000  # ¥1 a paid medal; free ones earn nothing
    assert report["totals"]["unique_fans"] == 1
    assert sum(report["totals"]["rarities"].values()) == 10
    [box] = report["gachas"]
    assert box["sell_through"] == {"drawn": 10, "stock": 20, "ppm": 500000, "percent": "50.0%"}

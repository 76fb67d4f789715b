"""The sales report over HTTP: figures per gacha and JST day checked against hand-computed
numbers, who may read it, and the parameters it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from koepon.app import Platform
from payment.fixtures.shop import signed_in
from vtuber.sales_events import catalog, completed, feed, reversal, shares

ENDPOINTS = ("/sales", "/sales.csv", "/sales/chart.svg")
RANGE = {"from": "2026-11-28", "to": "2026-11-30"}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sales_history(platform: Platform, vtuber: str, partner: str) -> None:
    """A weighted solo gacha and a 100-slot box shared 60/40 with ``partner``."""
    collab = shares((vtuber, 6000), (partner, 4000))
    await feed(
        platform,
        catalog("g-w", vtuber, title="通常ガチャ"),
        catalog("g-box", vtuber, title="BOXガチャ", kind="box", box_stock=100, parties=collab),
    )
    ten = completed(
        vtuber_id=vtuber,
        gacha_id="g-w",
        user_id="fan-1",
        rarities=["N"] * 7 + ["R"] * 2 + ["SR"],
        paid_medals=3000,
        paid_value_jpy=3000,
        at=at(28, 3),
    )
    await feed(
        platform,
        # before the range: counts for the box's sell-through only
        completed(
            vtuber_id=vtuber,
            gacha_id="g-box",
            user_id="fan-4",
            rarities=["N"] * 10,
            paid_medals=3000,
            paid_value_jpy=3000,
            at=at(27, 3),
            parties=collab,
        ),
        # 11-28 JST
        ten,
        completed(
            vtuber_id=vtuber,
            gacha_id="g-w",
            user_id="fan-2",
            paid_medals=0,
            free_medals=300,
            paid_value_jpy=0,
            at=at(28, 4),
        ),
        completed(
            vtuber_id=vtuber,
            gacha_id="g-box",
            user_id="fan-1",
            rarities=["SSR"],
            paid_value_jpy=300,
            at=at(28, 5),
            parties=collab,
        ),
        # 11-29 JST
        completed(
            vtuber_id=vtuber,
            gacha_id="g-box",
            user_id="fan-3",
            rarities=["R"] * 9 + ["UR"],
            paid_medals=2000,
            free_medals=1000,
            paid_value_jpy=2000,
            at=at(29, 1),
            parties=collab,
        ),
        completed(vtuber_id=vtuber, gacha_id="g-w", user_id="fan-1", at=at(29, 14, 59, 59)),
        # 11-30 JST (00:00 JST is 15:00 UTC the day before)
        completed(vtuber_id=vtuber, gacha_id="g-w", user_id="fan-1", rarities=["R"], at=at(29, 15)),
        reversal(ten, at=at(30, 3)),
    )


async def test_the_report_per_gacha_and_day_matches_the_hand_computed_figures(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, token = await signed_in(client, platform, roles=["vtuber"])
    await sales_history(platform, owner, "partner-1")

    answer = await client.get(f"/api/v1/vtubers/{owner}/sales", params=RANGE, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["from"], report["to"], report["seller_of_record"]) == (
        "2026-11-28",
        "2026-11-30",
        "platform",
    )
    assert report["totals"] == {
        "draws": 24,
        "reversed_draws": 10,
        "paid_medals": 5900,
        "free_medals": 1300,
        # 3000 + 0 + 60% of 300 + 60% of 2000 + 300 + 300: free medals earn nothing
        "value_jpy": 4980,
        "refunds_jpy": 3000,
        "net_jpy": 1980,
        "unique_fans": 3,
        "rarities": {"N": 9, "R": 12, "SR": 1, "SSR": 1, "UR": 1},
    }
    days = {d["day"]: d for d in report["days"]}
    assert list(days) == ["2026-11-28", "2026-11-29", "2026-11-30"]
    assert [
        (d["draws"], d["paid_medals"], d["free_medals"], d["value_jpy"], d["unique_fans"])
        for d in days.values()
    ] == [(12, 3300, 300, 3180, 2), (11, 2300, 1000, 1500, 2), (1, 300, 0, 300, 1)]
    assert (days["2026-11-30"]["refunds_jpy"], days["2026-11-30"]["net_jpy"]) == (3000, -2700)
    assert days["2026-11-30"]["reversed_draws"] == 10

    box, weighted = report["gachas"]  # largest net first
    assert (box["gacha_id"], box["title"], box["kind"], box["share_bp"]) == (
        "g-box",
        "BOXガチャ",
        "box",
        6000,
    )
    assert (box["totals"]["draws"], box["totals"]["value_jpy"], box["totals"]["unique_fans"]) == (
        11,
        1380,
        2,
    )
    # 10 slots before the range + 11 in it, of 100
    assert box["sell_through"] == {"drawn": 21, "stock": 100, "ppm": 210000, "percent": "21.0%"}
    assert [(d["day"], d["sell_through"]["ppm"]) for d in box["days"]] == [
        ("2026-11-28", 110000),
        ("2026-11-29", 210000),
    ]
    assert (weighted["gacha_id"], weighted["sell_through"], weighted["share_bp"]) == (
        "g-w",
        None,
        10000,
    )
    assert (
        weighted["totals"]["value_jpy"],
        weighted["totals"]["refunds_jpy"],
        weighted["totals"]["net_jpy"],
    ) == (3600, 3000, 600)
    assert "fan-1" not in answer.text  # fans are counted, never named

    only = await client.get(
        f"/api/v1/vtubers/{owner}/sales",
        params={**RANGE, "gacha_id": "g-w"},
        headers=bearer(token),
    )
    assert [g["gacha_id"] for g in only.json()["gachas"]] == ["g-w"]
    assert only.json()["totals"]["value_jpy"] == 3600


async def test_the_collab_partner_sees_its_own_part_only(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, _ = await signed_in(client, platform, roles=["vtuber"])
    partner, _, token = await signed_in(client, platform, roles=["vtuber"])
    await sales_history(platform, owner, partner)

    answer = await client.get(
        f"/api/v1/vtubers/{partner}/sales", params=RANGE, headers=bearer(token)
    )
    [box] = answer.json()["gachas"]
    assert (box["gacha_id"], box["share_bp"], box["totals"]["value_jpy"]) == ("g-box", 4000, 920)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_who_may_read_sales(
    client: httpx.AsyncClient, platform: Platform, endpoint: str
) -> None:
    owner, _, owner_token = await signed_in(client, platform, roles=["vtuber"])
    _, _, other_token = await signed_in(client, platform, roles=["vtuber"])
    _, _, fan_token = await signed_in(client, platform)
    _, _, admin_token = await signed_in(client, platform, roles=["admin"])
    _, _, compliance_token = await signed_in(client, platform, roles=["compliance"])
    _, _, support_token = await signed_in(client, platform, roles=["support"])
    url = f"/api/v1/vtubers/{owner}{endpoint}"

    anonymous = await client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    for token in (fan_token, other_token, support_token):
        refused = await client.get(url, headers=bearer(token))
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "forbidden"
    for token in (owner_token, admin_token, compliance_token):
        assert (await client.get(url, headers=bearer(token))).status_code == 200
    # someone else's VTuber, or none at all: the same refusal (nothing about who exists)
    for vtuber_id in ("no-such-vtuber", owner):
        other = await client.get(
            f"/api/v1/vtubers/{vtuber_id}{endpoint}", headers=bearer(fan_token)
        )
        assert other.status_code == 403


async def test_the_document_says_the_sales_routes_take_a_token(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    for endpoint in ENDPOINTS:
        assert paths[f"/api/v1/vtubers/{{vtuber_id}}{endpoint}"]["get"].get("security")


BAD_PARAMETERS = [
    ({"from": "2026-13-01"}, "validation_failed", "from"),
    ({"to": "yesterday"}, "validation_failed", "to"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "invalid_range", "from"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "invalid_range", "366"),
    ({"gacha_id": "<script>"}, "validation_failed", "gacha_id"),
]


async def test_bad_parameters_are_refused_naming_them(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    # Every case on one platform (a platform per case made this the slowest file to run).
    owner, _, token = await signed_in(client, platform, roles=["vtuber"])
    for endpoint in ENDPOINTS:
        for params, code, names in BAD_PARAMETERS:
            answer = await client.get(
                f"/api/v1/vtubers/{owner}{endpoint}", params=params, headers=bearer(token)
            )
            assert answer.status_code == 422, (endpoint, params, answer.text)
            assert answer.json()["code"] == code, (endpoint, params)
            assert names in answer.json()["detail"], (endpoint, params)


async def test_a_range_of_366_days_is_allowed(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner, _, token = await signed_in(client, platform, roles=["vtuber"])
    answer = await client.get(
        f"/api/v1/vtubers/{owner}/sales",
        params={"from": "2024-01-01", "to": "2024-12-31"},  # a leap year
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["days"]) == 366

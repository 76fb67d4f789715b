"""The VTuber service's copy of the gachas (``gacha.catalog.changed.v1``): the highest revision
wins whatever the order of arrival, parties follow it, shares that are not the whole are
rejected, and the readers others use (live_for, of_vtuber, get)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from koepon.app import Platform
from koepon.contracts.gacha import GachaCatalogChanged
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.outbox import Outbox
from koepon.vtuber.gachas.models import GachaCopy, GachaParty
from koepon.vtuber.gachas.service import GachaCopies
from payment.fixtures.shop import signed_in
from vtuber.conftest import vtuber_context, vtuber_services
from vtuber.sales_events import T0, catalog, eventually, feed, message, raw, shares


def copies(platform: Platform) -> GachaCopies:
    return vtuber_services(platform).gachas


async def kept(platform: Platform, gacha_id: str) -> tuple[GachaCopy | None, list[tuple[str, int]]]:
    async with vtuber_context(platform).db.transaction(read_only=True) as session:
        row = await session.get(GachaCopy, gacha_id)
        parties = await session.execute(
            select(GachaParty.vtuber_id, GachaParty.share_bp)
            .where(GachaParty.gacha_id == gacha_id)
            .order_by(GachaParty.vtuber_id)
        )
        return row, [(v, bp) for v, bp in parties]


async def test_a_solo_gacha_is_kept_with_its_lead_as_the_one_party(platform: Platform) -> None:
    assert await copies(platform).apply(message(catalog("g-solo", "v-1", box_stock=None)))
    row, parties = await kept(platform, "g-solo")
    assert row is not None and (row.revision, row.title, row.status) == (
        1,
        "秋の新作ボイスガチャ",
        "approved",
    )
    assert parties == [("v-1", 10000)]


async def test_late_and_equal_revisions_change_nothing(platform: Platform) -> None:
    gachas = copies(platform)
    newest = catalog(
        "g-1", "v-1", revision=3, title="第3版", parties=shares(("v-1", 6000), ("v-2", 4000))
    )
    older = catalog("g-1", "v-1", revision=2, title="第2版")
    same = catalog("g-1", "v-1", revision=3, title="同じ版の別内容")

    assert await gachas.apply(message(newest))
    assert not await gachas.apply(message(older))  # arrived late
    assert not await gachas.apply(message(same))  # equal revision
    row, parties = await kept(platform, "g-1")
    assert row is not None and (row.revision, row.title) == (3, "第3版")
    assert parties == [("v-1", 6000), ("v-2", 4000)]

    # a newer one replaces the parties whole (the collab partner leaves)
    assert await gachas.apply(message(catalog("g-1", "v-1", revision=4, title="第4版")))
    row, parties = await kept(platform, "g-1")
    assert row is not None and row.title == "第4版"
    assert parties == [("v-1", 10000)]


async def test_the_same_message_twice_is_applied_once(platform: Platform) -> None:
    once = message(catalog("g-2", "v-1", revision=1))
    assert await copies(platform).apply(once)
    assert not await copies(platform).apply(once)


@pytest.mark.parametrize(
    "parties",
    [
        shares(("v-1", 5000), ("v-2", 4999)),  # 9,999
        shares(("v-1", 6000), ("v-2", 6000)),  # 12,000
        shares(("v-1", 10000), ("v-2", 0)),  # a zero share
        shares(("v-1", 5000), ("v-1", 5000)),  # named twice
        shares(("v" * 37, 10000)),  # id too long for the column
    ],
)
async def test_shares_that_are_not_the_whole_are_rejected(
    platform: Platform, parties: list[RevenueShare]
) -> None:
    gachas = copies(platform)
    bad = message(catalog("g-bad", "v-1", parties=parties))
    await gachas.handle(bad)  # no exception: never retried
    assert not await gachas.apply(bad)  # claimed once
    row, stored = await kept(platform, "g-bad")
    assert row is None and stored == []


async def test_a_payload_breaking_the_contract_is_rejected(platform: Platform) -> None:
    gachas = copies(platform)
    await gachas.handle(raw(GachaCatalogChanged.topic, {"gacha_id": "g-x"}))
    good = catalog("g-x", "v-1", revision=2)
    assert await gachas.apply(message(good))


async def test_live_for_lists_running_approved_gachas_of_every_party(platform: Platform) -> None:
    ctx = vtuber_context(platform)
    now = T0
    events = [
        catalog(
            "live-solo", "v-a", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
        ),
        catalog("live-open", "v-a", starts_at=None, ends_at=None),
        catalog(
            "live-collab",
            "v-b",
            starts_at=now,  # starts exactly now: live
            parties=shares(("v-b", 5000), ("v-a", 5000)),
        ),
        catalog("ended", "v-a", starts_at=now - timedelta(days=2), ends_at=now),  # ends now
        catalog("upcoming", "v-a", starts_at=now + timedelta(seconds=1)),
        catalog("draft", "v-a", status="draft"),
        catalog("other", "v-c"),
    ]
    for event in events:
        assert await copies(platform).apply(message(event))

    async with ctx.db.transaction(read_only=True) as session:
        live = await copies(platform).live_for(session, "v-a", now)
        everything = await copies(platform).of_vtuber(session, "v-a")
        collab = await copies(platform).get(session, "live-collab")
        unknown = await copies(platform).get(session, "nope")

    assert sorted(g.gacha_id for g in live) == ["live-collab", "live-open", "live-solo"]
    assert sorted(g.gacha_id for g in everything) == [
        "draft",
        "ended",
        "live-collab",
        "live-open",
        "live-solo",
        "upcoming",
    ]
    assert collab is not None and collab.vtuber_id == "v-b"
    assert [(s.vtuber_id, s.share_bp) for s in collab.shares] == [("v-a", 5000), ("v-b", 5000)]
    assert collab.share_of("v-a") == 5000 and collab.share_of("v-c") == 0
    assert unknown is None


async def test_catalog_events_through_the_bus_keep_the_highest_revision(
    platform: Platform,
) -> None:
    """The real path, published out of order through the gacha service's outbox."""
    gacha = platform.units["gacha"]
    outbox = Outbox(gacha.outbox_table)
    async with gacha.db.transaction() as session:
        for revision in (2, 5, 1, 4):
            await outbox.add(
                session, catalog("g-bus", "v-1", revision=revision, title=f"rev {revision}")
            )
    ctx = vtuber_context(platform)

    async def handled() -> bool:
        async with ctx.db.transaction(read_only=True) as session:
            seen = await session.scalar(
                select(func.count())
                .select_from(ctx.inbox.table)
                .where(ctx.inbox.table.c.consumer == "vtuber.gachas")
            )
            return int(seen or 0) >= 4

    await eventually(handled)
    row, _ = await kept(platform, "g-bus")
    assert row is not None and (row.revision, row.title) == (5, "rev 5")


async def test_a_live_collab_shows_on_every_partners_public_profile(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    lead, _, _ = await signed_in(client, platform, roles=["vtuber"])
    partner, _, _ = await signed_in(client, platform, roles=["vtuber"])
    now = vtuber_context(platform).now()
    await feed(
        platform,
        catalog(
            "g-public",
            lead,
            title="二人コラボ",
            starts_at=now - timedelta(hours=1),
            parties=shares((lead, 5000), (partner, 5000)),
        ),
        catalog("g-draft", lead, status="submitted"),
    )
    for vtuber_id in (lead, partner):
        profile = await client.get(f"/api/v1/vtubers/{vtuber_id}")
        assert profile.status_code == 200, profile.text
        assert [g["gacha_id"] for g in profile.json()["live_gachas"]] == ["g-public"]

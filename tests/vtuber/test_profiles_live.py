"""The public profile lists the VTuber's live gachas (from the gachas sub-domain's copies)."""

from __future__ import annotations

from datetime import timedelta

from vtuber.conftest import vtuber_services
from vtuber.sales_events import catalog, message
from vtuber.teams_kit import Studio, studio_fixture  # noqa: F401 - the studio fixture


async def test_the_public_profile_shows_live_gachas_only(studio: Studio) -> None:
    _, vtuber_id = await studio.vtuber()
    gachas = vtuber_services(studio.platform).gachas
    now = studio.ctx.now()
    for event in (
        catalog("g-live", vtuber_id, title="配信記念ボイス", starts_at=now - timedelta(days=1)),
        catalog("g-ended", vtuber_id, ends_at=now - timedelta(seconds=1)),
        catalog("g-draft", vtuber_id, status="draft"),
        catalog("g-later", vtuber_id, starts_at=now + timedelta(days=1)),
    ):
        assert await gachas.apply(message(event))
    shown = (await studio.client.get(f"/api/v1/vtubers/{vtuber_id}")).json()["live_gachas"]
    assert [(g["gacha_id"], g["title"], g["kind"], g["price_medals"]) for g in shown] == [
        ("g-live", "配信記念ボイス", "weighted", 300)
    ]

"""G8 against the rewards service: a gacha's items must be real, ready contents of its own
VTuber, checked at submission, at approval and for every new odds version; while rewards cannot
be asked the step is refused with 503 and nothing changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conftest import TEST_INTERNAL_TOKEN
from gacha import samples
from gacha.conftest import live_now, upload_content
from gacha.test_catalog import Studio, studio_fixture  # noqa: F401 - the studio fixture
from koepon.app import Platform, create_app
from koepon.contracts.rewards import ContentFacts, RewardsUnavailable
from koepon.rewards.client import HttpRewardsContents
from koepon.rewards.contents.schemas import Actor


def g8_paths(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "G8", body
    return [v["path"] for v in body["violations"] if v["rule"] == "G8"]


async def test_unknown_contents_and_another_vtubers_are_refused_at_submission(
    studio: Studio, platform: Platform
) -> None:
    config = await studio.real(live_now(samples.weighted_raw()))
    config["items"][0]["content_id"] = "no-such-content"
    someone_else = await upload_content(platform, "another-vtuber", "not yours")
    config["items"][2]["content_id"] = someone_else
    made = await studio.draft(config)
    assert made.status_code == 201, made.text
    paths = g8_paths(await studio.submit(made.json()["id"]))
    assert paths == ["items[0].content_id", "items[2].content_id"]
    assert (await studio.team())[0]["status"] == "draft"


async def test_a_content_retired_before_approval_stops_the_approval(
    studio: Studio, platform: Platform
) -> None:
    config = await studio.real(live_now(samples.weighted_raw()))
    made = await studio.draft(config)
    gacha_id = made.json()["id"]
    assert (await studio.submit(gacha_id)).status_code == 200
    contents = platform.units["rewards"].services.contents  # type: ignore[attr-defined]
    retired = config["items"][1]["content_id"]
    async with contents.ctx.db.transaction() as session:
        await contents.retire(
            session, Actor(studio.vtuber.id, frozenset({"vtuber"})), studio.vtuber.id, retired
        )
    assert g8_paths(await studio.approve(gacha_id)) == ["items[1].content_id"]
    public = await studio.client.get(f"/api/v1/gachas/{gacha_id}")
    assert public.status_code == 404  # nothing was published


async def test_a_new_odds_version_is_checked_too(studio: Studio, platform: Platform) -> None:
    gacha_id = await studio.published(live_now(samples.weighted_raw()))
    changed = await studio.real(live_now(samples.weighted_raw()))
    changed["items"][3]["content_id"] = "gone"
    later = datetime.now(UTC) + timedelta(days=3)
    answer = await studio.client.post(
        f"/api/v1/admin/gachas/{gacha_id}/versions",
        json={"config": changed, "effective_at": later.isoformat(), "change_note": "改定"},
        headers=studio.operator.headers,
    )
    assert g8_paths(answer) == ["items[3].content_id"]


class Unreachable:
    async def contents(self, content_ids: Sequence[str]) -> dict[str, ContentFacts]:
        raise RewardsUnavailable("connection refused")


async def test_while_rewards_cannot_be_asked_submission_waits_with_503(
    studio: Studio, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await studio.draft(live_now(samples.weighted_raw()))
    gacha_id = made.json()["id"]
    monkeypatch.setattr(platform.clients, "rewards", Unreachable())
    answer = await studio.submit(gacha_id)
    assert answer.status_code == 503 and answer.json()["code"] == "contents_unavailable"
    assert (await studio.team())[0]["status"] == "draft"
    monkeypatch.undo()
    assert (await studio.submit(gacha_id)).status_code == 200


async def test_the_http_client_reads_the_same_facts_and_needs_the_internal_token(
    platform: Platform,
) -> None:
    mine = await upload_content(platform, "vt-http", "over http")
    transport = httpx.ASGITransport(app=create_app(platform, manage_lifecycle=False, gateway=False))
    client = HttpRewardsContents("http://rewards", TEST_INTERNAL_TOKEN, transport=transport)
    try:
        found = await client.contents([mine, "unknown", mine])
        assert list(found) == [mine]
        assert found[mine].vtuber_id == "vt-http" and found[mine].status == "ready"
        assert found[mine].kind == "image"
    finally:
        await client.close()
    stranger = HttpRewardsContents("http://rewards", "wrong-token", transport=transport)
    try:
        with pytest.raises(RewardsUnavailable):
            await stranger.contents([mine])
    finally:
        await stranger.close()

"""Who manages a VTuber's contents is the VTuber service's answer: ``content.upload`` uploads and
retires, ``content.upload`` or ``gacha.edit`` lists; while the VTuber service cannot be asked,
every step waits with 503 before anything is read, counted or stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gacha.conftest import VtuberServiceDown, team_member
from koepon.app import Platform
from koepon.contracts.vtuber import Permission
from payment.fixtures.shop import Fan, signed_in
from rewards.conftest import rewards_context
from rewards.test_contents_files import png


async def account(client: httpx.AsyncClient, platform: Platform, *roles: str) -> Fan:
    return Fan(*await signed_in(client, platform, roles=list(roles) or None))


async def upload(client: httpx.AsyncClient, who: Fan, vtuber_id: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/vtubers/{vtuber_id}/contents",
        files={"file": ("pic.png", png((24, 24)), "image/png")},
        data={"title": "チーム"},
        headers=who.headers,
    )


class Granting:
    """A VTuber service that grants every account exactly ``permissions``."""

    def __init__(self, *permissions: Permission) -> None:
        self.permissions_granted = frozenset(permissions)

    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        return self.permissions_granted

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        return vtuber_ids


async def test_a_team_editor_uploads_lists_and_retires_and_an_analyst_does_none(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await account(client, platform, "vtuber")
    editor, analyst = await account(client, platform), await account(client, platform)
    await team_member(platform, owner.id, editor.id, "editor")
    await team_member(platform, owner.id, analyst.id, "analyst")
    base = f"/api/v1/vtubers/{owner.id}/contents"

    made = await upload(client, editor, owner.id)
    assert made.status_code == 201, made.text
    content_id = made.json()["id"]
    listed = await client.get(base, headers=editor.headers)
    assert [c["id"] for c in listed.json()["items"]] == [content_id]
    storage = rewards_context(platform).storage
    stored = await storage.keys(f"contents/{owner.id}/")

    refused = await upload(client, analyst, owner.id)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    for method, url in (("GET", base), ("POST", f"{base}/{content_id}/retire")):
        answer = await client.request(method, url, headers=analyst.headers)
        assert answer.status_code == 403, (method, url, answer.text)
    assert await storage.keys(f"contents/{owner.id}/") == stored

    retired = await client.post(f"{base}/{content_id}/retire", headers=editor.headers)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    # The editor is on this VTuber's team only.
    other = await account(client, platform, "vtuber")
    assert (await upload(client, editor, other.id)).status_code == 403


async def test_a_gacha_editor_lists_the_contents_to_pick_from_but_does_not_upload(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await account(client, platform, "vtuber")
    assert (await upload(client, owner, owner.id)).status_code == 201
    picker = await account(client, platform)
    monkeypatch.setattr(platform.clients, "vtuber", Granting(Permission.GACHA_EDIT))
    base = f"/api/v1/vtubers/{owner.id}/contents"
    listed = await client.get(base, headers=picker.headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert (await upload(client, picker, owner.id)).status_code == 403
    monkeypatch.setattr(platform.clients, "vtuber", Granting(Permission.SALES_READ))
    assert (await client.get(base, headers=picker.headers)).status_code == 403


@pytest.mark.service_settings(rewards={"uploads_per_hour": 1})
async def test_while_the_vtuber_service_cannot_be_asked_nothing_is_read_counted_or_stored(
    client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await account(client, platform, "vtuber")
    base = f"/api/v1/vtubers/{owner.id}/contents"
    direct: dict[str, Any] = {"title": "t", "content_type": "video/mp4", "size_bytes": 9}
    for client_now in (VtuberServiceDown(), None):  # unreachable, or not configured at all
        monkeypatch.setattr(platform.clients, "vtuber", client_now)
        answers = [
            await upload(client, owner, owner.id),
            await client.get(base, headers=owner.headers),
            await client.post(f"{base}/uploads", json=direct, headers=owner.headers),
            await client.post(f"{base}/some-content/retire", headers=owner.headers),
        ]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "dependency_unavailable"
            assert answer.json()["dependency"] == "vtuber service"
            assert int(answer.headers["retry-after"]) >= 1
    monkeypatch.undo()
    assert await rewards_context(platform).storage.keys("contents/") == []
    # The refused attempts did not count against the team's hourly uploads.
    assert (await upload(client, owner, owner.id)).status_code == 201

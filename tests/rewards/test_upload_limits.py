"""The gateway's body limits around uploads: a content file of several megabytes reaches the
upload endpoint (its own per-kind limits apply there), while every other route, the upload's
sibling routes included, keeps the small JSON limit."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from PIL import Image

from koepon.app import Platform
from koepon.demo_files import demo_picture
from payment.fixtures.shop import Fan, signed_in
from rewards.conftest import rewards_context


def noisy_png(width: int = 900, height: int = 800) -> bytes:
    """A PNG that does not compress (random pixels): about 2 MB."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_a_two_megabyte_picture_passes_the_gateway_but_a_large_json_body_does_not(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    vtuber = Fan(*await signed_in(client, platform, roles=["vtuber"]))
    picture = noisy_png()
    assert len(picture) > platform.settings.max_body_bytes
    made = await client.post(
        f"/api/v1/vtubers/{vtuber.id}/contents",
        files={"file": ("noise.png", picture, "image/png")},
        data={"title": "ノイズ"},
        headers=vtuber.headers,
    )
    assert made.status_code == 201, made.text
    big_json = b'{"filename": "' + b"x" * (platform.settings.max_body_bytes + 10) + b'"}'
    for path in (
        f"/api/v1/vtubers/{vtuber.id}/contents/uploads",
        f"/api/v1/vtubers/{vtuber.id}/gachas",
    ):
        refused = await client.post(
            path,
            content=big_json,
            headers={**vtuber.headers, "content-type": "application/json"},
        )
        assert refused.status_code == 413, (path, refused.text)
        assert refused.json()["code"] == "payload_too_large"


@pytest.mark.service_settings(rewards={"uploads_per_hour": 2})
async def test_a_teams_uploads_are_limited_per_hour_and_a_refused_one_stores_nothing(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    vtuber = Fan(*await signed_in(client, platform, roles=["vtuber"]))
    other = Fan(*await signed_in(client, platform, roles=["vtuber"]))

    async def upload(who: Fan) -> httpx.Response:
        return await client.post(
            f"/api/v1/vtubers/{who.id}/contents",
            files={"file": ("pic.png", demo_picture("limit", 10, size=(64, 64)), "image/png")},
            data={"title": "上限"},
            headers=who.headers,
        )

    assert [(await upload(vtuber)).status_code for _ in range(2)] == [201, 201]
    storage = rewards_context(platform).storage
    before = await storage.keys(f"contents/{vtuber.id}/")
    refused = await upload(vtuber)
    assert refused.status_code == 429 and refused.json()["code"] == "uploads_rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert await storage.keys(f"contents/{vtuber.id}/") == before
    assert (await upload(other)).status_code == 201  # another team's hour is its own

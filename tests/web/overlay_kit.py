"""The demo VTuber's overlay token, rotated through the API (the route is found in the
app's OpenAPI so the tests follow the overlay API as it lands; skipped while it is missing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from web.admin_kit import Api, demo_vtuber_id


async def rotate_overlay_token(http: httpx.AsyncClient, vtuber: Api) -> tuple[str, str]:
    """(vtuber_id, token) of the demo VTuber's overlay."""
    vtuber_id = await demo_vtuber_id(vtuber)
    paths: dict[str, Any] = (await http.get("/api/v1/openapi.json")).json().get("paths", {})
    if not any(p.startswith("/api/v1/overlays/") for p in paths):
        pytest.skip("the overlay API (GET /api/v1/overlays/{token}) has not landed yet")
    rotate = [
        p for p, ops in paths.items() if "overlay" in p and "post" in ops and "{vtuber_id}" in p
    ]
    if not rotate:
        pytest.skip("no overlay token rotation route in the API yet")
    answer = await vtuber.send("POST", rotate[0].replace("{vtuber_id}", vtuber_id), {}, status=None)
    token = answer.get("token") or str(answer.get("url", "")).rstrip("/").rsplit("/", 1)[-1]
    assert token, answer
    return vtuber_id, str(token)

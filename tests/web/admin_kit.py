"""What the admin console and overlay tests share: API calls as a demo account, a gacha
submitted for review by the demo VTuber, a VTuber application, a support-only operator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from koepon.seed import demo_gacha_id
from web.pages_kit import DEMO_PASSWORD

XSS = "<script>alert(1)</script>"
BANK = {
    "bank_code": "0005",
    "branch_code": "123",
    "account_type": "ordinary",
    "account_number": "7654321",
    "holder_kana": "テスト タロウ",
}


class Api:
    """One demo account calling the public API of the served platform."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    @classmethod
    async def sign_in(cls, http: httpx.AsyncClient, email: str) -> Api:
        answer = await http.post(
            "/api/v1/auth/login",
            json={"email": email, "password": DEMO_PASSWORD},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert answer.status_code == 200, answer.text
        return cls(http, answer.json()["access_token"])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": uuid.uuid4().hex}

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.http.get(path, params=params, headers=self.headers())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def send(self, method: str, path: str, body: Any = None, status: int | None = 200) -> Any:
        """The answer's JSON; ``status=None`` takes any 2xx."""
        answer = await self.http.request(method, path, json=body, headers=self.headers())
        if status is None:
            assert answer.is_success, answer.text
        else:
            assert answer.status_code == status, answer.text
        return answer.json() if answer.content else None


def _items(found: Any, into: dict[str, dict[str, Any]]) -> None:
    if isinstance(found, dict):
        if "item_id" in found and "content_id" in found and "rarity" in found:
            into.setdefault(str(found["item_id"]), found)
        for value in found.values():
            _items(value, into)
    elif isinstance(found, list):
        for value in found:
            _items(value, into)


async def demo_items(vtuber: Api) -> list[dict[str, Any]]:
    """The demo gacha's items (content ids the demo VTuber owns)."""
    public = await vtuber.get(f"/api/v1/gachas/{demo_gacha_id('luna-first')}")
    found: dict[str, dict[str, Any]] = {}
    _items(public, found)
    assert found, public
    return list(found.values())


def only_ssr_config(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A gacha every pull of which is SSR (so an overlay test sees a big reveal at once)."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    chosen = items[:2]
    return {
        "kind": "weighted",
        "price_medals": 300,
        "price_jpy": 300,
        "period": {"starts_at": start.isoformat(), "ends_at": None},
        "items": [
            {
                "item_id": f"ssr-{n}",
                "content_id": item["content_id"],
                "rarity": "SSR",
                "name": f"SSR {n}",
            }
            for n, item in enumerate(chosen)
        ],
        "main": [{"item_id": f"ssr-{n}", "weight": 1} for n in range(len(chosen))],
    }


async def demo_vtuber_id(vtuber: Api) -> str:
    mine = await vtuber.get("/api/v1/me/vtubers")
    return str(mine[0]["vtuber_id"])


async def submitted_gacha(vtuber: Api, title: str) -> str:
    """A gacha the demo VTuber drafted and submitted: it waits in the review queue."""
    vtuber_id = await demo_vtuber_id(vtuber)
    config = only_ssr_config(await demo_items(vtuber))
    draft = await vtuber.send(
        "POST",
        f"/api/v1/vtubers/{vtuber_id}/gachas",
        {"title": title, "description": "テスト用", "config": config},
        status=201,
    )
    await vtuber.send("POST", f"/api/v1/gachas/{draft['id']}/submit", {})
    return str(draft["id"])


async def vtuber_application(fan: Api, name: str) -> str:
    """A pending VTuber application with ``name`` (a fan applies)."""
    applied = await fan.send(
        "POST",
        "/api/v1/vtubers",
        {
            "display_name": name,
            "bio": name,
            "channel_links": [],
            "legal_name": "テスト 太郎",
            "bank": BANK,
        },
        status=201,
    )
    return str(applied["id"])


async def make_support_only(admin: Api, fan: Api) -> str:
    """Give the demo fan the support role (and no other operator role)."""
    me = await fan.get("/api/v1/me")
    await admin.send("PUT", f"/api/v1/admin/users/{me['id']}/roles", {"roles": ["fan", "support"]})
    return str(me["id"])

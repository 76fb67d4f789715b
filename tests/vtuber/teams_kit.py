"""A harness for the teams tests: accounts (with verified email), applications, invitations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from koepon.app import Platform
from koepon.auth.models import User
from koepon.vtuber.context import VtuberContext
from payment.fixtures.shop import signed_in
from vtuber.conftest import approved_vtuber, vtuber_context


@dataclass
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ik(self, key: str | None = None) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key or uuid.uuid4().hex}


def application(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": "星見こえ",
        "bio": "歌とASMRの配信をしています",
        "avatar_url": "https://cdn.example.jp/avatar.png",
        "channel_links": ["https://www.youtube.com/@hoshimi", "https://x.com/hoshimi"],
        "entity_type": "individual",
        "legal_name": "星見 声子",
        "bank": {
            "bank_code": "0005",
            "branch_code": "123",
            "account_type": "ordinary",
            "account_number": "7654321",
            "holder_kana": "ホシミ　コエコ",
        },
        "invoice_number": "T7000012050002",
        "invoice_registered_on": "2023-10-01",
    }
    body.update(overrides)
    return body


@dataclass
class Studio:
    client: httpx.AsyncClient
    platform: Platform

    @property
    def ctx(self) -> VtuberContext:
        return vtuber_context(self.platform)

    async def account(self, *, roles: list[str] | None = None, verified: bool = True) -> Account:
        user_id, email, token = await signed_in(self.client, self.platform, roles=roles)
        if verified:
            auth = self.platform.units["auth"].client.service  # type: ignore[attr-defined]
            async with auth.db.transaction() as session:
                user = await session.get(User, user_id)
                user.email_verified_at = datetime.now(UTC)
        return Account(user_id, email, token)

    async def staff(self, role: str) -> Account:
        return await self.account(roles=[role])

    async def vtuber(self, owner: Account | None = None) -> tuple[Account, str]:
        """An approved VTuber (registered directly) and its owner."""
        owner = owner or await self.account()
        return owner, await approved_vtuber(self.platform, owner.id)

    async def apply(self, who: Account, **overrides: Any) -> httpx.Response:
        return await self.client.post(
            "/api/v1/vtubers", json=application(**overrides), headers=who.headers
        )

    async def invite(
        self, who: Account, vtuber_id: str, email: str, role: str = "editor"
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/vtubers/{vtuber_id}/members",
            json={"email": email, "role": role},
            headers=who.headers,
        )

    async def member(self, vtuber_id: str, by: Account, role: str) -> Account:
        """A new account that joined ``vtuber_id``'s team with ``role`` (invited by ``by``)."""
        joiner = await self.account()
        made = await self.invite(by, vtuber_id, joiner.email, role)
        assert made.status_code == 201, made.text
        accepted = await self.client.post(
            f"/api/v1/vtuber-invitations/{made.json()['id']}/accept", headers=joiner.headers
        )
        assert accepted.status_code == 200, accepted.text
        return joiner

    async def changes(self, vtuber_id: str, who: Account) -> list[dict[str, Any]]:
        answer = await self.client.get(f"/api/v1/vtubers/{vtuber_id}/changes", headers=who.headers)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def permissions(
        self, vtuber_id: str, who: Account, roles: list[str] | None = None
    ) -> set[str]:
        services = self.platform.units["vtuber"].client
        found = await services.permissions(vtuber_id, who.id, frozenset(roles or []))  # type: ignore[attr-defined]
        return {str(p) for p in found}


@pytest.fixture(name="studio")
def studio_fixture(client: httpx.AsyncClient, platform: Platform) -> Studio:
    return Studio(client, platform)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem

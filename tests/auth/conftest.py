"""Helpers for the auth tests: sign-up/sign-in through the public API, the dev mailbox, the
service behind the platform (for its clock and its data)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from clocks import MovableClock
from koepon.app import Platform, create_app
from koepon.auth.models import User, outbox
from koepon.auth.passwords import Passwords
from koepon.auth.service import AuthService

PASSWORD = "correct horse battery"
TOKEN_IN_MAIL = re.compile(r"token: ([A-Za-z0-9_-]{16,})")


def unique_email(prefix: str = "fan") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.jp"


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@asynccontextmanager
async def client_at(platform: Platform, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client to the whole platform whose requests come from ``address``."""
    app = create_app(platform, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class AuthHarness:
    client: httpx.AsyncClient
    platform: Platform
    local: httpx.AsyncClient  # from this machine (loopback), which may read the dev mailbox

    @property
    def service(self) -> AuthService:
        service: AuthService = self.platform.units["auth"].client.service
        return service

    def freeze(self, now: datetime) -> MovableClock:
        clock = MovableClock(now)
        self.service.clock = clock
        return clock

    async def signup(self, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "推し活ファン",
            "birthdate": "1995-05-05",
        }
        body.update(overrides)
        return await self.client.post("/api/v1/auth/signup", json=body)

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )

    async def account(self, *, roles: list[str] | None = None, **overrides: Any) -> Account:
        """A signed-in account (roles set through the service, as an operator would)."""
        created = await self.signup(**overrides)
        assert created.status_code == 201, created.text
        user = created.json()
        if roles:
            async with self.service.db.transaction() as session:
                await self.service.set_roles(
                    session, user_id=user["id"], roles=roles, changed_by="test"
                )
        password = overrides.get("password", PASSWORD)
        tokens = await self.login(user["email"], password)
        assert tokens.status_code == 200, tokens.text
        return Account(
            id=user["id"],
            email=user["email"],
            password=password,
            access_token=tokens.json()["access_token"],
            refresh_token=tokens.json()["refresh_token"],
        )

    async def mails(self, to: str) -> list[dict[str, Any]]:
        response = await self.local.get("/dev/mailbox.json", params={"to": to})
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    async def wait_for_mail(
        self, to: str, subject_has: str, *, within: float = 10.0
    ) -> dict[str, Any]:
        """Mail leaves after commit, through the dispatcher: poll the dev mailbox briefly."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for mail in await self.mails(to):
                if subject_has in mail["subject"]:
                    return mail
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"No mail {subject_has!r} to {to}")
            await asyncio.sleep(0.05)

    @staticmethod
    def token_in(mail: dict[str, Any]) -> str:
        found = TOKEN_IN_MAIL.search(mail["body"])
        assert found, mail["body"]
        return found.group(1)

    async def count_users(self) -> int:
        async with self.service.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(User)) or 0)

    async def outbox_rows(self, topic: str) -> list[Any]:
        async with self.service.db.transaction() as session:
            return list(
                (await session.execute(select(outbox).where(outbox.c.topic == topic))).all()
            )


# Argon2 at production cost takes ~100-400 ms a hash; the tests exercise the flows, not the cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture
async def auth(client: httpx.AsyncClient, platform: Platform) -> AsyncIterator[AuthHarness]:
    async with client_at(platform, "127.0.0.1") as local:
        harness = AuthHarness(client=client, platform=platform, local=local)
        harness.service.passwords = Passwords(FAST_HASHER)
        yield harness


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


Clock = Callable[[], datetime]

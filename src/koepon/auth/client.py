"""What other services may ask the auth service: in-process and HTTP implementations of
``contracts.auth.AuthAccounts``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from koepon.auth import repository
from koepon.auth.service import AuthService
from koepon.contracts.auth import (
    AccountNotFound,
    DisplayName,
    SessionState,
    SpendingProfile,
    VerifiedEmail,
)
from koepon.kernel.tracing import traced_hooks


class LocalAuthClient:
    """The auth service in this process."""

    def __init__(self, service: AuthService) -> None:
        self.service = service

    async def jwks(self) -> dict[str, Any]:
        return self.service.jwks()

    async def spending_profile(self, user_id: str) -> SpendingProfile:
        async with self.service.db.transaction(read_only=True) as session:
            return await self.service.spending_profile(session, user_id=user_id)

    async def session_alive(self, session_id: str, user_id: str) -> bool:
        return await self.service.sessions.alive(session_id, user_id)

    async def verified_email(self, user_id: str) -> str | None:
        async with self.service.db.transaction(read_only=True) as session:
            user = await repository.user_by_id(session, user_id)
        return user.email if user is not None and user.email_verified_at is not None else None

    async def display_name(self, user_id: str) -> str | None:
        async with self.service.db.transaction(read_only=True) as session:
            return await self.service.display_name(session, user_id=user_id)


class HttpAuthClient:
    """The auth service in another process, over its internal HTTP API."""

    def __init__(
        self,
        base_url: str,
        internal_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"X-Koepon-Internal": internal_token}
        self._timeout = timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._timeout,
                transport=self._transport,
                event_hooks=traced_hooks(),
            )
        return self._http

    async def jwks(self) -> dict[str, Any]:
        response = await self._client().get("/.well-known/jwks.json")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def spending_profile(self, user_id: str) -> SpendingProfile:
        response = await self._client().get(
            f"/internal/auth/users/{quote(user_id, safe='')}/spending-profile"
        )
        if response.status_code == 404:
            raise AccountNotFound(user_id)
        response.raise_for_status()
        return SpendingProfile.model_validate(response.json())

    async def session_alive(self, session_id: str, user_id: str) -> bool:
        response = await self._client().get(
            f"/internal/auth/sessions/{quote(session_id, safe='')}", params={"user_id": user_id}
        )
        response.raise_for_status()
        return SessionState.model_validate(response.json()).alive

    async def verified_email(self, user_id: str) -> str | None:
        response = await self._client().get(
            f"/internal/auth/users/{quote(user_id, safe='')}/verified-email"
        )
        response.raise_for_status()
        return VerifiedEmail.model_validate(response.json()).email

    async def display_name(self, user_id: str) -> str | None:
        response = await self._client().get(
            f"/internal/auth/users/{quote(user_id, safe='')}/display-name"
        )
        response.raise_for_status()
        return DisplayName.model_validate(response.json()).display_name

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

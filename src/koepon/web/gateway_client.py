"""How pages reach the services: the public API, through the gateway, as the visitor.

Pages never read a service's tables nor call a service directly: every call crosses the same
gateway an outside client crosses (admission, rate limits per address and per user, token and
session checks), in process over ASGI, carrying the visitor's address and access token. So a
page can show or do nothing that the visitor could not do with the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

# The inner requests' host; services build public links from the configured public URL.
INNER_BASE = "http://gateway.koepon.internal"
TIMEOUT_SECONDS = 15.0


@dataclass
class ApiProblem(Exception):
    """The API refused (4xx/5xx): its RFC 9457 problem, as the page shows it."""

    status: int
    code: str
    detail: str
    body: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    @property
    def errors(self) -> list[dict[str, Any]]:
        found = self.body.get("errors")
        return found if isinstance(found, list) else []


class GatewayClient:
    """One visitor's calls for one page request."""

    def __init__(self, app: ASGIApp, *, client_ip: str, access_token: str | None = None) -> None:
        self.access_token = access_token
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_ip, 0)),
            base_url=INNER_BASE,
            timeout=TIMEOUT_SECONDS,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        token: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {"Accept": "application/json"}
        bearer = token or self.access_token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if method != "GET":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        if content_type:
            headers["Content-Type"] = content_type
        response = await self._http.request(
            method, path, json=json, params=params, headers=headers, content=content
        )
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return (await self.request("GET", path, params=clean or None)).json()

    async def send(
        self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None
    ) -> Any:
        response = await self.request(method, path, json=body, idempotency_key=idempotency_key)
        return None if response.status_code == 204 or not response.content else response.json()


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiProblem(
        status=response.status_code,
        code=str(body.get("code") or body.get("type") or response.status_code),
        detail=str(body.get("detail") or body.get("title") or response.reason_phrase),
        body=body,
    )

"""The payment service's clients for other services: in-process and over HTTP (``/internal``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from koepon.contracts.payment import (
    HoldNotFound,
    MedalHold,
    PostedSpend,
    WalletBalance,
    refusal,
)
from koepon.kernel.db import Database
from koepon.kernel.tracing import traced_hooks
from koepon.payment.wallet.spending import Spending
from koepon.payment.wallet.views import WalletViews


class InProcessMedalWallets:
    """``MedalWallets`` for services in the same process: each call is its own transaction."""

    in_process = True

    def __init__(self, db: Database, spending: Spending, views: WalletViews) -> None:
        self.db = db
        self.spending = spending
        self.views = views

    async def reserve(
        self, user_id: str, medals: int, transfer_id: str, timeout_seconds: int = 60
    ) -> MedalHold:
        async with self.db.transaction() as session:
            return await self.spending.reserve(
                session,
                user_id=user_id,
                medals=medals,
                transfer_id=transfer_id,
                timeout_seconds=timeout_seconds,
            )

    async def post(self, transfer_id: str, medals: int | None = None) -> MedalHold:
        async with self.db.transaction() as session:
            return await self.spending.post(session, transfer_id=transfer_id, medals=medals)

    async def void(self, transfer_id: str) -> MedalHold:
        async with self.db.transaction() as session:
            return await self.spending.void(session, transfer_id=transfer_id)

    async def hold(self, transfer_id: str) -> MedalHold | None:
        async with self.db.transaction() as session:
            return await self.views.find_hold(session, transfer_id)

    async def posted_values(self, transfer_ids: Sequence[str]) -> dict[str, PostedSpend]:
        async with self.db.transaction(read_only=True) as session:
            return await self.views.posted_values(session, transfer_ids)

    async def balance(self, user_id: str) -> WalletBalance:
        async with self.db.transaction() as session:
            return await self.views.balance(session, user_id)


class HttpMedalWallets:
    """``MedalWallets`` over HTTP to a payment service in another process; refusals arrive as
    the same typed ``MedalsRefused`` subclasses the in-process client raises."""

    in_process = False

    def __init__(
        self,
        base_url: str,
        internal_token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/internal/payment",
            headers={"X-Koepon-Internal": internal_token},
            timeout=timeout,
            transport=transport,
            event_hooks=traced_hooks(),
        )

    async def _call(self, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(method, path, json=json)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise refusal(
                str(body.get("code", "error")),
                str(body.get("detail", response.text[:200])),
                response.status_code,
            )
        return response.json()

    async def reserve(
        self, user_id: str, medals: int, transfer_id: str, timeout_seconds: int = 60
    ) -> MedalHold:
        body = {
            "user_id": user_id,
            "medals": medals,
            "transfer_id": transfer_id,
            "timeout_seconds": timeout_seconds,
        }
        return MedalHold.model_validate(await self._call("POST", "/holds", body))

    async def post(self, transfer_id: str, medals: int | None = None) -> MedalHold:
        path = f"/holds/{quote(transfer_id, safe='')}/post"
        return MedalHold.model_validate(await self._call("POST", path, {"medals": medals}))

    async def void(self, transfer_id: str) -> MedalHold:
        path = f"/holds/{quote(transfer_id, safe='')}/void"
        return MedalHold.model_validate(await self._call("POST", path, {}))

    async def hold(self, transfer_id: str) -> MedalHold | None:
        try:
            path = f"/holds/{quote(transfer_id, safe='')}"
            return MedalHold.model_validate(await self._call("GET", path))
        except HoldNotFound:
            return None

    async def posted_values(self, transfer_ids: Sequence[str]) -> dict[str, PostedSpend]:
        body = {"transfer_ids": list(transfer_ids)}
        found = await self._call("POST", "/holds/posted-values", body)
        return {
            spend.transfer_id: spend
            for spend in (PostedSpend.model_validate(item) for item in found["spends"])
        }

    async def balance(self, user_id: str) -> WalletBalance:
        path = f"/wallets/{quote(user_id, safe='')}"
        return WalletBalance.model_validate(await self._call("GET", path))

    async def close(self) -> None:
        await self._http.aclose()

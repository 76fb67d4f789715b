"""Payment test fixtures: the wallet harness, signed-in accounts with roles, a movable clock, and
the ledger audit after every payment test (the books must balance whatever a test did)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from clocks import MovableClock
from koepon.app import Platform
from koepon.payment.context import PaymentContext
from koepon.payment.services import PaymentServices
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import payment_context, payment_services, signed_in

PASSWORD = "correct horse battery"


@pytest.fixture
async def platform(platform: Platform) -> AsyncIterator[Platform]:
    """The root ``platform``, audited when the test ends: any broken invariant fails the test."""
    yield platform
    violations = await audit_ledger(platform.units["payment"].db)
    assert not violations, "ledger audit failed:\n" + "\n".join(violations)


@dataclass
class Account:
    id: str
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class WalletHarness:
    client: httpx.AsyncClient
    platform: Platform

    @property
    def ctx(self) -> PaymentContext:
        return payment_context(self.platform)

    @property
    def services(self) -> PaymentServices:
        return payment_services(self.platform)

    def freeze(self, now: datetime | None = None) -> MovableClock:
        clock = MovableClock(now or datetime.now(UTC).replace(microsecond=0))
        self.ctx.clock.use(clock)
        return clock

    async def issue(
        self,
        user_id: str,
        medals: int,
        *,
        kind: str = "paid",
        price_jpy: int | None = None,
        source: str | None = None,
        expires_at: datetime | None = None,
        transfer_id: str | None = None,
    ) -> Any:
        if price_jpy is None:
            price_jpy = medals if kind == "paid" else 0
        async with self.ctx.db.transaction() as session:
            return await self.services.wallets.issue_lot(
                session,
                user_id=user_id,
                kind=kind,  # type: ignore[arg-type]
                medals=medals,
                price_jpy=price_jpy,
                transfer_id=transfer_id or f"test-lot-{uuid.uuid4()}",
                source=source or ("purchase" if kind == "paid" else "grant"),
                expires_at=expires_at,
            )

    async def account(self, roles: list[str] | None = None) -> Account:
        """A signed-up, signed-in account; roles set through the auth service as an operator."""
        return Account(*await signed_in(self.client, self.platform, roles=roles))


@pytest.fixture
def wallets(client: httpx.AsyncClient, platform: Platform) -> WalletHarness:
    return WalletHarness(client=client, platform=platform)


def new_user() -> str:
    return str(uuid.uuid4())

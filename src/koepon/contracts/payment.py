"""What the payment service offers other services: medal spending (the draw saga) and events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from koepon.contracts import Event

MedalKind = Literal["paid", "free"]


class MedalHold(BaseModel):
    """A spend of a fan's medals, keyed by the caller's transfer id.

    ``status``: ``pending`` (reserved; the medals are held), ``posted`` (spent) or ``voided``
    (released). Once posted, ``posted_paid_value_jpy`` is the yen value of the paid medals spent,
    at their lots' issue prices (the base of the VTuber's revenue share, COMPLIANCE R1).
    """

    model_config = ConfigDict(frozen=True)
    transfer_id: str
    user_id: str
    medals: int
    free_medals: int
    paid_medals: int
    status: Literal["pending", "posted", "voided"]
    expires_at: datetime | None = None
    posted_medals: int | None = None
    posted_free_medals: int | None = None
    posted_paid_medals: int | None = None
    posted_paid_value_jpy: int | None = None


class WalletBalance(BaseModel):
    """Spendable medals now (expired lots excluded); ``locked`` while the fan owes medals."""

    model_config = ConfigDict(frozen=True)
    user_id: str
    paid_medals: int
    free_medals: int
    owed_medals: int
    locked: bool


class MedalsRefused(Exception):
    """A refused spend. ``code``: ``insufficient_medals``, ``wallet_locked``,
    ``transfer_id_reused``, ``hold_not_found``, ``hold_expired``, ``hold_already_posted``,
    ``hold_already_voided``, ``invalid_amount``."""

    def __init__(self, code: str, detail: str, status: int = 409) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


class MedalWallets(Protocol):
    """Two-phase spending of a fan's medals. Every call is idempotent on ``transfer_id``:
    repeating it returns the first result; reusing the id for something else is refused."""

    async def reserve(
        self, user_id: str, medals: int, transfer_id: str, timeout_seconds: int = 60
    ) -> MedalHold: ...

    async def post(self, transfer_id: str, medals: int | None = None) -> MedalHold: ...

    async def void(self, transfer_id: str) -> MedalHold: ...

    async def hold(self, transfer_id: str) -> MedalHold | None: ...

    async def balance(self, user_id: str) -> WalletBalance: ...


class MedalLotIssued(Event):
    """Medals were credited to a fan (purchase, grant, compensation)."""

    topic = "payment.medals.issued.v1"
    user_id: str
    lot_id: str
    kind: MedalKind
    medals: int
    price_jpy: int
    source: str
    expires_at: datetime


class MedalLotExpiringSoon(Event):
    """A lot expires within the notice period (COMPLIANCE M2: the fan is told 7 days ahead)."""

    topic = "payment.medals.expiring.v1"
    user_id: str
    lot_id: str
    kind: MedalKind
    medals: int
    expires_at: datetime


class MedalLotExpired(Event):
    """Unused medals of a lot were written off at its expiry."""

    topic = "payment.medals.expired.v1"
    user_id: str
    lot_id: str
    kind: MedalKind
    medals: int


class MedalsClawedBack(Event):
    """Medals were taken back (chargeback); ``owed_medals`` > 0 locks the wallet until settled."""

    topic = "payment.medals.clawed_back.v1"
    user_id: str
    kind: MedalKind
    medals: int
    owed_medals: int
    reason: str

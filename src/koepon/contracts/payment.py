"""What the payment service offers other services: medal spending (the draw saga) and events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from koepon.contracts import Event
from koepon.kernel.errors import DomainError

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


MAX_POSTED_VALUES = 200  # transfer ids per ``posted_values`` call


class PostedSpend(BaseModel):
    """What the medal ledger holds for one spend (``MedalWallets.posted_values``): its status
    and, once ``posted``, the medals spent and the yen value of the paid ones (COMPLIANCE R1).
    The ledger records no reversal of a spend: a draw's reversal and a chargeback's claw-back
    (taken from lots, not spends) leave the spend as it was posted."""

    model_config = ConfigDict(frozen=True)
    transfer_id: str
    status: Literal["pending", "posted", "voided"]
    posted_paid_medals: int | None = None
    posted_free_medals: int | None = None
    posted_paid_value_jpy: int | None = None


class WalletBalance(BaseModel):
    """Spendable medals now (expired lots excluded); ``locked`` while the fan owes medals."""

    model_config = ConfigDict(frozen=True)
    user_id: str
    paid_medals: int
    free_medals: int
    owed_medals: int
    locked: bool


class MedalsRefused(DomainError):
    """A refused wallet operation; each refusal is a subclass with a fixed ``status`` and a
    stable ``code`` (what callers match on, in-process and over HTTP alike)."""

    status = 409
    code = "medals_refused"


class InvalidAmount(MedalsRefused):
    status = 422
    code = "invalid_amount"


class InvalidKind(MedalsRefused):
    status = 422
    code = "invalid_kind"


class InvalidPrice(MedalsRefused):
    status = 422
    code = "invalid_price"


class InvalidExpiry(MedalsRefused):
    status = 422
    code = "invalid_expiry"


class InvalidTransferId(MedalsRefused):
    status = 422
    code = "invalid_transfer_id"


class InvalidTimeout(MedalsRefused):
    status = 422
    code = "invalid_timeout"


class ReasonRequired(MedalsRefused):
    status = 422
    code = "reason_required"


class TooManyTransferIds(MedalsRefused):
    status = 422
    code = "too_many_transfer_ids"


class TransferIdReused(MedalsRefused):
    code = "transfer_id_reused"


class InsufficientMedals(MedalsRefused):
    status = 402
    code = "insufficient_medals"


class WalletLocked(MedalsRefused):
    """The fan owes medals after a chargeback: no spend until new medals settle the debt."""

    status = 423
    code = "wallet_locked"


class HoldNotFound(MedalsRefused):
    status = 404
    code = "hold_not_found"


class HoldExpired(MedalsRefused):
    code = "hold_expired"


class HoldAlreadyPosted(MedalsRefused):
    code = "hold_already_posted"


class HoldAlreadyVoided(MedalsRefused):
    code = "hold_already_voided"


class PaymentUnavailable(MedalsRefused):
    """The payment service could not be reached or failed; the caller may retry."""

    status = 503
    code = "payment_unavailable"


REFUSALS: dict[str, type[MedalsRefused]] = {
    cls.code: cls
    for cls in (
        InvalidAmount,
        InvalidKind,
        InvalidPrice,
        InvalidExpiry,
        InvalidTransferId,
        TooManyTransferIds,
        InvalidTimeout,
        ReasonRequired,
        TransferIdReused,
        InsufficientMedals,
        WalletLocked,
        HoldNotFound,
        HoldExpired,
        HoldAlreadyPosted,
        HoldAlreadyVoided,
        PaymentUnavailable,
    )
}


class RemoteRefusal(MedalsRefused):
    """Any other problem the payment service answered over HTTP (e.g. ``forbidden`` for a bad
    internal token), keeping its status and code."""

    def __init__(self, code: str, detail: str, status: int) -> None:
        super().__init__(detail)
        # Per instance: the class-level code and status are the defaults of typed refusals.
        vars(self).update(code=code, status=status)


def refusal(code: str, detail: str, status: int) -> MedalsRefused:
    """The typed refusal for a problem the payment service answered over HTTP."""
    known = REFUSALS.get(code)
    return known(detail) if known is not None else RemoteRefusal(code, detail, status)


class MedalWallets(Protocol):
    """Two-phase spending of a fan's medals. Every call is idempotent on ``transfer_id``:
    repeating it returns the first result; reusing the id for something else is refused."""

    # True when the payment service runs in the caller's process (no network between them): a
    # slow answer is then this process's own congestion, never the payment service being down.
    in_process: bool

    async def reserve(
        self, user_id: str, medals: int, transfer_id: str, timeout_seconds: int = 60
    ) -> MedalHold: ...

    async def post(self, transfer_id: str, medals: int | None = None) -> MedalHold: ...

    async def void(self, transfer_id: str) -> MedalHold: ...

    async def hold(self, transfer_id: str) -> MedalHold | None: ...

    async def posted_values(self, transfer_ids: Sequence[str]) -> dict[str, PostedSpend]:
        """The spends of ``transfer_ids`` (at most ``MAX_POSTED_VALUES``, else
        ``TooManyTransferIds``) by transfer id; ids the ledger does not know are absent."""
        ...

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


class PurchaseRefused(Event):
    """A payment arrived that would break a spending limit (COMPLIANCE A1–A3), e.g. paid after
    its checkout failed or expired: it was refunded, not credited. The fan is to be told why
    (``reason`` is ``<code>:<rule>``, e.g. ``spending_cap_exceeded:A2``)."""

    topic = "payment.purchase.refused.v1"
    user_id: str
    checkout_id: str
    price_jpy: int
    reason: str
    rule: str
    detail: str
    refused_at: datetime


@dataclass(frozen=True)
class MedalTerms:
    """What the payment service applies to 推しメダル and others state publicly (the legal
    pages, COMPLIANCE M2/M4): lots' validity, the spend order and the consumption tax."""

    paid_validity_days: int
    free_validity_days: int
    free_first: bool
    tax_percent: int

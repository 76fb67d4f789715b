"""Wallet request and response bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from koepon.contracts.payment import PostedSpend


class LotRead(BaseModel):
    id: str
    kind: Literal["paid", "free"]
    medals: int
    remaining_medals: int
    held_medals: int
    price_jpy: int = Field(description="What was paid for the whole lot (tax included)")
    source: str
    issued_at: datetime
    expires_at: datetime


class ExpiryRead(BaseModel):
    lot_id: str
    kind: Literal["paid", "free"]
    medals: int
    expires_at: datetime


class WalletRead(BaseModel):
    user_id: str
    paid_medals: int
    free_medals: int
    owed_medals: int = Field(description="Medals owed after a chargeback; > 0 locks spending")
    locked: bool
    spend_order: Literal["free_first", "paid_first"]
    lots: list[LotRead]
    upcoming_expiries: list[ExpiryRead]
    month_spent_jpy: int
    month_cap_jpy: int | None


class TransactionRead(BaseModel):
    id: str
    reference: str
    type: str
    kind: Literal["paid", "free"]
    medals: int
    balance_effect: int = Field(description="Change of the spendable balance (signed)")
    occurred_at: datetime


class TransactionPage(BaseModel):
    items: list[TransactionRead]
    next_cursor: str | None


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medals: StrictInt = Field(gt=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    expires_at: datetime | None = None


class GrantRead(BaseModel):
    lot_id: str
    user_id: str
    medals: int
    expires_at: datetime
    transfer_id: str


class ClawBackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medals: StrictInt = Field(gt=0, le=10_000_000)
    kind: Literal["paid", "free"] = "paid"
    reason: str = Field(min_length=1, max_length=500)
    lot_transfer_id: str | None = Field(None, max_length=150)


class ClawBackRead(BaseModel):
    transfer_id: str
    user_id: str
    kind: Literal["paid", "free"]
    medals: int
    taken_medals: int
    owed_medals: int


class OperatorActionRead(BaseModel):
    actor_user_id: str
    action: str
    kind: str
    medals: int
    reason: str
    reference: str
    created_at: datetime


class AdminWalletRead(BaseModel):
    wallet: WalletRead
    operator_actions: list[OperatorActionRead]


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=64)
    medals: StrictInt = Field(gt=0)
    transfer_id: str = Field(min_length=1, max_length=150)
    timeout_seconds: StrictInt = Field(60, gt=0, le=86_400)


class PostedValuesQuery(BaseModel):
    """Transfer ids to look up (their number is checked by the view: ``too_many_transfer_ids``)."""

    model_config = ConfigDict(extra="forbid")
    transfer_ids: list[str]


class PostedValuesRead(BaseModel):
    """The spends found, in no particular order; unknown transfer ids are absent."""

    spends: list[PostedSpend]


class HoldPost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medals: StrictInt | None = Field(None, ge=0)


class AuditRead(BaseModel):
    ok: bool
    violations: list[str]


# Results of the wallet's use cases (not request bodies).


@dataclass(frozen=True)
class IssuedLot:
    id: str
    user_id: str
    kind: str
    medals: int
    price_jpy: int
    source: str
    issued_at: datetime
    expires_at: datetime
    transfer_id: str
    settled_medals: int = 0  # taken at once to pay off what the fan owed


@dataclass(frozen=True)
class ClawBack:
    transfer_id: str
    user_id: str
    kind: str
    medals: int
    taken_medals: int
    owed_medals: int  # total now owed by the wallet in this kind
    taken_value_jpy: int


@dataclass(frozen=True)
class MonthSpending:
    """This JST month's purchases and the cap in force (COMPLIANCE A2–A4), shown on the page."""

    spent_jpy: int
    cap_jpy: int | None

"""Catalogue bodies: drafts as the team writes them, reviews, and the public disclosure (G6, G7)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

MAX_CONFIG_CHARS = 200_000  # a configuration is a few kilobytes; this bounds what is stored

NO_CANCELLATION_NOTICE = "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません"  # P2


def _printable(value: str) -> str:
    """Text is stored as is on both backends: PostgreSQL text holds no NUL character."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
Description = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_printable)]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_printable)
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_printable),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _bounded(config: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(config, ensure_ascii=False, default=str)) > MAX_CONFIG_CHARS:
        raise ValueError(f"the configuration is larger than {MAX_CONFIG_CHARS} characters")
    return config


class GachaDraftIn(_Body):
    """``POST /vtubers/{id}/gachas`` and ``PUT /gachas/{id}``: the whole draft each time.

    ``config`` is a raw ``GachaConfig`` (odds/model.py); rule violations other than G1 are
    listed on the draft as ``checks`` and refused only at submission."""

    title: Title
    description: Description = ""
    config: dict[str, Any]

    @field_validator("config")
    @classmethod
    def _config_size(cls, config: dict[str, Any]) -> dict[str, Any]:
        return _bounded(config)


class RejectionIn(_Body):
    reason: Reason


class OddsVersionIn(_Body):
    """A new odds version of an approved gacha (G4: announced, with a change note)."""

    config: dict[str, Any]
    effective_at: AwareDatetime
    change_note: Note = ""

    @field_validator("config")
    @classmethod
    def _config_size(cls, config: dict[str, Any]) -> dict[str, Any]:
        return _bounded(config)


# --- the team's and the reviewers' view ---------------------------------------------------


class Check(BaseModel):
    """A rule the draft breaks (``refuse``: submission will be refused) or trips (``flag``)."""

    rule: str
    path: str
    detail: str
    severity: Literal["refuse", "flag"]


class ExpectedCost(BaseModel):
    """G7: the expected cost of one item from one table (flagged above 100× a draw / ¥50,000)."""

    table: str
    item_id: str
    rarity: str
    percent: str
    expected_cost_medals: int | None
    expected_cost_jpy: int | None
    flagged: bool


Phase = Literal["draft", "submitted", "rejected", "scheduled", "live", "ended"]


class GachaDraft(BaseModel):
    id: str
    vtuber_id: str
    title: str
    description: str
    kind: str
    status: str
    # The workflow phase now: the status, with an approved gacha's period applied
    # (scheduled before it starts, live inside it, ended after it).
    phase: Phase
    config: dict[str, Any]
    checks: list[Check]
    expected_costs: list[ExpectedCost]
    expected_cost_flagged: bool
    current_version: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None


class GachaDraftPage(BaseModel):
    items: list[GachaDraft]
    next_cursor: str | None


# --- the public disclosure (COMPLIANCE G6, G7, P2) ---------------------------------------------


class OddsLine(BaseModel):
    """One line of a table in the order the fairness algorithm uses it. A box shows
    ``remaining`` and ``total`` (live) and no weight."""

    item_id: str
    content_id: str
    name: str
    rarity: str
    weight: int | None
    rate_ppm: int
    percent: str
    expected_cost_medals: int | None
    expected_cost_jpy: int | None
    expected_cost_flagged: bool
    remaining: int | None = None
    total: int | None = None


class RarityTotal(BaseModel):
    rarity: str
    rate_ppm: int
    percent: str


class Odds(BaseModel):
    version: int
    digest: str
    effective_at: datetime
    tables: dict[str, list[OddsLine]]
    rarity_totals: dict[str, list[RarityTotal]]


class PeriodOut(BaseModel):
    starts_at: datetime
    ends_at: datetime | None


class MultiDrawOut(BaseModel):
    count: int
    price_medals: int
    price_jpy: int
    guaranteed_min_rarity: str | None  # 確定枠: the last slot is this rarity or better


class PityOut(BaseModel):
    draws: int  # 天井: the draws-th draw in a row without min_rarity comes from the pity table
    min_rarity: str


class ExchangeOfferOut(BaseModel):
    item_id: str
    cost_points: int


class ExchangeOut(BaseModel):
    points_per_paid_draw: int
    offers: list[ExchangeOfferOut]


class LimitsOut(BaseModel):
    max_draws: int | None
    max_draws_per_day: int | None


class StepOut(BaseModel):
    count: int
    price_medals: int
    price_jpy: int
    guaranteed_min_rarity: str | None
    guaranteed_table: str | None  # the name of its table in ``odds.tables``


class StepUpOut(BaseModel):
    steps: list[StepOut]
    repeat: bool


class Terms(BaseModel):
    """One odds version as shown before purchase."""

    kind: str
    price_medals: int
    price_jpy: int  # tax included (P3)
    period: PeriodOut
    multi: MultiDrawOut | None
    pity: PityOut | None
    exchange: ExchangeOut | None
    limits: LimitsOut
    step_up: StepUpOut | None
    odds: Odds
    notice: str  # G6: 表示は小数点第5位以下切り捨て…
    expected_cost_flagged: bool  # G7: some item's expected cost is shown prominently
    no_cancellation_notice: str = NO_CANCELLATION_NOTICE  # P2


State = Literal["upcoming", "live", "ended"]
PublicPhase = Literal["scheduled", "live", "ended"]  # a published gacha's workflow phase
VersionState = Literal["announced", "in_force", "superseded"]


class OddsVersionOut(BaseModel):
    """One entry of the public change log (G4)."""

    version: int
    published_at: datetime
    effective_at: datetime
    change_note: str
    digest: str
    state: VersionState


class OddsChangeLog(BaseModel):
    gacha_id: str
    versions: list[OddsVersionOut]


class RevenueShareOut(BaseModel):
    """One VTuber of a collab gacha and its part of the revenue, in basis points."""

    vtuber_id: str
    share_bp: int


class GachaPublic(Terms):
    """``GET /gachas/{id}``: the version in force (or, before the start, the first one)."""

    id: str
    vtuber_id: str
    title: str
    description: str
    state: State
    phase: PublicPhase
    # A collab gacha's VTubers (empty: the gacha is ``vtuber_id``'s alone).
    revenue_shares: list[RevenueShareOut] = Field(default_factory=list)
    # A newer version already announced (its effective time is the advance notice, G4).
    announced_version: OddsVersionOut | None = None


class OddsVersionDetail(Terms):
    """``GET /gachas/{id}/odds/{version}``: any published version."""

    gacha_id: str
    version: int
    published_at: datetime
    effective_at: datetime
    change_note: str
    state: VersionState


class GachaSummary(BaseModel):
    id: str
    vtuber_id: str
    title: str
    kind: str
    state: State
    phase: PublicPhase
    price_medals: int
    price_jpy: int
    multi_price_medals: int | None
    multi_price_jpy: int | None
    period: PeriodOut
    odds_version: int


class GachaPage(BaseModel):
    items: list[GachaSummary]
    next_cursor: str | None


LimitQuery = Annotated[int, Field(ge=1, le=100)]


# --- the teams' odds proposals (G4 through review) ------------------------------------------


class ProposalIn(_Body):
    """A changed configuration of an approved gacha, its change note and when it should apply
    (a live gacha's applies no sooner than the notice period after approval)."""

    config: dict[str, Any]
    change_note: Note
    effective_at: AwareDatetime

    @field_validator("config")
    @classmethod
    def _config_size(cls, config: dict[str, Any]) -> dict[str, Any]:
        return _bounded(config)


class Proposal(BaseModel):
    """A proposal with the checks of its configuration and the expected costs (G7) of the
    table in force (``current_*``) and of the proposed one."""

    id: str
    gacha_id: str
    vtuber_id: str
    gacha_title: str
    gacha_phase: Phase
    status: Literal["draft", "submitted", "approved", "rejected"]
    base_version: int
    current_version: int | None
    config: dict[str, Any]
    change_note: str
    requested_effective_at: datetime
    checks: list[Check]
    expected_costs: list[ExpectedCost]
    expected_cost_flagged: bool
    current_expected_costs: list[ExpectedCost]
    current_expected_cost_flagged: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    published_version: int | None
    published_effective_at: datetime | None = None


class ProposalPage(BaseModel):
    items: list[Proposal]
    next_cursor: str | None

"""The public audit's answer (declared vs observed rates and the tests' p-values) and a nightly
run's result.

Rates are integer parts per million, truncated; expected counts, test statistics and p-values
are decimal strings (answers about odds carry no floats, COMPLIANCE P4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TierRate(BaseModel):
    """One rarity tier of a table: declared and observed."""

    rarity: str
    declared_weight: int
    declared_rate_ppm: int
    observed: int = Field(description="slots of this tier drawn from this table")
    observed_rate_ppm: int
    expected: str = Field(description="slots expected at the declared rate (decimal string)")
    binomial_p: str | None = Field(
        None, description="exact two-sided binomial test (rare tiers only; decimal string)"
    )


class ItemRate(BaseModel):
    """One item of a table: declared and observed (no test per item: tiers are tested)."""

    item_id: str
    rarity: str
    declared_weight: int
    declared_rate_ppm: int
    observed: int
    observed_rate_ppm: int


class TestResult(BaseModel):
    """One statistical test of a table and whether its p-value is below the alert threshold."""

    __test__ = False  # not a pytest class

    test: str = Field(description='"chi_square" (tiers) or "binomial:<rarity>" (a rare tier)')
    kind: Literal["chi_square", "binomial"]
    rarity: str | None = None
    statistic: str | None = Field(None, description="the chi-square statistic (decimal string)")
    degrees_of_freedom: int | None = None
    p_value: str
    below_alpha: bool


class TableAudit(BaseModel):
    """One weighted table of one odds version: ``main``, ``guaranteed``, ``pity`` or
    ``steps[i].guaranteed``; only slots drawn from this very table are counted."""

    table: str
    draws: int = Field(description="completed slots drawn from this table")
    tiers: list[TierRate]
    items: list[ItemRate]
    tests: list[TestResult]
    below_alpha: bool


class VersionAudit(BaseModel):
    odds_version: int
    tables: list[TableAudit]


class GachaAudit(BaseModel):
    """``GET /api/v1/gachas/{id}/audit`` (COMPLIANCE G9)."""

    gacha_id: str
    kind: Literal["weighted", "box"]
    alpha: str = Field(description="a test below this p-value raises an alert (decimal string)")
    rare_rate_ppm: int = Field(description="tiers declared at or below this rate are rare")
    versions: list[VersionAudit]
    below_alpha: bool = Field(description="any test of any table is below alpha")
    not_audited: list[str] = Field(
        default_factory=list, description="what is not rate-audited, and why"
    )
    checked_at: datetime


@dataclass(frozen=True)
class Alert:
    """A test below alpha, as the nightly audit reports it."""

    gacha_id: str
    odds_version: int
    table: str
    test: str
    p_value: str
    draws: int


@dataclass
class NightlyRun:
    """What one nightly pass did."""

    day: str  # the JST date audited
    gachas: int = 0
    alerts: list[Alert] = field(default_factory=list)  # published now
    repeated: int = 0  # below alpha but already alerted that day
    failed: list[str] = field(default_factory=list)  # gacha ids whose audit failed

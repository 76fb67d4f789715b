"""Campaign premiums (景品) within the 景品表示法 caps (COMPLIANCE G10), and never for sets (G1).

総付景品 (every qualifying buyer gets it): under ¥1,000 at most ¥200, else at most 20% of the
transaction. 一般懸賞 (a lottery): each prize at most 20× the transaction and at most ¥100,000,
all prizes at most 2% of the campaign's planned sales. Bonus medals of the same kind on a pack
are a discount, not a premium, and are not campaigns here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from koepon.gacha.odds.validation import set_completion_attempts
from koepon.gacha.odds.violations import SCHEMA, Violation

TOTAL_SMALL_TRANSACTION_JPY = 1_000
TOTAL_SMALL_CAP_JPY = 200
LOTTERY_PRIZE_CAP_JPY = 100_000


class Campaign(BaseModel):
    """A premium offered with purchases or draws; what earns it is a purchase or a draw only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["total", "lottery"]  # 総付景品 / 一般懸賞
    earned_by: Literal["purchase", "draw"]
    transaction_jpy: StrictInt  # the qualifying transaction, tax included
    prize_value_jpy: StrictInt  # the most valuable single prize
    total_prizes_jpy: StrictInt = 0  # lottery: all prizes together
    planned_sales_jpy: StrictInt = 0  # lottery: sales planned in the campaign period
    description: str = ""


def premium_cap_jpy(kind: Literal["total", "lottery"], transaction_jpy: int) -> int:
    """The most one prize may be worth for a transaction of ``transaction_jpy``."""
    if kind == "total":
        if transaction_jpy < TOTAL_SMALL_TRANSACTION_JPY:
            return TOTAL_SMALL_CAP_JPY
        return transaction_jpy * 20 // 100
    return min(20 * transaction_jpy, LOTTERY_PRIZE_CAP_JPY)


def check_campaign(campaign: Campaign) -> list[Violation]:
    found = []
    if campaign.transaction_jpy <= 0 or campaign.prize_value_jpy <= 0:
        found.append(Violation(SCHEMA, "transaction_jpy", "amounts are positive yen"))
        return found
    cap = premium_cap_jpy(campaign.kind, campaign.transaction_jpy)
    # Compare exactly: 20% of the transaction is transaction × 2 / 10.
    over = (
        campaign.prize_value_jpy * 10 > campaign.transaction_jpy * 2
        if campaign.kind == "total" and campaign.transaction_jpy >= TOTAL_SMALL_TRANSACTION_JPY
        else campaign.prize_value_jpy > cap
    )
    if over:
        found.append(
            Violation(
                "G10",
                "prize_value_jpy",
                f"a prize worth ¥{campaign.prize_value_jpy:,} exceeds the cap of ¥{cap:,} "
                f"for a ¥{campaign.transaction_jpy:,} transaction",
            )
        )
    if campaign.kind == "lottery":
        if campaign.planned_sales_jpy <= 0:
            found.append(Violation("G10", "planned_sales_jpy", "a lottery states planned sales"))
        elif campaign.total_prizes_jpy * 50 > campaign.planned_sales_jpy:
            found.append(
                Violation(
                    "G10",
                    "total_prizes_jpy",
                    "all prizes together may be worth at most 2% of the planned sales",
                )
            )
    return found


def validate_campaign(raw: Mapping[str, Any]) -> tuple[Campaign | None, list[Violation]]:
    """Parse and check a submitted campaign; a set-completion condition is refused as G1."""
    violations = set_completion_attempts(raw)
    g1_paths = {v.path for v in violations}
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as error:
        for problem in error.errors():
            path = ".".join(str(part) for part in problem["loc"])
            if path not in g1_paths:
                violations.append(Violation(SCHEMA, path, problem["msg"]))
        return None, violations
    return campaign, violations + check_campaign(campaign)

"""The VTuber service's business settings, read from ``KOEPON_`` environment variables."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from koepon.kernel.settings import Settings, load_service_settings

SERVICE = "vtuber"
# 仕入税額控除の経過措置 for purchases from unregistered suppliers (COMPLIANCE R3): from each date,
# the percentage of the input tax that may still be deducted.
DEFAULT_DEDUCTION_SCHEDULE = "2023-10-01:80,2026-10-01:50,2029-10-01:0"


class VtuberSettings(BaseSettings):
    """Revenue share, invitations, payouts. Each field documents its environment variable."""

    model_config = SettingsConfigDict(env_prefix="KOEPON_", extra="ignore")

    default_revenue_share_bp: int = Field(
        7000,
        ge=0,
        le=10000,
        description="KOEPON_DEFAULT_REVENUE_SHARE_BP: a new VTuber's part of the yen value of "
        "paid medals spent on their gachas, in basis points (R1; 7000 = 70%)",
    )
    invitation_days: int = Field(
        7, ge=1, le=60, description="KOEPON_INVITATION_DAYS: how long a team invitation is open"
    )
    input_tax_deduction_schedule: str = Field(
        DEFAULT_DEDUCTION_SCHEDULE,
        description="KOEPON_INPUT_TAX_DEDUCTION_SCHEDULE: date:percent pairs; from each date, "
        "the input-tax deduction percentage for VTubers without an invoice number (R3)",
    )
    payout_company_code: str = Field(
        "0000000000",
        pattern=r"^\d{10}$",
        description="KOEPON_PAYOUT_COMPANY_CODE: 委託者コード of the 全銀 transfer file",
    )
    payout_company_name: str = Field(
        "ｺｴﾎﾟﾝ(ｶ",
        max_length=40,
        description="KOEPON_PAYOUT_COMPANY_NAME: 委託者名 (half-width kana) of the 全銀 file",
    )
    payout_bank_code: str = Field(
        "0000", pattern=r"^\d{4}$", description="KOEPON_PAYOUT_BANK_CODE: paying bank's code"
    )
    payout_branch_code: str = Field(
        "000", pattern=r"^\d{3}$", description="KOEPON_PAYOUT_BRANCH_CODE: paying branch's code"
    )
    payout_account_type: str = Field(
        "1", pattern=r"^[129]$", description="KOEPON_PAYOUT_ACCOUNT_TYPE: 1 普通, 2 当座, 9 その他"
    )
    payout_account_number: str = Field(
        "0000000",
        pattern=r"^\d{7}$",
        description="KOEPON_PAYOUT_ACCOUNT_NUMBER: paying account number",
    )

    @field_validator("input_tax_deduction_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        deduction_schedule(value)
        return value

    def deduction_schedule(self) -> list[tuple[date, int]]:
        return deduction_schedule(self.input_tax_deduction_schedule)


def deduction_schedule(text: str) -> list[tuple[date, int]]:
    """``"2023-10-01:80,2026-10-01:50"`` → sorted ``[(date, percent), …]``."""
    pairs: list[tuple[date, int]] = []
    for part in text.split(","):
        day, _, pct = part.strip().partition(":")
        percent = int(pct)
        if not 0 <= percent <= 100:
            raise ValueError(f"deduction percentage {percent} is not 0–100")
        pairs.append((date.fromisoformat(day), percent))
    if not pairs:
        raise ValueError("the deduction schedule is empty")
    return sorted(pairs)


def load(settings: Settings) -> VtuberSettings:
    return load_service_settings(VtuberSettings, settings, SERVICE)

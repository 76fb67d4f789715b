"""Medal pack payloads: what the public catalogue shows and what operators send."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class MedalPackRead(BaseModel):
    """A pack as fans see it: every price tax-included (COMPLIANCE P3)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    price_jpy: int = Field(description="Price in yen, tax included")
    tax_jpy: int = Field(description="Consumption tax contained in price_jpy")
    tax_rate_percent: int
    paid_medals: int = Field(description="有償 medals credited")
    bonus_medals: int = Field(description="無償 (free) medals credited as a bonus")
    total_medals: int
    price_label: str = Field(description='e.g. "1,100円(税込)"')


class MedalPackAdminRead(MedalPackRead):
    active: bool
    sort_order: int
    created_at: datetime
    updated_at: datetime


class MedalPackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    price_jpy: StrictInt = Field(description="Tax-included price in yen")
    paid_medals: StrictInt
    bonus_medals: StrictInt = 0
    sort_order: int = Field(0, ge=-1000, le=1000)
    active: bool = True


class MedalPackUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    price_jpy: StrictInt | None = None
    paid_medals: StrictInt | None = None
    bonus_medals: StrictInt | None = None
    sort_order: int | None = Field(None, ge=-1000, le=1000)
    active: bool | None = None

"""Medal pack table: the operator-managed catalogue of what fans can buy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.payment.models import Base


class MedalPack(Base):
    """A pack: tax-included price (COMPLIANCE P3), paid medals and bonus free medals (M1)."""

    __tablename__ = "medal_packs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    price_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tax_rate_percent: Mapped[int] = mapped_column(Integer, nullable=False)
    tax_jpy: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_medals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bonus_medals: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("price_jpy > 0 AND tax_jpy >= 0", name="ck_medal_packs_price"),
        CheckConstraint("paid_medals > 0 AND bonus_medals >= 0", name="ck_medal_packs_medals"),
    )

"""Sales facts: one row per (draw, earning VTuber, kind), written from the gacha's events.

``kind`` is ``draw`` (from ``gacha.draw.completed.v1``) or ``reversal`` (from
``gacha.draw.reversed.v1``: the same figures negated, dated when the reversal happened). Each
row holds the draw's whole figures and this VTuber's part of its paid yen value
(``value_jpy``, split by the collab shares so that the parts of one draw sum to its whole).
``jst_day`` is the Asia/Tokyo calendar day of ``occurred_at``: days and months of sales and
statements are JST ones. The unique key is why a redelivered event never counts twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base


class SaleFact(Base):
    __tablename__ = "vtuber_sales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draw_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    vtuber_id: Mapped[str] = mapped_column(String(36), nullable=False)
    gacha_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    jst_day: Mapped[date] = mapped_column(Date, nullable=False)
    # the draw's whole figures (negated on a reversal row)
    draws: Mapped[int] = mapped_column(Integer, nullable=False)  # slots: 1 or 10
    price_medals: Mapped[int] = mapped_column(Integer, nullable=False)
    paid_medals: Mapped[int] = mapped_column(Integer, nullable=False)
    free_medals: Mapped[int] = mapped_column(Integer, nullable=False)
    paid_value_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    # this VTuber's part
    share_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    value_jpy: Mapped[int] = mapped_column(Integer, nullable=False)
    rarities: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # the payment ledger's transfer that spent the draw's medals (None: an event from before
    # the gacha sent it; such a draw cannot be checked against the medal ledger)
    transfer_id: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (
        UniqueConstraint("draw_id", "vtuber_id", "kind", name="uq_vtuber_sales_draw"),
        CheckConstraint("kind IN ('draw', 'reversal')", name="vtuber_sale_kind"),
        Index("ix_vtuber_sales_vtuber_day", "vtuber_id", "jst_day", "gacha_id"),
        Index("ix_vtuber_sales_gacha_day", "gacha_id", "jst_day"),
    )

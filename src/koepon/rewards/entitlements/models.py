"""The entitlements tables, on the rewards service's one ``Base``.

- ``entitlements``: what a fan owns. An ordinary item is one row per fan and item whose ``count``
  is the number of live grants (duplicates); a limited (serial-numbered) item is one row per
  serial, so a fan who wins it twice holds two rows.
- ``entitlement_grants``: one row per granted slot (``draw``: draw id and slot; ``exchange``:
  exchange id and slot 0); its primary key is why a redelivered event never counts twice.
- ``entitlement_serials``: the last serial handed out per item (gacha, item): bumped in the
  grant's transaction, so serials are unique (also by constraint) and gap-free.
- ``entitlement_draws``: per draw, granted or reversed; both the grant and the reversal write
  this row first, so they serialise on it and a reversal that arrives first blocks the grant.
- ``entitlement_rejected_events``: events whose payload broke the contract (kept for operators
  instead of retried forever).

Items are named by (gacha id, item id): an item id is unique within its gacha's configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.rewards.models import Base


class Entitlement(Base):
    __tablename__ = "entitlements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    vtuber_id: Mapped[str] = mapped_column(String(64), nullable=False)
    gacha_id: Mapped[str] = mapped_column(String(64), nullable=False)
    item_id: Mapped[str] = mapped_column(String(64), nullable=False)
    content_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rarity: Mapped[str] = mapped_column(String(8), nullable=False)
    limited: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Live grants behind this row: duplicates of an ordinary item; 1 (or 0 once revoked) for a
    # serial-numbered one.
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    serial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    serial_of: Mapped[int | None] = mapped_column(Integer, nullable=True)  # total copies if known
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)  # first grant
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('live', 'revoked')", name="entitlements_status"),
        CheckConstraint("count >= 0", name="entitlements_count"),
        CheckConstraint(
            "(limited AND serial IS NOT NULL AND serial >= 1 AND count <= 1)"
            " OR (NOT limited AND serial IS NULL)",
            name="entitlements_serial",
        ),
        # A serial is one copy: never two rows with the same number of the same item.
        UniqueConstraint("gacha_id", "item_id", "serial", name="uq_entitlements_serial"),
        # One row per fan and ordinary item (limited items: one row per serial).
        Index(
            "uq_entitlements_owner_item",
            "user_id",
            "gacha_id",
            "item_id",
            unique=True,
            postgresql_where=text("serial IS NULL"),
            sqlite_where=text("serial IS NULL"),
        ),
        Index("ix_entitlements_collection", "user_id", "granted_at", "id"),
    )


class EntitlementGrant(Base):
    __tablename__ = "entitlement_grants"

    source: Mapped[str] = mapped_column(String(12), primary_key=True)  # draw | exchange
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Set in the grant's own transaction, right after the entitlement row is written.
    entitlement_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("entitlements.id"), nullable=True, index=True
    )
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("source IN ('draw', 'exchange')", name="entitlement_grants_source"),
    )


class SerialCounter(Base):
    __tablename__ = "entitlement_serials"

    gacha_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (CheckConstraint("last_serial >= 1", name="entitlement_serials_positive"),)


class DrawState(Base):
    __tablename__ = "entitlement_draws"

    draw_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)  # granted | reversed
    granted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("state IN ('granted', 'reversed')", name="entitlement_draws_state"),
    )


class RejectedEvent(Base):
    __tablename__ = "entitlement_rejected_events"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(200), nullable=False)
    error: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

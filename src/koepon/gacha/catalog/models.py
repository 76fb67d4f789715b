"""Catalogue tables: gachas, their append-only odds versions (COMPLIANCE G4) and box stock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from koepon.gacha.models import Base
from koepon.kernel.dbtypes import UtcDateTime


class Gacha(Base):
    """A gacha as its VTuber's team edits it and an operator reviews it.

    ``draft`` is the configuration being edited (a ``GachaConfig`` as JSON); what fans draw from
    is never the draft but a published ``OddsVersion``. ``status``: draft → submitted →
    approved | rejected; approved → ended. Live = approved and inside the version's period.
    """

    __tablename__ = "gachas"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The newest published odds version (None until first approved).
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Counts the catalogue events published for this gacha (``gacha.catalog.changed.v1``
    # carries it as ``revision``): consumers keep the highest they saw.
    catalog_revision: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )

    __table_args__ = (
        CheckConstraint("kind IN ('weighted', 'box')", name="gachas_kind"),
        CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'rejected', 'ended')",
            name="gachas_status",
        ),
    )


class OddsVersionRow(Base):
    """One published odds version: a frozen configuration. Rows are never updated or deleted
    (database triggers refuse it, COMPLIANCE G4); a change is the next version."""

    __tablename__ = "gacha_odds_versions"

    gacha_id: Mapped[str] = mapped_column(String(36), ForeignKey("gachas.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    change_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    published_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        CheckConstraint("version >= 1", name="odds_version_positive"),
        CheckConstraint("effective_at >= published_at", name="odds_version_notice"),
    )


class BoxStock(Base):
    """What is left in a box gacha, per item; taken atomically by the draw saga."""

    __tablename__ = "gacha_box_stock"

    gacha_id: Mapped[str] = mapped_column(String(36), ForeignKey("gachas.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # the published order
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remaining: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= total", name="box_stock_bounds"),
        Index("ix_gacha_box_stock_order", "gacha_id", "position"),
    )


class OddsProposal(Base):
    """A changed configuration of an approved gacha proposed by its VTuber's team: draft →
    submitted → approved (published as the next odds version) | rejected. ``open_for`` holds the
    gacha's id while the proposal is open (draft or submitted) and NULL once decided, so a
    unique constraint keeps one open proposal per gacha whatever runs concurrently."""

    __tablename__ = "gacha_odds_proposals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    gacha_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("gachas.id"), nullable=False, index=True
    )
    vtuber_id: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    open_for: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    # The odds version in force for the team when it wrote the proposal (approval wants it
    # still to be the newest).
    base_version: Mapped[int] = mapped_column(Integer, nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    change_note: Mapped[str] = mapped_column(Text, nullable=False)
    requested_effective_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The odds version the approval published.
    published_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'rejected')",
            name="odds_proposals_status",
        ),
        CheckConstraint(
            "(open_for IS NULL) = (status IN ('approved', 'rejected'))",
            name="odds_proposals_open",
        ),
        Index("ix_gacha_odds_proposals_queue", "status", "created_at", "id"),
    )

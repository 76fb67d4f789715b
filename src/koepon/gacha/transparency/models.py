"""The public draw log's tables: submitted records, sequenced leaves, tree nodes, checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from koepon.gacha.models import Base
from koepon.kernel.dbtypes import BigSerial, UtcDateTime


class PendingLeaf(Base):
    """A completed draw's record waiting to be sequenced into the log (written in the same
    transaction that completes the draw; the sequencer appends in ``seq`` order)."""

    __tablename__ = "draw_log_pending"

    seq: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    draw_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    record: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON, the leaf bytes
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Leaf(Base):
    """A sequenced leaf: index in the tree, the draw it records and the exact bytes hashed."""

    __tablename__ = "draw_log_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    draw_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    record: Mapped[str] = mapped_column(Text, nullable=False)
    logged_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Node(Base):
    """A stored hash of the tree: level 0 = leaf hashes; level k = complete subtrees of 2^k."""

    __tablename__ = "draw_log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class Head(Base):
    """The one row holding the log's size; the sequencer locks it (one appender at a time)."""

    __tablename__ = "draw_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Checkpoint(Base):
    """A signed tree head as published: a C2SP tlog-checkpoint signed note."""

    __tablename__ = "draw_log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_draw_log_checkpoints_signed", "signed_at"),)

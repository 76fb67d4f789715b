"""Queries of the draw log's tables: pending records, leaves, tree nodes, head, checkpoints."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.transparency.models import Checkpoint, Head, Leaf, Node, PendingLeaf

HEAD_ID = 1
NodeKey = tuple[int, int]  # (level, index)


def _insert_ignoring_conflicts(
    session: AsyncSession, table: type[PendingLeaf] | type[Checkpoint]
) -> postgresql.Insert | sqlite.Insert:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


# --- submitted records ---


async def add_pending(session: AsyncSession, draw_id: str, record: str, at: datetime) -> None:
    """Queue a record unless the draw is already queued (a concurrent submit simply wins)."""
    await session.execute(
        _insert_ignoring_conflicts(session, PendingLeaf),
        [{"draw_id": draw_id, "record": record, "submitted_at": at}],
    )


async def pending_batch(session: AsyncSession, limit: int) -> list[PendingLeaf]:
    query = select(PendingLeaf).order_by(PendingLeaf.seq).limit(limit)
    return list((await session.execute(query)).scalars())


async def delete_pending(session: AsyncSession, seqs: Collection[int]) -> None:
    if seqs:
        await session.execute(delete(PendingLeaf).where(PendingLeaf.seq.in_(list(seqs))))


# --- the head (one row, locked by the one appender) ---


async def lock_head(session: AsyncSession) -> Head:
    """The head row, locked FOR UPDATE until the transaction ends (SQLite: its write
    transactions are serialised already)."""
    query = select(Head).where(Head.id == HEAD_ID).with_for_update()
    head = (await session.execute(query)).scalar_one_or_none()
    if head is None:
        raise RuntimeError("the draw log's head row is missing (migration gacha_0001 adds it)")
    return head


async def head_size(session: AsyncSession) -> int:
    size = (await session.execute(select(Head.size).where(Head.id == HEAD_ID))).scalar_one()
    return int(size)


# --- leaves ---


async def logged_draw_ids(session: AsyncSession, draw_ids: Collection[str]) -> set[str]:
    if not draw_ids:
        return set()
    query = select(Leaf.draw_id).where(Leaf.draw_id.in_(list(draw_ids)))
    return set((await session.execute(query)).scalars())


async def is_logged(session: AsyncSession, draw_id: str) -> bool:
    return bool(await logged_draw_ids(session, [draw_id]))


async def leaf_of_draw(session: AsyncSession, draw_id: str) -> Leaf | None:
    return (await session.execute(select(Leaf).where(Leaf.draw_id == draw_id))).scalar_one_or_none()


async def leaves_between(session: AsyncSession, start: int, end: int) -> list[Leaf]:
    """Leaves with ``start <= leaf_index < end``, in index order."""
    query = (
        select(Leaf)
        .where(Leaf.leaf_index >= start, Leaf.leaf_index < end)
        .order_by(Leaf.leaf_index)
    )
    return list((await session.execute(query)).scalars())


async def add_leaves(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    if rows:
        await session.execute(insert(Leaf), rows)


# --- tree nodes ---


async def nodes(session: AsyncSession, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """The stored hashes of these (level, index) subtrees, in one query."""
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    if not by_level:
        return {}
    where = or_(
        *(
            and_(Node.level == level, Node.index.in_(sorted(set(indexes))))
            for level, indexes in by_level.items()
        )
    )
    rows = await session.execute(select(Node.level, Node.index, Node.hash).where(where))
    return {(int(level), int(index)): bytes(digest) for level, index, digest in rows}


async def add_nodes(session: AsyncSession, created: list[tuple[int, int, bytes]]) -> None:
    if created:
        await session.execute(
            insert(Node),
            [{"level": level, "index": index, "hash": digest} for level, index, digest in created],
        )


# --- checkpoints ---


async def latest_checkpoint(session: AsyncSession) -> Checkpoint | None:
    query = select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def checkpoint_of_size(session: AsyncSession, size: int) -> Checkpoint | None:
    return await session.get(Checkpoint, size)


async def add_checkpoint(
    session: AsyncSession, *, size: int, root_hash: bytes, note: str, at: datetime
) -> None:
    """Store a checkpoint unless one of that size is stored already (a concurrent publisher
    signed the same tree: Ed25519 is deterministic, so it is the same note)."""
    await session.execute(
        _insert_ignoring_conflicts(session, Checkpoint),
        [{"size": size, "root_hash": root_hash, "note": note, "signed_at": at}],
    )

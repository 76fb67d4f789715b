"""Queries of the catalogue's tables: gachas, odds versions (insert only), box stock and the
teams' odds proposals."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog.models import BoxStock, Gacha, OddsProposal, OddsVersionRow

Keyset = tuple[datetime, str]  # (created_at, id) of the last row of the previous page


async def gacha(session: AsyncSession, gacha_id: str, *, lock: bool = False) -> Gacha | None:
    if len(gacha_id) > 36:
        return None
    query = select(Gacha).where(Gacha.id == gacha_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def add_gacha(session: AsyncSession, row: Gacha) -> None:
    session.add(row)


async def gachas(
    session: AsyncSession,
    *,
    limit: int,
    after: Keyset | None = None,
    vtuber_id: str | None = None,
    statuses: Collection[str] | None = None,
    oldest_first: bool = False,
) -> list[Gacha]:
    """A page of gachas by (created_at, id): newest first, or oldest first (review queue)."""
    query = select(Gacha).limit(limit)
    if vtuber_id is not None:
        query = query.where(Gacha.vtuber_id == vtuber_id)
    if statuses is not None:
        query = query.where(Gacha.status.in_(list(statuses)))
    if oldest_first:
        query = query.order_by(Gacha.created_at, Gacha.id)
    else:
        query = query.order_by(Gacha.created_at.desc(), Gacha.id.desc())
    if after is not None:
        moment, key = after
        if oldest_first:
            query = query.where(
                (Gacha.created_at > moment) | ((Gacha.created_at == moment) & (Gacha.id > key))
            )
        else:
            query = query.where(
                (Gacha.created_at < moment) | ((Gacha.created_at == moment) & (Gacha.id < key))
            )
    return list((await session.execute(query)).scalars())


async def versions(session: AsyncSession, gacha_id: str) -> list[OddsVersionRow]:
    """Every published version of a gacha, oldest first."""
    query = (
        select(OddsVersionRow)
        .where(OddsVersionRow.gacha_id == gacha_id)
        .order_by(OddsVersionRow.version)
    )
    return list((await session.execute(query)).scalars())


async def versions_of(
    session: AsyncSession, gacha_ids: Iterable[str]
) -> dict[str, list[OddsVersionRow]]:
    """Every published version of each gacha, oldest first."""
    ids = list(gacha_ids)
    found: dict[str, list[OddsVersionRow]] = {gacha_id: [] for gacha_id in ids}
    if not ids:
        return found
    query = (
        select(OddsVersionRow)
        .where(OddsVersionRow.gacha_id.in_(ids))
        .order_by(OddsVersionRow.gacha_id, OddsVersionRow.version)
    )
    for row in (await session.execute(query)).scalars():
        found[row.gacha_id].append(row)
    return found


async def version(session: AsyncSession, gacha_id: str, number: int) -> OddsVersionRow | None:
    if len(gacha_id) > 36:
        return None
    query = select(OddsVersionRow).where(
        OddsVersionRow.gacha_id == gacha_id, OddsVersionRow.version == number
    )
    return (await session.execute(query)).scalar_one_or_none()


def add_version(session: AsyncSession, row: OddsVersionRow) -> None:
    """Versions are only ever inserted (database triggers refuse UPDATE and DELETE, G4)."""
    session.add(row)


async def box_stock(session: AsyncSession, gacha_id: str, *, lock: bool = False) -> list[BoxStock]:
    """The box's lines in published order; ``lock``: FOR UPDATE until the transaction ends."""
    query = select(BoxStock).where(BoxStock.gacha_id == gacha_id).order_by(BoxStock.position)
    if lock:
        query = query.with_for_update()
    return list((await session.execute(query)).scalars())


def add_box_stock(session: AsyncSession, rows: Iterable[BoxStock]) -> None:
    session.add_all(list(rows))


async def proposal(
    session: AsyncSession, proposal_id: str, *, lock: bool = False
) -> OddsProposal | None:
    if len(proposal_id) > 36:
        return None
    query = select(OddsProposal).where(OddsProposal.id == proposal_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_proposal(session: AsyncSession, gacha_id: str) -> OddsProposal | None:
    query = select(OddsProposal).where(OddsProposal.open_for == gacha_id)
    return (await session.execute(query)).scalar_one_or_none()


def add_proposal(session: AsyncSession, row: OddsProposal) -> None:
    session.add(row)


async def proposals_of(session: AsyncSession, gacha_id: str, *, limit: int) -> list[OddsProposal]:
    """A gacha's proposals, newest first."""
    query = (
        select(OddsProposal)
        .where(OddsProposal.gacha_id == gacha_id)
        .order_by(OddsProposal.created_at.desc(), OddsProposal.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def proposals_in(
    session: AsyncSession, status: str, *, limit: int, after: Keyset | None = None
) -> list[OddsProposal]:
    """A page of proposals in ``status``, oldest first (the review queue)."""
    query = (
        select(OddsProposal)
        .where(OddsProposal.status == status)
        .order_by(OddsProposal.created_at, OddsProposal.id)
        .limit(limit)
    )
    if after is not None:
        moment, key = after
        query = query.where(
            (OddsProposal.created_at > moment)
            | ((OddsProposal.created_at == moment) & (OddsProposal.id > key))
        )
    return list((await session.execute(query)).scalars())

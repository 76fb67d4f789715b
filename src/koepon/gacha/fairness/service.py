"""Seed pairs (DESIGN.md "Fairness algorithm, version 1"): commit, allocate nonces, reveal.

A fan's active pair is created on first use. The draw saga takes nonces with ``allocate`` in
its own transaction (the pair row locked), so a fan's concurrent draws get disjoint nonces and
a rotation waits for a draw that is computing its outcome.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext
from koepon.gacha.fairness import repository
from koepon.gacha.fairness.models import SeedPair
from koepon.gacha.fairness.schemas import RevealedPair, Rotation, SeedAllocation, SeedsRead
from koepon.gacha.fairness.seeds import (
    check_client_seed,
    commitment,
    new_client_seed,
    new_server_seed,
)
from koepon.kernel.pagination import decode_keyset, encode_keyset


def _read(pair: SeedPair) -> SeedsRead:
    return SeedsRead(
        server_seed_hash=pair.server_seed_hash,
        client_seed=pair.client_seed,
        next_nonce=pair.next_nonce,
    )


def revealed(pair: SeedPair) -> RevealedPair:
    assert pair.revealed_at is not None
    return RevealedPair(
        server_seed=pair.server_seed.hex(),
        server_seed_hash=pair.server_seed_hash,
        client_seed=pair.client_seed,
        last_nonce=pair.next_nonce - 1 if pair.next_nonce else None,
        created_at=pair.created_at,
        revealed_at=pair.revealed_at,
    )


class Seeds:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx

    def _new_pair(self, user_id: str, client_seed: str | None = None) -> SeedPair:
        seed = new_server_seed()
        return SeedPair(
            id=str(uuid.uuid4()),
            user_id=user_id,
            active_user_id=user_id,
            server_seed=seed,
            server_seed_hash=commitment(seed),
            client_seed=client_seed or new_client_seed(),
            next_nonce=0,
            created_at=self.ctx.now(),
        )

    async def _active(self, session: AsyncSession, user_id: str) -> SeedPair:
        """The fan's active pair, locked; created (in a savepoint, so a concurrent creator
        simply wins) when the fan has none."""
        pair = await repository.active_pair(session, user_id, lock=True)
        if pair is not None:
            return pair
        try:
            async with session.begin_nested():
                session.add(self._new_pair(user_id))
        except IntegrityError:
            pass  # another request created it meanwhile
        pair = await repository.active_pair(session, user_id, lock=True)
        assert pair is not None
        return pair

    async def current(self, session: AsyncSession, user_id: str) -> SeedsRead:
        return _read(await self._active(session, user_id))

    async def allocate(self, session: AsyncSession, user_id: str, count: int) -> SeedAllocation:
        """Take ``count`` consecutive nonces of the fan's active pair (locked until ``session``
        ends)."""
        if count < 1:
            raise ValueError("a draw takes at least one nonce")
        pair = await self._active(session, user_id)
        first = pair.next_nonce
        pair.next_nonce = first + count
        await session.flush()
        return SeedAllocation(
            pair_id=pair.id,
            server_seed=pair.server_seed,
            server_seed_hash=pair.server_seed_hash,
            client_seed=pair.client_seed,
            first_nonce=first,
        )

    async def set_client_seed(
        self, session: AsyncSession, user_id: str, client_seed: str
    ) -> SeedsRead:
        """The fan's own client seed for the next slots (the server seed stays committed)."""
        pair = await self._active(session, user_id)
        pair.client_seed = check_client_seed(client_seed)
        await session.flush()
        return _read(pair)

    async def rotate(self, session: AsyncSession, user_id: str) -> Rotation:
        """Reveal the active server seed and commit a new one (keeping the client seed)."""
        old = await self._active(session, user_id)
        old.active_user_id = None
        old.revealed_at = self.ctx.now()
        await session.flush()
        new = self._new_pair(user_id, old.client_seed)
        session.add(new)
        await session.flush()
        return Rotation(
            **revealed(old).model_dump(),
            new_server_seed_hash=new.server_seed_hash,
            new_client_seed=new.client_seed,
        )

    async def revealed_seed(self, session: AsyncSession, pair_id: str) -> bytes | None:
        """The server seed of a pair once revealed; None while it is still committed."""
        pair = await repository.pair(session, pair_id)
        if pair is None or pair.revealed_at is None:
            return None
        return pair.server_seed

    async def history(
        self, session: AsyncSession, user_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[RevealedPair], str | None]:
        """The fan's revealed pairs, newest first, a page at a time."""
        after = decode_keyset(cursor) if cursor else None
        pairs = await repository.revealed_pairs(session, user_id, limit=limit + 1, after=after)
        more = len(pairs) > limit
        pairs = pairs[:limit]
        last = pairs[-1] if more and pairs else None
        return [revealed(p) for p in pairs], (
            encode_keyset(last.created_at, last.id) if last is not None else None
        )

"""交換ポイント (COMPLIANCE G2): a fan spends points earned by paid draws on a chosen item.

One exchange per (fan, ``Idempotency-Key``); the fan's gacha state is locked while the points
are spent, so concurrent exchanges can never spend the same points twice.
"""

from __future__ import annotations

import uuid

from koepon.contracts.gacha import ItemExchanged
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository
from koepon.gacha.draws.models import Exchange
from koepon.gacha.draws.schemas import ExchangeRead
from koepon.gacha.errors import KeyReused
from koepon.gacha.odds.exchange import spend


def _read(row: Exchange, points_left: int) -> ExchangeRead:
    return ExchangeRead(
        id=row.id,
        gacha_id=row.gacha_id,
        item_id=row.item_id,
        points=row.points,
        points_left=points_left,
        created_at=row.created_at,
    )


class Exchanges:
    def __init__(self, ctx: GachaContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.catalog = catalog

    async def exchange(
        self, *, user_id: str, gacha_id: str, item_id: str, key: str, fingerprint: str
    ) -> tuple[ExchangeRead, bool]:
        """Spend the item's cost in points; (the exchange, whether it is new)."""
        live = await self.catalog.live(gacha_id)
        async with self.ctx.db.transaction() as session:
            state = await repository.fan_state(session, user_id, gacha_id, lock=True)
            earlier = await repository.exchange_by_key(session, user_id, key)
            if earlier is not None:
                if earlier.fingerprint != fingerprint:
                    raise KeyReused("This Idempotency-Key was already used for a different request")
                return _read(earlier, state.points), False
            left = spend(state.points, item_id=item_id, rule=live.config.exchange)
            item = live.config.item(item_id)
            assert item is not None  # spend() refuses items the gacha does not offer
            row = Exchange(
                id=str(uuid.uuid4()),
                user_id=user_id,
                idempotency_key=key,
                fingerprint=fingerprint,
                gacha_id=gacha_id,
                item_id=item_id,
                points=state.points - left,
                created_at=self.ctx.now(),
            )
            state.points = left
            session.add(row)
            await self.ctx.outbox.add(
                session,
                ItemExchanged(
                    exchange_id=row.id,
                    user_id=user_id,
                    gacha_id=gacha_id,
                    vtuber_id=live.vtuber_id,
                    item_id=item_id,
                    content_id=item.content_id,
                    rarity=item.rarity.value,
                    points=row.points,
                    exchanged_at=row.created_at,
                ),
            )
            return _read(row, left), True

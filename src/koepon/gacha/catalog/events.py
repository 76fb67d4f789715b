"""``gacha.catalog.changed.v1`` (contracts/gacha.py): the VTuber service keeps its own copy of
each gacha (its profile's live gachas, sales' titles and box sell-through, collab shares).

Published through the outbox in the transaction of the change itself — submission, approval,
rejection, a new odds version, the end — with the gacha's revision counter raised under the
row's lock, so revisions of one gacha strictly increase in the order the changes committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import GachaCatalogChanged
from koepon.contracts.vtuber import RevenueShare
from koepon.gacha.catalog.models import Gacha
from koepon.gacha.context import GachaContext
from koepon.gacha.odds.model import GachaConfig
from koepon.kernel.clock import as_utc

Status = Literal["draft", "submitted", "approved", "rejected", "ended"]


def shares_of(config: GachaConfig) -> list[RevenueShare]:
    """Who earns from a draw of this configuration: a collab's split, empty for a solo gacha
    (all to its VTuber). ``DrawCompleted``, ``DrawReversed`` and catalogue events carry it."""
    return [
        RevenueShare(vtuber_id=line.vtuber_id, share_bp=line.share_bp)
        for line in config.revenue_shares
    ]


def catalog_changed(row: Gacha, config: GachaConfig, now: datetime) -> GachaCatalogChanged:
    """The event for ``row`` as it stands now; ``config`` is the configuration that applies
    (the newest published version's, or the draft's before approval)."""
    ends = config.period.ends_at
    return GachaCatalogChanged(
        gacha_id=row.id,
        vtuber_id=row.vtuber_id,
        revision=row.catalog_revision,
        title=row.title,
        kind=config.kind,
        status=cast(Status, row.status),
        price_medals=config.price_medals,
        starts_at=as_utc(config.period.starts_at),
        ends_at=as_utc(ends) if ends is not None else None,
        box_stock=sum(line.count for line in config.box) if config.kind == "box" else None,
        shares=shares_of(config),
        changed_at=now,
    )


async def announce(
    ctx: GachaContext, session: AsyncSession, row: Gacha, config: GachaConfig
) -> None:
    """Raise the gacha's revision and publish the change (``row`` is locked by the caller)."""
    row.catalog_revision = (row.catalog_revision or 0) + 1
    await ctx.outbox.add(session, catalog_changed(row, config, ctx.now()))

"""Medal pack use cases: the public catalogue and operators' changes to it."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.money import yen_label
from koepon.kernel.problems import Problem
from koepon.payment.context import PaymentContext
from koepon.payment.packs.models import MedalPack
from koepon.payment.packs.pricing import pack_problems, tax_included_in
from koepon.payment.packs.schemas import (
    MedalPackAdminRead,
    MedalPackCreate,
    MedalPackRead,
    MedalPackUpdate,
)


def price_label(price_jpy: int) -> str:
    return yen_label(price_jpy)


def pack_read(pack: MedalPack) -> MedalPackRead:
    return MedalPackRead(
        id=pack.id,
        name=pack.name,
        price_jpy=pack.price_jpy,
        tax_jpy=pack.tax_jpy,
        tax_rate_percent=pack.tax_rate_percent,
        paid_medals=pack.paid_medals,
        bonus_medals=pack.bonus_medals,
        total_medals=pack.paid_medals + pack.bonus_medals,
        price_label=price_label(pack.price_jpy),
    )


def pack_admin_read(pack: MedalPack) -> MedalPackAdminRead:
    return MedalPackAdminRead(
        **pack_read(pack).model_dump(),
        active=pack.active,
        sort_order=pack.sort_order,
        created_at=pack.created_at,
        updated_at=pack.updated_at,
    )


class MedalPacks:
    """The catalogue of medal packs."""

    def __init__(self, ctx: PaymentContext) -> None:
        self.ctx = ctx

    async def list(
        self, session: AsyncSession, *, include_inactive: bool = False
    ) -> list[MedalPack]:
        query = select(MedalPack).order_by(MedalPack.sort_order, MedalPack.price_jpy, MedalPack.id)
        if not include_inactive:
            query = query.where(MedalPack.active.is_(True))
        return list((await session.scalars(query)).all())

    async def get(
        self, session: AsyncSession, pack_id: str, *, for_sale: bool = False
    ) -> MedalPack:
        pack = await session.get(MedalPack, pack_id)
        if pack is None or (for_sale and not pack.active):
            raise Problem(404, "medal_pack_not_found", "No medal pack on sale with this id")
        return pack

    def _validate(self, *, price_jpy: int, paid_medals: int, bonus_medals: int) -> None:
        problems = pack_problems(
            price_jpy=price_jpy,
            paid_medals=paid_medals,
            bonus_medals=bonus_medals,
            max_bonus_percent=self.ctx.payment_settings.medal_pack_max_bonus_percent,
        )
        if problems:
            raise Problem(422, "medal_pack_invalid", "; ".join(problems), problems=problems)

    async def create(
        self, session: AsyncSession, *, data: MedalPackCreate, pack_id: str | None = None
    ) -> MedalPack:
        self._validate(
            price_jpy=data.price_jpy, paid_medals=data.paid_medals, bonus_medals=data.bonus_medals
        )
        now = self.ctx.now()
        rate = self.ctx.payment_settings.consumption_tax_percent
        pack = MedalPack(
            id=pack_id or str(uuid.uuid4()),
            name=data.name,
            price_jpy=data.price_jpy,
            tax_rate_percent=rate,
            tax_jpy=tax_included_in(data.price_jpy, rate),
            paid_medals=data.paid_medals,
            bonus_medals=data.bonus_medals,
            active=data.active,
            sort_order=data.sort_order,
            created_at=now,
            updated_at=now,
        )
        session.add(pack)
        await session.flush()
        return pack

    async def update(
        self, session: AsyncSession, *, pack_id: str, data: MedalPackUpdate
    ) -> MedalPack:
        """Change a pack. Checkouts already made keep the price and medals they were made with."""
        pack = await self.get(session, pack_id)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        price = changes.get("price_jpy", pack.price_jpy)
        self._validate(
            price_jpy=price,
            paid_medals=changes.get("paid_medals", pack.paid_medals),
            bonus_medals=changes.get("bonus_medals", pack.bonus_medals),
        )
        for name, value in changes.items():
            setattr(pack, name, value)
        pack.tax_rate_percent = self.ctx.payment_settings.consumption_tax_percent
        pack.tax_jpy = tax_included_in(price, pack.tax_rate_percent)
        pack.updated_at = self.ctx.now()
        await session.flush()
        return pack

    async def deactivate(self, session: AsyncSession, *, pack_id: str) -> MedalPack:
        """Take a pack off sale (it is kept: receipts and checkouts refer to it)."""
        pack = await self.get(session, pack_id)
        pack.active = False
        pack.updated_at = self.ctx.now()
        await session.flush()
        return pack

    async def ensure(self, session: AsyncSession, *, pack_id: str, data: MedalPackCreate) -> bool:
        """Create a pack with a fixed id unless it exists (demo data); True if created."""
        if await session.get(MedalPack, pack_id) is not None:
            return False
        await self.create(session, data=data, pack_id=pack_id)
        return True

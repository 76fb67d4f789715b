"""VTuber test fixtures: the VTuber unit's context and services on the running platform."""

from __future__ import annotations

from koepon.app import Platform
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.services import VtuberServices
from koepon.vtuber.unit import VtuberUnit


def vtuber_unit(platform: Platform) -> VtuberUnit:
    unit = platform.units["vtuber"]
    assert isinstance(unit, VtuberUnit)
    return unit


def vtuber_context(platform: Platform) -> VtuberContext:
    ctx = vtuber_unit(platform).context
    assert ctx is not None
    return ctx


def vtuber_services(platform: Platform) -> VtuberServices:
    services = vtuber_unit(platform).services
    assert services is not None
    return services


async def approved_vtuber(
    platform: Platform, owner_user_id: str, *, vtuber_id: str | None = None, **fields: object
) -> str:
    """An approved VTuber owned by ``owner_user_id`` (registered directly, as the seed does)."""
    services = vtuber_services(platform)
    async with services.profiles.ctx.db.transaction() as session:
        return await services.profiles.register_approved(
            session,
            owner_user_id=owner_user_id,
            display_name=str(fields.pop("display_name", "テスト配信者")),
            vtuber_id=vtuber_id,
            **fields,  # type: ignore[arg-type]
        )

"""Gacha test fixtures: a desk that publishes gachas straight into the gacha database (so draw,
log and audit tests do not depend on the authoring workflow), signed-in fans with medals bought
through the sandbox provider, and the ledger audit after every platform test."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clocks import MovableClock
from gacha import samples
from koepon.app import Platform
from koepon.gacha.catalog.models import BoxStock, Gacha, OddsVersionRow
from koepon.gacha.context import GachaContext
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.versions import config_digest
from koepon.gacha.services import GachaServices
from koepon.gacha.unit import GachaUnit
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import Fan, Shop, shop_fixture  # noqa: F401 - the shop fixture
from vtuber.conftest import approved_vtuber, vtuber_services


def gacha_unit(platform: Platform) -> GachaUnit:
    unit = platform.units["gacha"]
    assert isinstance(unit, GachaUnit)
    return unit


def gacha_context(platform: Platform) -> GachaContext:
    ctx = gacha_unit(platform).context
    assert ctx is not None
    return ctx


def gacha_services(platform: Platform) -> GachaServices:
    services = gacha_unit(platform).services
    assert services is not None
    return services


@pytest.fixture
async def platform(platform: Platform) -> AsyncIterator[Platform]:
    """The root ``platform``, audited when the test ends: any broken invariant fails the test."""
    yield platform
    violations = await audit_ledger(platform.units["payment"].db)
    assert not violations, "ledger audit failed:\n" + "\n".join(violations)


def live_now(raw: dict[str, Any], *, days: int = 30) -> dict[str, Any]:
    """``raw`` with a period that started an hour ago."""
    start = datetime.now(UTC) - timedelta(hours=1)
    raw = dict(raw)
    raw["period"] = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=days)).isoformat(),
    }
    return raw


@dataclass
class Desk:
    """Publishes gachas directly (approved, odds version 1 in force) and funds fans."""

    client: httpx.AsyncClient
    platform: Platform
    shop: Shop

    @property
    def ctx(self) -> GachaContext:
        return gacha_context(self.platform)

    @property
    def services(self) -> GachaServices:
        return gacha_services(self.platform)

    def freeze(self, now: datetime) -> MovableClock:
        clock = MovableClock(now)
        self.ctx.clock.use(clock)
        return clock

    async def publish(
        self, raw: dict[str, Any], *, vtuber_id: str = "vt-demo", title: str = "テストガチャ"
    ) -> str:
        config = GachaConfig.model_validate(raw)
        gacha_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        async with self.ctx.db.transaction() as session:
            session.add(
                Gacha(
                    id=gacha_id,
                    vtuber_id=vtuber_id,
                    title=title,
                    description="",
                    kind=config.kind,
                    status="approved",
                    draft=config.model_dump(mode="json"),
                    current_version=1,
                    created_by="test",
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            session.add(
                OddsVersionRow(
                    gacha_id=gacha_id,
                    version=1,
                    config=config.model_dump(mode="json"),
                    digest=config_digest(config),
                    published_at=now - timedelta(hours=2),
                    effective_at=now - timedelta(hours=2),
                    change_note="",
                    published_by="test",
                )
            )
            for position, line in enumerate(config.box):
                session.add(
                    BoxStock(
                        gacha_id=gacha_id,
                        item_id=line.item_id,
                        position=position,
                        total=line.count,
                        remaining=line.count,
                    )
                )
        return gacha_id

    async def fan(self, *, medals: int = 0, free: int = 0, **kwargs: Any) -> Fan:
        """A signed-in fan holding ``medals`` paid medals (bought through the sandbox) and
        ``free`` free medals (granted)."""
        fan = await self.shop.fan(**kwargs)
        if medals:
            pack = await self.shop.pack(price_jpy=medals, paid_medals=medals)
            await self.shop.buy(fan, pack)
        if free:
            async with self.shop.ctx.db.transaction() as session:
                await self.shop.services.wallets.issue_lot(
                    session,
                    user_id=fan.id,
                    kind="free",
                    medals=free,
                    price_jpy=0,
                    source="test",
                    transfer_id=f"test-free-{uuid.uuid4().hex}",
                )
        return fan


@pytest.fixture(name="desk")
async def desk_fixture(client: httpx.AsyncClient, platform: Platform, shop: Shop) -> Desk:
    return Desk(client, platform, shop)


# The content ids the sample configurations use (tests/gacha/samples.py).
SAMPLE_CONTENT_IDS = frozenset(
    item["content_id"]
    for raw in (samples.weighted_raw(), samples.box_raw())
    for item in raw["items"]
)


async def vtuber_owner(platform: Platform, vtuber_id: str) -> str:
    """The owner of the approved VTuber ``vtuber_id``, registered (owned by an account of the
    same id) if the VTuber service does not know it yet."""
    profiles = vtuber_services(platform).profiles
    async with profiles.ctx.db.transaction(read_only=True) as session:
        profile = await profiles.get(session, vtuber_id)
    if profile is not None:
        return str(profile.owner_user_id)
    await approved_vtuber(platform, vtuber_id, vtuber_id=vtuber_id)
    return vtuber_id


async def team_member(platform: Platform, vtuber_id: str, user_id: str, role: str) -> None:
    """``user_id`` joins VTuber ``vtuber_id``'s team as ``role`` (written straight into the
    VTuber service's table, as an accepted invitation would)."""
    from koepon.vtuber.teams.models import Member

    ctx = vtuber_services(platform).profiles.ctx
    async with ctx.db.transaction() as session:
        session.add(
            Member(
                vtuber_id=vtuber_id,
                user_id=user_id,
                role=role,
                added_by="test",
                added_at=datetime.now(UTC),
            )
        )


class VtuberServiceDown:
    """A VTuber client whose service cannot be reached (``monkeypatch`` it into
    ``platform.clients.vtuber``)."""

    def __init__(self) -> None:
        self.asked = 0

    async def permissions(self, vtuber_id: str, user_id: str, roles: frozenset[str]) -> Any:
        from koepon.contracts.vtuber import VtuberUnavailable

        self.asked += 1
        raise VtuberUnavailable("connection refused")

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        from koepon.contracts.vtuber import VtuberUnavailable

        self.asked += 1
        raise VtuberUnavailable("connection refused")


async def upload_content(platform: Platform, vtuber_id: str, title: str) -> str:
    """A real, ready content of ``vtuber_id`` (a small picture through the rewards upload, by
    the VTuber's owner)."""
    from koepon.demo_files import demo_picture
    from koepon.rewards.contents.schemas import Actor, Upload

    contents = platform.units["rewards"].services.contents  # type: ignore[attr-defined]
    picture = demo_picture(title[:40], 200, size=(64, 64))
    owner = await vtuber_owner(platform, vtuber_id)
    made = await contents.upload(
        Actor(owner, frozenset()),
        vtuber_id,
        Upload(title, picture, "image/png", "sample.png"),
    )
    return str(made.id)


async def with_real_contents(
    platform: Platform, vtuber_id: str, raw: dict[str, Any], known: dict[str, str]
) -> dict[str, Any]:
    """``raw`` whose sample content ids point at real contents of ``vtuber_id`` (uploaded once
    into ``known``), as G8 wants at submission; any other content id is left as the test set it."""
    raw = copy.deepcopy(raw)
    for item in raw.get("items", []):
        sample = item.get("content_id") if isinstance(item, dict) else None
        if sample in SAMPLE_CONTENT_IDS:
            if sample not in known:
                known[sample] = await upload_content(platform, vtuber_id, sample)
            item["content_id"] = known[sample]
    return raw

"""Demo data of API.md "Demo data", created idempotently through each service (never production)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import structlog

from koepon.demo_contents import seed_contents

log = structlog.get_logger(__name__)

DEMO_PASSWORD = "koepon-demo"  # noqa: S105 - published demo credential, refused in production
DEMO_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "email": "admin@demo.koepon.jp",
        "display_name": "こえポン運営",
        "roles": ["admin", "compliance", "support"],
        "birthdate": date(1990, 4, 1),
    },
    {
        "email": "vtuber@demo.koepon.jp",
        "display_name": "星宮ルナ",
        "roles": ["vtuber"],
        "birthdate": date(1998, 7, 7),
    },
    {
        "email": "fan@demo.koepon.jp",
        "display_name": "推し活ファン",
        "roles": ["fan"],
        "birthdate": date(1995, 12, 24),
    },
)


async def seed_demo(platform: Any) -> None:
    """Create whatever demo data is missing; running it again changes nothing."""
    if platform.settings.environment == "production":
        raise RuntimeError("Demo data is never created in production settings")
    await seed_accounts(platform)
    await seed_medal_packs(platform)
    await seed_vtubers(platform)
    await seed_gachas(platform)


async def seed_accounts(platform: Any) -> None:
    auth = platform.units.get("auth")
    if auth is None:
        log.info("seed.skipped", part="accounts", reason="auth service not in this process")
        return
    service = auth.client.service
    async with service.db.transaction() as session:
        for account in DEMO_ACCOUNTS:
            if await service.email_taken(session, account["email"]):
                continue
            await service.signup(
                session,
                email=account["email"],
                password=DEMO_PASSWORD,
                display_name=account["display_name"],
                birthdate=account["birthdate"],
                roles=account["roles"],
                email_verified=True,
                check_password=False,  # the published demo password (never in production)
            )
            log.info("seed.account_created", email=account["email"])


# --- medal packs (issue 4: medal purchases) -------------------------------------------------
# (name, tax-included price in yen, paid medals, bonus free medals); ids are fixed so that
# seeding twice finds them.
DEMO_MEDAL_PACKS: tuple[tuple[str, int, int, int], ...] = (
    ("お試しパック", 120, 120, 0),
    ("ミニパック", 490, 490, 0),
    ("スタンダードパック", 1_100, 1_100, 50),
    ("たっぷりパック", 3_060, 3_060, 200),
    ("推し活パック", 5_000, 5_000, 500),
    ("全力推しパック", 10_000, 10_000, 1_500),
)


async def seed_medal_packs(platform: Any) -> None:
    payment = platform.units.get("payment")
    if payment is None:
        log.info("seed.skipped", part="medal_packs", reason="payment service not in this process")
        return
    import uuid

    from koepon.payment.packs.schemas import MedalPackCreate

    packs = payment.services.packs
    async with payment.db.transaction() as session:
        for order, (name, price_jpy, paid, bonus) in enumerate(DEMO_MEDAL_PACKS):
            pack_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"koepon:demo:medal-pack:{price_jpy}"))
            created = await packs.ensure(
                session,
                pack_id=pack_id,
                data=MedalPackCreate(
                    name=name,
                    price_jpy=price_jpy,
                    paid_medals=paid,
                    bonus_medals=bonus,
                    sort_order=order,
                ),
            )
            if created:
                log.info("seed.medal_pack_created", name=name, price_jpy=price_jpy)


# --- demo gachas (gacha catalogue) ------------------------------------------------------------
# Created through the catalogue's own use cases (draft → submit → approve) by the demo VTuber,
# with fixed ids so that seeding twice finds them. The periods start when first seeded and have
# no end, so the demo gachas stay live.
DEMO_VTUBER_EMAIL = "vtuber@demo.koepon.jp"
DEMO_REVIEWER = "seed"


def demo_gacha_id(slug: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"koepon:demo:gacha:{slug}"))


def _demo_weighted(starts_at: str, contents: dict[str, str]) -> dict[str, Any]:
    """星宮ルナ's first gacha: 300 medals a draw, 10連 3,000 with an SR-or-better 10th slot,
    a ceiling at 200 draws (天井) and exchange points (1 a paid draw, 200 buy the UR)."""
    items = [
        ("luna-voice-morning", "N", "おはようボイス", 300_000),
        ("luna-voice-night", "N", "おやすみボイス", 300_000),
        ("luna-wallpaper-spring", "R", "春の壁紙", 140_000),
        ("luna-wallpaper-summer", "R", "夏の壁紙", 140_000),
        ("luna-illust-stage", "SR", "ライブ衣装イラスト", 45_000),
        ("luna-illust-casual", "SR", "私服イラスト", 45_000),
        ("luna-video-birthday", "SSR", "誕生日メッセージ動画", 27_000),
        ("luna-asmr-special", "UR", "特別ASMR", 3_000),
    ]
    return {
        "kind": "weighted",
        "price_medals": 300,
        "price_jpy": 300,
        "period": {"starts_at": starts_at, "ends_at": None},
        "items": [
            {"item_id": i, "content_id": contents.get(i, f"demo-{i}"), "rarity": r, "name": n}
            for i, r, n, _ in items
        ],
        "main": [{"item_id": i, "weight": w} for i, _, _, w in items],
        "multi": {
            "count": 10,
            "price_medals": 3000,
            "price_jpy": 3000,
            "guaranteed": {
                "min_rarity": "SR",
                "table": [
                    {"item_id": "luna-illust-stage", "weight": 450},
                    {"item_id": "luna-illust-casual", "weight": 450},
                    {"item_id": "luna-video-birthday", "weight": 90},
                    {"item_id": "luna-asmr-special", "weight": 10},
                ],
            },
        },
        "pity": {
            "draws": 200,
            "min_rarity": "UR",
            "table": [{"item_id": "luna-asmr-special", "weight": 1}],
        },
        "exchange": {
            "points_per_paid_draw": 1,
            "offers": [{"item_id": "luna-asmr-special", "cost_points": 200}],
        },
        "limits": {"max_draws": None, "max_draws_per_day": 300},
    }


def _demo_box(starts_at: str, contents: dict[str, str]) -> dict[str, Any]:
    """A box of 30 with three serial-numbered signed cheki (limited stock: box only, G5)."""
    return {
        "kind": "box",
        "price_medals": 500,
        "price_jpy": 500,
        "period": {"starts_at": starts_at, "ends_at": None},
        "items": [
            {
                "item_id": "luna-cheki-signed",
                "content_id": contents.get("luna-cheki-signed", "demo-luna-cheki-signed"),
                "rarity": "UR",
                "name": "直筆サイン入りチェキ(シリアル番号付き)",
                "stock": 3,
            },
            {
                "item_id": "luna-voice-box",
                "content_id": contents.get("luna-voice-box", "demo-luna-voice-box"),
                "rarity": "SR",
                "name": "BOX限定ボイス",
            },
            {
                "item_id": "luna-sticker",
                "content_id": contents.get("luna-sticker", "demo-luna-sticker"),
                "rarity": "R",
                "name": "デジタルステッカー",
            },
        ],
        "box": [
            {"item_id": "luna-cheki-signed", "count": 3},
            {"item_id": "luna-voice-box", "count": 9},
            {"item_id": "luna-sticker", "count": 18},
        ],
        "multi": {"count": 10, "price_medals": 5000, "price_jpy": 5000},
    }


DEMO_GACHAS: tuple[tuple[str, str, str, Any], ...] = (
    (
        "luna-first",
        "星宮ルナ 1stガチャ",
        "ボイス・イラスト・限定ASMR。10連はSR以上1枚確定、200連で天井。",
        _demo_weighted,
    ),
    (
        "luna-box",
        "星宮ルナ 限定チェキBOX",
        "30個入りのBOX。直筆サイン入りチェキ(シリアル番号付き)は3枚限定。",
        _demo_box,
    ),
)


async def _demo_vtuber_id(platform: Any) -> str | None:
    """The demo VTuber account's user id, which is also the demo VTuber's id (the id its demo
    gachas and contents have always used); the account owns the VTuber."""
    auth = platform.units.get("auth")
    if auth is None:
        return None
    from koepon.auth import repository as auth_repository
    from koepon.auth.emails import email_key

    service = auth.client.service
    async with service.db.transaction(read_only=True) as session:
        key = email_key(DEMO_VTUBER_EMAIL)
        user = await auth_repository.user_by_email(session, key) if key else None
    return None if user is None else str(user.id)


DEMO_VTUBER_NAME = "星宮ルナ"


async def seed_vtubers(platform: Any) -> None:
    """The demo VTuber, approved in the VTuber service and owned by the demo VTuber account
    (its team authors the demo gachas and uploads their contents)."""
    vtuber = platform.units.get("vtuber")
    vtuber_id = await _demo_vtuber_id(platform)
    if vtuber is None or vtuber_id is None:
        log.info("seed.skipped", part="vtubers", reason="vtuber or auth service not in process")
        return
    profiles = vtuber.services.profiles
    async with profiles.ctx.db.transaction() as session:
        if await profiles.get(session, vtuber_id) is not None:
            return
        await profiles.register_approved(
            session,
            owner_user_id=vtuber_id,
            display_name=DEMO_VTUBER_NAME,
            vtuber_id=vtuber_id,
            bio="歌とASMRが好きなVTuberです。",
        )
    log.info("seed.vtuber_created", vtuber_id=vtuber_id, display_name=DEMO_VTUBER_NAME)


async def seed_gachas(platform: Any) -> None:
    gacha = platform.units.get("gacha")
    vtuber_id = await _demo_vtuber_id(platform)
    if gacha is None or vtuber_id is None:
        log.info("seed.skipped", part="gachas", reason="gacha or auth service not in this process")
        return
    from koepon.gacha.catalog import repository as catalog_repository
    from koepon.gacha.catalog.checks import Actor
    from koepon.gacha.catalog.schemas import GachaDraftIn

    contents = await seed_contents(platform, vtuber_id)
    authoring, reviews = gacha.services.authoring, gacha.services.reviews
    author = Actor(vtuber_id, frozenset({"vtuber"}))
    starts_at = authoring.ctx.now().isoformat()
    for slug, title, description, config in DEMO_GACHAS:
        gacha_id = demo_gacha_id(slug)
        async with authoring.ctx.db.transaction() as session:
            row = await catalog_repository.gacha(session, gacha_id)
            if row is None:
                draft = GachaDraftIn(
                    title=title, description=description, config=config(starts_at, contents)
                )
                await authoring.create(session, author, vtuber_id, draft, gacha_id=gacha_id)
                await authoring.submit(session, author, gacha_id)
                created = True
            else:
                created = False
                if row.status == "draft":
                    await authoring.submit(session, author, gacha_id)
        # Approving an approved gacha publishes nothing: a second seed changes nothing.
        await reviews.approve(DEMO_REVIEWER, gacha_id)
        if created:
            log.info("seed.gacha_created", title=title, gacha_id=gacha_id)

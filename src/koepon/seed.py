"""Demo data of API.md "Demo data", created idempotently through each service (never production)."""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog

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

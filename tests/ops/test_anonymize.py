"""The staging copy (``koepon anonymize``): no email, name, birth date, legal name, bank number
or provider reference of production is left anywhere in it, every fan keeps their A2 age
bracket, and the ledger still balances."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from conftest import drop_database
from gacha import samples
from gacha.conftest import Desk, desk_fixture, live_now  # noqa: F401 - the desk fixture
from koepon.auth.age import age_bracket
from koepon.kernel.clock import jst_day
from koepon.kernel.db import Database
from koepon.kernel.settings import SERVICES, Settings
from koepon.ops.anonymize import anonymised_copy
from koepon.payment.wallet.audit import audit_ledger
from ops.conftest import drill_database
from payment.fixtures.shop import PASSWORD, Fan, shop_fixture  # noqa: F401 - the shop fixture
from vtuber.conftest import approved_vtuber

LEGAL_NAME = "山田 花子"
BANK = {
    "bank_code": "0005",
    "branch_code": "123",
    "account_type": "ordinary",
    "account_number": "7654321",
    "holder_kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
}
BIRTHDATES = {"minor": "2013-02-10", "teen": "2009-03-01", "adult": "1990-07-15"}


async def sign_up(desk: Desk, label: str, birthdate: str) -> dict[str, Any]:
    email = f"real-{label}-{uuid.uuid4().hex[:8]}@example.jp"
    name = f"本名{label}{uuid.uuid4().hex[:6]}"
    made = await desk.client.post(
        "/api/v1/auth/signup",
        json={"email": email, "password": PASSWORD, "display_name": name, "birthdate": birthdate},
    )
    assert made.status_code == 201, made.text
    login = await desk.client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    token = login.json()["access_token"]
    fan = Fan(made.json()["id"], email, token)
    return {"id": fan.id, "email": email, "name": name, "birthdate": birthdate, "fan": fan}


async def every_value(settings: Settings) -> list[str]:
    """Every value of every column of every table of every service, as text."""
    values: list[str] = []
    for service in SERVICES:
        url, schema = settings.database_url_for(service)
        db = Database(url, schema, pool_size=1)
        try:
            async with db.engine.connect() as conn:
                tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
                for table in tables:
                    rows = await conn.execute(text(f'SELECT * FROM "{table}"'))
                    values += [str(v) for row in rows for v in row if v is not None]
        finally:
            await db.dispose()
    return values


async def users_of(settings: Settings) -> dict[str, date]:
    url, schema = settings.database_url_for("auth")
    db = Database(url, schema, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id, birthdate FROM users"))).all()
    finally:
        await db.dispose()
    return {
        r.id: r.birthdate if isinstance(r.birthdate, date) else date.fromisoformat(r.birthdate)
        for r in rows
    }


@pytest.fixture
async def target(settings: Settings, backend: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Where the staging copy goes: another data dir, or another PostgreSQL database."""
    if backend == "embedded":
        yield settings.model_copy(update={"data_dir": tmp_path / "staging"})
        return
    database = drill_database()
    url = settings.database_url.rsplit("/", 1)[0] + "/" + database  # type: ignore[union-attr]
    try:
        yield settings.model_copy(update={"database_url": url})
    finally:
        await drop_database(database)


@pytest.mark.timeout(120)
async def test_the_staging_copy_keeps_the_books_and_brackets_but_nobody_s_data(
    desk: Desk, target: Settings
) -> None:
    platform = desk.platform
    fans = {label: await sign_up(desk, label, born) for label, born in BIRTHDATES.items()}
    adult = fans["adult"]
    pack = await desk.shop.pack(price_jpy=3000, paid_medals=3000)
    bought = await desk.shop.checkout(adult["fan"], pack)
    assert bought.status_code == 201, bought.text
    paid = await desk.shop.pay(bought.json()["id"])
    assert paid.status_code == 200, paid.text
    session = await desk.shop.sandbox.for_checkout(bought.json()["id"])
    assert session is not None
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    drawn = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws",
        json={"count": 1},
        headers=adult["fan"].ik(),
    )
    assert drawn.status_code in (200, 202), drawn.text
    owner = fans["minor"]["id"]  # any account may own a VTuber profile in this test
    await approved_vtuber(platform, owner, legal_name=LEGAL_NAME, bank=dict(BANK))
    await platform.drain()

    originals = [
        LEGAL_NAME,
        BANK["account_number"],
        BANK["holder_kana"],
        session.session_id,
        session.payment_id,
    ]
    for fan in fans.values():
        originals += [fan["email"], fan["name"], fan["birthdate"]]
    text_of_source = "\n".join(await every_value(platform.settings))
    originals += [json.dumps(v)[1:-1] for v in originals if json.dumps(v)[1:-1] != v]
    assert LEGAL_NAME in text_of_source and fans["adult"]["email"] in text_of_source

    names = await anonymised_copy(platform.settings, target)
    assert names.users == 3

    copied = await every_value(target)
    text_of_copy = "\n".join(copied)
    left = [value for value in originals if value in text_of_copy]
    assert left == [], f"personal data left in the staging copy: {left}"

    today = jst_day(datetime.now(UTC))
    shifted = await users_of(target)
    for fan in fans.values():
        born = date.fromisoformat(fan["birthdate"])
        assert shifted[fan["id"]] != born
        assert age_bracket(shifted[fan["id"]], today) == age_bracket(born, today)

    copy_db = Database(*target.database_url_for("payment"), pool_size=1)
    try:
        assert await audit_ledger(copy_db) == []
    finally:
        await copy_db.dispose()

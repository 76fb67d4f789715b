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
from gacha.conftest import (  # noqa: F401 - the desk fixture
    Desk,
    desk_fixture,
    live_now,
    with_real_contents,
)
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


async def rows_of(settings: Settings, service: str, sql: str) -> list[Any]:
    db = Database(*settings.database_url_for(service), pool_size=1)
    try:
        async with db.engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await db.dispose()


async def user_columns(settings: Settings) -> dict[str, set[str]]:
    """Every value of every column naming a user (``user_id``, ``*_user_id``), by table."""
    found: dict[str, set[str]] = {}
    for service in SERVICES:
        db = Database(*settings.database_url_for(service), pool_size=1)
        try:
            async with db.engine.connect() as conn:
                columns = await conn.run_sync(
                    lambda c: [
                        (t, col["name"])
                        for t in inspect(c).get_table_names()
                        for col in inspect(c).get_columns(t)
                        if col["name"] == "user_id" or col["name"].endswith("_user_id")
                    ]
                )
                for table, column in columns:
                    values = await conn.execute(text(f'SELECT "{column}" FROM "{table}"'))
                    found[f"{service}.{table}.{column}"] = {v for (v,) in values if v}
        finally:
            await db.dispose()
    return found


@pytest.mark.timeout(180)
async def test_a_subset_keeps_the_chosen_fans_and_everything_they_touched_and_the_books(
    desk: Desk, target: Settings
) -> None:
    from koepon.ops.subset import SubsetSpec, choose_fans
    from ops.test_recovery_drill import entitled

    platform = desk.platform
    operator = await desk.shop.fan(roles=["admin"])
    raw = await with_real_contents(platform, "vt-subset", live_now(samples.box_raw()), {})
    box_id = await desk.publish(raw, vtuber_id="vt-subset")
    weighted_id = await desk.publish(live_now(samples.weighted_raw()))
    pack = await desk.shop.pack(price_jpy=1100, paid_medals=1100)
    fans = [await sign_up(desk, f"f{n}", "1990-07-15") for n in range(8)]
    references: list[str] = []
    for n, fan in enumerate(fans):
        bought = await desk.shop.buy(fan["fan"], pack)
        session = await desk.shop.sandbox.for_checkout(bought["id"])
        assert session is not None
        references += [session.session_id, session.payment_id]
        for gacha_id in (box_id, weighted_id) if n % 2 else (box_id,):
            drawn = await desk.client.post(
                f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan["fan"].ik()
            )
            assert drawn.status_code in (200, 202), drawn.text
    for n, fan in enumerate(fans):
        await entitled(desk, fan["fan"], want=2 if n % 2 else 1)
    await platform.drain()
    source = platform.settings
    box_sql = f"SELECT SUM(total) AS t, SUM(remaining) AS r FROM gacha_box_stock WHERE gacha_id = '{box_id}'"  # noqa: E501
    [(total, left)] = await rows_of(source, "gacha", box_sql)
    assert total - left == len(fans)
    wallets_sql = "SELECT * FROM ledger_accounts WHERE user_id IS NOT NULL ORDER BY id"
    wallets_before = await rows_of(source, "payment", wallets_sql)

    names = await anonymised_copy(source, target, SubsetSpec(fans=3, seed=7))

    assert names.selection is not None
    fan_ids = {fan["id"] for fan in fans}
    users = await rows_of(source, "auth", "SELECT id, roles FROM users")
    roles = {r.id: json.loads(r.roles) if isinstance(r.roles, str) else r.roles for r in users}
    plain_fans = [user_id for user_id, held in roles.items() if held == ["fan"]]
    chosen = set(choose_fans(plain_fans, 3, 7))
    assert set(names.selection.fans) == chosen and len(chosen) == 3
    assert chosen <= fan_ids  # the seed chose among our fans (the fixture signs up nobody else)
    kept_users = {row.id for row in await rows_of(target, "auth", "SELECT id FROM users")}
    assert kept_users == chosen | {operator.id}

    # Every row that names a user names a kept one: nothing of a dropped fan is left anywhere.
    dropped = set(roles) - kept_users
    assert len(dropped) == len(fans) - 3
    for where, values in (await user_columns(target)).items():
        assert not values & dropped, f"{where} still names {values & dropped}"
    draws = await rows_of(target, "gacha", "SELECT user_id FROM draws")
    assert sorted(r.user_id for r in draws) == sorted(
        f["id"] for n, f in enumerate(fans) if f["id"] in chosen for _ in range(1 + n % 2)
    )
    entitlements = await rows_of(target, "rewards", "SELECT DISTINCT user_id FROM entitlements")
    assert {r.user_id for r in entitlements} == chosen

    # The books: the audit passes, kept wallets are untouched, dropped fans' box items are back.
    copy_db = Database(*target.database_url_for("payment"), pool_size=1)
    try:
        assert await audit_ledger(copy_db) == []
    finally:
        await copy_db.dispose()
    wallets_after = await rows_of(target, "payment", wallets_sql)
    assert wallets_after == [w for w in wallets_before if w.user_id in chosen]
    [(total_after, left_after)] = await rows_of(target, "gacha", box_sql)
    assert (total_after, total_after - left_after) == (total, len(chosen))

    # Nobody's email, name or provider reference is in the copy, kept fans' or dropped fans'.
    copied = "\n".join(await every_value(target))
    originals = [*references, operator.email]
    for fan in fans:
        originals += [fan["email"], fan["name"]]
    left_over = [value for value in originals if value in copied]
    assert left_over == [], f"personal data left in the staging copy: {left_over}"
    seeds = await rows_of(target, "gacha", "SELECT server_seed FROM seed_pairs")
    production = {
        bytes(r.server_seed)
        for r in await rows_of(source, "gacha", "SELECT server_seed FROM seed_pairs")
    }
    assert seeds and not {bytes(r.server_seed) for r in seeds} & production


def test_the_command_takes_a_count_or_a_fraction_of_fans_and_prints_the_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``koepon anonymize --fans`` on a migrated (empty) data directory: the subset runs and
    says how many fans it kept and with which seed; a count and a fraction together are refused."""
    from click.testing import CliRunner

    from koepon.cli import main
    from koepon.kernel.settings import get_settings

    monkeypatch.setenv("KOEPON_DATA_DIR", str(tmp_path / "source"))
    monkeypatch.setenv("KOEPON_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(main, ["migrate"]).exit_code == 0
        source, staging = str(tmp_path / "source"), str(tmp_path / "staging")
        both = runner.invoke(
            main,
            ["anonymize", "--from", source, "--to", staging, "--fans", "2", "--fraction", "0.5"],
        )
        assert both.exit_code == 2 and "give one" in both.output
        made = runner.invoke(
            main, ["anonymize", "--from", source, "--to", staging, "--fans", "2", "--seed", "9"]
        )
        assert made.exit_code == 0, made.output
        assert "subset: 0 fans kept (seed 9)" in made.output
        assert (tmp_path / "staging" / "payment.db").exists()
    finally:
        get_settings.cache_clear()

"""Ops test fixtures: the root ``settings``, except that a distributed test gets its own
PostgreSQL database named ``koepon_drill_…`` (migrated here, not copied from the shared
template), so a drill that drops and recreates databases never touches another test's."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from conftest import (
    AMQP_URL,
    REDIS_URL,
    _marked_services,
    base_settings,
    create_database,
    drop_database,
    pg_url,
    with_services,
)
from koepon.app import Platform
from koepon.kernel.settings import Settings
from s3_server import unique_prefix


def drill_database() -> str:
    return f"koepon_drill_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def settings(  # type: ignore[no-untyped-def]
    backend: str,
    tmp_path,
    embedded_template: Path | None,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Settings]:
    if backend == "embedded":
        if embedded_template is not None:
            shutil.copytree(embedded_template, tmp_path / "data")
        yield with_services(base_settings(data_dir=tmp_path / "data"), _marked_services(request))
        return
    s3: dict[str, Any] = request.getfixturevalue("s3_server").settings(unique_prefix())
    database = drill_database()
    await create_database(database)
    redis = aioredis.Redis.from_url(REDIS_URL)
    await redis.flushdb()
    exchange = f"koepon.drill.{uuid.uuid4().hex[:8]}"
    made = with_services(
        base_settings(
            data_dir=tmp_path / "data",
            database_url=pg_url(database),
            redis_url=REDIS_URL,
            amqp_url=AMQP_URL,
            amqp_exchange=exchange,
            **s3,
        ),
        _marked_services(request),
    )
    migrator = Platform(made)
    try:
        await migrator.migrate()
    finally:
        await migrator.stop()
    try:
        yield made
    finally:
        await redis.flushdb()
        await redis.aclose()
        await drop_database(database)
        from koepon.kernel.bus.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, exchange)

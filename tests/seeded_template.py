"""The demo data (``seed_demo``) seeded once per test session, then copied into each test that
asks for ``seeded``, like the migrated templates of ``conftest.py``.

Seeding costs seconds (argon2 hashes for the demo accounts, eleven demo files drawn, checked and
previewed, the gachas authored, reviewed and published), and the pages' tests need it each
time. So it is done once, on a platform built exactly like a test's, and whatever the seed left
is kept: the databases (a PostgreSQL template database, or the embedded data dir with its SQLite
files and stored objects), the objects in S3 under the template's key prefix, and the Redis
keys. Before it is kept, every event the seed caused has been relayed and handled (no pending
outbox row, no message queued or being handled), so a copy is the seed settled, with nothing
left in flight on a broker topology that no longer exists.

Each test gets its own copy: its own database (``CREATE DATABASE … TEMPLATE``) or data dir,
its objects copied under its own prefix, the Redis keys restored into its flushed database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import boto3
import redis.asyncio as aioredis
from sqlalchemy import func, select

from koepon.app import Platform
from koepon.kernel.bus.rabbitmq import RabbitMQBus, queue_name
from koepon.seed import seed_demo

SETTLE_SECONDS = 60.0
# Quiet polls in a row before the seed counts as settled: a message the broker has just handed
# to the consumer is, for a moment, neither queued nor being handled.
QUIET_POLLS = 3


@dataclass(frozen=True)
class RedisKey:
    name: bytes
    ttl_ms: int  # 0: no expiry
    dump: bytes  # DUMP's payload, for RESTORE


@dataclass(frozen=True)
class SeededTemplate:
    """What one seeding left, to copy into each test."""

    data_dir: Path
    database: str = ""  # PostgreSQL template database (distributed)
    s3_prefix: str = ""  # objects' key prefix in the test S3 server (distributed)
    redis_keys: tuple[RedisKey, ...] = ()


async def seed_settled(
    settings: Any, redis_url: str | None = None, *, migrate: bool = False
) -> tuple[RedisKey, ...]:
    """Seed the demo data on a platform started like a test's (migrated first if asked), wait
    until every event it caused is handled, stop it; returns the Redis keys the seed left
    (removed from ``redis_url``)."""
    platform = Platform(settings)
    if migrate:
        await platform.migrate()
    await platform.start()
    try:
        await seed_demo(platform)
        await settle(platform)
    finally:
        await platform.stop()
    if not redis_url:
        return ()
    return await take_redis_keys(redis_url)


async def settle(platform: Platform) -> None:
    """Relay every pending outbox row and wait until no message is queued or being handled,
    a few polls in a row (handlers may write new events, which are relayed in turn)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    quiet = 0
    while quiet < QUIET_POLLS:
        if loop.time() > deadline:
            raise TimeoutError("the demo seed's events were not all handled in time")
        await platform.drain()
        busy = await pending_outbox_rows(platform) + await messages_in_flight(platform)
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.05)


async def pending_outbox_rows(platform: Platform) -> int:
    total = 0
    for unit in platform.units.values():
        table = unit.outbox_table
        query = select(func.count()).select_from(table).where(table.c.published_at.is_(None))
        async with unit.db.transaction(read_only=True) as session:
            total += int(await session.scalar(query) or 0)
    return total


async def messages_in_flight(platform: Platform) -> int:
    """Messages queued for this platform's consumers or being handled (RabbitMQ); the
    in-process bus hands a message to every consumer before the relay marks it published."""
    bus = platform.bus
    if not isinstance(bus, RabbitMQBus):
        return 0
    handling = len(getattr(bus, "_handling", ()))
    names = [
        queue_name(bus.exchange_name, consumer.name)
        for unit in platform.units.values()
        for consumer in unit.consumers
    ]
    connection = await aio_pika.connect(bus.url, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=False)
        queued = 0
        for name in names:
            queue = await channel.declare_queue(name, passive=True)
            queued += int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()
    return handling + queued


async def take_redis_keys(url: str) -> tuple[RedisKey, ...]:
    """Every key of the Redis database at ``url`` with its remaining expiry; then flushes it."""
    redis = aioredis.Redis.from_url(url)
    try:
        keys: list[RedisKey] = []
        async for name in redis.scan_iter(count=1000):
            dump = await redis.dump(name)
            ttl = await redis.pttl(name)
            if dump is not None and ttl != -2:  # -2: expired meanwhile
                keys.append(RedisKey(name, max(int(ttl), 0), dump))
        await redis.flushdb()
        return tuple(keys)
    finally:
        await redis.aclose()


async def restore_redis_keys(redis: aioredis.Redis, keys: Sequence[RedisKey]) -> None:
    for key in keys:
        await redis.restore(key.name, key.ttl_ms, key.dump, replace=True)


def copy_objects(server: Any, source_prefix: str, target_prefix: str) -> None:
    """Server-side copies of every object under ``source_prefix`` to ``target_prefix`` in the
    test S3 server's bucket (``s3_server.S3TestServer``)."""
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=server.bucket, Prefix=source_prefix
    )
    for page in pages:
        for item in page.get("Contents", []):
            key = target_prefix + item["Key"][len(source_prefix) :]
            client.copy_object(
                Bucket=server.bucket,
                Key=key,
                CopySource={"Bucket": server.bucket, "Key": item["Key"]},
            )

"""Redis cache for the distributed mode: a bounded pool that waits, and one retry per command."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_POOL_TIMEOUT_SECONDS = 5.0
DEFAULT_SOCKET_TIMEOUT_SECONDS = 5.0


def redis_pool(
    url: str,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    pool_timeout_seconds: float = DEFAULT_POOL_TIMEOUT_SECONDS,
    socket_timeout_seconds: float = DEFAULT_SOCKET_TIMEOUT_SECONDS,
) -> BlockingConnectionPool:
    """A pool that makes a burst *wait* for a free connection (up to ``pool_timeout_seconds``)
    instead of failing at once, as redis-py's default pool does when its limit is reached.

    A pooled connection that died (Redis restarted) fails its first command; that command is
    retried once on a fresh connection, after a short back-off, so a restart costs no request.
    """
    return BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_seconds,
        socket_timeout=socket_timeout_seconds,
        socket_connect_timeout=min(socket_timeout_seconds, 2.0),
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )


class RedisCache:
    def __init__(
        self,
        url: str,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_seconds: float = DEFAULT_POOL_TIMEOUT_SECONDS,
        socket_timeout_seconds: float = DEFAULT_SOCKET_TIMEOUT_SECONDS,
    ) -> None:
        self.pool = redis_pool(
            url,
            max_connections=max_connections,
            pool_timeout_seconds=pool_timeout_seconds,
            socket_timeout_seconds=socket_timeout_seconds,
        )
        self.client: Redis = Redis(connection_pool=self.pool)

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(key)
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        await self.client.set(key, value, ex=ttl_seconds)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*keys)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_seconds, nx=True)
            value, _ = await pipe.execute()
        return int(value)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self.client.aclose()
        # A pool handed to the client is not the client's to close.
        await self.pool.disconnect()

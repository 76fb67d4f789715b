"""A verifier that has no keys yet (a process just restarted) answers every one of its first,
concurrent requests from the one fetch under way, instead of refusing all but one with 401."""

from __future__ import annotations

import asyncio
from typing import Any

from .test_tokens import Jwks, SigningKey, verifier


class SlowJwks(Jwks):
    """The JWKS endpoint, answering once released."""

    def __init__(self, *keys: SigningKey) -> None:
        super().__init__(*keys)
        self.release = asyncio.Event()
        self.asked = asyncio.Event()

    async def __call__(self) -> dict[str, Any]:
        self.asked.set()
        await self.release.wait()
        return await super().__call__()


async def test_the_first_requests_of_a_cold_verifier_all_wait_for_the_one_fetch() -> None:
    key = SigningKey("k1")
    source = SlowJwks(key)
    cold = verifier(source)
    tokens = [key.token(f"fan-{n}") for n in range(10)]
    burst = [asyncio.create_task(cold.verify(token)) for token in tokens]
    await source.asked.wait()
    source.release.set()
    principals = await asyncio.gather(*burst)
    assert [p.user_id for p in principals] == [f"fan-{n}" for n in range(10)]
    assert source.calls == 1

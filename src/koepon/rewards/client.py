"""``RewardsContents`` (contracts/rewards.py): in-process for the embedded default, and over HTTP
to a rewards service in another process (``/internal/rewards``, internal token)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from koepon.contracts.rewards import (
    MAX_CONTENT_IDS,
    ContentFacts,
    RewardsUnavailable,
)
from koepon.kernel.db import Database
from koepon.kernel.tracing import traced_hooks
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.contents.service import Contents


def facts(view: ContentView) -> ContentFacts:
    return ContentFacts.model_validate(
        {
            "content_id": view.id,
            "vtuber_id": view.vtuber_id,
            "kind": view.kind,
            "status": view.status,
        }
    )


def _bounded(content_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(content_ids))
    if len(ids) > MAX_CONTENT_IDS:
        raise ValueError(f"at most {MAX_CONTENT_IDS} content ids at a time")
    return ids


class InProcessRewardsContents:
    def __init__(self, db: Database, contents: Contents) -> None:
        self.db = db
        self._contents = contents

    async def contents(self, content_ids: Sequence[str]) -> dict[str, ContentFacts]:
        ids = _bounded(content_ids)
        if not ids:
            return {}
        try:
            async with self.db.transaction(read_only=True) as session:
                found = await self._contents.get_many(session, ids)
        except Exception as exc:  # the rewards database is out of reach: say so, typed
            detail = f"rewards contents could not be read: {type(exc).__name__}"
            raise RewardsUnavailable(detail) from exc
        return {content_id: facts(view) for content_id, view in found.items()}


class HttpRewardsContents:
    def __init__(
        self,
        base_url: str,
        internal_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/internal/rewards",
            headers={"X-Koepon-Internal": internal_token},
            timeout=timeout,
            transport=transport,
            event_hooks=traced_hooks(),
        )

    async def contents(self, content_ids: Sequence[str]) -> dict[str, ContentFacts]:
        ids = _bounded(content_ids)
        if not ids:
            return {}
        try:
            response = await self._http.post("/contents/lookup", json={"content_ids": ids})
        except httpx.HTTPError as exc:
            raise RewardsUnavailable(f"rewards service unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise RewardsUnavailable(f"rewards service answered {response.status_code}")
        return {
            item["content_id"]: ContentFacts.model_validate(item)
            for item in response.json()["contents"]
        }

    async def close(self) -> None:
        await self._http.aclose()

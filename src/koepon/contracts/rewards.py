"""What the rewards service answers other services (the gacha checks its items' contents, G8)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

MAX_CONTENT_IDS = 200


class ContentFacts(BaseModel):
    """One content as another service may know it: whose it is, what it is, whether a fan who
    wins it can download it now."""

    model_config = ConfigDict(frozen=True)
    content_id: str
    vtuber_id: str
    kind: Literal["image", "audio", "video", "pdf"]
    status: Literal["processing", "ready", "retired"]


class RewardsUnavailable(Exception):
    """The rewards service could not be asked (down, timed out): try again later."""


class RewardsContents(Protocol):
    async def contents(self, content_ids: Sequence[str]) -> dict[str, ContentFacts]:
        """The contents among ``content_ids`` (at most ``MAX_CONTENT_IDS``) that exist, by id;
        unknown ids are absent. Raises ``RewardsUnavailable``."""
        ...

"""Response bodies of the overlay URL (the team's view, a rotation) and of its public resolve."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OverlayKeyView(BaseModel):
    """The VTuber's overlay URL without its secret (the whole token is shown only when made).
    Every field is null while the VTuber has no overlay URL yet."""

    token_hint: str | None = Field(description="The token's first 4 characters")
    url_path: str | None = Field(description="The overlay page's path, the token masked")
    created_at: datetime | None


class OverlayRotated(BaseModel):
    """A new overlay URL; the previous one stopped working."""

    token: str | None = Field(
        description="The whole secret, shown this once; null in an answer replayed for a "
        "repeated Idempotency-Key (only the token's hash is kept)"
    )
    url_path: str | None = Field(description="/overlay/<token>; null when ``token`` is")
    token_hint: str
    created_at: datetime


class OverlayGacha(BaseModel):
    id: str
    title: str


class OverlayView(BaseModel):
    """What the overlay page shows: the VTuber and its live gachas (links to their odds)."""

    vtuber_id: str
    display_name: str
    avatar_url: str | None
    live_gachas: list[OverlayGacha]

"""The overlay URL: the team's view of it, rotating it, and resolving a token for the public page.

The team's use cases ask ``Teams.require`` for ``profile.edit`` (the route's dependency already
did, before anything else); resolving needs no account, the token being the credential, and
does as little as it can: a shape check, then one indexed look-up by hash.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import OverlayNotFound, OverlayTokenInvalid
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.overlays import repository, tokens
from koepon.vtuber.overlays.schemas import (
    OverlayGacha,
    OverlayKeyView,
    OverlayRotated,
    OverlayView,
)
from koepon.vtuber.teams.service import Teams

NOT_FOUND = "No overlay has this token (it may have been replaced by a new one)"


def without_secret(body: dict[str, Any]) -> dict[str, Any]:
    """A rotation's answer as an idempotency replay keeps it: the token and its URL dropped."""
    return body | {"token": None, "url_path": None}


class Overlays:
    def __init__(self, ctx: VtuberContext, teams: Teams, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.teams = teams
        self.gachas = gachas

    async def current(
        self, session: AsyncSession, vtuber_id: str, *, user_id: str, roles: Collection[str]
    ) -> OverlayKeyView:
        await self.teams.require(session, vtuber_id, user_id, roles, Permission.PROFILE_EDIT)
        row = await repository.of_vtuber(session, vtuber_id)
        if row is None:
            return OverlayKeyView(token_hint=None, url_path=None, created_at=None)
        return OverlayKeyView(
            token_hint=row.token_hint,
            url_path=tokens.masked_path(row.token_hint),
            created_at=row.created_at,
        )

    async def rotate(
        self, session: AsyncSession, vtuber_id: str, *, user_id: str, roles: Collection[str]
    ) -> OverlayRotated:
        """A new token for the VTuber's overlay (the first one, or replacing the last: the old
        URL stops resolving when this commits). Written in the record of changes."""
        await self.teams.require(session, vtuber_id, user_id, roles, Permission.PROFILE_EDIT)
        token = tokens.new_token()
        hint = tokens.hint(token)
        now = self.ctx.now()
        await repository.replace(
            session,
            vtuber_id=vtuber_id,
            token_sha256=tokens.digest(token),
            token_hint=hint,
            created_by=user_id,
            created_at=now,
        )
        await self.teams.profiles.record(
            session,
            vtuber_id,
            actor_id=user_id,
            action="overlay.rotated",
            detail={"token_hint": hint},
        )
        return OverlayRotated(
            token=token, url_path=tokens.url_path(token), token_hint=hint, created_at=now
        )

    async def resolve(self, token: str) -> OverlayView:
        """What the overlay page of ``token`` shows; one ``OverlayNotFound`` for an unknown
        token, a rotated one and a VTuber that is not approved."""
        if not tokens.well_formed(token):
            raise OverlayTokenInvalid(
                f"An overlay token is {tokens.TOKEN_LENGTH} characters of A-Z a-z 0-9 _ -",
                parameter="token",
            )
        digest = tokens.digest(token)
        async with self.ctx.db.transaction(read_only=True) as session:
            row = await repository.by_digest(session, digest)
            # The look-up compares hashes, never the secret; compare_digest keeps this last
            # check constant-time as well.
            if row is None or not hmac.compare_digest(row.token_sha256, digest):
                raise OverlayNotFound(NOT_FOUND)
            profile = await self.teams.profiles.get(session, row.vtuber_id)
            if profile is None or profile.status != "approved":
                raise OverlayNotFound(NOT_FOUND)
            live = await self.gachas.live_for(session, profile.id, self.ctx.now())
            return OverlayView(
                vtuber_id=profile.id,
                display_name=profile.display_name,
                avatar_url=profile.avatar_url,
                live_gachas=[OverlayGacha(id=gacha.gacha_id, title=gacha.title) for gacha in live],
            )

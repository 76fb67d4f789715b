"""FastAPI dependencies that refuse a caller before a route reads its body: platform roles
(``operators``) and a team permission for the path's VTuber (``team_permission``).

Every sub-domain's routes take them from here, so one rule decides who is let in (``policy``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated

from fastapi import Depends, Path

from koepon.contracts.vtuber import Permission
from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import NotAllowed
from koepon.vtuber.teams.service import Teams

Id = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


def operators(
    ctx: VtuberContext, check: Callable[[Collection[str]], bool], who: str
) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting the platform roles ``check`` (a ``policy`` rule) admits."""

    async def dependency(principal: Principal = Depends(ctx.authenticator.user)) -> Principal:
        if not check(principal.roles):
            raise NotAllowed(f"Only {who} may do this")
        return principal

    return dependency


def team_permission(
    ctx: VtuberContext, teams: Teams, permission: Permission
) -> Callable[..., Awaitable[None]]:
    """A dependency refusing (before the body is read) a caller without ``permission`` for the
    path's VTuber; the use case checks its finer rules (owners, self-removal) again."""

    async def dependency(
        vtuber_id: Id, principal: Principal = Depends(ctx.authenticator.user)
    ) -> None:
        # Its own read-only transaction: the route's use case may hold the write transaction.
        async with ctx.db.transaction(read_only=True) as session:
            await teams.require(session, vtuber_id, principal.user_id, principal.roles, permission)

    return dependency

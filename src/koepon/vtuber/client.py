"""``VtuberTeams`` (contracts/vtuber.py): in-process for the embedded default, and over HTTP to
a VTuber service in another process (``/internal/vtuber``, internal token)."""

from __future__ import annotations

import httpx

from koepon.contracts.vtuber import Permission, VtuberUnavailable
from koepon.kernel.db import Database
from koepon.vtuber.teams.service import Teams


class InProcessVtuberTeams:
    def __init__(self, db: Database, teams: Teams) -> None:
        self.db = db
        self._teams = teams

    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        raise VtuberUnavailable("not built yet")

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        raise VtuberUnavailable("not built yet")


class HttpVtuberTeams:
    def __init__(
        self,
        base_url: str,
        internal_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/internal/vtuber",
            headers={"X-Koepon-Internal": internal_token},
            timeout=timeout,
            transport=transport,
        )

    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        raise VtuberUnavailable("not built yet")

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        raise VtuberUnavailable("not built yet")

    async def close(self) -> None:
        await self._http.aclose()

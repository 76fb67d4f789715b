"""``VtuberTeams`` (contracts/vtuber.py): in-process for the embedded default, and over HTTP to
a VTuber service in another process (``/internal/vtuber``, internal token).

The HTTP client waits ``timeout`` seconds at most per call and has a circuit breaker: after
``failures`` outages in a row (no answer, a 5xx) it answers ``VtuberUnavailable`` at once for
``reset_seconds``, then lets one trial call through — a hung VTuber service costs the gacha and
rewards services one short wait per caller, not a queue of requests each waiting it out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta

import httpx
from aiobreaker import CircuitBreaker, CircuitBreakerError

from koepon.contracts.vtuber import Permission, VtuberUnavailable
from koepon.kernel.db import Database
from koepon.kernel.metrics import breaker_metrics
from koepon.kernel.tracing import traced_hooks
from koepon.vtuber.teams.service import Teams

# How many VTuber ids one ``approved`` question may carry (a gacha's collab partners).
MAX_VTUBER_IDS = 100


def _bounded(vtuber_ids: Collection[str]) -> frozenset[str]:
    ids = frozenset(vtuber_ids)
    if len(ids) > MAX_VTUBER_IDS:
        raise ValueError(f"at most {MAX_VTUBER_IDS} VTuber ids at a time")
    return ids


class _Refused(Exception):
    """The VTuber service answered, refusing the call: not counted as an outage."""


class InProcessVtuberTeams:
    def __init__(self, db: Database, teams: Teams) -> None:
        self.db = db
        self._teams = teams

    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        try:
            async with self.db.transaction(read_only=True) as session:
                return await self._teams.permissions(session, vtuber_id, user_id, roles)
        except Exception as exc:  # the VTuber database is out of reach: say so, typed
            raise VtuberUnavailable(f"permissions could not be read: {type(exc).__name__}") from exc

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        ids = _bounded(vtuber_ids)
        if not ids:
            return frozenset()
        try:
            async with self.db.transaction(read_only=True) as session:
                return await self._teams.approved(session, ids)
        except Exception as exc:
            raise VtuberUnavailable(f"VTubers could not be read: {type(exc).__name__}") from exc


class HttpVtuberTeams:
    def __init__(
        self,
        base_url: str,
        internal_token: str,
        *,
        timeout: float = 3.0,
        failures: int = 5,
        reset_seconds: int = 15,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/internal/vtuber",
            headers={"X-Koepon-Internal": internal_token},
            timeout=timeout,
            transport=transport,
            event_hooks=traced_hooks(),
        )
        self.breaker = CircuitBreaker(
            fail_max=failures,
            timeout_duration=timedelta(seconds=reset_seconds),
            exclude=[_Refused],
            name="vtuber-teams",
            listeners=breaker_metrics(),
        )

    async def _post(self, path: str, body: Mapping[str, object]) -> dict[str, list[str]]:
        try:
            answer: dict[str, list[str]] = await self.breaker.call_async(self._send, path, body)
        except CircuitBreakerError as exc:
            raise VtuberUnavailable("VTuber service unavailable (circuit open)") from exc
        except _Refused as refused:
            raise VtuberUnavailable(str(refused)) from None
        except httpx.HTTPError as exc:
            raise VtuberUnavailable(f"VTuber service unreachable: {type(exc).__name__}") from exc
        return answer

    async def _send(self, path: str, body: Mapping[str, object]) -> dict[str, list[str]]:
        response = await self._http.post(path, json=body)
        if response.status_code >= 500:
            raise httpx.HTTPStatusError(
                f"VTuber service answered {response.status_code}",
                request=response.request,
                response=response,
            )
        if response.status_code != 200:  # a refusal of this caller (token, body): no outage
            raise _Refused(f"VTuber service answered {response.status_code}")
        answer: dict[str, list[str]] = response.json()
        return answer

    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        body = {"vtuber_id": vtuber_id, "user_id": user_id, "roles": sorted(roles)}
        answer = await self._post("/permissions", body)
        return frozenset(Permission(p) for p in answer["permissions"])

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        ids = _bounded(vtuber_ids)
        if not ids:
            return frozenset()
        answer = await self._post("/approved", {"vtuber_ids": sorted(ids)})
        return frozenset(answer["vtuber_ids"])

    async def close(self) -> None:
        await self._http.aclose()

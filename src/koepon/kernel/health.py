"""Health endpoints: liveness, readiness (only what a request needs), metrics, and a detailed
view for operators that also shows what requests can do without (the broker, outbox lag).

An orchestrator takes a process out of service when ``/readyz`` fails, so readiness covers
only the database and the cache: with the outbox, a broker outage delays events but serves
every request, and taking every API process out for it would turn a delay into an outage.
``/healthz/details`` (internal token only) shows everything, with each check's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Table, func, select

from koepon.kernel.clock import as_utc
from koepon.kernel.db import Database
from koepon.kernel.internal import internal_guard
from koepon.kernel.settings import Settings

ReadinessCheck = Callable[[], Awaitable[bool]]
DetailCheck = Callable[[], Awaitable[Any]]
# A hung dependency must not hang the probe: the orchestrator would time out without a reason.
CHECK_TIMEOUT_SECONDS = 2.0


async def _run(check: DetailCheck) -> Any:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except Exception:
        return False


async def run_checks(checks: dict[str, DetailCheck]) -> dict[str, Any]:
    """Every check at once, each bounded in time; a failing or hung check answers False."""
    results = await asyncio.gather(*(_run(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


def healthy(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value.get("ok", True))
    return bool(value)


def outbox_lag(db: Database, table: Table) -> DetailCheck:
    """Events committed but not yet on the bus: how many, and how old the oldest is."""

    async def check() -> dict[str, Any]:
        async with db.sessionmaker() as session:
            row = (
                await session.execute(
                    select(func.count(), func.min(table.c.created_at)).where(
                        table.c.published_at.is_(None)
                    )
                )
            ).one()
        pending, oldest = int(row[0] or 0), row[1]
        age = (datetime.now(UTC) - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        return {"ok": True, "pending": pending, "oldest_seconds": round(max(age, 0.0), 1)}

    return check


def health_router(
    ready: dict[str, ReadinessCheck],
    *,
    details: dict[str, DetailCheck] | None = None,
    settings: Settings | None = None,
) -> APIRouter:
    """``/healthz``, ``/readyz`` (the ``ready`` checks), ``/metrics`` and, given ``settings``,
    ``/healthz/details`` (``ready`` and ``details``) for holders of the internal token."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        responses={
            503: {
                "description": "Not ready: the same body, naming the failing check",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def readyz(response: Response) -> dict[str, object]:
        results = {name: healthy(value) for name, value in (await run_checks(dict(ready))).items()}
        is_ready = all(results.values())
        response.status_code = 200 if is_ready else 503
        return {"status": "ready" if is_ready else "not_ready", "checks": results}

    @router.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format",
                "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if settings is not None:

        @router.get("/healthz/details", dependencies=[Depends(internal_guard(settings))])
        async def health_details() -> dict[str, object]:
            """Every dependency, including those requests can do without (operators only)."""
            ready_results = await run_checks(dict(ready))
            detail_results = await run_checks(dict(details or {}))
            is_ready = all(healthy(v) for v in ready_results.values())
            degraded = not all(healthy(v) for v in detail_results.values())
            return {
                "status": "not_ready" if not is_ready else "degraded" if degraded else "ok",
                "ready": ready_results,
                "details": detail_results,
            }

    return router

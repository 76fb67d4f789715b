"""Service-to-service HTTP: a shared bearer secret guards ``/internal`` routes."""

from __future__ import annotations

import hmac

from fastapi import Request

from koepon.kernel.problems import Problem
from koepon.kernel.settings import Settings


def internal_guard(settings: Settings):  # type: ignore[no-untyped-def]
    """Dependency refusing any caller without the internal token (the gateway never routes here)."""

    async def guard(request: Request) -> None:
        expected = settings.internal_token.get_secret_value() if settings.internal_token else ""
        given = request.headers.get("x-koepon-internal", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Problem(403, "forbidden", "Internal endpoint")

    return guard

"""The API gateway: the edge every outside request crosses (embedded or as its own process)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from koepon.contracts.auth import SessionRecords
from koepon.gateway.admission import AdmissionMiddleware
from koepon.gateway.bodies import UPLOAD_PATH, BodyLimitMiddleware, BodyTooLarge, too_large
from koepon.gateway.cache import ResponseCacheMiddleware
from koepon.gateway.nostore import NoStoreMiddleware
from koepon.gateway.routing import CACHEABLE
from koepon.gateway.security import SecurityHeadersMiddleware
from koepon.kernel.problems import problem_response
from koepon.kernel.runtime import Runtime

# The studio's upload page (web/studio/contents.py) forwards its body to UPLOAD_PATH.
STUDIO_UPLOAD_PATH = "/studio/*/contents/upload"
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
CORS_EXPOSED = ["X-Request-Id", "Retry-After", "X-Cache", "Location"]


def install_gateway(
    app: Starlette, runtime: Runtime, *, session_owner: SessionRecords | None = None
) -> None:
    """Put the edge in front of ``app``: headers, CORS, admission, body limits, cache.

    ``session_owner`` (the auth service's client) answers for sessions missing from the cache.

    Starlette runs the middleware added last first, so this adds them innermost first.
    """
    settings = runtime.settings
    app.add_middleware(
        ResponseCacheMiddleware,
        cache=runtime.cache,
        cacheable=CACHEABLE,
        ttl_seconds=settings.response_cache_seconds,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={
            UPLOAD_PATH: settings.max_upload_bytes,
            STUDIO_UPLOAD_PATH: settings.max_upload_bytes,
        },
    )
    app.add_middleware(
        AdmissionMiddleware,
        rate_limiter=runtime.rate_limiter,
        verifier=runtime.authenticator.verifier,
        per_ip=settings.rate_limit_per_ip,
        per_user=settings.rate_limit_per_user,
        sessions=runtime.cache if settings.gateway_checks_sessions else None,
        session_owner=session_owner,
        internal_token=(
            settings.internal_token.get_secret_value() if settings.internal_token else None
        ),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )
    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_exception_handler(BodyTooLarge, _body_too_large)


async def _body_too_large(request: Request, exc: Exception) -> Response:
    # Raised while an endpoint reads a body that outgrew the limit mid-stream.
    assert isinstance(exc, BodyTooLarge)
    return problem_response(too_large(exc.limit), request.url.path)


__all__ = ["install_gateway"]

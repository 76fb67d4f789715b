"""RFC 9457 problem responses: one exception type, stable codes, handlers for FastAPI.

Every error leaves as ``application/problem+json``: problems and domain errors with their own
status; a database, cache, broker or service that cannot be reached as 503
``dependency_unavailable`` with ``Retry-After`` (naming the dependency, never its address);
anything else as a 500 ``internal_error`` carrying the request id, never ``text/plain``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from limits.errors import StorageError as RateLimitStorageError
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from koepon.kernel.db import DatabaseUnreachable
from koepon.kernel.errors import DomainError

log = structlog.get_logger(__name__)

PROBLEM_TYPE_BASE = "https://koepon.jp/problems/"
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """A refusal the client can act on. ``code`` is stable; clients match on it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ").capitalize()
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def from_domain_error(error: DomainError) -> Problem:
    """The problem a typed domain error stands for (the one mapping at the edge)."""
    return Problem(
        error.status,
        error.code,
        error.detail,
        title=error.title,
        headers=error.headers,
        **error.extra,
    )


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_JSON,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


# Seconds a client should wait before retrying when a dependency is down: long enough not to
# pile onto a restarting server, short enough that a fan's retry lands soon after recovery.
DEPENDENCY_RETRY_AFTER = 5
# What failing to reach each kind of dependency looks like, most specific first.
_OUTAGES: tuple[tuple[tuple[type[Exception], ...], str], ...] = (
    (
        (
            DatabaseUnreachable,
            sa_errors.OperationalError,
            sa_errors.InterfaceError,
            sa_errors.TimeoutError,  # no pooled connection came free in time
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
        ),
        "database",
    ),
    ((redis_errors.ConnectionError, redis_errors.TimeoutError), "cache"),
    ((RateLimitStorageError,), "rate-limit store"),
    ((httpx.TransportError,), "internal service"),
)


def dependency_of(exc: BaseException) -> str | None:
    """Which dependency's outage ``exc`` is ("database", "cache", ...), or None.

    Follows the cause chain, because drivers' errors arrive wrapped (SQLAlchemy wraps asyncpg,
    which wraps ``OSError``); a bare refused connection counts as an unnamed dependency."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_errors.DBAPIError) and current.connection_invalidated:
            return "database"
        for kinds, name in _OUTAGES:
            if isinstance(current, kinds):
                return name
        module = type(current).__module__
        if module.startswith(("aiormq", "aio_pika", "pamqp")):
            return "message broker"
        current = current.__cause__ or current.__context__
    if isinstance(exc, ConnectionError | TimeoutError):
        return "backing service"
    return None


def dependency_unavailable(
    dependency: str, *, retry_after: int = DEPENDENCY_RETRY_AFTER
) -> Problem:
    return Problem(
        503,
        "dependency_unavailable",
        f"The {dependency} is unavailable right now; try again shortly",
        headers={"Retry-After": str(retry_after)},
        dependency=dependency,
    )


def request_id_of(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    value = state.get("request_id") if isinstance(state, dict) else None
    return str(value) if value else None


def unexpected_error_response(
    request: Request, exc: BaseException, *, outermost: bool = False
) -> JSONResponse:
    """The answer for an error nothing else handled: a dependency outage becomes 503, anything
    else a 500 problem with the request id, so support can find the logged traceback."""
    request_id = request_id_of(request)
    if isinstance(exc, Problem | DomainError):
        # Raised by a middleware, outside the routes' handlers: the same answer as in a route.
        refusal = exc if isinstance(exc, Problem) else from_domain_error(exc)
        response = problem_response(refusal, request.url.path)
        if outermost and request_id:
            response.headers.setdefault("X-Request-Id", request_id)
        return response
    dependency = dependency_of(exc)
    if dependency is not None:
        # The driver's message may carry a DSN or SQL parameters: log the kind, not the text.
        log.warning(
            "dependency.unavailable",
            dependency=dependency,
            error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            path=request.url.path,
        )
        problem = dependency_unavailable(dependency)
    else:
        log.error(
            "request.unexpected_error",
            path=request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        problem = Problem(
            500,
            "internal_error",
            "Something went wrong on our side; it has been logged"
            + (f" under request id {request_id}" if request_id else ""),
        )
    if request_id:
        problem.extra["request_id"] = request_id
        if outermost:
            # The request-id middleware sits inside the server-error layer: it cannot stamp
            # this answer, so it is stamped here.
            problem.headers.setdefault("X-Request-Id", request_id)
    return problem_response(problem, request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` an ``application/problem+json`` response.

    The handler for ``Exception`` also runs in Starlette's outermost server-error layer, so
    errors raised by middleware get the same answer (that layer re-raises afterwards, for the
    server's log)."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(from_domain_error(exc), request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()[:20]
        ]
        where = ", ".join(".".join(e["loc"]) for e in errors[:5])
        problem = Problem(422, "validation_failed", f"Invalid input: {where}", errors=errors)
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        problem = Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response(request, exc)

    async def on_unhandled(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response(request, exc, outermost=True)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Outages raised inside routes are answered here without reaching the server-error layer.
    for kinds, _name in _OUTAGES:
        for kind in kinds:
            app.add_exception_handler(kind, on_unexpected)
    app.add_exception_handler(sa_errors.DBAPIError, on_unexpected)
    app.add_exception_handler(Exception, on_unhandled)

"""Typed domain errors: services raise these; one mapping at the edge makes them problems.

A service declares its refusals as subclasses with a fixed HTTP ``status`` and a stable
``code`` (clients match on the code), e.g.::

    class InsufficientMedals(DomainError):
        status = 402
        code = "insufficient_medals"

    raise InsufficientMedals("the wallet holds 30 medals; 50 are needed", balance=30)

``kernel.problems.install_problem_handlers`` turns any ``DomainError`` into an RFC 9457
``application/problem+json`` response; business code never builds HTTP responses itself.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal a client can act on. Subclasses fix ``status`` and ``code``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str | None] = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unavailable(DomainError):
    """A dependency is down or overloaded; the client should retry after ``Retry-After``."""

    status = 503
    code = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, **extra)

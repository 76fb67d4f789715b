"""The sales sub-domain's refusals (typed domain errors, made RFC 9457 problems at the edge)."""

from __future__ import annotations

from koepon.kernel.errors import DomainError


class InvalidRange(DomainError):
    status = 422
    code = "invalid_range"


class InvalidMonth(DomainError):
    status = 422
    code = "invalid_month"

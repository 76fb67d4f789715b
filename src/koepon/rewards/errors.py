"""The rewards service's refusals as typed domain errors (made RFC 9457 problems at the edge).

Sub-domains add theirs here, one class per stable ``code``.
"""

from __future__ import annotations

from koepon.kernel.errors import DomainError


class ContentNotFound(DomainError):
    status = 404
    code = "content_not_found"


class EntitlementNotFound(DomainError):
    status = 404
    code = "entitlement_not_found"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"

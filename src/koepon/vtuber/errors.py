"""The VTuber service's refusals as typed domain errors (made RFC 9457 problems at the edge).

Sub-domains add theirs here, one class per stable ``code``.
"""

from __future__ import annotations

from koepon.kernel.errors import DomainError


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class VtuberNotFound(DomainError):
    status = 404
    code = "vtuber_not_found"

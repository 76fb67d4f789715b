"""Request body limits at the edge: size (413, chunked bodies too) and JSON content type (415)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.gateway.routing import matches, under, under_any
from koepon.kernel.problems import Problem, problem_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1"
# Provider webhooks are verified byte for byte against a signature, whatever their media type.
RAW_BODY_PREFIXES: tuple[str, ...] = ("/api/v1/webhooks",)
# Where content files are uploaded (multipart): the larger limit applies to this path only.
UPLOAD_PATH = "/api/v1/vtubers/*/contents"
# The API speaks JSON; multipart is for uploads, which their endpoints check themselves.
ACCEPTED_MEDIA = ("application/json", "multipart/form-data")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body outgrows its limit while being read.

    An ``HTTPException`` so that FastAPI's body parsing lets it through unchanged and the problem
    handlers answer 413; the middleware answers it itself for any other app.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes")
        self.limit = limit


def too_large(limit: int) -> Problem:
    return Problem(
        413, "payload_too_large", f"The request body exceeds {limit} bytes", max_bytes=limit
    )


def is_accepted_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ACCEPTED_MEDIA or (media.startswith("application/") and media.endswith("+json"))


class BodyLimitMiddleware:
    """Counts body bytes as they arrive, so a chunked body without Content-Length is cut off too.

    ``larger`` raises the limit for some paths (exactly those, ``*`` = any one segment: the
    upload endpoint) without touching the others.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    def _limit(self, path: str) -> int:
        for pattern, limit in self.larger.items():
            if matches(path, pattern):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self._limit(path)
        headers = Headers(scope=scope)
        try:
            declared = self._declared_length(headers)
            if declared is not None and declared > limit:
                raise too_large(limit)
            has_body = (declared or 0) > 0 or "transfer-encoding" in headers
            if (
                has_body
                and under(path, API_PREFIX)
                and not under_any(path, RAW_BODY_PREFIXES)
                and not is_accepted_media(headers.get("content-type", ""))
            ):
                raise Problem(
                    415,
                    "unsupported_media_type",
                    "Send the body as application/json",
                    accepted=list(ACCEPTED_MEDIA),
                )
        except Problem as problem:
            await problem_response(problem, path)(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await problem_response(too_large(limit), path)(scope, receive, send)

    @staticmethod
    def _declared_length(headers: Headers) -> int | None:
        value = headers.get("content-length")
        if value is None:
            return None
        if not value.isdigit():
            raise Problem(400, "bad_request", "Content-Length must be a non-negative integer")
        return int(value)

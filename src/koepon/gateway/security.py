"""Security headers on every response leaving the gateway (a service may set stricter ones)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.gateway.routing import under

# The platform's own pages load scripts and styles from its own origin only, with no inline
# script or style at all; previews and media may come from object storage (presigned https
# URLs). Forms post to the platform itself, or lead on to a payment provider's hosted page.
# Nobody may frame the platform.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        "media-src 'self' blob: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self' https://checkout.stripe.com https://komoju.com",
        "frame-ancestors 'none'",
    ]
)
# FastAPI's interactive docs page is an inline script loading Swagger UI from jsDelivr.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATH = "/api/v1/docs"
HSTS = "max-age=63072000; includeSubDomains"

BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def _raw(headers: dict[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.lower().encode(), value.encode()) for name, value in headers.items())


# Encoded once: the four variants every response gets one of (docs or not, https or not).
_SETS = {
    (docs, https): _raw(
        {
            **BASE_HEADERS,
            "Content-Security-Policy": (
                DOCS_CONTENT_SECURITY_POLICY if docs else CONTENT_SECURITY_POLICY
            ),
            **({"Strict-Transport-Security": HSTS} if https else {}),
        }
    )
    for docs in (False, True)
    for https in (False, True)
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Browsers ignore HSTS over plain http; uvicorn sets the scheme from a trusted proxy.
        wanted = _SETS[under(scope["path"], DOCS_PATH), scope.get("scheme") == "https"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {name.lower() for name, _ in raw}
                raw.extend(pair for pair in wanted if pair[0] not in present)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)

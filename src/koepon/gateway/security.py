"""Security headers on every response leaving the gateway (a service may set stricter ones)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.gateway.routing import under

# The platform's own pages load scripts and styles from its own origin only; previews and
# media may come from object storage (presigned https URLs). Nobody may frame the platform.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "media-src 'self' blob: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
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


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = dict(BASE_HEADERS)
        wanted["Content-Security-Policy"] = (
            DOCS_CONTENT_SECURITY_POLICY
            if under(scope["path"], DOCS_PATH)
            else CONTENT_SECURITY_POLICY
        )
        # Browsers ignore HSTS over plain http; uvicorn sets the scheme from a trusted proxy.
        if scope.get("scheme") == "https":
            wanted["Strict-Transport-Security"] = HSTS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

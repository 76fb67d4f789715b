"""``Cache-Control: no-store`` on every answer that may carry tokens or personal data.

RFC 6749 §5.1 wants token responses kept by no cache; a wallet, a receipt or an account must not
linger in a shared proxy or the browser's disk cache either. One rule at the edge covers every
service: an answer to a request that carries a Bearer token, or under a personal path, is marked
``no-store`` whatever the service said.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.gateway.routing import under

NO_STORE = "no-store"
# Paths whose answers are about one person (or hold tokens) even when asked without a token.
PERSONAL_PREFIXES: tuple[str, ...] = (
    "/api/v1/auth",
    "/api/v1/me",
    "/api/v1/wallet",
    "/api/v1/receipts",
    "/api/v1/checkouts",
    "/api/v1/collection",
    "/api/v1/draws",
    "/api/v1/admin",
    "/dev/mailbox",
    "/dev/mailbox.json",
)


def is_private(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    if "authorization" in headers:
        return True
    path: str = scope["path"]
    return any(under(path, prefix) for prefix in PERSONAL_PREFIXES)


class NoStoreMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_private(scope):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = NO_STORE
                headers["Pragma"] = "no-cache"  # HTTP/1.0 caches (RFC 6749 §5.1 example)
            await send(message)

        await self.app(scope, receive, send_no_store)

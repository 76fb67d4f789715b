"""The distributed gateway: a process that forwards the public API to each service over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from koepon.contracts.auth import AuthAccounts, SessionRecords
from koepon.gateway import install_gateway
from koepon.gateway.realtime import Realtime, install_realtime
from koepon.gateway.routing import RouteTable
from koepon.gateway.upstreams import Upstream, UpstreamPolicy
from koepon.kernel.cache import cache_from_settings
from koepon.kernel.health import health_router
from koepon.kernel.observability import RequestContextMiddleware
from koepon.kernel.problems import Problem, install_problem_handlers
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.routers import attach
from koepon.kernel.runtime import Runtime
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator, TokenVerifier
from koepon.web.site import install_web

log = structlog.get_logger(__name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# RFC 9110 §7.6.1 hop-by-hop headers, plus what the gateway itself sets for the next hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
REPLACED_REQUEST_HEADERS = frozenset(
    {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
        # Service-to-service calls never come through the gateway; nobody outside may claim one.
        "x-koepon-internal",
    }
)
# The gateway's own server stamps these (and the request id) on every answer.
REPLACED_RESPONSE_HEADERS = frozenset({"date", "server", "x-request-id"})
OPENAPI_TTL_SECONDS = 60
# Health probes and documents are small: they never wait long, whatever a service's own timeout.
PROBE_TIMEOUT_SECONDS = 3.0


def _dropped(headers: httpx.Headers | Any, extra: frozenset[str]) -> set[str]:
    named = {
        token.strip().lower()
        for value in headers.get_list("connection")
        for token in value.split(",")
        if token.strip()
    }
    return set(HOP_BY_HOP) | set(extra) | named


def upstream_request_headers(request: Request) -> list[tuple[str, str]]:
    incoming = httpx.Headers(request.headers.raw)
    dropped = _dropped(incoming, REPLACED_REQUEST_HEADERS)
    headers = [(k, v) for k, v in incoming.multi_items() if k.lower() not in dropped]
    client = request.client.host if request.client else "unknown"
    request_id = request.scope.get("state", {}).get("request_id", "")
    headers += [
        ("x-forwarded-for", client),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
    ]
    if request_id:
        headers.append(("x-request-id", request_id))
    return headers


def downstream_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    dropped = _dropped(upstream.headers, REPLACED_RESPONSE_HEADERS)
    return [(k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in dropped]


class Upstreams:
    """The services behind this gateway, each behind its own pool, bulkhead and breaker."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.services = {
            name: Upstream(
                name, url, UpstreamPolicy.for_service(settings, name), transport=transport
            )
            for name, url in settings.service_urls.items()
        }
        self.urls = {name: upstream.base_url for name, upstream in self.services.items()}
        self._openapi: tuple[float, dict[str, Any]] | None = None

    def upstream(self, service: str) -> Upstream:
        upstream = self.services.get(service)
        if upstream is None:
            raise Problem(503, "unavailable", f"The {service} service is not deployed here")
        return upstream

    def url(self, service: str) -> str:
        return self.upstream(service).base_url

    async def jwks(self) -> dict[str, Any]:
        auth = self.upstream("auth")
        response = await auth.http.get(
            f"{auth.base_url}/.well-known/jwks.json", timeout=PROBE_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        keys: dict[str, Any] = response.json()
        return keys

    async def forward(self, request: Request, service: str) -> Response:
        upstream = self.upstream(service)
        base = upstream.base_url
        # The raw path keeps the client's percent-encoding (an encoded "/" stays one segment).
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        target = base + raw_path.split(b"?", 1)[0].decode("latin-1")
        if request.url.query:
            target += "?" + request.url.query
        content: AsyncIterator[bytes] | bytes | None = None
        if "content-length" in request.headers:
            content = request.stream()
        elif "transfer-encoding" in request.headers:
            # Read a chunked body to the end here (the body limit bounds it), so a service
            # never sees half a request when the limit cuts it off.
            content = await request.body()
        outgoing = upstream.http.build_request(
            request.method, target, headers=upstream_request_headers(request), content=content
        )
        answer = await upstream.send(outgoing)
        finished = False

        async def finish() -> None:
            # Once only: the body's end and the background task both get here.
            nonlocal finished
            if not finished:
                finished = True
                upstream.done()
            await answer.aclose()

        async def body() -> AsyncIterator[bytes]:
            # Closing here as well as in the background task: a client that goes away
            # mid-stream skips background tasks, and the pooled connection must come back.
            try:
                async for chunk in answer.aiter_raw():
                    yield chunk
            finally:
                await finish()

        response = StreamingResponse(
            body(), status_code=answer.status_code, background=BackgroundTask(finish)
        )
        response.raw_headers = downstream_headers(answer)
        return response

    async def healthy(self, service: str) -> bool:
        upstream = self.upstream(service)
        response = await upstream.http.get(
            f"{upstream.base_url}/healthz", timeout=PROBE_TIMEOUT_SECONDS
        )
        return response.status_code == 200

    def state(self, service: str) -> dict[str, Any]:
        """What the gateway sees of one service, for the operators' health view."""
        upstream = self.upstream(service)
        return {
            "in_flight": upstream.in_flight,
            "max_concurrent": upstream.policy.max_concurrent,
            "circuit": str(upstream.breaker.current_state.name).lower(),
            "timeout_seconds": upstream.policy.timeout_seconds,
        }

    async def openapi(self) -> dict[str, Any]:
        """The services' OpenAPI documents merged into one (cached for a minute)."""
        if self._openapi and time.monotonic() - self._openapi[0] < OPENAPI_TTL_SECONDS:
            return self._openapi[1]

        async def fetch(upstream: Upstream) -> dict[str, Any] | None:
            try:
                response = await upstream.http.get(
                    f"{upstream.base_url}/api/v1/openapi.json", timeout=5.0
                )
                response.raise_for_status()
                document: dict[str, Any] = response.json()
                return document
            except (httpx.HTTPError, ValueError):
                return None

        documents = await asyncio.gather(*(fetch(up) for up in self.services.values()))
        merged: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": "Koepon", "version": "1"},
            "paths": {},
            "components": {"schemas": {}},
        }
        complete = True
        for document in documents:
            if document is None:
                complete = False
                continue
            merged["openapi"] = document.get("openapi", merged["openapi"])
            merged["paths"].update(document.get("paths", {}))
            components = document.get("components", {})
            for kind, entries in components.items():
                merged["components"].setdefault(kind, {}).update(entries)
        if complete:
            self._openapi = (time.monotonic(), merged)
        return merged

    async def close(self) -> None:
        for upstream in self.services.values():
            await upstream.close()


def create_proxy_app(
    settings: Settings,
    *,
    routes: RouteTable | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    session_owner: SessionRecords | None = None,
    accounts: AuthAccounts | None = None,
) -> FastAPI:
    """The gateway process: the same edge as the embedded mode, forwarding to service URLs.

    ``transport`` replaces the network (tests route to in-process apps through it);
    ``session_owner`` is the auth service's client, asked about sessions the cache lost;
    ``accounts`` (the same client) names fans on stream overlays.
    """
    table = routes or RouteTable()
    upstreams = Upstreams(settings, transport=transport)
    cache = cache_from_settings(settings)
    verifier = TokenVerifier(
        upstreams.jwks,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        refresh_seconds=settings.jwks_refresh_seconds,
    )
    runtime = Runtime(
        settings=settings,
        cache=cache,
        rate_limiter=RateLimiter.from_settings(settings),
        authenticator=Authenticator(verifier),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        pushes = asyncio.create_task(realtime.feed(settings, stop))
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({pushes}, timeout=10)
            await verifier.close()
            await upstreams.close()
            if (close := getattr(session_owner, "aclose", None)) is not None:
                await close()
            await cache.close()

    app = FastAPI(
        title="Koepon gateway", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.upstreams = upstreams
    app.state.runtime = runtime
    install_problem_handlers(app)

    # Ready while the gateway itself can work: one service down is answered per request (503),
    # it must not take the whole gateway, and every other service with it, out of rotation.
    details: dict[str, Any] = {name: _health_check(upstreams, name) for name in upstreams.urls}
    attach(app, health_router({"cache": cache.ping}, details=details, settings=settings))

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(await upstreams.openapi())

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Koepon API")

    # The pages need no service of their own: they call the API through this gateway.
    install_web(app, cache, public_url=settings.public_url)
    # Before the catch-all route below, which would forward the sockets to no service.
    realtime = Realtime(settings, cache, accounts)
    install_realtime(app, realtime)

    @app.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def forward(request: Request, path: str) -> Response:
        service = table.service_for(request.url.path)
        if service is None:
            raise Problem(404, "not_found", "Not Found")
        return await upstreams.forward(request, service)

    install_gateway(app, runtime, session_owner=session_owner)
    app.add_middleware(RequestContextMiddleware, service="gateway", settings=settings)
    return app


def _health_check(upstreams: Upstreams, name: str) -> Any:
    async def check() -> dict[str, Any]:
        try:
            ok = await upstreams.healthy(name)
        except httpx.HTTPError:
            ok = False
        return {"ok": ok, **upstreams.state(name)}

    return check

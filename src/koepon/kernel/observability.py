"""Structured logs (JSON, or readable lines on a terminal), request ids, Prometheus request
metrics and, when configured, a trace span per request (``kernel/tracing.py``) and Sentry
(``kernel/sentry.py``); the other metrics are in ``kernel/metrics.py``, the health endpoints
in ``kernel/health.py``."""

from __future__ import annotations

import logging
import random
import re
import sys
import time
from collections.abc import Callable, MutableMapping
from functools import lru_cache
from typing import Any, Literal, TextIO

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from koepon.kernel import tracing
from koepon.kernel.settings import Settings

REQUESTS = Counter(
    "koepon_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "koepon_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SECRET_KEYS = ("password", "token", "secret", "authorization", "cookie", "birthdate")
LogFormat = Literal["auto", "console", "json"]
# Methods outside these are counted as OTHER: a client must not mint metric label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@lru_cache(maxsize=1024)
def _is_secret(key: str) -> bool:
    # Cached: the same few keys come with every line (the access log's on every request).
    return any(word in key.lower() for word in _SECRET_KEYS)


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _is_secret(key):
            event[key] = "[redacted]"
    return event


def wants_console(log_format: LogFormat, stream: TextIO) -> bool:
    """Readable lines for a person at a terminal; JSON for collectors, files and pipes."""
    if log_format == "auto":
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())
    return log_format == "console"


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Logs go to ``stream`` (stdout); ``log_format`` "auto" picks readable lines when it is a
    terminal (``make run``) and JSON otherwise; "console" and "json" force either."""
    out = stream if stream is not None else sys.stdout
    logging.basicConfig(format="%(message)s", stream=out, level=level)
    # Alembic narrates every plugin and revision at INFO; only its warnings matter in a log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    if wants_console(log_format, out):
        # The console renderer lays out tracebacks itself; colours only on a real terminal.
        isatty = getattr(out, "isatty", None)
        rendering: list[Any] = [
            structlog.dev.ConsoleRenderer(colors=bool(isatty and isatty()), sort_keys=False)
        ]
    else:
        rendering = [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    structlog.configure(
        processors=[*shared, *rendering],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )


access_log = structlog.get_logger("koepon.access")


# Paths whose last segment is a credential (a signed download link, a stream overlay's token):
# never written to logs.
# Paths whose last part is a credential: signed downloads, overlay tokens (the API's and the
# OBS page's own URL).
SECRET_PATH_PREFIXES = ("/api/v1/downloads/", "/api/v1/overlays/", "/overlay/")


def loggable_path(path: str) -> str:
    """``path`` as the access log may keep it: a credential in the path is masked."""
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "***"
    return path


class RequestContextMiddleware:
    """Assigns a request id (or keeps a sane incoming one), logs access, records metrics."""

    def __init__(self, app: ASGIApp, service: str, settings: Settings | None = None) -> None:
        self.app = app
        self.service = service
        if settings is not None:  # the process's edge: traces and Sentry, if configured
            configure_telemetry(settings, service)
        # Metric children by (method, route, status): ``labels()`` takes a lock and builds a key
        # each call; routes are templates, so this stays as small as the route table.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, route_path: str, status: int, elapsed: float) -> None:
        key = (method, route_path, status)
        children = self._children.get(key)
        if children is None:
            children = (
                REQUESTS.labels(self.service, method, route_path, str(status)),
                LATENCY.labels(self.service, method, route_path),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        # A log correlation id, not a secret: no need for the OS's random source per request.
        request_id = incoming if _REQUEST_ID.match(incoming) else f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        # Reset, not unbound, at the end: a request served in-process inside another (a test's
        # ASGI transport) gives the outer one its id back.
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        trace_ids: dict[str, str] = {}
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            if tracing.enabled():
                await self._traced(scope, receive, send_with_id, lambda: status, trace_ids)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self._observe(method, route_path, status, elapsed)
            access_log.info(
                "http.access",
                service=self.service,
                method=scope["method"],
                path=loggable_path(scope["path"]),
                status=status,
                ms=round(elapsed * 1000, 1),
                client=(scope.get("client") or ("-",))[0],
                **trace_ids,
            )
            structlog.contextvars.reset_contextvars(**bound)

    async def _traced(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: Callable[[], int],
        trace_ids: dict[str, str],
    ) -> None:
        """The request in a server span continuing the caller's ``traceparent``; its ids go
        into ``trace_ids`` for the access log line, written after the span ends."""
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        with tracing.server_span(
            method,
            tracing.asgi_headers(scope["headers"]),
            **{"http.request.method": method, "koepon.service": self.service},
        ) as span:
            trace_ids.update(tracing.log_ids(span))
            try:
                await self.app(scope, receive, send)
            finally:
                # Named after the route template once routing found it, never the raw path.
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                tracing.record_status(span, status())


def configure_telemetry(settings: Settings, service: str) -> None:
    """Traces and Sentry for this process (``service``: the services it serves), each only
    when configured; called once the process knows what it serves."""
    from koepon.kernel.sentry import configure_sentry

    tracing.configure_tracing(
        settings.otel_exporter_otlp_endpoint,
        service=service,
        sample_rate=settings.otel_traces_sample_rate,
        environment=settings.environment,
    )
    configure_sentry(settings, service)

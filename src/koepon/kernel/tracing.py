"""OpenTelemetry traces across the gateway, the services and the bus, by hand with the API.

Off unless an OTLP endpoint is configured (``KOEPON_OTEL_EXPORTER_OTLP_ENDPOINT`` or the
standard ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``): then every hook below returns after one
module-level flag test, so an untraced process pays nothing worth measuring. W3C
``traceparent`` carries the context in HTTP headers and in bus message headers; the outbox keeps
it with the event so the consumer's span joins the request that committed it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = structlog.get_logger(__name__)
_PROPAGATOR = TraceContextTextMapPropagator()
# The outbox keeps the context of the transaction that wrote an event under this payload key;
# the relay moves it to the message's headers, so consumers never see it in the payload.
OUTBOX_TRACE_KEY = "_trace"
_SPAN_KEY = "koepon.span"
OTEL_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


@dataclass
class _State:
    tracer: trace.Tracer | None = None
    provider: TracerProvider | None = None


_state = _State()


def enabled() -> bool:
    return _state.tracer is not None


def endpoint_configured(endpoint: str | None, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether traces are to be exported: our setting, or the standard OTEL_* variables."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(endpoint) or any(environ.get(name) for name in OTEL_ENDPOINT_VARIABLES)


def configure_tracing(
    endpoint: str | None, *, service: str, sample_rate: float = 1.0, environment: str = ""
) -> bool:
    """Export spans over OTLP/HTTP when an endpoint is configured; False (no-op) otherwise."""
    if _state.tracer is not None or not endpoint_configured(endpoint):
        return _state.tracer is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "deployment.environment": environment}),
        sampler=ParentBased(TraceIdRatioBased(sample_rate)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use_provider(provider)
    log.info("tracing.enabled", service=service, sample_rate=sample_rate)
    return True


def use_provider(provider: TracerProvider | None) -> None:
    """Trace with ``provider`` (None: stop tracing). Kept here rather than as OTel's global
    provider, which can be set only once per process (tests swap it)."""
    _state.provider = provider
    _state.tracer = provider.get_tracer("koepon") if provider is not None else None


def shutdown() -> None:
    """Flush the spans still buffered (a stopping process)."""
    if _state.provider is not None:
        _state.provider.shutdown()


def _ids(span: Span) -> dict[str, str]:
    ctx = span.get_span_context()
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def log_ids(span: Span) -> dict[str, str]:
    """``trace_id`` and ``span_id`` as logs carry them (hex, as trace backends show them)."""
    return _ids(span)


@contextmanager
def server_span(name: str, headers: Mapping[str, str], **attributes: Any) -> Iterator[Span]:
    """A server span continuing the caller's ``traceparent``; logs inside carry its ids."""
    assert _state.tracer is not None
    parent = _PROPAGATOR.extract(headers)
    with (
        _state.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span,
        # Restores the caller's ids after (an in-process call must not erase the caller's).
        structlog.contextvars.bound_contextvars(**_ids(span)),
    ):
        yield span


def record_status(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


def asgi_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The propagation headers of an ASGI request (``traceparent``, ``tracestate``)."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in raw
        if name in (b"traceparent", b"tracestate")
    }


def current_headers() -> dict[str, str]:
    """The current trace context as headers (empty when there is none or tracing is off)."""
    if _state.tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


# --- outgoing HTTP between services -------------------------------------------------------


async def _start_client_span(request: httpx.Request) -> None:
    if _state.tracer is None:
        return
    span = _state.tracer.start_span(
        f"{request.method} {request.url.host}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": request.method, "server.address": request.url.host},
    )
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    request.headers.update(carrier)
    request.extensions[_SPAN_KEY] = span


async def _end_client_span(response: httpx.Response) -> None:
    span = response.request.extensions.pop(_SPAN_KEY, None)
    if span is None:
        return
    record_status(span, response.status_code)
    span.end()


def traced_hooks() -> dict[str, list[Callable[..., Awaitable[None]]]]:
    """``event_hooks=traced_hooks()`` for an ``httpx.AsyncClient`` calling another service:
    a client span, and its ``traceparent`` sent along (nothing while tracing is off)."""
    return {"request": [_start_client_span], "response": [_end_client_span]}


# --- the bus ------------------------------------------------------------------------------


def keep_in_payload(payload: MutableMapping[str, Any]) -> None:
    """Store the current trace context with an outbox event (nothing while tracing is off)."""
    if _state.tracer is None:
        return
    carrier = current_headers()
    if carrier:
        payload[OUTBOX_TRACE_KEY] = carrier


def take_from_payload(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """An outbox row's payload without the stored context, and that context as headers."""
    if OUTBOX_TRACE_KEY not in payload:
        return payload, {}
    clean = dict(payload)
    stored = clean.pop(OUTBOX_TRACE_KEY)
    headers = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
    return clean, headers


def traced_handler(consumer: str, handler: Callable[[Any], Awaitable[None]]) -> Any:
    """``handler`` in a consumer span continuing the message's context, counted in
    ``koepon_bus_messages_total``."""
    from koepon.kernel.metrics import BUS_MESSAGES

    handled = BUS_MESSAGES.labels(consumer, "handled")
    failed = BUS_MESSAGES.labels(consumer, "failed")

    async def run(message: Any) -> None:
        try:
            if _state.tracer is None:
                await handler(message)
            else:
                await _consume(consumer, handler, message)
        except BaseException:
            failed.inc()
            raise
        handled.inc()

    return run


async def _consume(consumer: str, handler: Callable[[Any], Awaitable[None]], message: Any) -> None:
    assert _state.tracer is not None
    # The message's context alone is the parent, not whatever the delivering task carries.
    parent = _PROPAGATOR.extract(message.headers)
    with _state.tracer.start_as_current_span(
        f"{message.topic} process",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"messaging.destination.name": message.topic, "koepon.consumer": consumer},
    ) as span:
        with structlog.contextvars.bound_contextvars(**_ids(span)):
            await handler(message)

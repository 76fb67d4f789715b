"""Traces: a request's context crosses HTTP calls between services and the bus (through the
outbox) to the consumer; logs carry the ids; nothing happens while tracing is off."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gacha import samples
from gacha.conftest import Desk, desk_fixture, gacha_services, live_now  # noqa: F401 - desk
from koepon.app import create_app
from koepon.kernel import tracing
from koepon.kernel.bus import Message
from koepon.kernel.bus.inprocess import InProcessBus
from koepon.kernel.observability import RequestContextMiddleware, configure_logging
from koepon.payment.client import HttpMedalWallets
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


def trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def two_services() -> FastAPI:
    """An edge app whose route calls a second service over HTTP, as the gateway calls a
    service and the gacha service calls payment."""
    payment = FastAPI()

    @payment.post("/internal/payment/holds/{transfer_id}")
    async def hold(transfer_id: str) -> dict[str, str]:
        structlog.get_logger("probe").info("payment.held", transfer_id=transfer_id)
        return {"transfer_id": transfer_id}

    payment.add_middleware(RequestContextMiddleware, service="payment")
    to_payment = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=payment),
        base_url="http://payment",
        event_hooks=tracing.traced_hooks(),
    )
    gacha = FastAPI()

    @gacha.post("/api/v1/gachas/{gacha_id}/draws")
    async def draw(gacha_id: str) -> dict[str, str]:
        answer = await to_payment.post("/internal/payment/holds/draw-1")
        return {"held": answer.json()["transfer_id"]}

    gacha.add_middleware(RequestContextMiddleware, service="gacha")
    return gacha


async def test_a_call_to_another_service_continues_the_callers_trace(
    spans: InMemorySpanExporter,
) -> None:
    app = two_services()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answer = await c.post("/api/v1/gachas/g-1/draws", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200
    finished = {span.name: span for span in spans.get_finished_spans()}
    assert set(finished) == {
        "POST /api/v1/gachas/{gacha_id}/draws",
        "POST payment",
        "POST /internal/payment/holds/{transfer_id}",
    }
    # One trace, continuing the incoming traceparent; named after route templates, not paths.
    assert {trace_id(span) for span in finished.values()} == {TRACEPARENT.split("-")[1]}
    edge = finished["POST /api/v1/gachas/{gacha_id}/draws"]
    client = finished["POST payment"]
    server = finished["POST /internal/payment/holds/{transfer_id}"]
    assert edge.kind is SpanKind.SERVER and client.kind is SpanKind.CLIENT
    assert client.parent is not None and edge.context is not None
    assert client.parent.span_id == edge.context.span_id
    assert server.parent is not None and client.context is not None
    assert server.parent.span_id == client.context.span_id
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/internal/payment/holds/{transfer_id}"


async def test_logs_carry_the_request_and_trace_ids(spans: InMemorySpanExporter) -> None:
    saved = structlog.get_config()
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        app = two_services()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            await c.post("/api/v1/gachas/g-1/draws", headers={"x-request-id": "req-1"})
    finally:
        structlog.configure(**saved)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    held = next(line for line in lines if line["event"] == "payment.held")
    accesses = [line for line in lines if line["event"] == "http.access"]
    assert len(accesses) == 2
    trace_ids = {line["trace_id"] for line in [held, *accesses]}
    assert len(trace_ids) == 1 and len(trace_ids.pop()) == 32
    assert all(len(line["span_id"]) == 16 for line in [held, *accesses])
    assert {line["request_id"] for line in accesses if line["service"] == "gacha"} == {"req-1"}


async def test_without_tracing_nothing_is_sent_or_recorded() -> None:
    assert not tracing.enabled()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), event_hooks=tracing.traced_hooks()
    ) as http:
        await http.get("http://payment/internal/x")
    assert "traceparent" not in seen[0].headers
    payload: dict[str, object] = {"a": 1}
    tracing.keep_in_payload(payload)
    assert payload == {"a": 1} and tracing.current_headers() == {}


def test_tracing_is_on_only_with_an_endpoint() -> None:
    assert not tracing.endpoint_configured(None, {})
    assert tracing.endpoint_configured("http://otel:4318", {})
    assert tracing.endpoint_configured(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"})
    assert not tracing.endpoint_configured("http://otel:4318", {"OTEL_SDK_DISABLED": "true"})
    assert not tracing.configure_tracing(None, service="gacha") or tracing.enabled()


async def test_a_bus_message_carries_the_context_to_its_consumer(
    spans: InMemorySpanExporter,
) -> None:
    bus = InProcessBus()
    got: list[Message] = []

    async def handler(message: Message) -> None:
        got.append(message)

    bus.subscribe("rewards.grants", ["gacha.#"], handler)
    with tracing.server_span("POST /draws", {}) as request_span:
        payload: dict[str, object] = {"draw_id": "d-1"}
        tracing.keep_in_payload(payload)  # what Outbox.add does in the request's transaction
    # Later, in the relay's task: the stored context moves from the row to the headers.
    clean, headers = tracing.take_from_payload(payload)
    await bus.publish(Message("m-1", "gacha.draw.completed", clean, _now(), headers))
    assert got[0].payload == {"draw_id": "d-1"}
    consumer = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER)
    assert consumer.parent is not None
    assert consumer.parent.span_id == request_span.get_span_context().span_id
    assert trace_id(consumer) == format(request_span.get_span_context().trace_id, "032x")


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def until_completed(desk: Desk, fan: Any, draw_id: str) -> None:
    for _ in range(300):
        polled = await desk.client.get(f"/api/v1/draws/{draw_id}", headers=fan.headers)
        if polled.json().get("status") == "completed":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"draw {draw_id} did not complete: {polled.text}")


async def test_a_draw_traces_from_the_request_through_the_outbox_to_its_consumers(
    spans: InMemorySpanExporter, desk: Desk
) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=500)
    spans.clear()
    answer = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    assert answer.status_code in (200, 202), answer.text
    await until_completed(desk, fan, answer.json()["id"])
    request = next(
        s for s in spans.get_finished_spans() if s.name == "POST /api/v1/gachas/{gacha_id}/draws"
    )
    consumed: set[str] = set()
    for _ in range(100):  # the relay publishes after the commit; RabbitMQ delivers later still
        consumed = {
            str((s.attributes or {}).get("messaging.destination.name"))
            for s in spans.get_finished_spans()
            if s.kind is SpanKind.CONSUMER and trace_id(s) == trace_id(request)
        }
        if "gacha.draw.completed.v1" in consumed:
            break
        await asyncio.sleep(0.1)
    assert "gacha.draw.completed.v1" in consumed, consumed


async def test_a_draw_traces_gateway_to_gacha_to_payment_over_http(
    spans: InMemorySpanExporter, desk: Desk
) -> None:
    # The gacha service reaches payment over HTTP, as in the distributed mode: its wallets
    # client is the HTTP one, answered by the platform's own internal routes.
    services_app = create_app(desk.platform, gateway=False, manage_lifecycle=False)
    wallets = gacha_services(desk.platform).wallets
    token = desk.platform.settings.internal_token
    assert token is not None
    local = wallets.inner
    wallets.inner = HttpMedalWallets(
        "http://payment",
        token.get_secret_value(),
        transport=httpx.ASGITransport(app=services_app),
    )
    try:
        gacha_id = await desk.publish(live_now(samples.weighted_raw()))
        fan = await desk.fan(medals=500)
        spans.clear()
        answer = await desk.client.post(
            f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
        )
        assert answer.status_code in (200, 202), answer.text
        # On a loaded machine the saga may outlast the request's short wait (202): the fan
        # polls, and the payment calls are then still made inside the request's trace.
        await until_completed(desk, fan, answer.json()["id"])
    finally:
        wallets.inner = local
    finished = spans.get_finished_spans()
    edge = next(s for s in finished if s.name == "POST /api/v1/gachas/{gacha_id}/draws")
    assert edge.attributes is not None and edge.attributes["koepon.service"] == "gateway"
    calls = [s for s in finished if s.kind is SpanKind.CLIENT and trace_id(s) == trace_id(edge)]
    payment = [
        s
        for s in finished
        if s.kind is SpanKind.SERVER and s is not edge and trace_id(s) == trace_id(edge)
    ]
    assert {s.name for s in payment} == {"POST /holds", "POST /holds/{transfer_id}/post"}
    assert len(calls) >= 2 and len(payment) == len(calls)  # hold, then post the medals
    client_ids = {s.context.span_id for s in calls if s.context is not None}
    assert all(s.parent is not None and s.parent.span_id in client_ids for s in payment)

"""The KOMOJU adapter against recorded KOMOJU API payloads (no network) and real webhook
signatures (hex HMAC-SHA256 of the raw body, ``X-Komoju-Signature``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime

import httpx
import pytest

from koepon.payment.checkout.tasks import recovery_event
from koepon.payment.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    SessionRequest,
    WebhookRejected,
)
from koepon.payment.providers.komoju import KomojuProvider
from payment.fixtures.shop import recorded

SECRET = "komoju-webhook-secret-token"
CHECKOUT_ID = "0b7a3a6e-5f1c-4c57-9d0e-3b1e2f4a5c6d"
NOW = datetime(2025, 1, 10, 3, 1, tzinfo=UTC)


def komoju_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def adapter(handler) -> KomojuProvider:  # type: ignore[no-untyped-def]
    return KomojuProvider(
        secret_key="sk_test_komoju",
        webhook_secret=SECRET,
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )


def session_request(method: str = "konbini") -> SessionRequest:
    return SessionRequest(
        checkout_id=CHECKOUT_ID,
        amount_jpy=1_100,
        description="推しメダル スタンダードパック",
        method=method,  # type: ignore[arg-type]
        idempotency_key="koepon-create_session-def456",
        success_url="http://127.0.0.1:8000/checkouts/x/success",
        cancel_url="http://127.0.0.1:8000/checkouts/x/cancel",
        expires_at=datetime(2099, 1, 1, tzinfo=UTC),
    )


async def test_create_session_posts_json_with_basic_auth_and_the_idempotency_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=recorded("komoju_session_created.json"))

    opened = await adapter(handler).create_session(session_request())
    assert opened.session_id == "7e3kfqm3y5n1jcd0tgmf9hx8a"
    assert opened.redirect_url == "https://komoju.com/sessions/7e3kfqm3y5n1jcd0tgmf9hx8a"
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "https://komoju.com/api/v1/sessions")
    assert request.headers["x-komoju-idempotency"] == "koepon-create_session-def456"
    expected = base64.b64encode(b"sk_test_komoju:").decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    body = json.loads(request.content)
    assert body["amount"] == 1_100 and body["currency"] == "JPY"
    assert body["payment_types"] == ["konbini"]
    assert body["payment_data"] == {"external_order_num": CHECKOUT_ID}
    assert body["metadata"] == {"checkout_id": CHECKOUT_ID}


@pytest.mark.parametrize(
    ("method", "komoju_type"),
    [("card", "credit_card"), ("paypay", "paypay"), ("bank_transfer", "bank_transfer")],
)
async def test_methods_map_to_komoju_payment_types(method: str, komoju_type: str) -> None:
    sent: list[dict] = []  # type: ignore[type-arg]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=recorded("komoju_session_created.json"))

    await adapter(handler).create_session(session_request(method))
    assert sent[0]["payment_types"] == [komoju_type]


async def test_komoju_4xx_is_a_refusal_and_5xx_or_timeout_an_outage() -> None:
    with pytest.raises(ProviderRejected, match="amount"):
        await adapter(
            lambda r: httpx.Response(400, json=recorded("komoju_error_bad_request.json"))
        ).create_session(session_request())
    with pytest.raises(ProviderUnavailable):
        await adapter(lambda r: httpx.Response(502, text="bad gateway")).create_session(
            session_request()
        )

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderUnavailable):
        await adapter(timeout).create_session(session_request())


async def test_list_payments_reads_a_jst_day() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=recorded("komoju_payments_list.json"))

    payments = await adapter(handler).list_payments(date(2025, 1, 10))
    assert [(p.reference, p.checkout_id, p.status, p.amount_jpy) for p in payments] == [
        ("9sx3ntkqls3y4fk4p1mmwnd6c", "44444444-4444-4444-8444-444444444444", "succeeded", 1_100),
        ("b1d3f5h7j9l1n3p5r7t9v1x3z", "55555555-5555-4555-8555-555555555555", "pending", 3_060),
    ]
    params = dict(seen[0].url.params)
    assert params["start_time"] == "2025-01-09T15:00:00Z"
    assert params["end_time"] == "2025-01-10T15:00:00Z"


async def test_refund_posts_to_the_payment_with_the_idempotency_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "f0kx8ipyqjz1a1sdt4z6kgcp4", "status": "refunded"})

    await adapter(handler).refund(
        payment_id="f0kx8ipyqjz1a1sdt4z6kgcp4", amount_jpy=1_100, idempotency_key="koepon-r-1"
    )
    assert seen[0].url.path == "/api/v1/payments/f0kx8ipyqjz1a1sdt4z6kgcp4/refund"
    assert seen[0].headers["x-komoju-idempotency"] == "koepon-r-1"
    assert json.loads(seen[0].content) == {"amount": 1_100}


@pytest.mark.parametrize(
    ("fixture", "kind", "checkout_id"),
    [
        ("komoju_event_payment_captured.json", "succeeded", "44444444-4444-4444-8444-444444444444"),
        (
            "komoju_event_payment_authorized_konbini.json",
            "pending",
            "55555555-5555-4555-8555-555555555555",
        ),
        ("komoju_event_payment_refunded.json", "refunded", "44444444-4444-4444-8444-444444444444"),
    ],
)
def test_signed_komoju_events_are_verified_and_mapped(
    fixture: str, kind: str, checkout_id: str
) -> None:
    body = json.dumps(recorded(fixture), ensure_ascii=False).encode()
    event = adapter(lambda r: httpx.Response(500)).parse_event(
        body, {"x-komoju-signature": komoju_signature(body)}, now=NOW
    )
    assert (event.event_id, event.kind, event.checkout_id) == (
        recorded(fixture)["id"],
        kind,
        checkout_id,
    )
    assert event.amount_jpy == recorded(fixture)["data"]["total"]


def test_forged_tampered_or_unsigned_komoju_events_are_refused() -> None:
    provider = adapter(lambda r: httpx.Response(500))
    body = json.dumps(recorded("komoju_event_payment_captured.json")).encode()
    tampered = body.replace(b'"total": 1100', b'"total": 1')
    for payload, headers, code in [
        (
            body,
            {"x-komoju-signature": komoju_signature(body, "other")},
            "webhook_signature_invalid",
        ),
        (tampered, {"x-komoju-signature": komoju_signature(body)}, "webhook_signature_invalid"),
        (body, {}, "webhook_signature_missing"),
    ]:
        with pytest.raises(WebhookRejected) as refused:
            provider.parse_event(payload, headers, now=NOW)
        assert refused.value.code == code


async def test_the_recovery_job_gets_the_komoju_session() -> None:
    session = recorded("komoju_session_created.json")
    captured = {**session, "payment": {"id": "pay_1", "status": "captured"}}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=captured)

    payment = await adapter(handler).fetch_payment(session["id"])
    assert (seen[0].method, seen[0].url.path) == ("GET", f"/api/v1/sessions/{session['id']}")
    assert (payment.status, payment.amount_jpy, payment.payment_id) == ("succeeded", 1_100, "pay_1")
    event = recovery_event(CHECKOUT_ID, payment)
    assert event is not None and (event.kind, event.payment_id) == ("succeeded", "pay_1")


async def test_cancelling_a_pending_session_posts_its_cancel_once() -> None:
    session = recorded("komoju_session_created.json")
    state = {"status": "pending"}
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "POST":
            state["status"] = "cancelled"
        return httpx.Response(200, json={**session, **state})

    komoju = adapter(handler)
    await komoju.cancel_session(session["id"])
    await komoju.cancel_session(session["id"])  # already cancelled: nothing more to send
    path = f"/api/v1/sessions/{session['id']}"
    assert seen == [("GET", path), ("POST", f"{path}/cancel"), ("GET", path)]
    assert (await komoju.fetch_payment(session["id"])).status == "cancelled"

    paid = adapter(
        lambda r: httpx.Response(
            200,
            json={**session, "status": "completed", "payment": {"id": "p", "status": "captured"}},
        )
    )
    with pytest.raises(ProviderRejected):
        await paid.cancel_session(session["id"])

"""The Stripe adapter against recorded Stripe API payloads (no network) and real webhook
signatures (Stripe's ``t=…,v1=…`` HMAC-SHA256 scheme, computed here independently)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from koepon.payment.checkout.tasks import recovery_event
from koepon.payment.providers.base import (
    ProviderRejected,
    ProviderUnavailable,
    SessionRequest,
    WebhookRejected,
)
from koepon.payment.providers.stripe import StripeProvider
from payment.fixtures.shop import recorded

SECRET = "whsec_test_0123456789abcdef"
CHECKOUT_ID = "0b7a3a6e-5f1c-4c57-9d0e-3b1e2f4a5c6d"


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


class Recorder:
    """A mock Stripe API answering with recorded payloads, keeping every request."""

    def __init__(self, responses: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.responses = responses
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.responses[(request.method, request.url.path)]
        if isinstance(body, Exception):
            raise body
        return httpx.Response(status, json=body, headers={"request-id": "req_test"})


def provider(recorder: Recorder) -> StripeProvider:
    return StripeProvider(
        secret_key="sk_test_koepon",
        webhook_secret=SECRET,
        tolerance_seconds=300,
        http=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
    )


def session_request() -> SessionRequest:
    return SessionRequest(
        checkout_id=CHECKOUT_ID,
        amount_jpy=1_100,
        description="推しメダル スタンダードパック",
        method="card",
        idempotency_key="koepon-create_session-abc123",
        success_url=f"http://127.0.0.1:8000/checkouts/{CHECKOUT_ID}/success",
        cancel_url=f"http://127.0.0.1:8000/checkouts/{CHECKOUT_ID}/cancel",
        expires_at=datetime(2025, 1, 10, 3, 30, tzinfo=UTC),
    )


async def test_create_session_posts_a_checkout_session_with_our_idempotency_key() -> None:
    recorder = Recorder(
        {("POST", "/v1/checkout/sessions"): (200, recorded("stripe_checkout_session_created.json"))}
    )
    opened = await provider(recorder).create_session(session_request())
    assert opened.session_id == "cs_test_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ"
    assert opened.redirect_url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    (request,) = recorder.requests
    assert request.url.host == "api.stripe.com"
    assert request.headers["idempotency-key"] == "koepon-create_session-abc123"
    assert request.headers["authorization"] == "Bearer sk_test_koepon"
    form = dict(urllib.parse.parse_qsl(request.content.decode()))
    assert form["mode"] == "payment"
    assert form["client_reference_id"] == CHECKOUT_ID
    assert form["line_items[0][price_data][currency]"] == "jpy"
    assert form["line_items[0][price_data][unit_amount]"] == "1100"
    assert form["line_items[0][quantity]"] == "1"
    assert form["metadata[checkout_id]"] == CHECKOUT_ID
    assert form["payment_intent_data[metadata][checkout_id]"] == CHECKOUT_ID
    assert form["payment_method_types[0]"] == "card"
    assert form["expires_at"] == str(int(datetime(2025, 1, 10, 3, 30, tzinfo=UTC).timestamp()))


async def test_a_stripe_4xx_is_a_refusal_and_a_5xx_or_network_error_an_outage() -> None:
    refused = Recorder(
        {("POST", "/v1/checkout/sessions"): (400, recorded("stripe_error_card_declined.json"))}
    )
    with pytest.raises(ProviderRejected):
        await provider(refused).create_session(session_request())
    down = Recorder({("POST", "/v1/checkout/sessions"): (503, {"error": {"message": "down"}})})
    with pytest.raises(ProviderUnavailable):
        await provider(down).create_session(session_request())
    unreachable = Recorder({("POST", "/v1/checkout/sessions"): (0, httpx.ConnectError("refused"))})
    with pytest.raises(ProviderUnavailable):
        await provider(unreachable).create_session(session_request())


async def test_list_payments_maps_sessions_of_a_jst_day() -> None:
    recorder = Recorder(
        {("GET", "/v1/checkout/sessions"): (200, recorded("stripe_checkout_sessions_list.json"))}
    )
    payments = await provider(recorder).list_payments(date(2025, 1, 10))
    assert [(p.reference, p.status, p.amount_jpy) for p in payments] == [
        ("cs_test_paid0001", "succeeded", 1_100),
        ("cs_test_konbini0002", "pending", 3_060),
        ("cs_test_expired0003", "expired", 500),
    ]
    query = dict(recorder.requests[0].url.params)
    start = int(datetime(2025, 1, 9, 15, 0, tzinfo=UTC).timestamp())  # 00:00 JST
    assert query["created[gte]"] == str(start)
    assert query["created[lt]"] == str(start + 86_400)


async def test_refund_posts_a_refund_with_its_idempotency_key() -> None:
    recorder = Recorder({("POST", "/v1/refunds"): (200, recorded("stripe_refund_created.json"))})
    await provider(recorder).refund(
        payment_id="pi_3Qpaid0001", amount_jpy=1_100, idempotency_key="koepon-refund-x"
    )
    (request,) = recorder.requests
    assert request.headers["idempotency-key"] == "koepon-refund-x"
    form = dict(urllib.parse.parse_qsl(request.content.decode()))
    assert form == {"payment_intent": "pi_3Qpaid0001", "amount": "1100"}


@pytest.mark.parametrize(
    ("fixture", "kind", "checkout_id", "payment_id"),
    [
        (
            "stripe_event_checkout_session_completed.json",
            "succeeded",
            "11111111-1111-4111-8111-111111111111",
            "pi_3Qpaid0001",
        ),
        (
            "stripe_event_checkout_session_completed_konbini.json",
            "pending",
            "22222222-2222-4222-8222-222222222222",
            "pi_3Qkonbini0002",
        ),
        ("stripe_event_charge_refunded.json", "refunded", None, "pi_3Qpaid0001"),
        ("stripe_event_charge_dispute_created.json", "dispute_opened", None, "pi_3Qpaid0001"),
    ],
)
def test_signed_stripe_events_are_verified_and_mapped(
    fixture: str, kind: str, checkout_id: str | None, payment_id: str
) -> None:
    payload = json.dumps(recorded(fixture)).encode()
    now = int(time.time())
    event = provider(Recorder({})).parse_event(
        payload,
        {"stripe-signature": stripe_signature(payload, SECRET, now)},
        now=datetime.fromtimestamp(now, UTC),
    )
    assert event.event_id == recorded(fixture)["id"]
    assert event.kind == kind
    assert event.checkout_id == checkout_id
    assert event.payment_id == payment_id


def test_forged_stale_and_tampered_stripe_events_are_refused() -> None:
    adapter = provider(Recorder({}))
    payload = json.dumps(recorded("stripe_event_checkout_session_completed.json")).encode()
    now = int(time.time())
    moment = datetime.fromtimestamp(now, UTC)
    cases = {
        "webhook_signature_invalid": (payload, stripe_signature(payload, "whsec_other", now)),
        "webhook_timestamp_out_of_tolerance": (
            payload,
            stripe_signature(payload, SECRET, now - 301),
        ),
    }
    tampered = payload.replace(b'"amount_total": 1100', b'"amount_total": 1')
    cases["webhook_signature_invalid "] = (tampered, stripe_signature(payload, SECRET, now))
    for code, (body, header) in cases.items():
        with pytest.raises(WebhookRejected) as refused:
            adapter.parse_event(body, {"stripe-signature": header}, now=moment)
        assert refused.value.code == code.strip()
    with pytest.raises(WebhookRejected) as missing:
        adapter.parse_event(payload, {}, now=moment)
    assert missing.value.code == "webhook_signature_missing"
    stale_clock = moment + timedelta(minutes=10)
    with pytest.raises(WebhookRejected):
        adapter.parse_event(
            payload, {"stripe-signature": stripe_signature(payload, SECRET, now)}, now=stale_clock
        )


async def test_the_recovery_job_asks_stripe_for_the_checkout_session() -> None:
    session = recorded("stripe_checkout_session_created.json")
    paid = {**session, "status": "complete", "payment_status": "paid", "payment_intent": "pi_1"}
    recorder = Recorder({("GET", f"/v1/checkout/sessions/{session['id']}"): (200, paid)})
    payment = await provider(recorder).fetch_payment(session["id"])
    assert (payment.status, payment.amount_jpy, payment.payment_id) == ("succeeded", 1_100, "pi_1")
    event = recovery_event(CHECKOUT_ID, payment)
    assert event is not None and (event.kind, event.amount_jpy) == ("succeeded", 1_100)
    assert event.event_id == f"koepon:recovery:{CHECKOUT_ID}:succeeded"  # one per answer
    assert (
        recovery_event(
            CHECKOUT_ID,
            await provider(
                Recorder({("GET", f"/v1/checkout/sessions/{session['id']}"): (200, session)})
            ).fetch_payment(session["id"]),
        )
        is None
    )  # still open: nothing to apply


async def test_cancelling_a_session_expires_it_and_an_ended_one_is_left_alone() -> None:
    session = recorded("stripe_checkout_session_created.json")
    path = f"/v1/checkout/sessions/{session['id']}"
    recorder = Recorder(
        {
            ("GET", path): (200, session),
            ("POST", f"{path}/expire"): (200, {**session, "status": "expired"}),
        }
    )
    await provider(recorder).cancel_session(session["id"])
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", path),
        ("POST", f"{path}/expire"),
    ]

    ended = Recorder({("GET", path): (200, {**session, "status": "expired"})})
    await provider(ended).cancel_session(session["id"])
    assert [r.method for r in ended.requests] == ["GET"]  # nothing left to expire

    paid = Recorder({("GET", path): (200, {**session, "status": "complete"})})
    with pytest.raises(ProviderRejected):
        await provider(paid).cancel_session(session["id"])

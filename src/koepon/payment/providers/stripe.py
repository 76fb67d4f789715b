"""Stripe adapter: Checkout Sessions through the ``stripe`` SDK, webhooks verified by the SDK.

Card data never touches the platform (COMPLIANCE R4): the fan pays on Stripe's hosted page.
The SDK's HTTP goes through an ``httpx.AsyncClient`` we hand it, so tests can replay recorded
responses with a mock transport and no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx
import stripe

from koepon.kernel.clock import jst_day_bounds as day_bounds
from koepon.payment.providers.base import (
    EventKind,
    Method,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
    ProviderPayment,
    ProviderRejected,
    ProviderSession,
    ProviderUnavailable,
    SessionRequest,
    WebhookRejected,
    signed_header,
)

SIGNATURE_HEADER = "stripe-signature"
# Stripe Checkout payment_method_types per method we offer through Stripe.
_METHOD_TYPES: dict[Method, list[str]] = {"card": ["card"], "konbini": ["konbini"]}


class _HttpxForStripe(stripe.HTTPClient):
    """The SDK's async HTTP over our own ``httpx.AsyncClient`` (injectable transport)."""

    name = "httpx-koepon"

    def __init__(self, http: httpx.AsyncClient) -> None:
        super().__init__()
        self._http = http

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._http.request(
                method, url, headers=dict(headers), content=post_data or None
            )
        except httpx.HTTPError as exc:
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"Stripe unreachable: {exc!r}"
            ) from exc
        return response.content, response.status_code, response.headers

    def sleep_async(self, secs: float):  # type: ignore[no-untyped-def]
        import anyio

        return anyio.sleep(secs)

    async def close_async(self) -> None:
        await self._http.aclose()


def _session_status(session: Mapping[str, Any]) -> PaymentStatus:
    if session.get("payment_status") == "paid":
        return "succeeded"
    if session.get("status") == "expired":
        return "expired"
    if session.get("status") == "complete":
        return "pending"  # completed with a method paid later (konbini)
    return "open"


class StripeProvider:
    """Stripe Checkout in payment mode, JPY (zero-decimal: amounts are whole yen)."""

    name: ProviderName = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        tolerance_seconds: int,
        http: httpx.AsyncClient | None = None,
        api_base: str | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.tolerance_seconds = tolerance_seconds
        self._http = http or httpx.AsyncClient(timeout=30)
        self.client = stripe.StripeClient(
            secret_key,
            http_client=_HttpxForStripe(self._http),
            max_network_retries=0,  # retries are ours, with the same idempotency key
            base_addresses={"api": api_base} if api_base else None,
        )

    def supports(self, method: Method | None) -> bool:
        return method is None or method in _METHOD_TYPES

    async def _do(self, coroutine: Any) -> Any:
        try:
            return await coroutine
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(self.name, exc.__class__.__name__) from exc
        except stripe.StripeError as exc:
            status = getattr(exc, "http_status", None) or 500
            if status >= 500:
                raise ProviderUnavailable(self.name, f"HTTP {status}") from exc
            raise ProviderRejected(self.name, str(exc.user_message or exc)) from exc

    async def create_session(self, request: SessionRequest) -> ProviderSession:
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.checkout_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": request.amount_jpy,
                        "tax_behavior": "inclusive",
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "metadata": {"checkout_id": request.checkout_id},
            "payment_intent_data": {"metadata": {"checkout_id": request.checkout_id}},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
            "locale": "ja",
        }
        if request.method is not None:
            params["payment_method_types"] = _METHOD_TYPES[request.method]
        session = await self._do(
            self.client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        )
        return ProviderSession(session_id=session.id, redirect_url=session.url)

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent:
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise WebhookRejected("webhook_signature_missing", "Stripe-Signature header missing")
        timestamp, _ = signed_header(signature)
        if timestamp is not None and abs(now.timestamp() - timestamp) > self.tolerance_seconds:
            raise WebhookRejected(
                "webhook_timestamp_out_of_tolerance", "Stripe webhook timestamp is too old"
            )
        try:
            # The SDK verifies the signature (and the timestamp against the real clock).
            event = stripe.Webhook.construct_event(
                body.decode("utf-8"), signature, self.webhook_secret, self.tolerance_seconds
            )
        except stripe.SignatureVerificationError as exc:
            code = (
                "webhook_timestamp_out_of_tolerance"
                if "tolerance" in str(exc)
                else "webhook_signature_invalid"
            )
            raise WebhookRejected(code, "Stripe signature verification failed") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected("webhook_payload_invalid", "Webhook body is not JSON") from exc
        return _map_event(event.to_dict())

    async def fetch_payment(self, reference: str) -> ProviderPayment:
        session = await self._do(self.client.v1.checkout.sessions.retrieve_async(reference))
        return _payment(session.to_dict())

    async def list_payments(self, day: date) -> list[ProviderPayment]:
        start, end = day_bounds(day)
        params: dict[str, Any] = {
            "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
            "limit": 100,
        }
        payments: list[ProviderPayment] = []
        while True:
            page = await self._do(
                self.client.v1.checkout.sessions.list_async(params)  # type: ignore[arg-type]
            )
            data = list(page.to_dict()["data"])
            payments.extend(_payment(session) for session in data)
            if not page.has_more or not data:
                return payments
            params["starting_after"] = data[-1]["id"]

    async def cancel_session(self, reference: str) -> None:
        """Stripe ends a Checkout Session by expiring it (it then reports
        ``checkout.session.expired``); one that already ended is left as it is."""
        session = (
            await self._do(self.client.v1.checkout.sessions.retrieve_async(reference))
        ).to_dict()
        if session.get("status") == "expired":
            return
        if session.get("status") != "open":
            raise ProviderRejected(self.name, f"the session is {session.get('status')}, not open")
        await self._do(self.client.v1.checkout.sessions.expire_async(reference))

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None:
        await self._do(
            self.client.v1.refunds.create_async(
                {"payment_intent": payment_id, "amount": amount_jpy},
                options={"idempotency_key": idempotency_key},
            )
        )


def _payment(session: Mapping[str, Any]) -> ProviderPayment:
    created = session.get("created")
    return ProviderPayment(
        reference=session["id"],
        checkout_id=session.get("client_reference_id"),
        status=_session_status(session),
        amount_jpy=int(session.get("amount_total") or 0),
        payment_id=session.get("payment_intent"),
        created_at=datetime.fromtimestamp(created, UTC) if created else None,
    )


_SESSION_EVENTS: dict[str, EventKind] = {
    "checkout.session.async_payment_succeeded": "succeeded",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
}


def _map_event(event: dict[str, Any]) -> ProviderEvent:
    kind_name: str = event["type"]
    obj = event["data"]["object"]
    base: dict[str, Any] = {"event_id": event["id"], "raw_type": kind_name}
    if kind_name.startswith("checkout.session."):
        kind: EventKind | None
        if kind_name == "checkout.session.completed":
            kind = "succeeded" if obj.get("payment_status") == "paid" else "pending"
        else:
            kind = _SESSION_EVENTS.get(kind_name)
        methods = obj.get("payment_method_types") or []
        return ProviderEvent(
            **base,
            kind=kind,
            checkout_id=obj.get("client_reference_id")
            or (obj.get("metadata") or {}).get("checkout_id"),
            session_id=obj.get("id"),
            payment_id=obj.get("payment_intent"),
            amount_jpy=obj.get("amount_total"),
            method=methods[0] if len(methods) == 1 else None,
        )
    if kind_name == "charge.refunded":
        # Our refunds are whole; a partial refund is left to an operator.
        full = bool(obj.get("refunded")) and obj.get("amount_refunded") == obj.get("amount")
        return ProviderEvent(
            **base,
            kind="refunded" if full else None,
            checkout_id=(obj.get("metadata") or {}).get("checkout_id"),
            payment_id=obj.get("payment_intent"),
            amount_jpy=obj.get("amount"),
        )
    if kind_name in ("charge.dispute.created", "charge.dispute.closed"):
        return ProviderEvent(
            **base,
            kind="dispute_opened" if kind_name.endswith("created") else "dispute_closed",
            payment_id=obj.get("payment_intent"),
            amount_jpy=obj.get("amount"),
        )
    return ProviderEvent(**base, kind=None)

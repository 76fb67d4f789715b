"""KOMOJU adapter: hosted sessions over its REST API (httpx), webhooks signed with HMAC-SHA256.

KOMOJU brings the methods Japanese fans use most: konbini, PayPay, bank transfer (and cards).
Requests carry ``X-KOMOJU-IDEMPOTENCY``; the secret key is the basic-auth user name. A webhook's
``X-Komoju-Signature`` is the hex HMAC-SHA256 of the raw body with the webhook secret. KOMOJU
signs no timestamp, so a replayed delivery is harmless only because event ids are deduplicated
and the checkout state machine never goes backwards.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import httpx

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
    hmac_sha256_hex,
)

SIGNATURE_HEADER = "x-komoju-signature"
IDEMPOTENCY_HEADER = "X-KOMOJU-IDEMPOTENCY"
_PAYMENT_TYPES: dict[Method, str] = {
    "card": "credit_card",
    "konbini": "konbini",
    "paypay": "paypay",
    "bank_transfer": "bank_transfer",
}
_EVENTS: dict[str, EventKind] = {
    "payment.authorized": "pending",  # konbini / bank transfer: waiting for the money
    "payment.captured": "succeeded",
    "payment.failed": "failed",
    "payment.expired": "expired",
    "payment.cancelled": "failed",
    "payment.refunded": "refunded",
}
_STATUSES: dict[str, PaymentStatus] = {
    "pending": "open",
    "authorized": "pending",
    "captured": "succeeded",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "failed",
    "refunded": "refunded",
}


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class KomojuProvider:
    """KOMOJU hosted page sessions, JPY."""

    name: ProviderName = "komoju"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        api_base: str = "https://komoju.com",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret.encode()
        self.http = http or httpx.AsyncClient(timeout=30)
        self.api_base = api_base.rstrip("/")
        self.auth = httpx.BasicAuth(secret_key, "")

    def supports(self, method: Method | None) -> bool:
        return method is None or method in _PAYMENT_TYPES

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        try:
            response = await self.http.request(
                method,
                f"{self.api_base}{path}",
                json=json_body,
                params=params,
                headers=headers,
                auth=self.auth,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(self.name, f"{exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(self.name, f"HTTP {response.status_code}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(self.name, "response is not JSON") from exc
        if response.status_code >= 400:
            error = body.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise ProviderRejected(self.name, f"HTTP {response.status_code}: {message}")
        return body

    async def create_session(self, request: SessionRequest) -> ProviderSession:
        body: dict[str, Any] = {
            "amount": request.amount_jpy,
            "currency": "JPY",
            "default_locale": "ja",
            "return_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_in_seconds": max(
                60, int(request.expires_at.timestamp() - datetime.now().timestamp())
            ),
            "payment_data": {"external_order_num": request.checkout_id},
            "metadata": {"checkout_id": request.checkout_id},
            "line_items": [
                {"description": request.description, "amount": request.amount_jpy, "quantity": 1}
            ],
        }
        if request.method is not None:
            body["payment_types"] = [_PAYMENT_TYPES[request.method]]
        session = await self._request(
            "POST", "/api/v1/sessions", json_body=body, idempotency_key=request.idempotency_key
        )
        return ProviderSession(session_id=session["id"], redirect_url=session["session_url"])

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent:
        signature = headers.get(SIGNATURE_HEADER)
        if not signature:
            raise WebhookRejected("webhook_signature_missing", "X-Komoju-Signature missing")
        expected = hmac_sha256_hex(self.webhook_secret, body)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise WebhookRejected("webhook_signature_invalid", "KOMOJU signature does not match")
        try:
            event = json.loads(body)
            kind_name = str(event["type"])
            event_id = str(event["id"])
            payment: dict[str, Any] = event.get("data") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("webhook_payload_invalid", "Not a KOMOJU event") from exc
        details = payment.get("payment_details") or {}
        return ProviderEvent(
            event_id=event_id,
            raw_type=kind_name,
            kind=_EVENTS.get(kind_name),
            checkout_id=(payment.get("metadata") or {}).get("checkout_id")
            or payment.get("external_order_num"),
            session_id=payment.get("session"),
            payment_id=payment.get("id"),
            amount_jpy=payment.get("total", payment.get("amount")),
            method=details.get("type") if isinstance(details, dict) else None,
        )

    async def fetch_payment(self, reference: str) -> ProviderPayment:
        session = await self._request("GET", f"/api/v1/sessions/{reference}")
        payment = session.get("payment") or {}
        status: PaymentStatus = (
            _STATUSES.get(payment.get("status", ""), "open") if payment else "open"
        )
        if not payment and session.get("status") == "cancelled":
            status = "cancelled"  # the fan (or we) gave the page up before paying
        return ProviderPayment(
            reference=session["id"],
            checkout_id=(session.get("metadata") or {}).get("checkout_id"),
            status=status,
            amount_jpy=int(session.get("amount") or 0),
            payment_id=payment.get("id"),
            created_at=_iso(session.get("created_at")),
        )

    async def list_payments(self, day: date) -> list[ProviderPayment]:
        start, end = day_bounds(day)
        payments: list[ProviderPayment] = []
        page = 1
        while True:
            listing = await self._request(
                "GET",
                "/api/v1/payments",
                params={
                    "start_time": start.isoformat().replace("+00:00", "Z"),
                    "end_time": end.isoformat().replace("+00:00", "Z"),
                    "per_page": 100,
                    "page": page,
                },
            )
            for payment in listing.get("data", []):
                payments.append(
                    ProviderPayment(
                        reference=payment.get("session") or payment["id"],
                        checkout_id=(payment.get("metadata") or {}).get("checkout_id")
                        or payment.get("external_order_num"),
                        status=_STATUSES.get(payment.get("status", ""), "open"),
                        amount_jpy=int(payment.get("total", payment.get("amount")) or 0),
                        payment_id=payment.get("id"),
                        created_at=_iso(payment.get("created_at")),
                    )
                )
            if page >= int(listing.get("last_page") or 1):
                return payments
            page += 1

    async def cancel_session(self, reference: str) -> None:
        """KOMOJU cancels a session that is still pending (nobody paid); one already cancelled
        is left as it is."""
        session = await self._request("GET", f"/api/v1/sessions/{reference}")
        if session.get("status") == "cancelled":
            return
        if session.get("status") != "pending" or session.get("payment"):
            raise ProviderRejected(self.name, f"the session is {session.get('status')}")
        await self._request("POST", f"/api/v1/sessions/{reference}/cancel")

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None:
        await self._request(
            "POST",
            f"/api/v1/payments/{payment_id}/refund",
            json_body={"amount": amount_jpy},
            idempotency_key=idempotency_key,
        )

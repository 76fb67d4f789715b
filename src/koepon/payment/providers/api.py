"""The sandbox provider's hosted page (its ``redirect_url``) and the fan's actions on it.

These routes play the outside provider: no platform token, the unguessable checkout id in the
URL is the capability, exactly like a provider's hosted checkout link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError

from koepon.kernel.problems import Problem
from koepon.payment.context import provide
from koepon.payment.providers.sandbox import Outcome, SandboxProvider, describe_outcome

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
STATUS_LABELS = {
    "open": "お支払い待ち",
    "pending": "入金待ち（コンビニ・振込）",
    "succeeded": "お支払いが完了しました",
    "failed": "お支払いに失敗しました",
    "expired": "お支払い期限が切れました",
    "cancelled": "購入をやめました",
    "refunded": "返金済み",
    "disputed": "チャージバック",
}


class CompleteRequest(BaseModel):
    outcome: Outcome


def build_router(sandbox: SandboxProvider | None) -> APIRouter:
    router = APIRouter(tags=["sandbox provider"])
    if sandbox is None:
        return router  # the sandbox is not enabled: no hosted page
    sandbox_dep = Depends(provide(sandbox))  # the provider, as a FastAPI dependency

    async def outcome_of(request: Request) -> tuple[Outcome, bool]:
        content_type = request.headers.get("content-type", "")
        try:
            if content_type.startswith("application/json"):
                return CompleteRequest.model_validate_json(await request.body()).outcome, False
            form = await request.form()
            return CompleteRequest.model_validate({"outcome": form.get("outcome")}).outcome, True
        except ValidationError as exc:
            raise Problem(
                422,
                "validation_failed",
                "outcome must be one of succeeded, failed, pending, paid, expired, cancelled",
            ) from exc

    @router.get("/sandbox/checkouts/{checkout_id}", response_class=HTMLResponse)
    async def sandbox_page(
        checkout_id: str, sandbox: SandboxProvider = sandbox_dep
    ) -> HTMLResponse:
        """The sandbox's hosted payment page with the final confirmation (P2)."""
        payment = await sandbox.for_checkout(checkout_id)
        if payment is None:
            raise Problem(404, "sandbox_checkout_not_found", "No sandbox checkout with this id")
        html = TEMPLATES.get_template("sandbox_checkout.html").render(
            payment=payment,
            c=payment.confirmation or {},
            status_label=STATUS_LABELS.get(payment.status, payment.status),
            action=f"/sandbox/checkouts/{checkout_id}/complete",
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.post("/sandbox/checkouts/{checkout_id}/complete", response_model=None)
    async def sandbox_complete(
        checkout_id: str, request: Request, sandbox: SandboxProvider = sandbox_dep
    ) -> Response:
        """The fan pays (or fails, picks konbini, or gives up) on the sandbox page; the sandbox
        then posts its signed webhook to ``/api/v1/webhooks/sandbox`` like any provider."""
        outcome, from_form = await outcome_of(request)
        done = await sandbox.complete(checkout_id, outcome)
        if from_form and outcome == "cancelled":
            # Back to the shop's cancel page, as a provider's hosted page returns the fan.
            return RedirectResponse(done.payment.cancel_url, status_code=303)
        if from_form:
            return RedirectResponse(f"/sandbox/checkouts/{checkout_id}", status_code=303)
        body: dict[str, Any] = {
            **describe_outcome(done.payment),
            "event_type": done.event_type,
            "webhook_status": done.webhook_status,
        }
        return JSONResponse(body)

    @router.post("/sandbox/checkouts/{checkout_id}/dispute")
    async def sandbox_dispute(
        checkout_id: str, sandbox: SandboxProvider = sandbox_dep
    ) -> dict[str, Any]:
        """Simulates the card holder's bank charging a paid sandbox payment back."""
        done = await sandbox.dispute(checkout_id)
        return {
            **describe_outcome(done.payment),
            "event_type": done.event_type,
            "webhook_status": done.webhook_status,
        }

    return router

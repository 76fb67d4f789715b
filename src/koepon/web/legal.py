"""The legal pages every mail, disclosure and footer links to: terms, privacy policy, the
特定商取引法 notice (COMPLIANCE P1) and the 資金決済法 notice of 推しメダル (M4).

The operator's particulars come from the platform's settings (``KOEPON_ISSUER_NAME``,
``KOEPON_SUPPORT_CONTACT``); medal validity, the spend order and the tax rate are the payment
service's ``MedalTerms`` (a contract value the composition root puts on ``app.state``), so the
pages always say what the platform actually does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from koepon.contracts.payment import MedalTerms
from koepon.kernel.settings import Settings, get_settings
from koepon.web.rendering import render as render_page
from koepon.web.viewer import Viewer, viewer

# 資金決済法: a prepaid instrument valid for at most six months is outside the act's deposit
# and filing duties (施行令 第4条第2項).
EXEMPT_VALIDITY_DAYS = 183
NO_CANCEL_NOTICE = "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません"
MINORS_NOTICE = "未成年の方は親権者の同意を得てから購入してください"
LAST_REVISED = "2026年11月30日"
PAYMENT_METHODS: tuple[tuple[str, str, str], ...] = (
    ("クレジットカード", "ご注文時にお支払いが確定します", "決済完了後ただちに"),
    (
        "コンビニ払い",
        "ご注文後、お支払い期限までに店頭でお支払いください",
        "店頭でのお支払いが確認でき次第",
    ),
    ("PayPay", "ご注文時にお支払いが確定します", "決済完了後ただちに"),
)

PAYMENT_METHODS_EN: tuple[tuple[str, str, str], ...] = (
    ("Credit card", "Charged when you place the order", "Immediately after payment"),
    (
        "Convenience store",
        "Pay at the store counter by the deadline after ordering",
        "As soon as the store payment is confirmed",
    ),
    ("PayPay", "Charged when you place the order", "Immediately after payment"),
)


@dataclass(frozen=True)
class Operator:
    """Who runs the platform and how to reach them, as the legal pages state it."""

    name: str
    contact: str
    paid_validity_days: int
    free_validity_days: int
    free_first: bool
    tax_percent: int

    @classmethod
    def from_settings(cls, settings: Settings, terms: MedalTerms) -> Operator:
        return cls(
            name=settings.issuer_name,
            contact=settings.support_contact,
            paid_validity_days=terms.paid_validity_days,
            free_validity_days=terms.free_validity_days,
            free_first=terms.free_first,
            tax_percent=terms.tax_percent,
        )

    @property
    def deposit_exempt(self) -> bool:
        return self.paid_validity_days <= EXEMPT_VALIDITY_DAYS


def settings_of(request: Request) -> Settings:
    platform = getattr(request.app.state, "platform", None)
    settings = getattr(platform, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def medal_terms_of(request: Request) -> MedalTerms:
    terms = getattr(request.app.state, "medal_terms", None)
    if not isinstance(terms, MedalTerms):
        # Web cannot import payment: the app's composition (app.py, cli.py) must hand them in.
        raise RuntimeError("app.state.medal_terms is not set by the composition root")
    return terms


def build_router(templates: Jinja2Templates | None = None) -> APIRouter:
    """The four notices; ``templates`` is unused (kept for the caller's signature)."""
    router = APIRouter(include_in_schema=False)

    def render(seen: Viewer, name: str) -> HTMLResponse:
        request = seen.request
        context: dict[str, Any] = {
            "operator": Operator.from_settings(settings_of(request), medal_terms_of(request)),
            "revised": LAST_REVISED,
            "no_cancel_notice": NO_CANCEL_NOTICE,
            "minors_notice": MINORS_NOTICE,
            "payment_methods": PAYMENT_METHODS,
            "payment_methods_en": PAYMENT_METHODS_EN,
        }
        # The Japanese text is the legal original; English readers get a parallel translation.
        folder = "legal/en" if seen.language == "en" else "legal"
        return render_page(seen, f"{folder}/{name}.html", context)

    @router.get("/terms", response_class=HTMLResponse)
    async def terms(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        return render(seen, "terms")

    @router.get("/privacy", response_class=HTMLResponse)
    async def privacy(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        return render(seen, "privacy")

    @router.get("/legal/tokushoho", response_class=HTMLResponse)
    async def tokushoho(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        return render(seen, "tokushoho")

    @router.get("/legal/payment-services", response_class=HTMLResponse)
    async def payment_services(seen: Viewer = Depends(viewer)) -> HTMLResponse:
        return render(seen, "payment_services")

    return router

"""What the purchase screen must show: the final confirmation (COMPLIANCE P2) and the prepaid
instrument disclosures (M4), as data the page renders."""

from __future__ import annotations

from typing import Any

from koepon.kernel.money import yen_label
from koepon.kernel.settings import Settings
from koepon.payment.settings import PaymentSettings

NO_CANCELLATION_NOTICE = "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません"

METHOD_LABELS: dict[str | None, str] = {
    None: "決済ページで選択",
    "card": "クレジットカード",
    "konbini": "コンビニ払い",
    "paypay": "PayPay",
    "bank_transfer": "銀行振込",
}
PAYMENT_TIMING: dict[str | None, str] = {
    None: "決済ページでお支払い方法を選び、その方法の時期にお支払いいただきます",
    "card": "ご注文確定時にクレジットカードで決済されます",
    "konbini": "お支払い番号の発行後、期限までにコンビニ店頭でお支払いください",
    "paypay": "PayPayアプリでお支払いを承認した時点で決済されます",
    "bank_transfer": "振込先の発行後、期限までにお振込みください",
}
DELIVERY_TIMING: dict[str | None, str] = {
    None: "お支払いの確認後ただちにメダルを付与します",
    "card": "決済完了後ただちにメダルを付与します",
    "konbini": "コンビニでの入金確認後ただちにメダルを付与します",
    "paypay": "決済完了後ただちにメダルを付与します",
    "bank_transfer": "入金確認後ただちにメダルを付与します",
}


def yen(amount: int) -> str:
    return yen_label(amount)


def confirmation(
    *,
    pack_name: str,
    price_jpy: int,
    tax_jpy: int,
    paid_medals: int,
    bonus_medals: int,
    method: str | None,
    provider: str,
) -> dict[str, Any]:
    """The final confirmation (最終確認画面, P2) for one pack."""
    return {
        "item": f"推しメダル {pack_name}",
        "quantity": 1,
        "total_price_jpy": price_jpy,
        "tax_jpy": tax_jpy,
        "total_price_label": yen(price_jpy),
        "medals": {
            "paid": paid_medals,
            "bonus": bonus_medals,
            "total": paid_medals + bonus_medals,
        },
        "payment_method": METHOD_LABELS.get(method, method),
        "payment_provider": provider,
        "payment_timing": PAYMENT_TIMING.get(method, PAYMENT_TIMING[None]),
        "delivery_timing": DELIVERY_TIMING.get(method, DELIVERY_TIMING[None]),
        "cancellation_notice": NO_CANCELLATION_NOTICE,
    }


def disclosures(
    settings: Settings, own: PaymentSettings, *, purchasable: list[dict[str, int]]
) -> dict[str, Any]:
    """The 資金決済法 第13条 disclosures (M4) of 推しメダル: the operator's particulars from the
    platform's settings, validity and spend order from payment's own."""
    paid_days = own.paid_medal_validity_days
    free_days = own.free_medal_validity_days
    return {
        "issuer_name": settings.issuer_name,
        "purchasable_amounts": purchasable,
        "validity": {
            "paid_days": paid_days,
            "free_days": free_days,
            "text": (
                f"有償メダルは購入日から{paid_days}日間、無償メダルは付与日から{free_days}日間有効です。"
                "有効期限を過ぎたメダルは失効します。"
            ),
        },
        "where_usable": "こえポン!内のガチャでのみご利用いただけます",
        "complaints_contact": settings.support_contact,
        "notes": [
            "推しメダルの換金・払戻しはできません（法令に定める場合を除きます）",
            "推しメダルを他のアカウントに譲渡することはできません",
            "無償メダルから先に使用されます"
            if own.spend_free_first
            else "有償メダルから先に使用されます",
        ],
        "balance_inquiry": (
            "未使用残高と有効期限はログイン後のウォレット画面"
            f"（{settings.public_url.rstrip('/')}/#wallet）で確認できます"
        ),
        "terms": f"{settings.public_url.rstrip('/')}/terms",
        "funds_protection": (
            "有償メダルの有効期限は6か月以内のため、資金決済法に基づく発行保証金の供託等の"
            "対象外です"
            if paid_days <= 183
            else "基準日の未使用残高が1,000万円を超えた場合、その2分の1以上の額を発行保証金として"
            "供託し、保有者の資金を保全します"
        ),
    }

"""Events the auth service publishes (defined in contracts) and the ones it consumes.

Auth owns the fan's address and the outgoing mail, so it is the service that tells a fan about
medals expiring soon (COMPLIANCE M2: 7 days ahead) and why a payment was refunded instead of
credited (A1–A3), on the payment service's events, and that mails team invitations on the
VTuber service's ``MemberInvited``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth.mail import Mail, enqueue
from koepon.auth.models import User, inbox
from koepon.contracts.auth import AccountRegistered
from koepon.contracts.payment import MedalLotExpiringSoon, PurchaseRefused
from koepon.contracts.vtuber import MemberInvited
from koepon.kernel.bus import Message
from koepon.kernel.clock import JST
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox, idempotent
from koepon.kernel.money import yen_label
from koepon.kernel.runtime import Consumer

PUBLISHES = (AccountRegistered,)
EXPIRY_MAIL_CONSUMER = "auth.medal-expiry-mail"
REFUSAL_MAIL_CONSUMER = "auth.purchase-refused-mail"
INVITATION_MAIL_CONSUMER = "auth.team-invitation-mail"
ROLE_LABELS = {
    "owner": ("オーナー", "owner"),
    "manager": ("マネージャー", "manager"),
    "editor": ("編集者", "editor"),
    "analyst": ("アナリスト", "analyst"),
}
KIND_LABELS = {"paid": "有償", "free": "無償"}
# Which limit stopped the credit, by the refusal's code (``reason`` is "<code>:<rule>"), as
# (Japanese, English) clauses. An unknown code falls back to naming the rule alone.
REFUSAL_LIMITS: dict[str, tuple[str, str]] = {
    "spending_cap_exceeded:A2": (
        "年齢に応じた月間購入上限（A2）を超えるため",
        "it would exceed the monthly purchase limit for your age (A2)",
    ),
    "spending_cap_exceeded:A3": (
        "ご自身で設定した月間購入上限（A3）を超えるため",
        "it would exceed the monthly purchase limit you set yourself (A3)",
    ),
    "cooling_off_active:A3": (
        "ご自身で設定した購入の一時停止（クーリングオフ期間, A3）中のため",
        "you paused purchases yourself (cooling-off, A3)",
    ),
    "birthdate_required:A1": (
        "生年月日が登録されていないため（A1）",
        "your birth date is not registered (A1)",
    ),
}


def expiry_mail(user: User, event: MedalLotExpiringSoon, *, public_url: str) -> Mail:
    """The notice a fan gets before a lot of their medals expires; its link opens the page
    where the signed-in fan sees the wallet (not the JSON API)."""
    expires = event.expires_at.astimezone(JST)
    body = (
        f"{user.display_name} さん\n\n"
        f"{KIND_LABELS[event.kind]}推しメダル {event.medals:,} 枚の有効期限が "
        f"{expires:%Y年%m月%d日 %H:%M}（日本時間）に切れます。\n"
        "期限を過ぎたメダルは使えなくなり、払い戻しはできません。\n"
        f"残高と有効期限はウォレットでいつでも確認できます: {public_url.rstrip('/')}/wallet\n\n"
        "こえポン!"
    )
    return Mail(to=user.email, subject="推しメダルの有効期限が近づいています", body=body)


def refusal_mail(user: User, event: PurchaseRefused, *, public_url: str) -> Mail:
    """Why a payment was refunded instead of credited: the limit that stopped it, that the money
    goes back through the provider, and the wallet page (Japanese first, then English)."""
    ja, en = REFUSAL_LIMITS.get(
        event.reason,
        (f"購入に関する上限（{event.rule}）のため", f"of a purchase limit ({event.rule})"),
    )
    when = event.refused_at.astimezone(JST)
    wallet = f"{public_url.rstrip('/')}/wallet"
    body = (
        f"{user.display_name} さん\n\n"
        f"{when:%Y年%m月%d日 %H:%M}（日本時間）に届いたお支払い {yen_label(event.price_jpy)} は、"
        f"{ja}、推しメダルを付与せずに返金します。\n"
        "返金はお支払いに使われた決済サービス（カード会社・決済代行会社）を通じて行われます。"
        "明細への反映には数日かかることがあります。\n"
        f"今月のご購入額と上限はウォレットで確認できます: {wallet}\n"
        f"（受付番号: {event.checkout_id}）\n\n"
        "---\n"
        f"Your payment of JPY {event.price_jpy:,} was not credited as medals because {en}. "
        "It is refunded in full through the payment provider you used; the refund may take a "
        f"few days to appear on your statement. Your wallet: {wallet}\n\n"
        "こえポン!"
    )
    return Mail(to=user.email, subject="推しメダルのご購入を返金します", body=body)


def invitation_mail(event: MemberInvited, *, public_url: str) -> Mail:
    """A VTuber's team invites an address (account or not yet): what the role is, until when,
    and the studio page where the signed-in account with this verified address accepts."""
    ja_role, en_role = ROLE_LABELS[event.role]
    expires = event.expires_at.astimezone(JST)
    link = f"{public_url.rstrip('/')}/studio/invitations"
    body = (
        f"{event.vtuber_name} のチームから、{ja_role}としての招待が届いています。\n\n"
        f"このメールアドレス（{event.email}）でこえポン!にログインし、次のページで招待を承認して"
        f"ください: {link}\n"
        "アカウントをお持ちでない方は、このアドレスで登録し、メールアドレスの確認を済ませてから"
        "承認できます。\n"
        f"招待の有効期限: {expires:%Y年%m月%d日 %H:%M}（日本時間）\n"
        "心当たりのない場合は、このメールを破棄してください。\n\n"
        "---\n"
        f"The team of {event.vtuber_name} invites you to join as {en_role}. Sign in to Koepon "
        f"with this address ({event.email}), verify it if you have not yet, and accept here: "
        f"{link} (open until {expires:%Y-%m-%d %H:%M} JST). If you did not expect this, ignore "
        "this mail.\n\n"
        "こえポン!"
    )
    return Mail(to=event.email, subject=f"{event.vtuber_name} のチームへの招待", body=body)


def consumers(db: Database, *, clock: Callable[[], datetime], public_url: str) -> list[Consumer]:
    async def tell_fan(session: AsyncSession, message: Message) -> None:
        event = MedalLotExpiringSoon.model_validate(message.payload)
        user = await session.get(User, event.user_id)
        if user is not None:  # an account closed since: nobody left to tell
            await enqueue(session, expiry_mail(user, event, public_url=public_url), now=clock())

    async def tell_fan_why(session: AsyncSession, message: Message) -> None:
        event = PurchaseRefused.model_validate(message.payload)
        user = await session.get(User, event.user_id)
        if user is not None:  # a closed account's refund still goes back; nobody to mail
            await enqueue(session, refusal_mail(user, event, public_url=public_url), now=clock())

    async def tell_invitee(session: AsyncSession, message: Message) -> None:
        # The address need not be an account yet: the mail tells how to join with it.
        event = MemberInvited.model_validate(message.payload)
        await enqueue(session, invitation_mail(event, public_url=public_url), now=clock())

    expiry = idempotent(db, Inbox(inbox), EXPIRY_MAIL_CONSUMER, tell_fan)
    refusal = idempotent(db, Inbox(inbox), REFUSAL_MAIL_CONSUMER, tell_fan_why)
    invitation = idempotent(db, Inbox(inbox), INVITATION_MAIL_CONSUMER, tell_invitee)
    return [
        Consumer(EXPIRY_MAIL_CONSUMER, [MedalLotExpiringSoon.topic], expiry),
        Consumer(REFUSAL_MAIL_CONSUMER, [PurchaseRefused.topic], refusal),
        Consumer(INVITATION_MAIL_CONSUMER, [MemberInvited.topic], invitation),
    ]

"""Events the auth service publishes (defined in contracts) and the ones it consumes.

Auth owns the fan's address and the outgoing mail, so it is the service that tells a fan about
medals expiring soon (COMPLIANCE M2: 7 days ahead), on the payment service's event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth.mail import Mail, enqueue
from koepon.auth.models import User, inbox
from koepon.contracts.auth import AccountRegistered
from koepon.contracts.payment import MedalLotExpiringSoon
from koepon.kernel.bus import Message
from koepon.kernel.clock import JST
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox, idempotent
from koepon.kernel.runtime import Consumer

PUBLISHES = (AccountRegistered,)
EXPIRY_MAIL_CONSUMER = "auth.medal-expiry-mail"
KIND_LABELS = {"paid": "有償", "free": "無償"}


def expiry_mail(user: User, event: MedalLotExpiringSoon, *, public_url: str) -> Mail:
    """The notice a fan gets before a lot of their medals expires; its link opens the page
    where the signed-in fan sees the wallet (not the JSON API)."""
    expires = event.expires_at.astimezone(JST)
    body = (
        f"{user.display_name} さん\n\n"
        f"{KIND_LABELS[event.kind]}推しメダル {event.medals:,} 枚の有効期限が "
        f"{expires:%Y年%m月%d日 %H:%M}（日本時間）に切れます。\n"
        "期限を過ぎたメダルは使えなくなり、払い戻しはできません。\n"
        f"残高と有効期限はウォレットでいつでも確認できます: {public_url.rstrip('/')}/\n\n"
        "こえポン!"
    )
    return Mail(to=user.email, subject="推しメダルの有効期限が近づいています", body=body)


def consumers(db: Database, *, clock: Callable[[], datetime], public_url: str) -> list[Consumer]:
    async def tell_fan(session: AsyncSession, message: Message) -> None:
        event = MedalLotExpiringSoon.model_validate(message.payload)
        user = await session.get(User, event.user_id)
        if user is not None:  # an account closed since: nobody left to tell
            await enqueue(session, expiry_mail(user, event, public_url=public_url), now=clock())

    handler = idempotent(db, Inbox(inbox), EXPIRY_MAIL_CONSUMER, tell_fan)
    return [Consumer(EXPIRY_MAIL_CONSUMER, [MedalLotExpiringSoon.topic], handler)]

"""Entitlements' use cases: granting from completed draws and exchanges, revoking reversed draws,
and the fan's collection.

Every event is handled in one transaction with its inbox claim (``rewards.grants``), so a
redelivered message changes nothing; the grants table's key (draw id and slot, or exchange id)
makes a draw published twice under different message ids count once too. A payload that breaks
the contract can never succeed, so it is not retried: it is kept in
``entitlement_rejected_events``, logged, and the consumer moves on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import DrawCompleted, DrawReversed, ItemExchanged
from koepon.kernel.bus import Message
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.contents.service import Contents
from koepon.rewards.context import RewardsContext
from koepon.rewards.entitlements import repository
from koepon.rewards.entitlements.grants import (
    Grant,
    from_draw,
    from_exchange,
    serial_label,
    unfit,
    unfit_grants,
)
from koepon.rewards.entitlements.models import Entitlement
from koepon.rewards.entitlements.schemas import (
    CollectionItem,
    CollectionPage,
    EntitlementView,
    Outcome,
)
from koepon.rewards.entitlements.states import DrawState, EntitlementStatus, GrantSource
from koepon.rewards.errors import EntitlementNotFound, EntitlementRevoked

log = structlog.get_logger(__name__)

CONSUMER = "rewards.grants"  # the inbox's consumer name (the queue of unit.py's consumer)
TOPICS = (DrawCompleted.topic, ItemExchanged.topic, DrawReversed.topic)
MAX_KEPT_PAYLOAD_CHARS = 65_536  # a rejected payload larger than this is kept as a stub


class Malformed(Exception):
    """The event's payload breaks its contract (never retried)."""


def preview_url(content: ContentView | None) -> str | None:
    """The public preview of a ready content (previews are public; originals never are): the
    contents sub-domain's ``GET /api/v1/previews/{content_id}``."""
    if content is None or content.preview_key is None or content.status != "ready":
        return None
    return f"/api/v1/previews/{content.id}"


def view(row: Entitlement) -> EntitlementView:
    return EntitlementView(
        id=row.id,
        user_id=row.user_id,
        content_id=row.content_id,
        vtuber_id=row.vtuber_id,
        gacha_id=row.gacha_id,
        item_id=row.item_id,
        rarity=row.rarity,
        count=row.count,
        serial=row.serial,
        serial_of=row.serial_of,
        status=row.status,
        granted_at=row.granted_at,
        limited=row.limited,
        revoked_at=row.revoked_at,
    )


def collection_item(row: Entitlement, content: ContentView | None) -> CollectionItem:
    """One owned item; a content not known (yet) shows without title, kind or preview."""
    return CollectionItem(
        id=row.id,
        item_id=row.item_id,
        gacha_id=row.gacha_id,
        vtuber_id=row.vtuber_id,
        content_id=row.content_id,
        title=content.title if content is not None else None,
        kind=content.kind if content is not None else None,
        preview_url=preview_url(content),
        rarity=row.rarity,
        count=row.count,
        limited=row.limited,
        serial=row.serial,
        serial_of=row.serial_of,
        serial_label=serial_label(row.serial, row.serial_of),
        status=row.status,
        granted_at=row.granted_at,
        revoked_at=row.revoked_at,
    )


class Entitlements:
    def __init__(self, ctx: RewardsContext, contents: Contents) -> None:
        self.ctx = ctx
        self.contents = contents

    # --- the consumer ----------------------------------------------------------------------

    async def handle(self, message: Message) -> None:
        """Consumer of ``gacha.draw.completed.v1``, ``gacha.item.exchanged.v1`` and
        ``gacha.draw.reversed.v1``: at most once per message id, in one transaction."""
        await self.apply(message)

    async def apply(self, message: Message) -> Outcome:
        """``handle``, telling what it did."""
        async with self.ctx.db.transaction() as session:
            claimed = await self.ctx.inbox.claim(
                session, consumer=CONSUMER, message_id=message.id, topic=message.topic
            )
            if not claimed:
                return Outcome()
            try:
                return await self._dispatch(session, message)
            except (ValidationError, Malformed) as exc:
                await self._reject(session, message, exc)
                return Outcome(rejected=True)

    async def _dispatch(self, session: AsyncSession, message: Message) -> Outcome:
        if message.topic == DrawCompleted.topic:
            completed = DrawCompleted.model_validate(message.payload)
            return await self._grant_draw(session, completed)
        if message.topic == ItemExchanged.topic:
            exchanged = ItemExchanged.model_validate(message.payload)
            return await self._grant(session, from_exchange(exchanged))
        if message.topic == DrawReversed.topic:
            reversed_ = DrawReversed.model_validate(message.payload)
            return await self._revoke_draw(session, reversed_)
        raise Malformed(f"topic {message.topic!r} is not one this consumer reads")

    async def _reject(self, session: AsyncSession, message: Message, exc: Exception) -> None:
        if isinstance(exc, ValidationError):
            # Where and what, never the values (the payload is kept for operators instead).
            error = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)[:20]
            )
        else:
            error = str(exc)
        payload: dict[str, Any] = message.payload
        try:
            kept = json.dumps(payload, default=str)
        except (TypeError, ValueError):
            kept = ""
        if not kept or len(kept) > MAX_KEPT_PAYLOAD_CHARS:
            payload = {"kept": False, "chars": len(kept)}
        else:
            payload = json.loads(kept)
        await repository.reject(
            session,
            message_id=message.id,
            topic=message.topic,
            error=error[:4000],
            payload=payload,
            now=self.ctx.now(),
        )
        log.error(
            "rewards.event_rejected",
            consumer=CONSUMER,
            message_id=message.id,
            topic=message.topic,
            error=error[:500],
        )

    # --- granting --------------------------------------------------------------------------

    async def _grant_draw(self, session: AsyncSession, event: DrawCompleted) -> Outcome:
        grants = from_draw(event)
        why = unfit({"draw_id": event.draw_id}) or unfit_grants(grants)
        if why is not None:
            raise Malformed(why)
        before = await repository.draw_for_grant(
            session, draw_id=event.draw_id, user_id=event.user_id, now=self.ctx.now()
        )
        if before == DrawState.REVERSED:
            log.info("rewards.grant_skipped_reversed", draw_id=event.draw_id, slots=len(grants))
            return Outcome(skipped=len(grants))
        return await self._grant(session, grants)

    async def _grant(self, session: AsyncSession, grants: list[Grant]) -> Outcome:
        why = unfit_grants(grants)
        if why is not None:
            raise Malformed(why)
        granted = duplicates = 0
        now = self.ctx.now()
        for grant in grants:  # in lock order (grants.ordered)
            if not await repository.claim_grant(
                session,
                source=grant.source,
                source_id=grant.source_id,
                slot=grant.slot,
                user_id=grant.user_id,
                granted_at=grant.granted_at,
                now=now,
            ):
                duplicates += 1
                continue
            values = {
                "user_id": grant.user_id,
                "vtuber_id": grant.vtuber_id,
                "gacha_id": grant.gacha_id,
                "item_id": grant.item_id,
                "content_id": grant.content_id,
                "rarity": grant.rarity,
                "granted_at": grant.granted_at,
            }
            if grant.limited:
                serial = await repository.next_serial(
                    session, gacha_id=grant.gacha_id, item_id=grant.item_id
                )
                entitlement_id = await repository.add_copy(
                    session,
                    now=now,
                    id=str(uuid.uuid4()),
                    serial=serial,
                    serial_of=grant.serial_of,
                    **values,
                )
            else:
                entitlement_id = await repository.add_duplicate(
                    session, new_id=str(uuid.uuid4()), now=now, **values
                )
            await repository.link_grant(
                session,
                source=grant.source,
                source_id=grant.source_id,
                slot=grant.slot,
                entitlement_id=entitlement_id,
            )
            granted += 1
        if grants:
            log.info(
                "rewards.granted",
                source=grants[0].source.value,
                source_id=grants[0].source_id,
                granted=granted,
                duplicates=duplicates,
            )
        return Outcome(granted=granted, duplicates=duplicates)

    # --- revoking --------------------------------------------------------------------------

    async def _revoke_draw(self, session: AsyncSession, event: DrawReversed) -> Outcome:
        why = unfit({"draw_id": event.draw_id, "user_id": event.user_id})
        if why is not None:
            raise Malformed(why)
        at = as_utc(event.reversed_at)
        now = self.ctx.now()
        before = await repository.draw_for_reversal(
            session,
            draw_id=event.draw_id,
            user_id=event.user_id,
            reason=event.reason.replace("\x00", "")[:2000],  # PostgreSQL text holds no NUL
            at=at,
            now=now,
        )
        if before is None:  # the grant has not arrived: it will be skipped when it does
            log.info("rewards.reversal_before_grant", draw_id=event.draw_id)
            return Outcome()
        revoked = 0
        for grant in await repository.live_grants_of(
            session, source=GrantSource.DRAW, source_id=event.draw_id
        ):
            await repository.mark_grant_revoked(session, grant, now)
            if grant.entitlement_id is not None:
                await self._take_back(session, grant.entitlement_id, now)
            revoked += 1
        log.info("rewards.revoked", draw_id=event.draw_id, revoked=revoked)
        return Outcome(revoked=revoked)

    async def _take_back(self, session: AsyncSession, entitlement_id: str, now: datetime) -> None:
        row = await repository.get_locked(session, entitlement_id)
        if row is None:
            return
        row.count = max(row.count - 1, 0)
        if row.count == 0:  # a serial is marked revoked and never handed out again
            row.status = EntitlementStatus.REVOKED
            row.revoked_at = now
        row.updated_at = now
        await session.flush()

    # --- reading ---------------------------------------------------------------------------

    async def for_download(
        self, session: AsyncSession, user_id: str, entitlement_id: str
    ) -> EntitlementView:
        """The fan's own live entitlement; ``EntitlementNotFound`` for anyone else's or an
        unknown id, ``EntitlementRevoked`` for a revoked one."""
        row = await repository.owned(session, user_id, entitlement_id)
        if row is None:
            raise EntitlementNotFound("No such entitlement in your collection")
        if row.status != EntitlementStatus.LIVE:
            raise EntitlementRevoked(
                "This item was revoked (its draw was reversed) and can no longer be downloaded"
            )
        return view(row)

    async def all_live(self, session: AsyncSession, user_id: str) -> list[EntitlementView]:
        """Every live entitlement of the fan (the export)."""
        return [view(row) for row in await repository.all_live(session, user_id)]

    async def collection(
        self,
        session: AsyncSession,
        user_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        vtuber_id: str | None = None,
        rarity: str | None = None,
    ) -> CollectionPage:
        """The fan's live entitlements, newest first, with what is known of their contents."""
        after = decode_keyset(cursor) if cursor else None  # 422 for a cursor not ours
        rows = await repository.collection(
            session, user_id, limit=limit + 1, after=after, vtuber_id=vtuber_id, rarity=rarity
        )
        more = len(rows) > limit
        rows = rows[:limit]
        contents = await self._contents(session, {row.content_id for row in rows})
        items = [collection_item(row, contents.get(row.content_id)) for row in rows]
        last = rows[-1] if more and rows else None
        return CollectionPage(
            items=items,
            next_cursor=encode_keyset(last.granted_at, last.id) if last is not None else None,
        )

    async def one(self, session: AsyncSession, user_id: str, entitlement_id: str) -> CollectionItem:
        """One of the fan's entitlements, live or revoked; ``EntitlementNotFound`` otherwise."""
        row = await repository.owned(session, user_id, entitlement_id)
        if row is None:
            raise EntitlementNotFound("No such entitlement in your collection")
        contents = await self._contents(session, {row.content_id})
        return collection_item(row, contents.get(row.content_id))

    async def _contents(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        if not content_ids:
            return {}
        return await self.contents.get_many(session, content_ids)

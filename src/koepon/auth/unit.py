"""Builds the auth service for the composition root."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog

from koepon.auth import events
from koepon.auth.api import build_routers
from koepon.auth.client import LocalAuthClient
from koepon.auth.keys import AccessTokens, load_signing_key
from koepon.auth.mail import DevMailbox, MailDispatcher, MailSender, SmtpSender
from koepon.auth.models import inbox, outbox
from koepon.auth.passwords import Passwords
from koepon.auth.service import AuthService
from koepon.auth.sessions import Sessions
from koepon.auth.settings import load as load_auth_settings
from koepon.contracts.clients import Clients
from koepon.kernel.db import Database
from koepon.kernel.runtime import Runtime, ServiceRoutes, ServiceUnit
from koepon.kernel.settings import Settings

log = structlog.get_logger(__name__)


def build(runtime: Runtime, clients: Clients) -> ServiceUnit:
    settings = runtime.settings
    # Refuse to start without what production needs, before touching anything else.
    key = load_signing_key(settings)
    if settings.environment == "production" and not settings.smtp_url:
        raise RuntimeError("KOEPON_SMTP_URL is required in production (mail cannot be kept)")
    own = load_auth_settings(settings)
    db = Database(*settings.database_url_for("auth"))
    sessions = Sessions(runtime.cache, db, ttl_seconds=own.refresh_token_days * 86400)
    service = AuthService(
        db=db,
        settings=settings,
        auth_settings=own,
        sessions=sessions,
        rate_limiter=runtime.rate_limiter,
        passwords=Passwords(),
        access_tokens=AccessTokens(
            key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            lifetime_seconds=own.access_token_seconds,
        ),
    )
    mailbox = DevMailbox(db) if settings.environment != "production" else None
    sender: MailSender
    if settings.smtp_url:
        sender = SmtpSender(settings.smtp_url, settings.mail_from)
    else:
        assert mailbox is not None  # production without SMTP was refused above
        sender = mailbox
    dispatcher = MailDispatcher(db, sender)
    db.on_commit(dispatcher.wake)
    return ServiceUnit(
        name="auth",
        db=db,
        migrations=Path(__file__).parent / "migrations",
        outbox_table=outbox,
        inbox_table=inbox,
        routes=lambda: ServiceRoutes(*build_routers(runtime, service, mailbox)),
        client=LocalAuthClient(service),
        consumers=events.consumers(db, clock=service.now, public_url=settings.public_url),
        background=[dispatcher.run, *_restore_sessions(settings, sessions)],
    )


def _restore_sessions(
    settings: Settings, sessions: Sessions
) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """The embedded default keeps its cache in memory: refill it with the live sessions kept in
    the database, so a restart signs nobody out (Redis keeps its own across auth restarts)."""
    if settings.redis_url:
        return []

    async def restore() -> None:
        try:
            await sessions.restore()
        except Exception as exc:  # the database fallback in ``Sessions.alive`` still answers
            log.warning("auth.sessions_restore_failed", error=repr(exc))

    return [restore]

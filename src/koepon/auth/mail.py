"""Outgoing mail: a queue written in the business transaction, a dispatcher, and the senders.

Mail leaves only after its transaction commits (a rolled-back sign-up sends nothing). The sender
is SMTP when ``KOEPON_SMTP_URL`` is set; otherwise the dev mailbox keeps the mails in the auth
database, viewable at ``/dev/mailbox`` (never in production).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import structlog
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.auth.emails import email_key
from koepon.auth.models import DevMailboxEntry, OutgoingMail
from koepon.kernel import jobs
from koepon.kernel.db import Database

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None:
        """Return once the mail is accepted; raise otherwise (the dispatcher retries)."""


class SmtpSender:
    """Sends through an SMTP server: ``smtp://user:pass@host:587`` (STARTTLS when offered) or
    ``smtps://…:465`` (implicit TLS)."""

    def __init__(self, url: str, sender: str, *, timeout: float = 20) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("KOEPON_SMTP_URL must look like smtp://user:pass@host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def _send_blocking(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if not self.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._send_blocking, mail)


class DevMailbox:
    """Keeps mails in the auth database instead of sending them (embedded default)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def send(self, mail: Mail) -> None:
        async with self.db.transaction() as session:
            session.add(
                DevMailboxEntry(
                    id=str(uuid.uuid4()),
                    to_address=mail.to,
                    subject=mail.subject,
                    body=mail.body,
                    delivered_at=datetime.now(UTC),
                )
            )

    async def latest(self, *, limit: int = 100, to: str | None = None) -> list[DevMailboxEntry]:
        async with self.db.sessionmaker() as session:
            query = select(DevMailboxEntry).order_by(
                DevMailboxEntry.delivered_at.desc(), DevMailboxEntry.id
            )
            if to:
                # Asked the way sign-up stores addresses (auth.emails), whatever the spelling.
                query = query.where(DevMailboxEntry.to_address == (email_key(to) or to.lower()))
            return list((await session.scalars(query.limit(limit))).all())


async def enqueue(session: AsyncSession, mail: Mail, *, now: datetime) -> None:
    """Queue ``mail`` in the current transaction; it is sent only if the transaction commits."""
    session.add(
        OutgoingMail(
            id=str(uuid.uuid4()),
            to_address=mail.to,
            subject=mail.subject,
            body=mail.body,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2**attempts))


class MailDispatcher:
    """Sends queued mail oldest first; retries with backoff, gives up after ``MAX_ATTEMPTS``."""

    def __init__(
        self,
        db: Database,
        sender: MailSender,
        *,
        poll_seconds: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.sender = sender
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        # The dispatcher's own commits are no news; anyone else's may have queued mail.
        try:
            own = asyncio.current_task() is self._task
        except RuntimeError:
            own = False
        if not own:
            self._wake.set()

    def _due(self) -> Select[OutgoingMail]:
        return (
            select(OutgoingMail)
            .where(
                OutgoingMail.sent_at.is_(None),
                OutgoingMail.attempts < MAX_ATTEMPTS,
                OutgoingMail.next_attempt_at <= self.clock(),
            )
            .order_by(OutgoingMail.created_at, OutgoingMail.id)
            .limit(20)
        )

    async def dispatch_once(self) -> int:
        """Send one batch of due mail; returns how many were sent."""
        async with self._lock:
            if self.db.is_postgres:
                # Rows stay locked while sending, so several auth processes never double-send.
                async with self.db.transaction() as session:
                    rows = list(
                        (await session.scalars(self._due().with_for_update(skip_locked=True))).all()
                    )
                    return await self._send(session, rows)
            # SQLite: read, send, then record in a short write transaction, because the dev
            # mailbox writes to this same database file.
            async with self.db.sessionmaker() as session:
                rows = list((await session.scalars(self._due())).all())
            if not rows:
                return 0
            results = [await self._attempt(row) for row in rows]
            async with self.db.transaction() as session:
                for row, error in zip(rows, results, strict=True):
                    await self._record(session, row, error)
            return sum(1 for error in results if error is None)

    async def _send(self, session: AsyncSession, rows: list[OutgoingMail]) -> int:
        sent = 0
        for row in rows:
            error = await self._attempt(row)
            await self._record(session, row, error)
            sent += error is None
        return sent

    async def _attempt(self, row: OutgoingMail) -> str | None:
        try:
            await self.sender.send(Mail(to=row.to_address, subject=row.subject, body=row.body))
        except Exception as exc:
            log.warning("mail.send_failed", mail_id=row.id, error=repr(exc))
            return repr(exc)[:2000]
        return None

    async def _record(self, session: AsyncSession, row: OutgoingMail, error: str | None) -> None:
        now = self.clock()
        values: dict[str, object]
        if error is None:
            values = {"sent_at": now, "attempts": row.attempts + 1, "last_error": None}
        else:
            values = {
                "attempts": row.attempts + 1,
                "last_error": error,
                "next_attempt_at": now + _backoff(row.attempts),
            }
        await session.execute(
            update(OutgoingMail).where(OutgoingMail.id == row.id).values(**values)
        )

    async def run(self) -> None:
        """Dispatch until cancelled; wakes on commit or every ``poll_seconds``."""
        self._task = asyncio.current_task()
        while True:
            # Cleared before looking, so a commit during this pass triggers another one.
            self._wake.clear()
            try:
                sent = await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("mail.dispatch_error", error=repr(exc))
                sent = 0
            if sent:
                jobs.end_if_stopping()
                continue
            await jobs.pause(self.poll_seconds, self._wake)

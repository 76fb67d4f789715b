"""Outgoing mail: SMTP sender against a local SMTP server, the dispatcher's retries."""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from koepon.auth.mail import Mail, MailDispatcher, SmtpSender, enqueue
from koepon.auth.models import OutgoingMail
from koepon.kernel.db import Database
from koepon.kernel.migrations import upgrade_async

MIGRATIONS = Path(__file__).resolve().parents[2] / "src" / "koepon" / "auth" / "migrations"


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321 + AUTH PLAIN) to accept one message."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: FakeSmtp = self.server  # type: ignore[assignment]
        self.reply("220 fake ESMTP")
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-fake")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                server.auth = base64.b64decode(command.split()[-1]).split(b"\0")[1:]
                self.reply("235 ok")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                server.messages.append(b"".join(data).decode())
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class FakeSmtp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[str] = []
        self.auth: list[bytes] = []


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_smtp_sender_delivers_with_credentials(smtp_server: FakeSmtp) -> None:
    port = smtp_server.server_address[1]
    sender = SmtpSender(f"smtp://mailer:s%40cret@127.0.0.1:{port}", "no-reply@koepon.jp")
    await sender.send(Mail(to="fan@example.jp", subject="こんにちは", body="本文です"))
    [message] = smtp_server.messages
    assert "To: fan@example.jp" in message
    assert "From: no-reply@koepon.jp" in message
    assert smtp_server.auth == [b"mailer", b"s@cret"]


def test_smtp_url_must_be_smtp() -> None:
    with pytest.raises(ValueError):
        SmtpSender("http://example.jp", "no-reply@koepon.jp")


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("smtp down")
        self.sent.append(mail)


async def test_dispatcher_retries_with_backoff_and_sends_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    await upgrade_async(MIGRATIONS, url, None)
    db = Database(url)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    clock = [now]
    sender = FlakySender(failures=1)
    dispatcher = MailDispatcher(db, sender, clock=lambda: clock[0])
    try:
        async with db.transaction() as session:
            await enqueue(session, Mail(to="a@example.jp", subject="s", body="b"), now=now)
        assert await dispatcher.dispatch_once() == 0  # the server is down
        assert await dispatcher.dispatch_once() == 0  # not due yet: backing off
        clock[0] = now + timedelta(minutes=1)
        assert await dispatcher.dispatch_once() == 1
        assert await dispatcher.dispatch_once() == 0  # sent mail is never sent again
        assert [m.to for m in sender.sent] == ["a@example.jp"]
        async with db.transaction() as session:
            row = (await session.scalars(select(OutgoingMail))).one()
        assert row.sent_at is not None and row.attempts == 2
    finally:
        await db.dispose()


async def test_mail_of_a_rolled_back_transaction_is_never_sent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    await upgrade_async(MIGRATIONS, url, None)
    db = Database(url)
    sender = FlakySender(failures=0)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await enqueue(
                    session, Mail(to="a@example.jp", subject="s", body="b"), now=datetime.now(UTC)
                )
                raise RuntimeError("sign-up failed later")
        assert await MailDispatcher(db, sender).dispatch_once() == 0
        assert sender.sent == []
    finally:
        await db.dispose()

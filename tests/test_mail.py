"""The mail queue with a real SMTP server: sent after commit, kept while the server is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from capitals.embedded import free_port
from shared.db import Database
from shared.mail import Mail, MailSender, Transport
from shared.tables import mail_queue
from tests.support import eventually, infrastructure_db


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
async def database(tmp_path: Path, db_kind: str) -> AsyncIterator[Database]:
    """The shared tables alone, on SQLite and again on PostgreSQL."""
    async with infrastructure_db(tmp_path, db_kind) as db:
        yield db


async def unsent(db: Database) -> list[Any]:
    async with db.session() as session:
        rows = await session.exec(select(mail_queue).where(mail_queue.c.sent_at.is_(None)))  # type: ignore[call-overload]
        return list(rows)


async def test_mail_waits_for_the_smtp_server_and_is_sent_once(
    database: Database, tmp_path: Path
) -> None:
    port = free_port()
    sender = MailSender(
        database,
        Transport(f"smtp://127.0.0.1:{port}", tmp_path / "mail"),
        "Capitals <noreply@test>",
    )
    task = asyncio.create_task(sender.run())
    try:
        async with database.unit() as uow:
            uow.send_mail(
                Mail(to="anna@mfa.fi", subject="Seat confirmed", text="See you in Helsinki.")
            )

        async def attempted() -> bool:
            # An unreachable server is recorded, but counts against no mail.
            rows = await unsent(database)
            return bool(rows) and rows[0].last_error is not None and rows[0].attempts == 0

        await eventually(attempted)
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            # The failed attempt waits out its back-off (2 s after one failure).
            await eventually(lambda: _received(inbox, 1), timeout=15)
            await asyncio.sleep(0.5)
            assert len(inbox.messages) == 1
            message = inbox.messages[0]
            assert message.rcpt_tos == ["anna@mfa.fi"]
            assert b"Subject: Seat confirmed" in message.content
            assert await unsent(database) == []
        finally:
            controller.stop()
    finally:
        task.cancel()


async def _received(inbox: Inbox, count: int) -> bool:
    return len(inbox.messages) >= count


async def test_mail_rolled_back_with_its_cause_is_never_sent(
    database: Database, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError):
        async with database.unit() as uow:
            uow.send_mail(Mail(to="x@example.org", subject="never", text="never"))
            raise RuntimeError("the change fails")
    assert await unsent(database) == []


async def test_without_smtp_mail_is_written_as_eml_files(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "mail"
    sender = MailSender(database, Transport(None, folder), "Capitals <noreply@test>")
    task = asyncio.create_task(sender.run())
    try:
        async with database.unit() as uow:
            uow.send_mail(
                Mail(to="jonas@urm.lt", subject="Sveiki", text="Iki pasimatymo Vilniuje.")
            )

        async def written() -> list[Path]:
            return sorted(folder.glob("*.eml"))

        files = await eventually(written)
        assert len(files) == 1
        text = files[0].read_text()
        assert "To: jonas@urm.lt" in text and "Message-ID: <" in text
    finally:
        task.cancel()


class Refusing(Inbox):
    """An inbox whose server refuses one recipient for good (550), as a real one may."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def _queue_raw(db: Database, recipient: str, subject: str) -> int:
    """A row written straight into the queue, as one from before the input rules was."""
    row = Mail(to=recipient, subject=subject, text="Hello.").as_row()
    async with db.unit() as uow:
        result = await uow.execute(mail_queue.insert().values(row))
    return int(result.inserted_primary_key[0])


async def _row(db: Database, row_id: int) -> Any:
    async with db.session() as session:
        rows = await session.exec(select(mail_queue).where(mail_queue.c.id == row_id))  # type: ignore[call-overload]
        return rows.one()


async def test_a_poisoned_mail_dies_alone_and_every_good_mail_goes_out_once(
    database: Database, tmp_path: Path
) -> None:
    port = free_port()
    inbox = Refusing("gone@example.org")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    sender = MailSender(
        database,
        Transport(f"smtp://127.0.0.1:{port}", tmp_path / "mail"),
        "Capitals <noreply@test>",
        max_attempts=3,
        first_retry=timedelta(milliseconds=50),
    )
    good = [f"good{n}@example.org" for n in range(6)]
    # Poison of every kind between the good mails: it cannot be built (header syntax in
    # the recipient), or the server refuses it; a subject with CR/LF is cleaned, not fatal.
    poisoned = {
        await _queue_raw(database, good[0], "One"): None,
        await _queue_raw(database, "a\r\nbcc: evil@evil.example", "Two"): "NotAnAddress",
        await _queue_raw(database, good[1], "Three"): None,
        await _queue_raw(
            database, "=?utf-8?q?injected=40evil.example=2c_x?=@example.org", "Four"
        ): "NotAnAddress",
        await _queue_raw(database, good[2], "Five\r\nBcc: evil@evil.example"): None,
        await _queue_raw(database, "gone@example.org", "Six"): "SMTPRecipientsRefused",
        await _queue_raw(database, good[3], "Seven \u202eevil"): None,
    }
    async with database.unit() as uow:
        uow.send_mail(Mail(to=good[4], subject="Eight", text="Hello."))
        uow.send_mail(Mail(to=good[5], subject="Nine", text="Hello."))
    task = asyncio.create_task(sender.run())
    try:

        async def settled() -> bool:
            rows = [await _row(database, row_id) for row_id in poisoned]
            return all((row.sent_at is None) != (row.dead_at is None) for row in rows)

        await eventually(settled, timeout=20)
        await asyncio.sleep(0.5)  # time for a second, wrong, delivery to show
    finally:
        task.cancel()
        controller.stop()

    recipients = sorted(address for message in inbox.messages for address in message.rcpt_tos)
    assert recipients == good
    message_ids = [_header(message, b"Message-ID") for message in inbox.messages]
    assert len(set(message_ids)) == len(message_ids) == len(good)
    for message in inbox.messages:
        head = message.content.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
        assert not [line for line in head if line.startswith(b"bcc")]
        assert len(message.rcpt_tos) == 1
    subjects = {m.rcpt_tos[0]: _header(m, b"Subject") for m in inbox.messages}
    assert subjects[good[2]] == b"Five Bcc: evil@evil.example"  # one line: text, not a header
    assert subjects[good[3]] == b"Seven evil"
    for row_id, reason in poisoned.items():
        row = await _row(database, row_id)
        if reason is None:
            assert row.sent_at is not None and row.dead_at is None
        else:
            assert row.dead_at is not None and row.sent_at is None
            assert row.attempts == 3 and row.last_error.startswith(reason), row.last_error
    assert all(row.dead_at is not None for row in await unsent(database))


def _header(message: Any, name: bytes) -> bytes:
    head = message.content.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(name.lower() + b":"):
            return bytes(line.split(b":", 1)[1].strip())
    raise AssertionError(f"no {name!r} header")

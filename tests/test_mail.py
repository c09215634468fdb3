"""The mail queue with a real SMTP server: sent after commit, kept while the server is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from capitals.embedded import free_port
from shared.db import Database
from shared.mail import Mail, MailSender, Transport
from shared.tables import infrastructure, mail_queue
from tests.support import eventually


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mail.sqlite3'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(infrastructure.create_all)
    await engine.dispose()
    db = Database(url)
    yield db
    await db.dispose()


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
            rows = await unsent(database)
            return bool(rows) and rows[0].attempts >= 1

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

"""The mail queue: written with its cause, sent after commit by SMTP or as .eml files."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import delete

from shared import claims
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.tables import mail_queue

log = logging.getLogger(__name__)

SENT_MAIL_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "message_id": make_msgid(idstring=uuid.uuid4().hex, domain="capitals.invalid"),
            "recipient": self.to,
            "subject": self.subject,
            "body_text": self.text,
            "body_html": self.html,
            "created_at": clock.now(),
        }


def build_message(row: Any, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    # The Message-ID is fixed when the mail is queued, so a resend after a crash
    # between SMTP acceptance and our bookkeeping can be recognised as the same mail.
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


class Transport:
    """Delivers one message: SMTP when SMTP_URL is set, else an .eml file in the mail folder."""

    def __init__(self, smtp_url: str | None, mail_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.mail_dir = mail_dir

    async def deliver(self, message: EmailMessage) -> None:
        if self.smtp_url is None:
            await asyncio.to_thread(self._write_file, message)
            return
        url = urlsplit(self.smtp_url)
        await aiosmtplib.send(
            message,
            hostname=url.hostname,
            port=url.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[url.scheme],
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=url.scheme == "smtp+starttls",
            timeout=20,
        )

    def _write_file(self, message: EmailMessage) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("/", "_")
        temporary = self.mail_dir / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes())
        temporary.replace(self.mail_dir / f"{name}.eml")


class MailSender:
    """Sends queued mail after commit; a failed send is retried with back-off, never dropped."""

    def __init__(self, db: Database, transport: Transport, sender: str) -> None:
        self.db = db
        self.transport = transport
        self.sender = sender
        self._wake = asyncio.Event()
        db.on_commit("mail", self.wake)

    def wake(self, _rows: object = None) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.send_once()
            except Exception:
                log.exception("mail sender failed; retrying")
                sent = 0
                await asyncio.sleep(1)
            if sent:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)

    async def send_once(self) -> int:
        rows = await claims.claim(
            self.db, mail_queue, "sent_at", limit=20, lease=timedelta(minutes=2)
        )
        sent: list[int] = []
        try:
            for row in rows:
                try:
                    await self.transport.deliver(build_message(row, self.sender))
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    retry = timedelta(seconds=min(300, 2 ** min(row.attempts, 8)))
                    log.warning("mail %s not sent (%r); retrying in %s", row.id, exc, retry)
                    await claims.release(self.db, mail_queue, row.id, repr(exc), retry_in=retry)
                    continue
                sent.append(row.id)
        finally:
            # One commit per batch: on SQLite every commit competes with the request writers.
            await claims.finish(self.db, mail_queue, "sent_at", sent)
        if len(sent) == len(rows):
            await self.prune()
        return len(sent)

    async def prune(self) -> None:
        """Sent mail holds personal data: keep it only as long as a resend could be asked."""
        cutoff = datetime.now(UTC) - SENT_MAIL_KEPT
        async with self.db.unit() as uow:
            await uow.execute(
                delete(mail_queue)
                .where(mail_queue.c.sent_at.is_not(None))
                .where(mail_queue.c.sent_at < cutoff)
            )


async def forget_recipient(uow: UnitOfWork, mail_dir: Path, address: str) -> None:
    """Erasure: delete every mail queued for `address`, sent or not, and its .eml file.

    Files are removed now and once more after commit, for a send that was under way.
    """
    await uow.execute(delete(mail_queue).where(mail_queue.c.recipient == address))

    async def remove_files() -> None:
        await asyncio.to_thread(_remove_mail_files, mail_dir, address)

    await remove_files()
    uow.forget_after_commit(remove_files)


def _remove_mail_files(mail_dir: Path, address: str) -> None:
    """Remove the .eml files addressed to `address`, including those whose queue row has
    already been pruned (rows go after a week, files are never pruned)."""
    if not mail_dir.is_dir():
        return
    wanted = address.casefold()
    for path in mail_dir.iterdir():
        if not path.is_file() or path.suffix not in (".eml", ".tmp"):
            continue
        try:
            with path.open("rb") as handle:
                headers = BytesHeaderParser().parse(handle)
            recipients = getaddresses(headers.get_all("To", []))
        except (OSError, ValueError):
            continue
        if any(found.casefold() == wanted for _, found in recipients):
            with suppress(FileNotFoundError):
                path.unlink()

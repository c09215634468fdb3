"""The mail queue: written with its cause, sent after commit by SMTP or as .eml files."""

from __future__ import annotations

import asyncio
import email.policy
import json
import logging
import re
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import Policy
from email.utils import format_datetime, getaddresses, make_msgid
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import delete, update

from shared import i18n, leases
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.inputs import header_address, one_line
from shared.tables import mail_queue
from shared.wakeups import woken

log = logging.getLogger(__name__)

SENT_MAIL_KEPT = timedelta(days=7)
# Dead mail stays visible to the secretariat for a while, then goes like sent mail.
DEAD_MAIL_KEPT = timedelta(days=30)
# Attempts at one mail before it is dead: with the back-off below, about six hours.
MAX_ATTEMPTS = 16
FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=2)
# Failures that come before any message is named: the server's, not one mail's.
SERVER_UNUSABLE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPHeloError,
    aiosmtplib.SMTPAuthenticationError,
)
# No delivery starts later than this into a lease (SMTP's timeout is 20 s), so that no
# other instance can take over a row while it is still being sent.
SENDING_TIME = timedelta(seconds=90)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: text content (a calendar), its name and media type."""

    filename: str
    media_type: str  # "text/calendar"
    content: str
    params: dict[str, str] = field(default_factory=dict)  # of the Content-Type: method


@dataclass(frozen=True)
class Mail:
    """A mail as a service writes it: the text, and, when none is given, an HTML part made
    from that text (escaped, its links made links) in the language being spoken."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def as_row(self) -> dict[str, Any]:
        return {
            "message_id": make_msgid(idstring=uuid.uuid4().hex, domain="capitals.invalid"),
            "recipient": self.to,
            "subject": self.subject,
            "body_text": self.text,
            "body_html": self.html or html_of(self.text, i18n.language()),
            "attachments": (
                json.dumps([vars(a) for a in self.attachments]) if self.attachments else None
            ),
            "created_at": clock.now(),
        }


_LINK = re.compile(r"https?://[^\s<>\"']+")


def html_of(text: str, language: str) -> str:
    """The mail's text as a small HTML page: every character escaped, paragraphs at blank
    lines, line breaks kept, and each http(s) address a link to itself."""

    def linked(line: str) -> str:
        out, last = [], 0
        for found in _LINK.finditer(line):
            url = found.group(0).rstrip(".,;:!?)")  # a sentence's full stop is not the link's
            out += [
                escape(line[last : found.start()]),
                f'<a href="{escape(url)}">{escape(url)}</a>',
            ]
            last = found.start() + len(url)
        return "".join([*out, escape(line[last:])])

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(linked(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )
    return (
        f'<!doctype html>\n<html lang="{escape(language)}">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        f'<body style="font-family:sans-serif;line-height:1.5">\n{body}\n</body>\n</html>\n'
    )


def _policy_for(subject: str) -> Policy:
    """The default policy folds a plain ASCII word too long for the first line (a long
    title, a link) by leaving `Subject:` empty and starting the value on a folded line, which
    mail clients show as a blank subject or a leading space. Such a subject is kept on one
    line (RFC 5322 allows 998 characters); one that needs encoded words folds as usual,
    between words that RFC 2047 keeps short."""
    if subject.isascii() and any(len(word) > 60 for word in subject.split()):
        return email.policy.default.clone(max_line_length=998)
    return email.policy.default


def build_message(row: Any, sender: str) -> EmailMessage:
    """The message of a queued row. No stored value reaches a header raw: the recipient
    must be one bare address (else NotAnAddress, a ValueError) and the subject is made one
    line, since a row may predate the input rules or come from a path that skipped them."""
    subject = one_line(row.subject)
    message = EmailMessage(policy=_policy_for(subject))
    message["From"] = sender
    message["To"] = Address(addr_spec=header_address(row.recipient))
    message["Subject"] = subject
    # The Message-ID is fixed when the mail is queued, so a resend after a crash
    # between SMTP acceptance and our bookkeeping can be recognised as the same mail.
    message["Message-ID"] = one_line(row.message_id)
    message["Date"] = format_datetime(row.created_at)
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    for attachment in json.loads(getattr(row, "attachments", None) or "[]"):
        maintype, subtype = attachment["media_type"].split("/", 1)
        # As bytes (base64): a calendar's CRLF line ends and folding arrive untouched.
        message.add_attachment(
            attachment["content"].encode(),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
            params={**attachment["params"], "charset": "utf-8"},
        )
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
    """Sends queued mail after commit. Every failure of one mail (building it, or any error
    while delivering it) is that mail's alone: it is retried with back-off and dead after
    MAX_ATTEMPTS, and the rest of the batch goes on. Only an SMTP server that cannot be
    reached at all stops the batch, without counting against any mail."""

    def __init__(
        self,
        db: Database,
        transport: Transport,
        sender: str,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        first_retry: timedelta = FIRST_RETRY,
    ) -> None:
        self.db = db
        self.transport = transport
        self.sender = sender
        self.max_attempts = max_attempts
        self.first_retry = first_retry
        self._unusable = 0  # failed connections in a row, for their back-off
        self._wake = asyncio.Event()
        self._next_prune = 0.0
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
            await woken(self._wake, 2.0)

    async def send_once(self) -> int:
        rows = await leases.lease(self.db, mail_queue, "sent_at", limit=20, period=LEASE)
        stop_at = datetime.now(UTC) + SENDING_TIME
        sent: list[int] = []
        try:
            for index, row in enumerate(rows):
                if datetime.now(UTC) > stop_at:
                    await self._put_back([later.id for later in rows[index:]], timedelta(0))
                    break
                try:
                    message = build_message(row, self.sender)
                    await self.transport.deliver(message)
                except SERVER_UNUSABLE as exc:
                    # Nothing was sent and no mail is to blame: the server is unreachable
                    # or refuses us (greeting, login) before any message is named.
                    retry = self._retry_after(self._unusable)
                    self._unusable += 1
                    log.warning("SMTP server unusable (%s); retrying in %s", exc, retry)
                    await self._put_back(
                        [later.id for later in rows[index:]], retry, f"{type(exc).__name__}: {exc}"
                    )
                    break
                except Exception as exc:
                    await self._failed(row, exc)
                    continue
                sent.append(row.id)
                self._unusable = 0
        finally:
            # One commit per batch: on SQLite every commit competes with the request writers.
            await leases.finish(self.db, mail_queue, "sent_at", sent)
        if len(sent) == len(rows) and time.monotonic() >= self._next_prune:
            # Kept for days: pruning hourly is on time, and an idle pass writes nothing.
            self._next_prune = time.monotonic() + 3600
            await self.prune()
        return len(sent)

    def _retry_after(self, attempts: int) -> timedelta:
        return min(LONGEST_RETRY, self.first_retry * 2 ** min(attempts, 20))

    async def _failed(self, row: Any, exc: Exception) -> None:
        attempts = row.attempts + 1
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        dead = attempts >= self.max_attempts
        now = datetime.now(UTC)
        async with self.db.unit() as uow:
            await uow.execute(
                update(mail_queue)
                .where(mail_queue.c.id == row.id)
                .values(
                    attempts=attempts,
                    last_error=reason,
                    dead_at=now if dead else None,
                    claimed_until=None if dead else now + self._retry_after(row.attempts),
                )
            )
        # The log names the mail and the kind of error only: the reason may quote the
        # address, which the secretariat reads on GET /mail/dead instead.
        if dead:
            log.error(
                "mail %s is dead after %d attempts (%s); see GET /mail/dead",
                row.id,
                attempts,
                type(exc).__name__,
            )
        else:
            log.warning(
                "mail %s not sent (attempt %d, %s); retrying in %s",
                row.id,
                attempts,
                type(exc).__name__,
                self._retry_after(row.attempts),
            )

    async def _put_back(
        self, ids: list[int], retry_in: timedelta, error: str | None = None
    ) -> None:
        """Release leased rows that were not tried, without counting an attempt."""
        if not ids:
            return
        values: dict[str, Any] = {"claimed_until": datetime.now(UTC) + retry_in}
        if error is not None:
            values["last_error"] = error[:2000]
        async with self.db.unit() as uow:
            await uow.execute(update(mail_queue).where(mail_queue.c.id.in_(ids)).values(values))

    async def prune(self) -> None:
        """Sent mail holds personal data: keep it only as long as a resend could be asked."""
        now = datetime.now(UTC)
        async with self.db.unit() as uow:
            await uow.execute(
                delete(mail_queue)
                .where(mail_queue.c.sent_at.is_not(None))
                .where(mail_queue.c.sent_at < now - SENT_MAIL_KEPT)
            )
            await uow.execute(
                delete(mail_queue)
                .where(mail_queue.c.dead_at.is_not(None))
                .where(mail_queue.c.dead_at < now - DEAD_MAIL_KEPT)
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

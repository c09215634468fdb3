"""Certificates of attendance: issued after completion to each participant who attended every
day, withdrawn when corrected attendance no longer covers every day, revoked by the
secretariat, and turned into "existed, erased" with the person's data or at the end of
CERTIFICATE_RETENTION. What a download and the public verification page may show."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import attendance, attendance_days, audits, links, mails, queries
from services.registration.settings import own
from services.registration.tables import (
    CertificateRow,
    RegistrationRow,
    TrainingRow,
    certificate,
    training,
)
from shared.audit import audited
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.errors import Conflict, Invalid, NotFound
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried

# Why the secretariat revokes a certificate; the public verification page names the category.
REVOCATION_REASONS = {
    "issued_in_error": "issued in error",
    "attendance_not_met": "attendance requirements not met",
    "identity_disputed": "identity of the holder disputed",
    "other": "other reason",
}


def revocation_reason(reason: str | None) -> str:
    if reason not in REVOCATION_REASONS:
        raise Invalid(f"reason must be one of {', '.join(REVOCATION_REASONS)}", field="reason")
    return reason


def certificate_number() -> str:
    """A new certificate number: 80 random bits in Crockford-like base 32, in groups of 4
    (`7KQ2-9XDF-...`), easy to read aloud and to type from paper."""
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = secrets.randbits(80)
    text = "".join(digits[(value >> (5 * n)) & 31] for n in range(16))
    return "-".join(text[n : n + 4] for n in range(0, 16, 4))


@dataclass(frozen=True)
class RevokeCertificate:
    """The secretariat revokes the certificate of a registration, naming the reason's category."""

    registration_id: str
    reason: str


def _emit(
    uow: UnitOfWork,
    event: type[ev.CertificateData],
    cert: CertificateRow,
    row: RegistrationRow,
    **extra: str,
) -> None:
    uow.emit(
        carried(event, cert, id=cert.registration_id, participant_id=row.participant_id, **extra)
    )


async def _mail(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    row: RegistrationRow,
    issued: bool,
) -> None:
    if row.erased_at is not None:
        return
    facts = await mails.facts_of(uow.session, settings, training_row, row)
    if issued:
        mail = mails.certificate_issued(facts, links.certificate_url(settings, row.id))
    else:
        mail = mails.certificate_withdrawn(facts)
    uow.send_mail(mail)


async def _issue(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    row: RegistrationRow,
    cert: CertificateRow | None,
    now: datetime,
) -> None:
    """Issue a new certificate, or again one that was withdrawn (same number); one that is
    valid, revoked or erased stays as it is."""
    if cert is None:
        cert = CertificateRow(
            registration_id=row.id,
            number=certificate_number(),
            training_id=training_row.id,
            status="valid",
            issued_at=now,
        )
    elif cert.status == "withdrawn":
        cert.status, cert.issued_at, cert.revision = "valid", now, cert.revision + 1
    else:
        return
    uow.session.add(cert)
    _emit(uow, ev.CertificateIssued, cert, row)
    await _mail(uow, settings, training_row, row, issued=True)


async def issue_for_training(
    uow: UnitOfWork, settings: Settings, training_row: TrainingRow, now: datetime
) -> int:
    """The training is completed: each confirmed participant who attended every day gets a
    certificate and a mail with its link. Returns how many were issued or kept."""
    rows = list(
        await uow.session.exec(
            select(RegistrationRow)
            .where(RegistrationRow.training_id == training_row.id)
            .where(RegistrationRow.status == "confirmed")
            .where(col(RegistrationRow.erased_at).is_(None))
            .order_by(col(RegistrationRow.arrival))
        )
    )
    days = await attendance.days_by_registration(uow.session, [row.id for row in rows])
    held = {
        cert.registration_id: cert
        for cert in await uow.session.exec(
            select(CertificateRow).where(CertificateRow.training_id == training_row.id)
        )
    }
    issued = 0
    for row in rows:
        if attendance_days.attended_every_day(training_row, days[row.id]):
            await _issue(uow, settings, training_row, row, held.get(row.id), now)
            issued += 1
    return issued


async def follow_attendance(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    row: RegistrationRow,
    days: Sequence[date],
    now: datetime,
) -> None:
    """After the secretariat corrects the attendance of a completed training: a certificate
    is issued to someone who now attended every day, withdrawn from someone who no longer
    did (each is mailed)."""
    if training_row.status != "completed" or row.erased_at is not None:
        return
    cert = await uow.session.get(CertificateRow, row.id, with_for_update=True)
    if row.status == "confirmed" and attendance_days.attended_every_day(training_row, days):
        await _issue(uow, settings, training_row, row, cert, now)
    elif cert is not None and cert.status == "valid":
        cert.status, cert.revision = "withdrawn", cert.revision + 1
        uow.session.add(cert)
        _emit(uow, ev.CertificateWithdrawn, cert, row)
        await _mail(uow, settings, training_row, row, issued=False)


@audited("certificate.revoked", audits.certificate)
async def revoke(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: RevokeCertificate
) -> CertificateRow:
    """The secretariat revokes a certificate; the verification page then says so (410)."""
    reason = revocation_reason(input.reason)
    cert = await uow.session.get(CertificateRow, input.registration_id, with_for_update=True)
    if cert is None:
        raise NotFound(f"no certificate for registration {input.registration_id}")
    if cert.status in ("revoked", "erased"):
        raise Conflict(f"this certificate is already {cert.status}")
    row = await queries.get_registration(uow.session, input.registration_id)
    cert.status, cert.reason, cert.revoked_at = "revoked", reason, clock.now()
    cert.revision += 1
    uow.session.add(cert)
    _emit(uow, ev.CertificateRevoked, cert, row, reason=reason)
    return cert


async def forget(uow: UnitOfWork, registration_ids: Sequence[str], now: datetime) -> None:
    """The registrations' personal data is erased: their certificates existed, nothing more."""
    if registration_ids:
        await uow.execute(
            update(certificate)
            .where(certificate.c.registration_id.in_(list(registration_ids)))
            .where(certificate.c.erased_at.is_(None))
            .values(status="erased", erased_at=now)
        )


async def erase_expired(db: Database, settings: Settings) -> int:
    """Verification records of trainings completed CERTIFICATE_RETENTION ago become
    "existed, erased". Returns how many."""
    now = clock.now()
    cutoff = now - own(settings).certificate_retention
    completed_before = select(training.c.id).where(training.c.completed_at <= cutoff)
    async with db.unit() as uow:
        result = await uow.execute(
            update(certificate)
            .where(certificate.c.erased_at.is_(None))
            .where(certificate.c.training_id.in_(completed_before))
            .values(status="erased", erased_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


# --- what may be shown ------------------------------------------------------------------


MISREAD = str.maketrans("OIL", "011")


@dataclass(frozen=True)
class Verification:
    """What the public page says of a certificate number: its status, and while valid the
    name, training and dates; the reason's category (a key of REVOCATION_REASONS) when
    revoked or withdrawn."""

    status: str
    name: str = ""
    training: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    reason: str = ""


def normalised(number: str) -> str:
    """A number as typed from paper: any case, with or without the dashes; O for 0 and I or
    L for 1 (the alphabet has neither letter)."""
    plain = "".join(ch for ch in number.upper() if ch.isalnum()).translate(MISREAD)
    return "-".join(plain[n : n + 4] for n in range(0, len(plain), 4))


async def verification(session: AsyncSession, number: str) -> Verification | None:
    """What the number's page shows; None: no certificate has this number."""
    if len(number) > 40:
        return None
    cert = (
        await session.exec(
            select(CertificateRow).where(CertificateRow.number == normalised(number))
        )
    ).first()
    if cert is None:
        return None
    row = await queries.get_registration(session, cert.registration_id)
    if cert.erased_at is not None or row.erased_at is not None:
        return Verification("erased")
    if cert.status == "revoked":
        return Verification("revoked", reason=cert.reason or "other")
    if cert.status == "withdrawn":
        return Verification("revoked", reason="attendance_not_met")
    found = await queries.training(session, cert.training_id)
    return Verification("valid", row.name, found.title, found.starts_on, found.ends_on)


@dataclass(frozen=True)
class Printable:
    """What a certificate prints, read at download time (a corrected name follows)."""

    number: str
    name: str
    training: TrainingRow
    days: list[date]
    # The participant's language: the certificate is written in it.
    language: str


async def printable(session: AsyncSession, registration_id: str) -> Printable:
    """The certificate of a registration; 409 while the training is not completed, when
    days are missing, or when it was revoked."""
    row = await queries.get_registration(session, registration_id)
    if row.erased_at is not None:
        raise NotFound(f"no registration {registration_id}")
    found = await queries.training(session, row.training_id)
    if found.status != "completed":
        raise Conflict("the certificate exists once the training is completed")
    days = await attendance.days_of(session, row.id)
    missing = [day for day in attendance_days.training_days(found) if day not in days]
    if missing or row.status != "confirmed":
        shown = ", ".join(str(day) for day in missing) or "every day"
        raise Conflict(f"a certificate needs attendance on every day; missing: {shown}")
    cert = await session.get(CertificateRow, row.id)
    if cert is None or cert.status != "valid":
        raise Conflict(f"this certificate is {cert.status if cert else 'not issued yet'}")
    return Printable(cert.number, row.name, found, days, row.language)

"""API routes of attendance and certificates: check-in per day, the certificate PDF and
record, and revocation by the secretariat (the door page is in door_pages.py, the
certificate pages in certificate_pages.py)."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, post
from litestar.params import FromPath, JSONBody

from services.registration import (
    attendance_days,
    certificate_pdf,
    certificates,
    commands,
    links,
)
from services.registration.api import Text, decide
from services.registration.documents_api import pdf_response
from services.registration.guards import holder_or_host, host_of_registration
from services.registration.schemas import CertificateOut, CheckInIn, RegistrationOut, RevocationIn
from services.registration.tables import CertificateRow
from shared.auth import require_secretariat
from shared.commands import execute
from shared.errors import NotFound
from shared.i18n import speaking
from shared.params import DB, AppSettings, ManageToken, StaffMember
from shared.problems import problems


async def _pdf(db: Any, settings: Any, registration_id: str) -> Response[bytes]:
    async with db.session() as session:
        found = await certificates.printable(session, registration_id)
    with speaking(found.language):
        body = certificate_pdf.render(
            number=found.number,
            name=found.name,
            training=found.training,
            days=found.days,
            verification_url=links.verification_url(settings, found.number),
        )
    return pdf_response(body, f"certificate-{found.number}.pdf")


@post(
    "/registrations/{registration_id:str}/check-in",
    operation_id="checkIn",
    responses=problems(403, 404, 409, 413, 422),
    status_code=200,
    guards=[host_of_registration],
)
async def check_in(
    registration_id: FromPath[str],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
    data: JSONBody[CheckInIn | None] = None,
) -> RegistrationOut:
    """Record that a confirmed participant came on `day` (default: today in the training's
    zone, or its last day once it is over): from the training's first day until it is
    completed, the secretariat also after (certificates follow). A day outside the
    training's dates or in the future is 422."""
    day = attendance_days.parse_day(data.day if data is not None else None)
    command = commands.CheckIn(registration_id, day)
    return await decide(db, commands.check_in, settings, who, command)


@delete(
    "/registrations/{registration_id:str}/check-in",
    operation_id="undoCheckIn",
    responses=problems(403, 404, 409, 422),
    status_code=200,
    guards=[host_of_registration],
)
async def undo_check_in(
    registration_id: FromPath[str],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
    day: Text = None,
) -> RegistrationOut:
    """Undo one day's check-in (`day`, default today in the training's zone)."""
    command = commands.UndoCheckIn(registration_id, attendance_days.parse_day(day))
    return await decide(db, commands.undo_check_in, settings, who, command)


def _out(settings: Any, cert: CertificateRow) -> CertificateOut:
    return CertificateOut(
        registration_id=cert.registration_id,
        number=cert.number,
        status=cert.status,
        reason=cert.reason,
        verification_url=links.verification_url(settings, cert.number),
    )


@get(
    "/registrations/{registration_id:str}/certificate.pdf",
    operation_id="getCertificate",
    responses=problems(403, 404, 409),
    guards=[holder_or_host],
    media_type="application/pdf",
)
async def certificate_pdf_route(
    registration_id: FromPath[str], db: DB, settings: AppSettings, manage_token: ManageToken = None
) -> Response[bytes]:
    """The certificate of attendance (X-Manage-Token, or staff of the host country): 409
    while the training is not completed or when days are missing."""
    return await _pdf(db, settings, registration_id)


@get(
    "/registrations/{registration_id:str}/certificate",
    operation_id="getCertificateRecord",
    responses=problems(403, 404),
    guards=[holder_or_host],
)
async def certificate_record(
    registration_id: FromPath[str], db: DB, settings: AppSettings, manage_token: ManageToken = None
) -> CertificateOut:
    """The certificate's number, status and verification link; 404 before it is issued."""
    async with db.session() as session:
        cert = await session.get(CertificateRow, registration_id)
    if cert is None:
        raise NotFound(f"no certificate for registration {registration_id}")
    return _out(settings, cert)


@post(
    "/registrations/{registration_id:str}/certificate/revoke",
    operation_id="revokeCertificate",
    responses=problems(403, 404, 409, 413, 422),
    status_code=200,
    guards=[require_secretariat],
)
async def revoke_certificate(
    registration_id: FromPath[str],
    data: JSONBody[RevocationIn],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
) -> CertificateOut:
    """Revoke a certificate (secretariat), naming the reason's category
    (`issued_in_error`, `attendance_not_met`, `identity_disputed`, `other`)."""
    command = certificates.RevokeCertificate(registration_id, data.reason)
    cert = await execute(db, certificates.revoke, settings, who, command)
    return _out(settings, cert)


API_ROUTES = [
    check_in,
    undo_check_in,
    certificate_pdf_route,
    certificate_record,
    revoke_certificate,
]

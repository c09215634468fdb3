"""API routes of attendance and certificates: check-in per day, the certificate PDF and
record, and revocation by the secretariat (the door page is in door_pages.py, the
certificate pages in certificate_pages.py)."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.params import FromPath, JSONBody

from services.registration import (
    attendance_days,
    certificate_pdf,
    certificates,
    commands,
    links,
)
from services.registration.api import Text, decided
from services.registration.documents_api import participant_pdf, pdf_response
from services.registration.guards import for_holder_or_host, host_of_registration
from services.registration.schemas import CertificateOut, CheckInIn, RegistrationOut, RevocationIn
from services.registration.tables import CertificateRow
from shared.auth import require_secretariat
from shared.errors import NotFound
from shared.i18n import speaking
from shared.params import DB, AppSettings
from shared.routes import Call, guarded, guarded_delete, guarded_get, guarded_post
from shared.structs import carried


async def certificate_response(db: Any, settings: Any, registration_id: str) -> Response[bytes]:
    """The certificate of a registration as a PDF download, in its holder's language."""
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


@guarded_post(
    "/registrations/{registration_id:str}/check-in", operation_id="checkIn", status_code=200
)
async def check_in(
    registration_id: FromPath[str], call: Call, data: JSONBody[CheckInIn | None] = None
) -> RegistrationOut:
    """Record that a confirmed participant came on `day` (default: today in the training's
    zone, or its last day once it is over): from the training's first day until it is
    completed, the secretariat also after (certificates follow). A day outside the
    training's dates or in the future is 422."""
    day = attendance_days.parse_day(data.day if data is not None else None)
    return decided(await call.run(commands.check_in, commands.CheckIn(registration_id, day)))


@guarded_delete("/registrations/{registration_id:str}/check-in", operation_id="undoCheckIn")
async def undo_check_in(
    registration_id: FromPath[str], call: Call, day: Text = None
) -> RegistrationOut:
    """Undo one day's check-in (`day`, default today in the training's zone)."""
    command = commands.UndoCheckIn(registration_id, attendance_days.parse_day(day))
    return decided(await call.run(commands.undo_check_in, command))


def _out(settings: Any, cert: CertificateRow) -> CertificateOut:
    return carried(
        CertificateOut, cert, verification_url=links.verification_url(settings, cert.number)
    )


# The certificate of attendance (X-Manage-Token, or staff of the host country): 409 while
# the training is not completed or when days are missing.
certificate_pdf_route = participant_pdf(
    "certificate.pdf", "getCertificate", "certificate_pdf_route", certificate_response
)


@guarded_get(
    "/registrations/{registration_id:str}/certificate", operation_id="getCertificateRecord"
)
async def certificate_record(
    registration_id: FromPath[str], db: DB, settings: AppSettings
) -> CertificateOut:
    """The certificate's number, status and verification link; 404 before it is issued."""
    async with db.session() as session:
        cert = await session.get(CertificateRow, registration_id)
    if cert is None:
        raise NotFound(f"no certificate for registration {registration_id}")
    return _out(settings, cert)


@guarded_post(
    "/registrations/{registration_id:str}/certificate/revoke",
    operation_id="revokeCertificate",
    status_code=200,
)
async def revoke_certificate(
    registration_id: FromPath[str], data: JSONBody[RevocationIn], call: Call
) -> CertificateOut:
    """Revoke a certificate (secretariat), naming the reason's category
    (`issued_in_error`, `attendance_not_met`, `identity_disputed`, `other`)."""
    command = certificates.RevokeCertificate(registration_id, data.reason)
    return _out(call.settings, await call.run(certificates.revoke, command))


API_ROUTES = [
    guarded(host_of_registration, check_in, undo_check_in),
    for_holder_or_host(certificate_pdf_route, certificate_record),
    guarded(require_secretariat, revoke_certificate),
]

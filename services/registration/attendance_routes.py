"""Routes of attendance and certificates: check-in per day (API; the door page is in
door_pages.py), the certificate PDF (API and manage link), the public verification page,
and revocation by the secretariat (API and staff page)."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, post
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import (
    attendance_days,
    certificate_pdf,
    certificates,
    commands,
    links,
    queries,
)
from services.registration.api import Text, decided
from services.registration.documents_api import participant_pdf, pdf_response
from services.registration.guards import for_holder_or_host, host_of_registration
from services.registration.schemas import CertificateOut, CheckInIn, RegistrationOut, RevocationIn
from services.registration.staff_pages import Request_, act, of_registration, refused
from services.registration.tables import CertificateRow
from shared import languages
from shared.auth import require_secretariat
from shared.errors import NotFound
from shared.i18n import speaking
from shared.params import DB, AppSettings
from shared.problems import problems
from shared.routes import Call, guarded, guarded_get, guarded_post
from shared.structs import carried


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


@delete(
    "/registrations/{registration_id:str}/check-in",
    operation_id="undoCheckIn",
    responses=problems(403, 404, 409, 422),
    status_code=200,
)
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
    "certificate.pdf", "getCertificate", "certificate_pdf_route", _pdf
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


# --- pages -----------------------------------------------------------------------------


@get("/manage/{token:str}/certificate.pdf", operation_id="certificateByManageLink")
async def certificate_by_manage_link(
    token: FromPath[str], db: DB, settings: AppSettings
) -> Response[bytes]:
    """The link the certificate mail carries."""
    async with db.session() as session:
        row = await queries.by_manage_token(session, token)
    if row is None:
        raise NotFound("no such link")
    return await _pdf(db, settings, row.id)


@get("/certificates/{number:str}", operation_id="verifyCertificate")
async def verify_certificate(number: FromPath[str], db: DB) -> Template:
    """Whether a certificate is genuine: valid (200) with name, training and dates; revoked
    (410) with the reason's category; erased (410); unknown (404). Nothing more."""
    async with db.session() as session:
        found = await certificates.verification(session, number)
    if found is None:
        status, code = "unknown", 404
    else:
        status, code = found.status, 200 if found.status == "valid" else 410
    return Template(
        template_name="certificate.html",
        context={"status": status, "found": found, "number": number[:40]},
        status_code=code,
    )


@get("/staff/registrations/{registration_id:str}/certificate", operation_id="certificatePage")
async def certificate_page(
    registration_id: FromPath[str], request: Request_, db: DB
) -> Template | Redirect:
    """A certificate as staff see it; the secretariat may revoke it."""
    found = await of_registration(request, db, registration_id)
    if not isinstance(found, tuple):
        return found
    staff, training_row = found
    async with db.session() as session:
        cert = await session.get(CertificateRow, registration_id)
        row = await queries.get_registration(session, registration_id)
    return Template(
        template_name="staff_certificate.html",
        context={
            "cert": cert,
            "registration": row,
            "training": training_row,
            "staff": staff,
            "reasons": certificates.REVOCATION_REASONS,
            "done": request.query_params.get("done"),
        },
    )


@post(
    "/staff/registrations/{registration_id:str}/certificate/revoke",
    operation_id="revokeCertificateByPage",
)
async def revoke_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    found = await of_registration(request, db, registration_id)
    if not isinstance(found, tuple):
        return found
    staff, _training = found
    back = f"/staff/registrations/{registration_id}/certificate"
    if not staff.is_secretariat:
        return refused("Only the secretariat may revoke a certificate.", 403, back)
    command = certificates.RevokeCertificate(registration_id, data.get("reason", ""))
    return await act(db, settings, staff, certificates.revoke, command, back, "revoked")


API_ROUTES = [
    guarded(host_of_registration, check_in, undo_check_in),
    for_holder_or_host(certificate_pdf_route, certificate_record),
    guarded(require_secretariat, revoke_certificate),
]
PAGE_ROUTES: list[Any] = [
    # The participant's and the public's: in their language (shared.languages).
    Router(
        path="/",
        route_handlers=[certificate_by_manage_link, verify_certificate],
        middleware=[languages.SpeakingMiddleware],
    ),
    certificate_page,
    revoke_by_page,
]

"""Pages of certificates: the PDF by the manage link, the public verification page, and a
certificate as staff see it, with revocation by the secretariat."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import certificates, queries
from services.registration.attendance_routes import certificate_response
from services.registration.guards import Managed, managed_pages, refused
from services.registration.staff_pages import Request_, act
from services.registration.tables import CertificateRow
from shared import languages
from shared.errors import NotFound
from shared.params import DB, AppSettings


@get("/manage/{token:str}/certificate.pdf", operation_id="certificateByManageLink")
async def certificate_by_manage_link(
    token: FromPath[str], db: DB, settings: AppSettings
) -> Response[bytes]:
    """The link the certificate mail carries."""
    async with db.session() as session:
        row = await queries.by_manage_token(session, token)
    if row is None:
        raise NotFound("no such link")
    return await certificate_response(db, settings, row.id)


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
    registration_id: FromPath[str], request: Request_, managed: Managed
) -> Template | Redirect:
    """A certificate as staff see it; the secretariat may revoke it."""
    async with managed.db.session() as session:
        cert = await session.get(CertificateRow, registration_id)
        row = await queries.get_registration(session, registration_id)
    return Template(
        template_name="staff_certificate.html",
        context={
            "cert": cert,
            "registration": row,
            "training": managed.training,
            "staff": managed.staff,
            "reasons": certificates.REVOCATION_REASONS,
            "done": request.query_params.get("done"),
        },
    )


@post(
    "/staff/registrations/{registration_id:str}/certificate/revoke",
    operation_id="revokeCertificateByPage",
)
async def revoke_by_page(
    registration_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    back = f"/staff/registrations/{registration_id}/certificate"
    if not managed.staff.is_secretariat:
        return refused("Only the secretariat may revoke a certificate.", 403, back)
    command = certificates.RevokeCertificate(registration_id, data.get("reason", ""))
    return await act(managed, certificates.revoke, command, back, "revoked")


ROUTES: list[Any] = [
    # The participant's and the public's: in their language (shared.languages).
    Router(
        path="/",
        route_handlers=[certificate_by_manage_link, verify_certificate],
        opt=languages.PARTICIPANT,
    ),
    managed_pages(certificate_page, revoke_by_page),
]

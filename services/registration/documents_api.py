"""JSON routes of badges and visa letters: the badge sheet and check-in codes for the
host country's staff; letter requests (the participant, with their manage token), their
review (the host country's staff) and the letter itself."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get, post, put
from litestar.params import FromPath, JSONBody

from services.registration import documents, queries, views, visa_commands
from services.registration.guards import (
    holder,
    holder_or_host,
    host_of_registration,
    host_of_training,
)
from services.registration.schemas import (
    LetterheadIn,
    LetterheadOut,
    LetterIn,
    LetterList,
    LetterOut,
    RegistrationOut,
)
from shared.commands import execute
from shared.errors import NotFound
from shared.params import DB, AppSettings, ManageToken, StaffMember
from shared.problems import problems


def pdf_response(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@get(
    "/trainings/{training_id:str}/badges.pdf",
    operation_id="badgeSheet",
    responses=problems(403, 404),
    guards=[host_of_training],
    media_type="application/pdf",
)
async def badge_sheet(training_id: FromPath[str], db: DB) -> Response[bytes]:
    """Badges of the confirmed participants, eight an A4 page with cut marks; each with a
    QR code of the registration's check-in code."""
    async with db.session() as session:
        training = await queries.training(session, training_id)
        content = await documents.badge_sheet_of(session, training)
    return pdf_response(content, f"badges-{training_id}.pdf")


@get(
    "/trainings/{training_id:str}/check-in-codes/{code:str}",
    operation_id="findByCheckInCode",
    responses=problems(403, 404),
    guards=[host_of_training],
)
async def find_by_check_in_code(
    training_id: FromPath[str], code: FromPath[str], db: DB
) -> RegistrationOut:
    """The training's registration whose badge carries `code` (typed in any case, with or
    without spaces); check it in with `POST /registrations/{id}/check-in`."""
    async with db.session() as session:
        row = await documents.by_check_in_code(session, training_id, code)
        if row is None:
            raise NotFound("no registration of this training has this check-in code", field="code")
        position = await queries.waitlist_position(session, row)
    return views.registration_out(row, position)


@post(
    "/registrations/{registration_id:str}/letter",
    operation_id="requestLetter",
    responses=problems(404, 409, 413, 422),
    status_code=201,
    guards=[holder],
)
async def request_letter(
    registration_id: FromPath[str],
    data: JSONBody[LetterIn],
    db: DB,
    settings: AppSettings,
    manage_token: ManageToken = None,
) -> LetterOut:
    """A confirmed participant asks for an invitation letter for their visa application
    (X-Manage-Token); asking again corrects a request not yet decided."""
    request = visa_commands.RequestLetter(registration_id, msgspec.structs.asdict(data))
    return await execute(db, visa_commands.request_letter, settings, None, request)


@get(
    "/registrations/{registration_id:str}/letter",
    operation_id="getLetter",
    responses=problems(403, 404),
    guards=[holder_or_host],
)
async def get_letter(
    registration_id: FromPath[str], db: DB, settings: AppSettings, manage_token: ManageToken = None
) -> LetterOut:
    """The request and its status: the participant, or staff of the host country."""
    async with db.session() as session:
        letter = await visa_commands.letter_of(session, registration_id)
        if letter is None:
            raise NotFound(f"no letter for registration {registration_id}", field="registration_id")
        row = await queries.get_registration(session, registration_id)
    return visa_commands.letter_out(settings, letter, row)


@get(
    "/registrations/{registration_id:str}/letter.pdf",
    operation_id="downloadLetter",
    responses=problems(403, 404, 409),
    guards=[holder_or_host],
    media_type="application/pdf",
)
async def download_letter(
    registration_id: FromPath[str], db: DB, settings: AppSettings, manage_token: ManageToken = None
) -> Response[bytes]:
    """The approved letter (409 while it is requested or declined)."""
    async with db.session() as session:
        content = await documents.letter_pdf_of(session, settings, registration_id)
    return pdf_response(content, "invitation-letter.pdf")


@get(
    "/trainings/{training_id:str}/letters",
    operation_id="listLetters",
    responses=problems(403, 404),
    guards=[host_of_training],
)
async def list_letters(training_id: FromPath[str], db: DB, settings: AppSettings) -> LetterList:
    """The training's letter requests, open ones first (host country's staff)."""
    async with db.session() as session:
        await queries.training(session, training_id)
        items = await visa_commands.letters_of_training(session, settings, training_id)
    return LetterList(items=items)


async def _decide(db: Any, settings: Any, who: Any, registration_id: str, verb: str) -> LetterOut:
    command = visa_commands.approve_letter if verb == "approve" else visa_commands.decline_letter
    verdict = "approved" if verb == "approve" else "declined"
    return await execute(
        db, command, settings, who, visa_commands.DecideLetter(registration_id, verdict)
    )


@post(
    "/registrations/{registration_id:str}/letter/approve",
    operation_id="approveLetter",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def approve_letter(
    registration_id: FromPath[str], db: DB, settings: AppSettings, who: StaffMember
) -> LetterOut:
    """Approve a requested letter (the training's letterhead must be set); the participant
    is mailed and may download it."""
    return await _decide(db, settings, who, registration_id, "approve")


@post(
    "/registrations/{registration_id:str}/letter/decline",
    operation_id="declineLetter",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def decline_letter(
    registration_id: FromPath[str], db: DB, settings: AppSettings, who: StaffMember
) -> LetterOut:
    return await _decide(db, settings, who, registration_id, "decline")


@get(
    "/trainings/{training_id:str}/letterhead",
    operation_id="getLetterhead",
    responses=problems(403, 404),
    guards=[host_of_training],
)
async def get_letterhead(training_id: FromPath[str], db: DB) -> LetterheadOut:
    async with db.session() as session:
        row = await visa_commands.letterhead_of(session, training_id)
    if row is None:
        raise NotFound(f"no letterhead set for training {training_id}", field="training_id")
    return LetterheadOut(
        training_id=row.training_id,
        ministry=row.ministry,
        signatory_name=row.signatory_name,
        signatory_title=row.signatory_title,
    )


@put(
    "/trainings/{training_id:str}/letterhead",
    operation_id="setLetterhead",
    responses=problems(403, 404, 413, 422),
    guards=[host_of_training],
)
async def set_letterhead(
    training_id: FromPath[str],
    data: JSONBody[LetterheadIn],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
) -> LetterheadOut:
    """The host ministry's letterhead (lines of text) and signatory on the training's
    letters."""
    command = visa_commands.SetLetterhead(
        training_id, data.ministry, data.signatory_name, data.signatory_title
    )
    return await execute(db, visa_commands.set_letterhead, settings, who, command)


ROUTES = [
    badge_sheet,
    find_by_check_in_code,
    request_letter,
    get_letter,
    download_letter,
    list_letters,
    approve_letter,
    decline_letter,
    get_letterhead,
    set_letterhead,
]

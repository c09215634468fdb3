"""JSON routes of badges and visa letters: the badge sheet and check-in codes for the
host country's staff; letter requests (the participant, with their manage token), their
review (the host country's staff) and the letter itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import msgspec
from litestar import Response, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody

from services.registration import documents, queries, views, visa_commands
from services.registration.api import decision_route
from services.registration.guards import (
    for_holder,
    for_holder_or_host,
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
from shared.db import Database
from shared.errors import NotFound
from shared.params import DB, AppSettings
from shared.problems import problems
from shared.routes import Call, CommandCall, LinkCall, guarded, guarded_get
from shared.settings import Settings
from shared.structs import carried

# A route answering a PDF document.
pdf_route = partial(get, media_type="application/pdf")


def pdf_response(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def participant_pdf(
    file: str,
    operation_id: str,
    name: str,
    make: Callable[[Database, Settings, str], Awaitable[Response[bytes]]],
) -> HTTPRouteHandler:
    """`GET /registrations/{registration_id}/{file}`: a participant's document, made by
    `make`, for them or their host country's staff (`for_holder_or_host`); 409 while it
    cannot be made."""

    async def document(
        registration_id: FromPath[str], db: DB, settings: AppSettings
    ) -> Response[bytes]:
        return await make(db, settings, registration_id)

    document.__name__ = name  # the OpenAPI summary is made from it
    path = f"/registrations/{{registration_id:str}}/{file}"
    return pdf_route(path, operation_id=operation_id, responses=problems(403, 404, 409))(document)


@pdf_route(
    "/trainings/{training_id:str}/badges.pdf",
    operation_id="badgeSheet",
    responses=problems(403, 404),
)
async def badge_sheet(training_id: FromPath[str], db: DB) -> Response[bytes]:
    """Badges of the confirmed participants, eight an A4 page with cut marks; each with a
    QR code of the registration's check-in code."""
    async with db.session() as session:
        training = await queries.training(session, training_id)
        content = await documents.badge_sheet_of(session, training)
    return pdf_response(content, f"badges-{training_id}.pdf")


@guarded_get(
    "/trainings/{training_id:str}/check-in-codes/{code:str}", operation_id="findByCheckInCode"
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
)
async def request_letter(
    registration_id: FromPath[str],
    data: JSONBody[LetterIn],
    link_call: LinkCall,
) -> LetterOut:
    """A confirmed participant asks for an invitation letter for their visa application
    (X-Manage-Token); asking again corrects a request not yet decided."""
    request = visa_commands.RequestLetter(registration_id, msgspec.structs.asdict(data))
    return await link_call.run(visa_commands.request_letter, request)


@guarded_get("/registrations/{registration_id:str}/letter", operation_id="getLetter")
async def get_letter(registration_id: FromPath[str], db: DB, settings: AppSettings) -> LetterOut:
    """The request and its status: the participant, or staff of the host country."""
    async with db.session() as session:
        letter = await visa_commands.letter_of(session, registration_id)
        if letter is None:
            raise NotFound(f"no letter for registration {registration_id}", field="registration_id")
        row = await queries.get_registration(session, registration_id)
    return visa_commands.letter_out(settings, letter, row)


async def _letter_pdf(db: Database, settings: Settings, registration_id: str) -> Response[bytes]:
    """The approved letter (409 while it is requested or declined)."""
    async with db.session() as session:
        content = await documents.letter_pdf_of(session, settings, registration_id)
    return pdf_response(content, "invitation-letter.pdf")


download_letter = participant_pdf("letter.pdf", "downloadLetter", "download_letter", _letter_pdf)


@guarded_get("/trainings/{training_id:str}/letters", operation_id="listLetters")
async def list_letters(training_id: FromPath[str], db: DB, settings: AppSettings) -> LetterList:
    """The training's letter requests, open ones first (host country's staff)."""
    async with db.session() as session:
        await queries.training(session, training_id)
        items = await visa_commands.letters_of_training(session, settings, training_id)
    return LetterList(items=items)


def _letter_decision(verb: str, verdict: str) -> HTTPRouteHandler:
    """`POST /registrations/{registration_id}/letter/{verb}`: the request decided."""
    command = visa_commands.approve_letter if verb == "approve" else visa_commands.decline_letter

    async def act(call: CommandCall, registration_id: str) -> LetterOut:
        return await call.run(command, visa_commands.DecideLetter(registration_id, verdict))

    path = f"/registrations/{{registration_id:str}}/letter/{verb}"
    return decision_route(path, f"{verb}Letter", f"{verb}_letter", LetterOut, act)


# Approve a requested letter (the training's letterhead must be set); the participant is
# mailed and may download it.
approve_letter = _letter_decision("approve", "approved")
decline_letter = _letter_decision("decline", "declined")


@guarded_get("/trainings/{training_id:str}/letterhead", operation_id="getLetterhead")
async def get_letterhead(training_id: FromPath[str], db: DB) -> LetterheadOut:
    async with db.session() as session:
        row = await visa_commands.letterhead_of(session, training_id)
    if row is None:
        raise NotFound(f"no letterhead set for training {training_id}", field="training_id")
    return carried(LetterheadOut, row)


@put(
    "/trainings/{training_id:str}/letterhead",
    operation_id="setLetterhead",
    responses=problems(403, 404, 413, 422),
)
async def set_letterhead(
    training_id: FromPath[str], data: JSONBody[LetterheadIn], call: Call
) -> LetterheadOut:
    """The host ministry's letterhead (lines of text) and signatory on the training's
    letters."""
    command = visa_commands.SetLetterhead(
        training_id, data.ministry, data.signatory_name, data.signatory_title
    )
    return await call.run(visa_commands.set_letterhead, command)


# In the order the API reference lists them (so a guard may head two groups).
ROUTES = [
    guarded(host_of_training, badge_sheet, find_by_check_in_code),
    for_holder(request_letter),
    for_holder_or_host(get_letter, download_letter),
    guarded(host_of_training, list_letters),
    guarded(host_of_registration, approve_letter, decline_letter),
    guarded(host_of_training, get_letterhead, set_letterhead),
]

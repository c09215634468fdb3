"""Pages of visa invitation letters: the participant's request and download on the manage
page; the host country's list of requests with approve and decline, and the training's
letterhead form (staff, checked as on every staff page by guards.managed_pages,
CSRF-protected, audited)."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import documents, manage_pages, visa, visa_commands
from services.registration.documents_api import pdf_response
from services.registration.guards import Managed, ManagedTraining, managed_pages
from services.registration.staff_pages import Text, act, back_with, summary_of
from shared import languages
from shared.clock import clock
from shared.commands import execute
from shared.errors import DomainError
from shared.i18n import _
from shared.params import DB, AppSettings

# What the participant is told beside a refused field, in their language.
LETTER_ERRORS = {
    "passport_name": lambda: _("Write your name exactly as in your passport (one line)."),
    "nationality": lambda: _("Choose the nationality of your passport."),
    "passport_number": lambda: _(
        "Write the passport number as printed (at most 30 characters, no control characters)."
    ),
    "date_of_birth": lambda: _("Enter your date of birth (it cannot be in the future)."),
}


@post("/manage/{token:str}/letter", operation_id="requestLetterByPage", status_code=303)
async def request_by_page(
    token: FromPath[str], data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Response[Any]:
    context = await manage_pages.manage_context(db, settings, token)
    if context is None:
        return manage_pages.unknown_link()
    problems = visa.problems_of(data, clock.now().date())
    if not problems:
        request = visa_commands.RequestLetter(context["registration"].id, data)
        try:
            await execute(db, visa_commands.request_letter, settings, None, request)
        except DomainError as refusal:
            problems = {refusal.field or "letter": refusal.message}
    if problems:
        errors = {f: LETTER_ERRORS[f]() if f in LETTER_ERRORS else m for f, m in problems.items()}
        return manage_pages.manage_template(
            {**context, "letter_form": data, "letter_errors": errors}, status_code=422
        )
    return Redirect(path=f"/manage/{token}?done=letter#letter", status_code=303)


@get("/manage/{token:str}/letter.pdf", operation_id="downloadLetterByPage")
async def download_by_page(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    row = await manage_pages.holder(db, token)
    if row is None:
        return manage_pages.unknown_link()
    try:
        async with db.session() as session:
            content = await documents.letter_pdf_of(session, settings, row.id)
    except DomainError:
        return manage_pages.unknown_link()
    return pdf_response(content, "invitation-letter.pdf")


# --- staff -------------------------------------------------------------------------


LETTER_NOTICES = {
    "approved": "Letter approved; the participant is mailed and can download it.",
    "declined": "Letter declined; the participant is mailed.",
    "letterhead": "Letterhead saved.",
}


async def _letters_page(
    managed: ManagedTraining,
    done: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    row = managed.training
    async with managed.db.session() as session:
        letters = await visa_commands.letters_of_training(session, managed.settings, row.id)
        letterhead = await visa_commands.letterhead_of(session, row.id)
    if form is None:
        form = {
            "ministry": letterhead.ministry if letterhead else "",
            "signatory_name": letterhead.signatory_name if letterhead else "",
            "signatory_title": letterhead.signatory_title if letterhead else "",
        }
    return Template(
        template_name="staff_letters.html",
        status_code=status_code,
        context={
            "summary": await summary_of(managed.db, row),
            "letters": letters,
            "has_letterhead": letterhead is not None,
            "form": form,
            "errors": errors or {},
            "notice": LETTER_NOTICES.get(done or ""),
        },
    )


@get("/staff/trainings/{training_id:str}/letters", operation_id="lettersPage")
async def letters_page(managed: Managed, done: Text = None) -> Template | Redirect:
    """The training's visa letter requests, open ones first, and its letterhead."""
    return await _letters_page(managed, done)


@post("/staff/trainings/{training_id:str}/letterhead", operation_id="setLetterheadByPage")
async def letterhead_by_page(
    training_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    form = {key: data.get(key) or "" for key in ("ministry", "signatory_name", "signatory_title")}
    errors = visa.letterhead_problems(**form)
    if not errors:
        command = visa_commands.SetLetterhead(training_id, **form)
        try:
            await execute(
                managed.db, visa_commands.set_letterhead, managed.settings, managed.staff, command
            )
        except DomainError as refusal:
            errors = {refusal.field or "ministry": refusal.message}
    if errors:
        return await _letters_page(managed, None, form, errors, 422)
    return back_with(f"/staff/trainings/{training_id}/letters", "letterhead")


async def _decide(managed: ManagedTraining, registration_id: str, verdict: str) -> Response[Any]:
    back = f"/staff/trainings/{managed.training.id}/letters"
    approving = verdict == visa.APPROVED
    command = visa_commands.approve_letter if approving else visa_commands.decline_letter
    decision = visa_commands.DecideLetter(registration_id, verdict)
    return await act(managed, command, decision, back, verdict)


@post(
    "/staff/registrations/{registration_id:str}/letter/approve", operation_id="approveLetterByPage"
)
async def approve_by_page(registration_id: FromPath[str], managed: Managed) -> Response[Any]:
    return await _decide(managed, registration_id, visa.APPROVED)


@post(
    "/staff/registrations/{registration_id:str}/letter/decline", operation_id="declineLetterByPage"
)
async def decline_by_page(registration_id: FromPath[str], managed: Managed) -> Response[Any]:
    return await _decide(managed, registration_id, visa.DECLINED)


ROUTES: list[Any] = [
    # The participant's: in their language (shared.languages).
    Router(
        path="/",
        route_handlers=[request_by_page, download_by_page],
        opt=languages.PARTICIPANT,
    ),
    managed_pages(letters_page, letterhead_by_page, approve_by_page, decline_by_page),
]

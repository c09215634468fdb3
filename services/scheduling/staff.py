"""The organisers' pages under /staff/: their trainings, a training's details and timetable,
and the steps of its lifecycle, each confirmed.

Every page's caller is checked on the server before its handler runs (shared.staff_pages):
without a session they are asked to sign in; another country's training is 403 (its draft
404). Every form is CSRF-protected; every change goes through the same command as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from services.scheduling import commands, editions, forms, queries, staff_views
from services.scheduling.conflicts import BLOCKING
from services.scheduling.tables import TrainingRow
from shared import staff_pages as shared_pages
from shared.auth import check_host, stale_session
from shared.commands import execute
from shared.countries import all_countries, country
from shared.errors import DomainError
from shared.events.contracts import SESSION_KINDS
from shared.params import DB, AppSettings, StaffMember
from shared.problems import status_of
from shared.routes import CommandCall
from shared.staff import Staff
from shared.staff_pages import PageRefused, staff_router

HTML = "text/html"
ACTIONS = {
    "publish": ("Publish", "Publish this training: its page and calendars become public."),
    "cancel": ("Cancel", "Cancel this training and all its sessions; participants are told why."),
    "complete": ("Complete", "Mark this training completed: no more changes to it."),
}
Page = Template | Redirect


def refused(message: str, status_code: int) -> Template:
    return Template(
        template_name="staff_refused.html",
        media_type=HTML,
        context={"message": message},
        status_code=status_code,
    )


Form = dict[str, str]


async def _form(request: Request[Any, Any, Any]) -> Form:
    form = await request.form()
    return {key: str(form.get(key) or "") for key in form}


# What a training's page is about.
ManagedTraining = shared_pages.ManagedTraining[TrainingRow]


async def _managed(
    request: Request[Any, Any, Any], who: StaffMember, db: DB, settings: AppSettings
) -> ManagedTraining:
    """The training of the path if the caller (signed in, or sent to sign in first) manages
    it, and its `action`, when the path names one, is a step there is; else PageRefused."""
    action = request.path_params.get("action")
    if action is not None and action not in ACTIONS:
        raise PageRefused(refused(f"There is no step {action!r}.", 404))
    try:
        async with db.session() as reading:
            training = await queries.training_for(reading, request.path_params["training_id"], who)
        check_host(who, training.host_country)
    except DomainError as refusal:
        raise PageRefused(refused(refusal.message, status_of(refusal))) from refusal
    return ManagedTraining(who, training, db, settings)


# What the handler of a training's page takes as `managed`.
Managed = NamedDependency[ManagedTraining]


def _countries(who: Staff) -> list[Any]:
    if who.is_secretariat:
        return all_countries()
    return [country(code) for code in sorted(who.countries)]


@get("/staff/", operation_id="staffHome")
async def staff_home(who: StaffMember, db: DB, settings: AppSettings) -> Page:
    """The caller's trainings by state, with seats, waitlist, pending and conflicts."""
    async with db.session() as reading:
        groups = await staff_views.home(reading, settings, who)
    return Template(
        template_name="staff_home.html", media_type=HTML, context={"groups": groups, "who": who}
    )


async def _new_form(
    db: DB, who: Staff, values: Mapping[str, Any], errors: Mapping[str, str], status: int = 200
) -> Template:
    async with db.session() as reading:
        earlier = await staff_views.managed_trainings(reading, who)
    return Template(
        template_name="staff_new.html",
        media_type=HTML,
        status_code=status,
        context={
            "values": values,
            "errors": errors,
            "countries": _countries(who),
            "earlier": sorted(earlier, key=lambda t: t.starts_on, reverse=True),
        },
    )


@get("/staff/trainings/new", operation_id="staffNewTraining")
async def new_training_page(request: Request[Any, Any, Any], who: StaffMember, db: DB) -> Page:
    values = {"earlier": request.query_params.get("earlier", ""), "capacity": "30"}
    if len(who.countries) == 1 and not who.is_secretariat:
        values["host_country"] = next(iter(who.countries))
    return await _new_form(db, who, values, {})


@post("/staff/trainings/new", operation_id="staffCreateTraining")
async def create_training_page(
    request: Request[Any, Any, Any], who: StaffMember, db: DB, settings: AppSettings
) -> Page:
    form = await _form(request)
    try:
        edition = editions.NewEdition(forms.new_training(form), form.get("earlier") or None)
        training = await execute(db, editions.create_edition, settings, who, edition)
    except DomainError as refusal:
        errors = {refusal.field or "form": refusal.message}
        return await _new_form(db, who, form, errors, status_of(refusal))
    return Redirect(path=f"/staff/trainings/{training.id}", status_code=303)


async def _training_page(
    db: DB,
    who: Staff,
    training: TrainingRow,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    form_of: str = "",
    status: int = 200,
) -> Template:
    async with db.session() as reading:
        days, rooms, speakers, blocking = await staff_views.timetable(reading, training, who)
    return Template(
        template_name="staff_training.html",
        media_type=HTML,
        status_code=status,
        context={
            "training": training,
            "details": staff_views.details(training),
            "days": days,
            "rooms": rooms,
            "speakers": speakers,
            "blocking": blocking,
            "kinds": SESSION_KINDS,
            "errors": errors or {},
            "values": values or {},
            "form_of": form_of,
            "slots": range(1, forms.SPEAKER_SLOTS + 1),
            "editable": training.status in ("draft", "published"),
        },
    )


@get("/staff/trainings/{training_id:str}", operation_id="staffTraining")
async def training_page(managed: Managed) -> Page:
    """The training's details and its timetable, day by day, with conflicts beside sessions."""
    return await _training_page(managed.db, managed.staff, managed.training)


@dataclass(frozen=True)
class PostedForm:
    """A form posted to a training's page: the request it came in, and the caller and the
    training they manage, with the database and settings its command runs with."""

    request: Request[Any, Any, Any]
    managed: ManagedTraining

    async def change(
        self, training_id: str, form_of: str, run: Callable[[CommandCall, Form], Awaitable[Any]]
    ) -> Page:
        """Read the form, `run` the command; a refusal shows the page again with the
        message beside the field it names."""
        who, db = self.managed.staff, self.managed.db
        form = await _form(self.request)
        try:
            # A session just added is where the page comes back to, its clashes beside it.
            anchor = await run(CommandCall(db, self.managed.settings, who), form) or form_of
        except DomainError as refusal:
            errors = {refusal.field or "form": refusal.message}
            return await _training_page(
                db, who, self.managed.training, errors=errors, values=form,
                form_of=form_of, status=status_of(refusal),
            )  # fmt: skip
        return Redirect(path=f"/staff/trainings/{training_id}#{anchor}", status_code=303)


def _posted(request: Request[Any, Any, Any], managed: Managed) -> PostedForm:
    return PostedForm(request, managed)


# What a handler of a training page's form takes as `posted`.
Posted = NamedDependency[PostedForm]


@post("/staff/trainings/{training_id:str}", operation_id="staffEditTraining")
async def edit_training(posted: Posted, training_id: FromPath[str]) -> Page:
    async def run(call: CommandCall, form: Form) -> None:
        change = commands.UpdateTraining(training_id, forms.training_patch(form))
        await call.run(commands.update_training, change)

    return await posted.change(training_id, "details", run)


@post("/staff/trainings/{training_id:str}/sessions", operation_id="staffAddSession")
async def add_session(posted: Posted, training_id: FromPath[str]) -> Page:
    async def run(call: CommandCall, form: Form) -> str:
        added = commands.AddSession(training_id, forms.new_session(form))
        session = await call.run(commands.add_session, added)
        return f"session-{session.id}"

    return await posted.change(training_id, "new-session", run)


@post(
    "/staff/trainings/{training_id:str}/sessions/{session_id:str}", operation_id="staffEditSession"
)
async def edit_session(
    posted: Posted, training_id: FromPath[str], session_id: FromPath[str]
) -> Page:
    async def run(call: CommandCall, form: Form) -> None:
        if form.get("action") == "cancel":
            if form.get("confirm") != "on":
                raise _Unconfirmed()
            await call.run(commands.cancel_session, commands.CancelSession(training_id, session_id))
            return
        change = commands.UpdateSession(training_id, session_id, forms.session_patch(form))
        await call.run(commands.update_session, change)

    return await posted.change(training_id, f"session-{session_id}", run)


class _Unconfirmed(DomainError):
    def __init__(self) -> None:
        super().__init__("tick the box to confirm", field="confirm")


@get("/staff/trainings/{training_id:str}/{action:str}", operation_id="staffConfirmStep")
async def confirm_page(managed: Managed, action: FromPath[str]) -> Page:
    """Publish, cancel or complete: a page that asks first."""
    return await _confirm(managed, action, {}, 200)


async def _confirm(
    managed: ManagedTraining, action: str, errors: Mapping[str, str], status: int
) -> Template:
    who, training = managed.staff, managed.training
    async with managed.db.session() as reading:
        found = await queries.conflicts_of(reading, training, who)
    label, text = ACTIONS[action]
    return Template(
        template_name="staff_confirm.html",
        media_type=HTML,
        status_code=status,
        context={
            "training": training,
            "action": action,
            "label": label,
            "text": text,
            "errors": errors,
            "clashes": [c.message for c in found if c.kind in BLOCKING]
            if action == "publish"
            else [],
        },
    )


@post("/staff/trainings/{training_id:str}/{action:str}", operation_id="staffTakeStep")
async def take_step(
    request: Request[Any, Any, Any], managed: Managed, action: FromPath[str]
) -> Response[Any] | Page:
    who, db, settings = managed.staff, managed.db, managed.settings
    training_id = managed.training.id
    form = await _form(request)
    try:
        if form.get("confirm") != "on":
            raise _Unconfirmed()
        if action == "publish":
            override = form.get("override_conflicts") == "on"
            step: Any = commands.PublishTraining(training_id, override_conflicts=override)
            await execute(db, commands.publish, settings, who, step)
        elif action == "cancel":
            step = commands.CancelTraining(training_id, form.get("reason", "").strip() or None)
            await execute(db, commands.cancel, settings, who, step)
        else:
            await execute(
                db, commands.complete, settings, who, commands.CompleteTraining(training_id)
            )
    except DomainError as refusal:
        errors = {refusal.field or "form": refusal.message}
        return await _confirm(managed, action, errors, status_of(refusal))
    return Redirect(path="/staff/", status_code=303)


def _sign_in_here(connection: ASGIConnection[Any, Any, Any, Any]) -> Redirect:
    # The home sends staff without a session to ask for a sign-in link by e-mail on this
    # very site (services/scheduling/staff_pages.py); a stale cookie is cleared on the way.
    expired = "?expired=1" if stale_session(connection.scope) else ""
    return Redirect(path=f"/staff/sign-in{expired}", status_code=303)


# Pages for people, not part of the API's description.
staff_pages = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        staff_router(refused, staff_home, sign_in=_sign_in_here, include_in_schema=False),
        staff_router(
            refused,
            new_training_page,
            create_training_page,
            training_page,
            edit_training,
            add_session,
            edit_session,
            confirm_page,
            take_step,
            include_in_schema=False,
            dependencies={
                "managed": Provide(_managed),
                "posted": Provide(_posted, sync_to_thread=False),
            },
        ),
    ],
)

"""Pages of nominations: the focal point's nomination page, the nominee's page to take the
place offered, and the organisers' page of a training's focal points and nominations.

Forms carry the CSRF token; errors are shown next to their field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import links, nominations
from services.registration import nomination_views as views
from services.registration.guards import Managed, ManagedTraining, managed_pages
from services.registration.jobs import Intake
from services.registration.nomination_api import take_place
from services.registration.nomination_schemas import FocalPointIn, NominationIn
from services.registration.tables import TrainingRow
from shared import i18n, languages
from shared.clock import clock
from shared.commands import execute
from shared.countries import all_countries
from shared.countries import country as country_of
from shared.errors import DomainError, Invalid
from shared.i18n import _
from shared.params import DB, AppSettings
from shared.problems import status_of
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]
NOMINEE_FIELDS = ("name", "email", "organisation", "position")


def _status_words() -> dict[str, str]:
    return {
        "offered": _("Place offered: waiting for the nominee to confirm"),
        "waiting": _("Waiting for a place"),
        "registered": _("Confirmed by the nominee"),
        "withdrawn": _("Withdrawn"),
    }


def _unknown_link() -> Template:
    return Template(
        template_name="message.html",
        context={
            "title": _("This link does not work"),
            "message": _("The link is not (or no longer) valid."),
        },
        status_code=404,
    )


def _read(data: dict[str, str], names: tuple[str, ...], kind: type[Any]) -> Any:
    """The form as the API's body, or Invalid naming the first field refused."""
    values = {name: (data.get(name) or "").strip() for name in names}
    for name in ("name", "organisation"):
        if name in values and not values[name]:
            raise Invalid(_("This field is required."), field=name)
    if "position" in values:
        values["position"] = values["position"] or None  # type: ignore[assignment]
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as error:
        field = next((n for n in names if f"$.{n}" in str(error)), "form")
        raise Invalid(_("Please check this field."), field=field) from None


# What a participant's page says of a refusal of the rules, in the page's language (the
# domain's own message is the API's, in English).
REFUSALS: dict[str | None, Callable[[], str]] = {
    "email": lambda: _("This person is already nominated for this training."),
    "training": lambda: _("Nominations for this training are closed."),
    "nomination": lambda: _("This nomination can no longer be changed; its state is shown here."),
}


@dataclass(frozen=True)
class Shown:
    """What a form page shows besides its object: the answers as typed, refusals beside
    their field, the status and a notice above the form."""

    form: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    status_code: int = 200
    notice: str | None = None


async def _refused(
    refusal: DomainError,
    fields: tuple[str, ...],
    page: Callable[[dict[str, str], int, str | None], Awaitable[Any]],
) -> Any:
    """The form again with the refusal beside its field, or above the form; a link that is
    not (or no longer) valid gets the page that says so."""
    if refusal.field == "token":
        return _unknown_link()
    status = status_of(refusal)
    told = REFUSALS[refusal.field]() if refusal.field in REFUSALS else refusal.message
    if refusal.field in fields:
        return await page({refusal.field: told}, status, None)
    return await page({}, status, told)


async def _nominate_page(
    db: Any,
    token: str,
    shown: Shown = Shown(),
) -> Template:
    async with db.session() as session:
        point = await views.focal_point(session, token)
        training = await session.get(TrainingRow, point.training_id) if point else None
        if point is None or training is None:
            return _unknown_link()
        country = await views.country_nominations(session, training, point.country)
    return Template(
        template_name="nominate.html",
        context={
            "token": token,
            "training": training,
            "country_name": i18n.country_name(point.country, country_of(point.country).name),
            "country": country,
            "form": shown.form,
            "errors": shown.errors,
            "notice": shown.notice,
            "status_words": _status_words(),
            "lang": training.language,
        },
        status_code=shown.status_code,
    )


@get("/nominate/{token:str}", operation_id="nominationPage", media_type=MediaType.HTML)
async def nomination_page(
    token: FromPath[str], db: DB, done: FromQuery[str | None] = None
) -> Template:
    notices = {
        "nominated": _("Nominated; the nominee is mailed."),
        "withdrawn": _("Withdrawn."),
    }
    return await _nominate_page(db, token, Shown(notice=notices.get(done or "")))


@post(
    "/nominate/{token:str}",
    operation_id="nominateByForm",
    media_type=MediaType.HTML,
    status_code=303,
    middleware=[THROTTLE],
)
async def nominate_by_form(
    token: FromPath[str], data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Response[Any]:
    try:
        nominee = _read(data, NOMINEE_FIELDS, NominationIn)
        await execute(
            db, nominations.nominate, settings, None, nominations.Nominate(token, nominee)
        )
    except DomainError as refusal:
        return await _refused(
            refusal, NOMINEE_FIELDS, lambda *shown: _nominate_page(db, token, Shown(data, *shown))
        )
    return Redirect(path=f"/nominate/{token}?done=nominated", status_code=303)


@post(
    "/nominate/{token:str}/withdraw/{nomination_id:str}",
    operation_id="withdrawByForm",
    media_type=MediaType.HTML,
    status_code=303,
)
async def withdraw_by_form(
    token: FromPath[str], nomination_id: FromPath[str], db: DB, settings: AppSettings
) -> Response[Any]:
    try:
        await execute(
            db, nominations.withdraw, settings, None, nominations.Withdraw(token, nomination_id)
        )
    except DomainError as refusal:
        return await _refused(
            refusal, (), lambda *shown: _nominate_page(db, token, Shown({}, *shown))
        )
    return Redirect(path=f"/nominate/{token}?done=withdrawn", status_code=303)


async def _nominee_page(
    db: Any,
    settings: Any,
    token: str,
    shown: Shown = Shown(),
) -> Template:
    async with db.session() as session:
        row = await views.nominee(session, token)
        training = await session.get(TrainingRow, row.training_id) if row else None
    if row is None or training is None:
        return _unknown_link()
    form = shown.form or {
        "name": row.name,
        "organisation": row.organisation,
        "position": row.position or "",
    }
    return Template(
        template_name="nominee.html",
        context={
            "token": token,
            "nomination": row,
            "training": training,
            "country_name": i18n.country_name(row.country, country_of(row.country).name),
            "form": form,
            "errors": shown.errors,
            "notice": shown.notice,
            "manage_url": links.manage_url(settings, row.registration_id)
            if row.registration_id
            else None,
            "lang": training.language,
        },
        status_code=shown.status_code,
    )


@get("/nominee/{token:str}", operation_id="nomineePage", media_type=MediaType.HTML)
async def nominee_page(token: FromPath[str], db: DB, settings: AppSettings) -> Template:
    return await _nominee_page(db, settings, token)


@post(
    "/nominee/{token:str}",
    operation_id="confirmNominationByForm",
    media_type=MediaType.HTML,
    status_code=200,
    middleware=[THROTTLE],
)
async def confirm_by_form(
    token: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
    registrations: Registrations,
) -> Template | Redirect:
    answers: dict[str, Any] = {
        name: (data.get(name) or "").strip() for name in ("name", "organisation", "position")
    }
    answers["consent"] = data.get("consent") == "yes"
    needs = {key: (data.get(f"needs_{key}") or "").strip() for key in ("access", "diet")}
    answers["needs"] = {key: text for key, text in needs.items() if text} or None
    try:
        for name in ("name", "organisation"):
            if not answers[name]:
                raise Invalid(_("This field is required."), field=name)
        done = await take_place(db, registrations, token, answers)
    except DomainError as refusal:
        return await _refused(
            refusal,
            ("name", "organisation", "position", "consent"),
            lambda *shown: _nominee_page(db, settings, token, Shown(data, *shown)),
        )
    except msgspec.ValidationError:
        checked = Shown(data, {}, 422, _("Please check the fields below."))
        return await _nominee_page(db, settings, token, checked)
    # Redirect after POST, as the registration form does: reloading must not submit again.
    return Redirect(path=f"/manage/{done.manage_token}/registered", status_code=303)


# --- organisers ------------------------------------------------------------------------


async def _staff_page(db: Any, managed: ManagedTraining, shown: Shown = Shown()) -> Template:
    training = managed.training
    async with db.session() as session:
        points = await views.focal_points(session, training.id)
        rows = await views.nominations(session, training.id)
    return Template(
        template_name="staff_nominations.html",
        context={
            "training": training,
            "focal_points": points,
            "nominations": rows,
            "closes_at": views.closes_at(training),
            "form": shown.form,
            "errors": shown.errors,
            "notice": shown.notice,
            "countries": [(c.code, c.name) for c in all_countries()],
            "staff": managed.staff,
            "now": clock.now(),
        },
        status_code=shown.status_code,
    )


@get(
    "/staff/trainings/{training_id:str}/nominations",
    operation_id="staffNominationsPage",
    media_type=MediaType.HTML,
)
async def staff_nominations(
    training_id: FromPath[str],
    db: DB,
    managed: Managed,
    done: FromQuery[str | None] = None,
) -> Any:
    notice = "Focal point named; their link is mailed to them." if done == "named" else None
    return await _staff_page(db, managed, Shown(notice=notice))


@post(
    "/staff/trainings/{training_id:str}/focal-points",
    operation_id="nameFocalPointByForm",
    media_type=MediaType.HTML,
    status_code=303,
)
async def name_focal_point_by_form(
    training_id: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
    managed: Managed,
) -> Any:
    try:
        point = _read(data, ("country", "name", "email"), FocalPointIn)
        await execute(
            db,
            nominations.name_focal_point,
            settings,
            managed.staff,
            nominations.NameFocalPoint(training_id, point),
        )
    except DomainError as refusal:
        return await _refused(
            refusal,
            ("country", "name", "email"),
            lambda *shown: _staff_page(db, managed, Shown(data, *shown)),
        )
    return Redirect(path=f"/staff/trainings/{training_id}/nominations?done=named", status_code=303)


ROUTES: list[Any] = [
    # The focal point's and the nominee's: in their language (shared.languages).
    Router(
        path="/",
        route_handlers=[
            nomination_page,
            nominate_by_form,
            withdraw_by_form,
            nominee_page,
            confirm_by_form,
        ],
        middleware=[languages.SpeakingMiddleware],
    ),
    managed_pages(staff_nominations, name_focal_point_by_form),
]

"""Pages of nominations: the focal point's nomination page, the nominee's page to take the
place offered, and the organisers' page of a training's focal points and nominations.

Forms carry the CSRF token; errors are shown next to their field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import MediaType, Response, Router, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import links, nominations
from services.registration import nomination_views as views
from services.registration.guards import Managed, ManagedTraining, managed_pages
from services.registration.nomination_api import take_place
from services.registration.nomination_schemas import FocalPointIn, NominationIn
from services.registration.pages import Registrations, message_page, public_form
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

NOMINEE_FIELDS = ("name", "email", "organisation", "position")


def _status_words() -> dict[str, str]:
    return {
        "offered": _("Place offered: waiting for the nominee to confirm"),
        "waiting": _("Waiting for a place"),
        "registered": _("Confirmed by the nominee"),
        "withdrawn": _("Withdrawn"),
    }


def _unknown_link() -> Template:
    return message_page(_("This link does not work"), _("The link is not (or no longer) valid."))


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

    def page(self, template_name: str, **context: Any) -> Template:
        """The page `template_name` with its `context` and what is shown besides."""
        return Template(
            template_name=template_name,
            context={"form": self.form, "errors": self.errors, "notice": self.notice, **context},
            status_code=self.status_code,
        )


def _link_page(
    template_name: str,
    shown: Shown,
    token: str,
    training: TrainingRow,
    nominating: str,
    **context: Any,
) -> Template:
    """A page of a focal point's or a nominee's link: in the training's language, naming
    the country `nominating`."""
    country_name = i18n.country_name(nominating, country_of(nominating).name)
    return shown.page(
        template_name,
        token=token,
        training=training,
        country_name=country_name,
        lang=training.language,
        **context,
    )


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


async def _opened(db: Any, find: Callable[[Any, str], Awaitable[Any]], token: str) -> Any:
    """What a focal point's or nominee's link opens (`find` reads it by its token) with its
    training, or None for a link that is not (or no longer) valid."""
    async with db.session() as session:
        row = await find(session, token)
        training = await session.get(TrainingRow, row.training_id) if row else None
    return (row, training) if row is not None and training is not None else None


async def _nominate_page(db: Any, token: str, shown: Shown = Shown()) -> Template:
    opened = await _opened(db, views.focal_point, token)
    if opened is None:
        return _unknown_link()
    point, training = opened
    async with db.session() as session:
        country = await views.country_nominations(session, training, point.country)
    return _link_page(
        "nominate.html",
        shown,
        token,
        training,
        point.country,
        country=country,
        status_words=_status_words(),
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


@public_form("/nominate/{token:str}", operation_id="nominateByForm", status_code=303)
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


async def _nominee_page(db: Any, settings: Any, token: str, shown: Shown = Shown()) -> Template:
    opened = await _opened(db, views.nominee, token)
    if opened is None:
        return _unknown_link()
    row, training = opened
    form = shown.form or {
        "name": row.name,
        "organisation": row.organisation,
        "position": row.position or "",
    }
    manage_url = links.manage_url(settings, row.registration_id) if row.registration_id else None
    return _link_page(
        "nominee.html",
        shown,
        token,
        training,
        row.country,
        nomination=row,
        form=form,
        manage_url=manage_url,
    )


@get("/nominee/{token:str}", operation_id="nomineePage", media_type=MediaType.HTML)
async def nominee_page(token: FromPath[str], db: DB, settings: AppSettings) -> Template:
    return await _nominee_page(db, settings, token)


@public_form("/nominee/{token:str}", operation_id="confirmNominationByForm", status_code=200)
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


async def _staff_page(managed: ManagedTraining, shown: Shown = Shown()) -> Template:
    training = managed.training
    async with managed.db.session() as session:
        points = await views.focal_points(session, training.id)
        rows = await views.nominations(session, training.id)
    return shown.page(
        "staff_nominations.html",
        training=training,
        focal_points=points,
        nominations=rows,
        closes_at=views.closes_at(training),
        countries=[(c.code, c.name) for c in all_countries()],
        staff=managed.staff,
        now=clock.now(),
    )


@get(
    "/staff/trainings/{training_id:str}/nominations",
    operation_id="staffNominationsPage",
    media_type=MediaType.HTML,
)
async def staff_nominations(managed: Managed, done: FromQuery[str | None] = None) -> Any:
    notice = "Focal point named; their link is mailed to them." if done == "named" else None
    return await _staff_page(managed, Shown(notice=notice))


@post(
    "/staff/trainings/{training_id:str}/focal-points",
    operation_id="nameFocalPointByForm",
    media_type=MediaType.HTML,
    status_code=303,
)
async def name_focal_point_by_form(
    training_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Any:
    fields = ("country", "name", "email")
    try:
        named = nominations.NameFocalPoint(training_id, _read(data, fields, FocalPointIn))
        await execute(
            managed.db, nominations.name_focal_point, managed.settings, managed.staff, named
        )
    except DomainError as refusal:
        return await _refused(
            refusal, fields, lambda *shown: _staff_page(managed, Shown(data, *shown))
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
        opt=languages.PARTICIPANT,
    ),
    managed_pages(staff_nominations, name_focal_point_by_form),
]

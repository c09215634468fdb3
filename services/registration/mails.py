"""The mails participants receive about their registrations, as plain text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from services.registration import links as urls
from services.registration import sessions
from services.registration.domain import TrainingFacts
from services.registration.tables import ParticipantRow, RegistrationRow
from shared import i18n
from shared.i18n import N_, _
from shared.mail import Attachment, Mail
from shared.settings import Settings
from shared.structs import carried

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

P = ParamSpec("P")


@dataclass(frozen=True)
class MailFacts:
    """What every mail says about the training and the person, and the language the
    person registered in: every mail about the registration is written in it."""

    name: str
    email: str
    title: str
    starts_on: date
    city: str
    manage_url: str
    calendar_url: str
    language: str = i18n.DEFAULT
    # The training's sessions as a calendar to import (services.registration.sessions),
    # sent with the mails that give a seat; None while scheduling has sent no session.
    calendar: Attachment | None = None

    @property
    def when(self) -> str:
        return training_when(self.title, self.starts_on, self.city)


def training_when(title: str, starts_on: date, city: str) -> str:
    """The training, its capital (unless its title names it already) and its first day, as
    every participant mail names it."""
    day = i18n.date(starts_on)
    if city.casefold() in title.casefold():
        return _("%(training)s (%(date)s)", training=title, date=day)
    return _("%(training)s (%(city)s, %(date)s)", training=title, city=city, date=day)


def in_language(
    write: Callable[Concatenate[MailFacts, P], Mail],
) -> Callable[Concatenate[MailFacts, P], Mail]:
    """Write the mail in the language of the facts it is about (its first argument)."""

    @wraps(write)
    def written(facts: MailFacts, *args: P.args, **kwargs: P.kwargs) -> Mail:
        with i18n.speaking(facts.language):
            return write(facts, *args, **kwargs)

    return written


def _calendar(facts: MailFacts) -> str:
    return _(
        "Add the programme to your calendar; the link follows every change of the "
        "programme and covers every training you hold a seat at:\n%(url)s\n",
        url=facts.calendar_url,
    )


def _manage(facts: MailFacts) -> str:
    return _("See, change or cancel your registration:\n%(url)s\n", url=facts.manage_url)


def _dear(name: str) -> str:
    return _("Dear %(name)s,", name=name)


def _to(facts: MailFacts, subject: str, text: str, *, seat: bool = False) -> Mail:
    """A mail to the participant about their training: the subject names the training and
    the text opens with their name; a mail that gives a seat carries the calendar."""
    return Mail(
        to=facts.email,
        subject=_("%(subject)s: %(training)s", subject=subject, training=facts.title),
        text=f"{_dear(facts.name)}\n\n{text}",
        attachments=(facts.calendar,) if seat and facts.calendar is not None else (),
    )


def _paragraphs(text: str, *more: str) -> str:
    """The text, then each further paragraph (each ending its own line) after a blank line."""
    return f"{text}\n" + "".join(f"\n{paragraph}" for paragraph in more)


@dataclass(frozen=True)
class _Told:
    """What a mail about a registration's new status says: its subject, its text (naming
    the training as `%(when)s`), the calendar when it gives a seat, the link to manage the
    registration while it lives on, and a last word."""

    subject: str
    text: str
    seat: bool = False
    manage: bool = True
    closing: str | None = None


_TOLD = {
    "confirmed": _Told(
        N_("Registration confirmed"), N_("Your seat at %(when)s is confirmed."), seat=True
    ),
    "promoted": _Told(
        N_("A seat is yours"),
        N_(
            "A seat has become free at %(when)s, and it is now yours: your registration is "
            "confirmed."
        ),
        seat=True,
        closing=N_(
            "If you can no longer come, please cancel, so that the next person on the "
            "waiting list gets the seat."
        ),
    ),
    "pending": _Told(
        N_("Registration received"),
        N_(
            "Thank you for registering for %(when)s. The organisers review each registration; "
            "we will write as soon as yours is decided."
        ),
    ),
    "declined": _Told(
        N_("Registration declined"),
        N_("We are sorry: the organisers of %(when)s could not offer you a seat this time."),
        manage=False,
    ),
    "cancelled": _Told(
        N_("Registration cancelled"),
        N_(
            "Your registration for %(when)s is cancelled. If this was not you, please contact "
            "the organisers."
        ),
        manage=False,
    ),
}


@in_language
def told(facts: MailFacts, kind: str) -> Mail:
    """The mail telling the participant their registration became `kind` (a status other
    than waitlisted, or `promoted` from the waiting list)."""
    said = _TOLD[kind]
    more = [_calendar(facts)] if said.seat else []
    more += [_manage(facts)] if said.manage else []
    more += [_(said.closing) + "\n"] if said.closing else []
    text = _paragraphs(_(said.text, when=facts.when), *more)
    return _to(facts, _(said.subject), text, seat=said.seat)


@in_language
def waitlisted(facts: MailFacts, position: int | None, reason: str | None) -> Mail:
    if reason == "country_quota":
        full = _(
            "For %(when)s the seats for participants from your country are taken.",
            when=facts.when,
        )
    else:
        full = _("For %(when)s every seat is taken.", when=facts.when)
    place = (
        " " + _("You are number %(position)s on the waiting list.", position=position)
        if position
        else ""
    )
    seats = _(
        "Seats are given in the order of registration: we will write as soon as one is yours."
    )
    return _to(
        facts, _("On the waiting list"), _paragraphs(f"{full}{place} {seats}", _manage(facts))
    )


def _organisers_wrote(message: str) -> str:
    return _("The organisers wrote:") + f"\n{message}\n"


@in_language
def training_cancelled(facts: MailFacts, reason: str | None) -> Mail:
    text = _(
        "We are sorry: %(when)s has been cancelled, and your registration with it.", when=facts.when
    )
    said = [_organisers_wrote(reason)] if reason else []
    return _to(facts, _("Training cancelled"), _paragraphs(text, *said))


def links(
    name: str,
    email: str,
    calendar_url: str,
    registrations: Sequence[MailFacts],
    language: str = i18n.DEFAULT,
) -> Mail:
    """The answer to "send me my link again", in `language` (the person's latest
    registration's)."""
    with i18n.speaking(language):
        listed = (
            "".join(f"\n{facts.when}:\n{facts.manage_url}\n" for facts in registrations)
            or "\n" + _("You hold no registration at the moment.") + "\n"
        )
        return Mail(
            to=email,
            subject=_("Your registration links"),
            text=(
                f"{_dear(name)}\n\n"
                + _("You asked for your links again. Your registrations:")
                + f"\n{listed}\n"
                + _("Your personal calendar:")
                + f"\n{calendar_url}\n\n"
                + _("If you did not ask for this mail, you can ignore it.")
                + "\n"
            ),
        )


def facts_for(
    settings: Settings,
    training: TrainingFacts,
    row: RegistrationRow,
    generation: int,
    calendar: Attachment | None = None,
) -> MailFacts:
    """What a mail about this registration says (to whom, in which language), with the
    participant's links: `generation` is their calendar link's."""
    return carried(
        MailFacts,
        row,
        title=training.title,
        starts_on=training.starts_on,
        city=training.city,
        manage_url=urls.manage_url(settings, row.id),
        calendar_url=urls.calendar_url(settings, row.participant_id, generation),
        calendar=calendar,
    )


async def facts_of(
    session: AsyncSession, settings: Settings, training: TrainingFacts, row: RegistrationRow
) -> MailFacts:
    """What a mail about this registration says, reading the participant's calendar link;
    a seat's mail carries the training's calendar, the others need not read it."""
    person = await session.get(ParticipantRow, row.participant_id)
    generation = person.feed_generation if person is not None else 1
    calendar = sessions.calendar_of(settings, training) if row.status == "confirmed" else None
    return facts_for(settings, training, row, generation, calendar)


def status_mail(
    facts: MailFacts,
    status: str,
    position: int | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> Mail:
    """The mail that tells the participant their registration's new status, with the
    organisers' own words when they wrote some (approving or declining)."""
    if status == "waitlisted":
        mail = waitlisted(facts, position, reason)
    else:
        mail = told(facts, status if status in _TOLD else "cancelled")
    return with_message(facts, mail, message)


@in_language
def with_message(facts: MailFacts, mail: Mail, message: str | None) -> Mail:
    """The mail unchanged without a message; else with the message after its text."""
    if not message:
        return mail
    return replace(mail, text=mail.text + "\n" + _organisers_wrote(message))


@in_language
def to_confirmed(facts: MailFacts, subject: str, message: str) -> Mail:
    """The organisers' message to every confirmed participant of a training (their subject
    and words as they wrote them)."""
    return Mail(
        to=facts.email,
        subject=f"{subject} ({facts.title})",
        text=(
            f"{_dear(facts.name)}\n\n"
            + _("The organisers of %(when)s write to every participant:", when=facts.when)
            + f"\n\n{message}\n\n{_manage(facts)}"
        ),
    )


@in_language
def letter_decided(facts: MailFacts, status: str) -> Mail:
    """The host country approved or declined the participant's request for a visa letter;
    the letter itself is downloaded from the manage page, never mailed."""
    if status == "approved":
        subject = _("Invitation letter ready")
        text = _(
            "Your invitation letter for %(training)s is ready. Download it from your "
            "registration page:\n%(link)s\n",
            training=facts.when,
            link=facts.manage_url,
        )
    else:
        subject = _("Invitation letter declined")
        text = _(
            "We are sorry: the organisers of %(training)s could not issue the invitation "
            "letter you asked for. Please contact them if you have questions.\n",
            training=facts.when,
        )
    return _to(facts, subject, text)


@in_language
def certificate_issued(facts: MailFacts, certificate_url: str) -> Mail:
    """Sent after completion to someone who attended every day."""
    return _to(
        facts,
        _("Your certificate of attendance"),
        _(
            "Thank you for taking part in %(training)s. Your certificate of attendance is "
            "ready; download it here:\n%(url)s\n\nIts number and QR code let anyone check "
            "that it is genuine.\n",
            training=facts.when,
            url=certificate_url,
        ),
    )


@in_language
def certificate_withdrawn(facts: MailFacts) -> Mail:
    """Sent when corrected attendance no longer covers every day of the training."""
    return _to(
        facts,
        _("Certificate of attendance withdrawn"),
        _(
            "The organisers corrected the attendance record of %(training)s: it no longer "
            "shows you present on every day, so your certificate of attendance is withdrawn. "
            "If you believe this is a mistake, please contact the organisers.\n",
            training=facts.when,
        ),
    )

"""The mails participants receive about their registrations, as plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from services.registration import links as urls
from services.registration.domain import TrainingFacts
from services.registration.tables import ParticipantRow, RegistrationRow
from shared.i18n import _
from shared.mail import Mail
from shared.settings import Settings

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class MailFacts:
    """What every mail says about the training and the person."""

    name: str
    email: str
    title: str
    starts_on: date
    city: str
    manage_url: str
    calendar_url: str

    @property
    def when(self) -> str:
        return f"{self.title}, {self.starts_on:%d %B %Y} in {self.city}"


def _calendar(facts: MailFacts) -> str:
    return (
        "Add the programme to your calendar; the link follows every change of the "
        f"programme and covers every training you hold a seat at:\n{facts.calendar_url}\n"
    )


def _manage(facts: MailFacts) -> str:
    return f"See, change or cancel your registration:\n{facts.manage_url}\n"


def _to(facts: MailFacts, subject: str, text: str) -> Mail:
    """A mail to the participant about their training: the subject names the training and
    the text opens with their name."""
    return Mail(
        to=facts.email, subject=f"{subject}: {facts.title}", text=f"Dear {facts.name},\n\n{text}"
    )


def confirmed(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "Registration confirmed",
        f"Your seat at {facts.when} is confirmed.\n\n{_calendar(facts)}\n{_manage(facts)}",
    )


def promoted(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "A seat is yours",
        f"A seat has become free at {facts.when}, and it is now yours: your registration is "
        f"confirmed.\n\n{_calendar(facts)}\n{_manage(facts)}"
        "If you can no longer come, please cancel, so that the next person on the "
        "waiting list gets the seat.\n",
    )


def waitlisted(facts: MailFacts, position: int | None, reason: str | None) -> Mail:
    why = (
        "the seats for participants from your country are taken"
        if reason == "country_quota"
        else "every seat is taken"
    )
    return _to(
        facts,
        "On the waiting list",
        f"For {facts.when} {why}. You are number {position} on the waiting list. Seats are "
        "given in the order of registration: we will write as soon as one is yours.\n\n"
        f"{_manage(facts)}",
    )


def pending(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "Registration received",
        f"Thank you for registering for {facts.when}. The organisers review each "
        f"registration; we will write as soon as yours is decided.\n\n{_manage(facts)}",
    )


def declined(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "Registration declined",
        f"We are sorry: the organisers of {facts.when} could not offer you a seat this time.\n",
    )


def cancelled(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "Registration cancelled",
        f"Your registration for {facts.when} is cancelled. If this was not you, please "
        "contact the organisers.\n",
    )


def training_cancelled(facts: MailFacts, reason: str | None) -> Mail:
    said = f"\nThe organisers wrote: {reason}\n" if reason else ""
    return _to(
        facts,
        "Training cancelled",
        f"We are sorry: {facts.when} has been cancelled, and your registration with it.\n{said}",
    )


def links(name: str, email: str, calendar_url: str, registrations: Sequence[MailFacts]) -> Mail:
    """The answer to "send me my link again"."""
    listed = (
        "".join(f"\n{facts.when}:\n{facts.manage_url}\n" for facts in registrations)
        or "\nYou hold no registration at the moment.\n"
    )
    return Mail(
        to=email,
        subject="Your registration links",
        text=(
            f"Dear {name},\n\nYou asked for your links again. Your registrations:\n{listed}\n"
            f"Your personal calendar:\n{calendar_url}\n\n"
            "If you did not ask for this mail, you can ignore it.\n"
        ),
    )


def facts_for(
    settings: Settings,
    training: TrainingFacts,
    *,
    name: str,
    email: str,
    registration_id: str,
    participant_id: str,
    generation: int,
) -> MailFacts:
    """What a mail about this registration says, with the participant's links."""
    return MailFacts(
        name=name,
        email=email,
        title=training.title,
        starts_on=training.starts_on,
        city=training.city,
        manage_url=urls.manage_url(settings, registration_id),
        calendar_url=urls.calendar_url(settings, participant_id, generation),
    )


async def facts_of(
    session: AsyncSession, settings: Settings, training: TrainingFacts, row: RegistrationRow
) -> MailFacts:
    """What a mail about this registration says, reading the participant's calendar link."""
    person = await session.get(ParticipantRow, row.participant_id)
    generation = person.feed_generation if person is not None else 1
    return facts_for(
        settings,
        training,
        name=row.name,
        email=row.email,
        registration_id=row.id,
        participant_id=row.participant_id,
        generation=generation,
    )


def status_mail(
    facts: MailFacts,
    status: str,
    position: int | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> Mail:
    """The mail that tells the participant their registration's new status, with the
    organisers' own words when they wrote some (approving or declining)."""
    if status == "confirmed":
        mail = confirmed(facts)
    elif status == "waitlisted":
        mail = waitlisted(facts, position, reason)
    elif status == "pending":
        mail = pending(facts)
    elif status == "declined":
        mail = declined(facts)
    else:
        mail = cancelled(facts)
    return with_message(mail, message)


def with_message(mail: Mail, message: str | None) -> Mail:
    """The mail unchanged without a message; else with the message after its text."""
    if not message:
        return mail
    return replace(mail, text=f"{mail.text}\nThe organisers wrote:\n{message}\n")


def to_confirmed(facts: MailFacts, subject: str, message: str) -> Mail:
    """The organisers' message to every confirmed participant of a training."""
    return Mail(
        to=facts.email,
        subject=f"{subject} ({facts.title})",
        text=(
            f"Dear {facts.name},\n\nThe organisers of {facts.when} write to every "
            f"participant:\n\n{message}\n\n{_manage(facts)}"
        ),
    )


def certificate_issued(facts: MailFacts, certificate_url: str) -> Mail:
    """Sent after completion to someone who attended every day (written while speaking the
    participant's language)."""
    return Mail(
        to=facts.email,
        subject=_("Your certificate of attendance: %(training)s", training=facts.title),
        text=_(
            "Dear %(name)s,\n\nThank you for taking part in %(training)s. Your certificate of "
            "attendance is ready; download it here:\n%(url)s\n\nIts number and QR code let "
            "anyone check that it is genuine.\n",
            name=facts.name,
            training=facts.when,
            url=certificate_url,
        ),
    )


def certificate_withdrawn(facts: MailFacts) -> Mail:
    """Sent when corrected attendance no longer covers every day of the training."""
    return Mail(
        to=facts.email,
        subject=_("Certificate of attendance withdrawn: %(training)s", training=facts.title),
        text=_(
            "Dear %(name)s,\n\nThe organisers corrected the attendance record of "
            "%(training)s: it no longer shows you present on every day, so your certificate "
            "of attendance is withdrawn. If you believe this is a mistake, please contact the "
            "organisers.\n",
            name=facts.name,
            training=facts.when,
        ),
    )

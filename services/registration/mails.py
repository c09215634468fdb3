"""The mails participants receive about their registrations, as plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from services.registration import links as urls
from services.registration.domain import TrainingFacts
from shared.i18n import _, speaking
from shared.mail import Attachment, Mail
from shared.settings import Settings


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
    # The training's sessions as a calendar to import (services.registration.sessions),
    # sent with the mails that give a seat; None while scheduling has sent no session.
    calendar: Attachment | None = None

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


def _to(facts: MailFacts, subject: str, text: str, *, seat: bool = False) -> Mail:
    """A mail to the participant about their training: the subject names the training and
    the text opens with their name; a mail that gives a seat carries the calendar."""
    return Mail(
        to=facts.email,
        subject=f"{subject}: {facts.title}",
        text=f"Dear {facts.name},\n\n{text}",
        attachments=(facts.calendar,) if seat and facts.calendar is not None else (),
    )


def confirmed(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "Registration confirmed",
        f"Your seat at {facts.when} is confirmed.\n\n{_calendar(facts)}\n{_manage(facts)}",
        seat=True,
    )


def promoted(facts: MailFacts) -> Mail:
    return _to(
        facts,
        "A seat is yours",
        f"A seat has become free at {facts.when}, and it is now yours: your registration is "
        f"confirmed.\n\n{_calendar(facts)}\n{_manage(facts)}"
        "If you can no longer come, please cancel, so that the next person on the "
        "waiting list gets the seat.\n",
        seat=True,
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
    calendar: Attachment | None = None,
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
        calendar=calendar,
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


def letter_decided(facts: MailFacts, language: str, status: str) -> Mail:
    """The host country approved or declined the participant's request for a visa letter;
    the letter itself is downloaded from the manage page, never mailed."""
    with speaking(language):
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
        return Mail(
            to=facts.email,
            subject=f"{subject}: {facts.title}",
            text=_("Dear %(name)s,", name=facts.name) + f"\n\n{text}",
        )

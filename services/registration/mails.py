"""The mails participants receive about their registrations, as plain text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.mail import Mail


@dataclass(frozen=True)
class About:
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


def _calendar(about: About) -> str:
    return (
        "Add the programme to your calendar; the link follows every change of the "
        f"programme and covers every training you hold a seat at:\n{about.calendar_url}\n"
    )


def _manage(about: About) -> str:
    return f"See, change or cancel your registration:\n{about.manage_url}\n"


def confirmed(about: About) -> Mail:
    return Mail(
        to=about.email,
        subject=f"Registration confirmed: {about.title}",
        text=(
            f"Dear {about.name},\n\nYour seat at {about.when} is confirmed.\n\n"
            f"{_calendar(about)}\n{_manage(about)}"
        ),
    )


def promoted(about: About) -> Mail:
    return Mail(
        to=about.email,
        subject=f"A seat is yours: {about.title}",
        text=(
            f"Dear {about.name},\n\nA seat has become free at {about.when}, and it is now "
            f"yours: your registration is confirmed.\n\n{_calendar(about)}\n{_manage(about)}"
            "If you can no longer come, please cancel, so that the next person on the "
            "waiting list gets the seat.\n"
        ),
    )


def waitlisted(about: About, position: int | None, reason: str | None) -> Mail:
    why = (
        "the seats for participants from your country are taken"
        if reason == "country_quota"
        else "every seat is taken"
    )
    return Mail(
        to=about.email,
        subject=f"On the waiting list: {about.title}",
        text=(
            f"Dear {about.name},\n\nFor {about.when} {why}. You are number {position} on the "
            "waiting list. Seats are given in the order of registration: we will write as "
            f"soon as one is yours.\n\n{_manage(about)}"
        ),
    )


def pending(about: About) -> Mail:
    return Mail(
        to=about.email,
        subject=f"Registration received: {about.title}",
        text=(
            f"Dear {about.name},\n\nThank you for registering for {about.when}. The "
            "organisers review each registration; we will write as soon as yours is "
            f"decided.\n\n{_manage(about)}"
        ),
    )


def declined(about: About) -> Mail:
    return Mail(
        to=about.email,
        subject=f"Registration declined: {about.title}",
        text=(
            f"Dear {about.name},\n\nWe are sorry: the organisers of {about.when} could not "
            "offer you a seat this time.\n"
        ),
    )


def cancelled(about: About) -> Mail:
    return Mail(
        to=about.email,
        subject=f"Registration cancelled: {about.title}",
        text=(
            f"Dear {about.name},\n\nYour registration for {about.when} is cancelled. "
            "If this was not you, please contact the organisers.\n"
        ),
    )


def training_cancelled(about: About, reason: str | None) -> Mail:
    said = f"\nThe organisers wrote: {reason}\n" if reason else ""
    return Mail(
        to=about.email,
        subject=f"Training cancelled: {about.title}",
        text=(
            f"Dear {about.name},\n\nWe are sorry: {about.when} has been cancelled, and your "
            f"registration with it.\n{said}"
        ),
    )


def links(name: str, email: str, calendar_url: str, registrations: Sequence[About]) -> Mail:
    """The answer to "send me my link again"."""
    listed = (
        "".join(f"\n{about.when}:\n{about.manage_url}\n" for about in registrations)
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

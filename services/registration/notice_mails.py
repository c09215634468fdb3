"""The mails confirmed participants get about their training itself: a summary of changes to
its programme, and the reminder a few days before. Written in the participant's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.registration import programme
from services.registration.mails import MailFacts
from shared import i18n
from shared.i18n import _
from shared.mail import Mail


def _moment(value: Any, timezone: str) -> str:
    moment = datetime.fromisoformat(str(value)).astimezone(ZoneInfo(timezone))
    return f"{i18n.date(moment.date())}, {i18n.time(moment)}"


def change_line(change: Mapping[str, Any], timezone: str) -> str:
    """One change as a participant reads it, times in the training's zone."""
    what = change["what"]
    title = change.get("title", "")
    if what == "moved":
        return _(
            "%(title)s moved from %(before)s to %(after)s.",
            title=title,
            before=_moment(change["before"], timezone),
            after=_moment(change["after"], timezone),
        )
    if what == "cancelled":
        return _(
            "%(title)s (%(when)s) is cancelled.",
            title=title,
            when=_moment(change["before"], timezone),
        )
    if what == "added":
        return _("New: %(title)s, %(when)s.", title=title, when=_moment(change["after"], timezone))
    if what == "room":
        return _(
            "%(title)s is now in %(room)s.",
            title=title,
            room=change.get("after") or _("a room to be announced"),
        )
    return _(
        "The training has moved to a new venue: %(after)s (was %(before)s).",
        after=change.get("after", ""),
        before=change.get("before", ""),
    )


def _programme(sessions: Any, timezone: str, starts_on: Any) -> str:
    lines = [
        f"{i18n.date(item.starts_at.date())}, {i18n.time(item.starts_at)}"
        f"{i18n.DASH}{i18n.time(item.ends_at)}  {item.title}"
        + (f" ({item.room})" if item.room else "")
        for item in programme.items(sessions, timezone)
        if not item.cancelled
    ]
    if not lines:
        return _("The programme is not published yet.") + "\n"
    zone = programme.zone_name(timezone, starts_on)
    return _("Times are local, %(zone)s:", zone=zone) + "\n" + "\n".join(lines) + "\n"


def _mail(facts: MailFacts, subject: str, *paragraphs: str) -> Mail:
    """A mail to the participant: greeted by name, then the paragraphs, blank lines between."""
    text = "\n\n".join((_("Dear %(name)s,", name=facts.name), *paragraphs))
    return Mail(to=facts.email, subject=subject, text=text + "\n")


def changes_summary(
    facts: MailFacts,
    changes: Sequence[Mapping[str, Any]],
    timezone: str,
    training_page: str,
) -> Mail:
    listed = "\n".join(f"- {change_line(change, timezone)}" for change in changes)
    return _mail(
        facts,
        _("Changes to %(training)s", training=facts.title),
        _("The organisers have changed %(training)s:", training=facts.when),
        listed,
        _("The programme as it is now:") + f"\n{training_page}",
        _("Your calendar follows every change by itself:") + f"\n{facts.calendar_url}",
        _("See or cancel your registration:") + f"\n{facts.manage_url}",
    )


def reminder(
    facts: MailFacts,
    *,
    venue: str,
    sessions: Any,
    timezone: str,
    training_page: str,
) -> Mail:
    return _mail(
        facts,
        _("Soon: %(training)s", training=facts.title),
        _("We look forward to seeing you at %(training)s.", training=facts.when),
        _("Venue: %(venue)s, %(city)s", venue=venue, city=facts.city),
        _programme(sessions, timezone, facts.starts_on).rstrip("\n"),
        _("The programme, venue and calendar links:") + f"\n{training_page}",
        _("Your personal calendar:") + f"\n{facts.calendar_url}",
        _(
            "If you can no longer come, please cancel, so that someone on the waiting list "
            "gets your seat:"
        )
        + f"\n{facts.manage_url}",
    )

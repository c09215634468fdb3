"""The mails evaluation sends: the invitation, the reminder and the follow-up, each in the
attendee's language (the one they registered in)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from services.evaluation.domain import FOLLOW_UP
from services.evaluation.tables import CampaignRow, TrainingRow
from shared import i18n
from shared.i18n import _
from shared.mail import Mail


def _anonymous() -> str:
    return _(
        "Your answers are anonymous: they are stored without your name or any link to this "
        "message, and results are shown only for groups of three or more."
    )


def _closes(campaign: CampaignRow, training: TrainingRow) -> str:
    """The last day of the campaign, in the capital's time zone."""
    return i18n.date(i18n.local(campaign.closes_at, training.timezone).date())


def _attended(training: TrainingRow) -> str:
    """The training with its capital, unless its title names it already."""
    if training.city.casefold() in training.title.casefold():
        return training.title
    return _("%(training)s in %(city)s", training=training.title, city=training.city)


class _Words(NamedTuple):
    """What one mail says: its subject, what it asks, and until when the questionnaire is open."""

    subject: str
    opening: str
    closing: str


@dataclass(frozen=True)
class _ToAttendee:
    """A mail to an attendee, in their language, with the `words` of this mail: their name,
    what it asks, the link, the promise of anonymity, and until when it is open."""

    words: Callable[[TrainingRow, CampaignRow], _Words]

    def __call__(
        self,
        training: TrainingRow,
        campaign: CampaignRow,
        name: str,
        email: str,
        url: str,
        language: str = i18n.DEFAULT,
    ) -> Mail:
        with i18n.speaking(language):
            subject, opening, closing = self.words(training, campaign)
            return Mail(
                to=email,
                subject=subject,
                text=_("Dear %(name)s,", name=name)
                + f"\n\n{opening}\n\n{url}\n\n{_anonymous()}\n\n{closing}\n",
            )


@_ToAttendee
def invitation(training: TrainingRow, campaign: CampaignRow) -> _Words:
    if campaign.stage == FOLLOW_UP:
        subject = _("Some months after %(training)s: what have you used?")
        opening = _(
            "Some months ago you attended %(training)s. We would like to know whether, "
            "and how, you have been able to use what you learned. The questionnaire "
            "takes about three minutes."
        )
        closing = _("It is open until %(date)s.")
    else:
        subject = _("How was %(training)s? Your evaluation")
        opening = _(
            "Thank you for attending %(training)s. Please tell us what worked and what did "
            "not; it takes about five minutes, and you may save your answers and finish "
            "later."
        )
        closing = _("The evaluation is open until %(date)s.")
    return _Words(
        subject % {"training": training.title},
        opening % {"training": _attended(training)},
        closing % {"date": _closes(campaign, training)},
    )


@_ToAttendee
def reminder(training: TrainingRow, campaign: CampaignRow) -> _Words:
    if campaign.stage == FOLLOW_UP:
        subject = _("Reminder: your follow-up questionnaire on %(training)s")
        missing = _("We have not yet received your follow-up questionnaire on %(training)s.")
    else:
        subject = _("Reminder: your evaluation of %(training)s")
        missing = _("We have not yet received your evaluation of %(training)s.")
    return _Words(
        subject % {"training": training.title},
        missing % {"training": _attended(training)}
        + " "
        + _("Every answer helps us improve the next editions."),
        _("It closes on %(date)s.", date=_closes(campaign, training)),
    )

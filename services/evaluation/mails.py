"""The mails evaluation sends: the invitation, the reminder and the follow-up, each in the
attendee's language (the one they registered in)."""

from __future__ import annotations

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


def _to(email: str, subject: str, name: str, opening: str, url: str, closing: str) -> Mail:
    """A mail to an attendee: their name, what it asks, the link, the promise of anonymity,
    and until when the questionnaire is open."""
    return Mail(
        to=email,
        subject=subject,
        text=_("Dear %(name)s,", name=name)
        + f"\n\n{opening}\n\n{url}\n\n{_anonymous()}\n\n{closing}\n",
    )


def invitation(
    training: TrainingRow,
    campaign: CampaignRow,
    name: str,
    email: str,
    url: str,
    language: str = i18n.DEFAULT,
) -> Mail:
    with i18n.speaking(language):
        attended, closes = _attended(training), _closes(campaign, training)
        if campaign.stage == FOLLOW_UP:
            return _to(
                email,
                _("Some months after %(training)s: what have you used?", training=training.title),
                name,
                _(
                    "Some months ago you attended %(training)s. We would like to know whether, "
                    "and how, you have been able to use what you learned. The questionnaire "
                    "takes about three minutes.",
                    training=attended,
                ),
                url,
                _("It is open until %(date)s.", date=closes),
            )
        return _to(
            email,
            _("How was %(training)s? Your evaluation", training=training.title),
            name,
            _(
                "Thank you for attending %(training)s. Please tell us what worked and what did "
                "not; it takes about five minutes, and you may save your answers and finish "
                "later.",
                training=attended,
            ),
            url,
            _("The evaluation is open until %(date)s.", date=closes),
        )


def reminder(
    training: TrainingRow,
    campaign: CampaignRow,
    name: str,
    email: str,
    url: str,
    language: str = i18n.DEFAULT,
) -> Mail:
    with i18n.speaking(language):
        if campaign.stage == FOLLOW_UP:
            subject = _("Reminder: your follow-up questionnaire on %(training)s")
            missing = _("We have not yet received your follow-up questionnaire on %(training)s.")
        else:
            subject = _("Reminder: your evaluation of %(training)s")
            missing = _("We have not yet received your evaluation of %(training)s.")
        return _to(
            email,
            subject % {"training": training.title},
            name,
            missing % {"training": _attended(training)}
            + " "
            + _("Every answer helps us improve the next editions."),
            url,
            _("It closes on %(date)s.", date=_closes(campaign, training)),
        )

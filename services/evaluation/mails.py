"""The mails evaluation sends: the invitation, the reminder and the follow-up."""

from __future__ import annotations

from services.evaluation.domain import FOLLOW_UP
from services.evaluation.tables import CampaignRow, TrainingRow
from shared.mail import Mail

ANONYMOUS = (
    "Your answers are anonymous: they are stored without your name or any link to "
    "this message, and results are shown only for groups of three or more."
)


def _closes(campaign: CampaignRow) -> str:
    return f"{campaign.closes_at:%d %B %Y}"


def invitation(
    training: TrainingRow, campaign: CampaignRow, name: str, email: str, url: str
) -> Mail:
    if campaign.stage == FOLLOW_UP:
        return Mail(
            to=email,
            subject=f"Some months after {training.title}: what have you used?",
            text=(
                f"Dear {name},\n\n"
                f"Some months ago you attended {training.title} in {training.city}. "
                "We would like to know whether, and how, you have been able to use what "
                "you learned. The questionnaire takes about three minutes.\n\n"
                f"{url}\n\n{ANONYMOUS}\n\nIt is open until {_closes(campaign)}.\n"
            ),
        )
    return Mail(
        to=email,
        subject=f"How was {training.title}? Your evaluation",
        text=(
            f"Dear {name},\n\n"
            f"Thank you for attending {training.title} in {training.city}. Please tell us "
            "what worked and what did not; it takes about five minutes, and you may save "
            "your answers and finish later.\n\n"
            f"{url}\n\n{ANONYMOUS}\n\nThe evaluation is open until {_closes(campaign)}.\n"
        ),
    )


def reminder(training: TrainingRow, campaign: CampaignRow, name: str, email: str, url: str) -> Mail:
    what = "follow-up questionnaire" if campaign.stage == FOLLOW_UP else "evaluation"
    return Mail(
        to=email,
        subject=f"Reminder: your {what} of {training.title}",
        text=(
            f"Dear {name},\n\n"
            f"We have not yet received your {what} of {training.title} in {training.city}. "
            "Every answer helps us improve the next editions.\n\n"
            f"{url}\n\n{ANONYMOUS}\n\nIt closes on {_closes(campaign)}.\n"
        ),
    )

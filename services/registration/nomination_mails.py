"""The mails of nominations: the focal point's link to their nomination page, and the
nominee's offer (with the link to confirm) or news that they wait for a place."""

from __future__ import annotations

from services.registration.mails import training_when
from services.registration.tables import FocalPointRow, NominationRow, TrainingRow
from shared import i18n, tokens
from shared.countries import country as country_of
from shared.i18n import _, speaking
from shared.mail import Mail
from shared.settings import Settings


def focal_point_token(settings: Settings, focal_point_id: str) -> str:
    return tokens.derive(settings.secret, "focal-point", focal_point_id, 1)


def nominee_token(settings: Settings, nomination_id: str) -> str:
    return tokens.derive(settings.secret, "nominee", nomination_id, 1)


def nominate_url(settings: Settings, focal_point_id: str) -> str:
    token = focal_point_token(settings, focal_point_id)
    return f"{settings.public_url('registration')}/nominate/{token}"


def nominee_url(settings: Settings, nomination_id: str) -> str:
    token = nominee_token(settings, nomination_id)
    return f"{settings.public_url('registration')}/nominee/{token}"


def focal_point_named(
    settings: Settings,
    training: TrainingRow,
    point: FocalPointRow,
    country: str,  # its code
) -> Mail:
    """The focal point's link to their page, in the training's language."""
    with speaking(training.language):
        text = _(
            "Dear %(name)s,\n\nYou have been named national focal point of %(country)s for "
            "%(when)s. Participants of this training are nominated: please nominate the "
            "people of your country on this page, where you also see the places your country "
            "has and the state of each nomination:\n%(url)s\n\nKeep this link to yourself: "
            "whoever holds it can nominate for your country.\n",
            name=point.name,
            country=i18n.country_name(country, country_of(country).name),
            when=training_when(training.title, training.starts_on, training.city),
            url=nominate_url(settings, point.id),
        )
        subject = _("Nominations for %(title)s", title=training.title)
    return Mail(to=point.email, subject=subject, text=text)


def nominee_mail(
    settings: Settings,
    training: TrainingRow,
    nomination: NominationRow,
) -> Mail:
    """An offer (`offered`): confirm from the link; or the news that the nominee waits."""
    with speaking(training.language):
        title, when = (
            training.title,
            training_when(training.title, training.starts_on, training.city),
        )
        name, url = nomination.name, nominee_url(settings, nomination.id)
        if nomination.status == "offered":
            subject = _("You are nominated: %(title)s", title=title)
            text = _(
                "Dear %(name)s,\n\nYou have been nominated for %(when)s, and a place is "
                "offered to you. To take it, confirm your details and give your consent "
                "here:\n%(url)s\n",
                name=name,
                when=when,
                url=url,
            )
        else:
            subject = _("Nomination received: %(title)s", title=title)
            text = _(
                "Dear %(name)s,\n\nYou have been nominated for %(when)s. The places of your "
                "country are taken for now: nominees wait in the order of nomination, and we "
                "will write as soon as a place is offered to you. You can see the state of "
                "your nomination here:\n%(url)s\n",
                name=name,
                when=when,
                url=url,
            )
    return Mail(to=nomination.email, subject=subject, text=text)

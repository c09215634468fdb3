"""The mails of nominations: the focal point's link to their nomination page, and the
nominee's offer (with the link to confirm) or news that they wait for a place."""

from __future__ import annotations

from datetime import date

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


def _when(title: str, starts_on: date, city: str) -> str:
    return _("%(title)s, %(day)s in %(city)s", title=title, day=i18n.date(starts_on), city=city)


def focal_point_named(
    settings: Settings,
    *,
    language: str,
    focal_point_id: str,
    name: str,
    email: str,
    country: str,  # its code
    title: str,
    starts_on: date,
    city: str,
) -> Mail:
    with speaking(language):
        text = _(
            "Dear %(name)s,\n\nYou have been named national focal point of %(country)s for "
            "%(when)s. Participants of this training are nominated: please nominate the "
            "people of your country on this page, where you also see the places your country "
            "has and the state of each nomination:\n%(url)s\n\nKeep this link to yourself: "
            "whoever holds it can nominate for your country.\n",
            name=name,
            country=i18n.country_name(country, country_of(country).name),
            when=_when(title, starts_on, city),
            url=nominate_url(settings, focal_point_id),
        )
        subject = _("Nominations for %(title)s", title=title)
    return Mail(to=email, subject=subject, text=text)


def nominee_mail(
    settings: Settings,
    *,
    language: str,
    nomination_id: str,
    status: str,
    name: str,
    email: str,
    title: str,
    starts_on: date,
    city: str,
) -> Mail:
    """An offer (`offered`): confirm from the link; or the news that the nominee waits."""
    with speaking(language):
        when = _when(title, starts_on, city)
        url = nominee_url(settings, nomination_id)
        if status == "offered":
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
    return Mail(to=email, subject=subject, text=text)

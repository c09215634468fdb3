"""The invitation letter for a visa application, as the host ministry issues it: its
letterhead, the participant's passport details, the training, its dates and city, and the
signatory. Written in the participant's training language (marked for translation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.registration import pdf
from services.registration.visa import PassportDetails
from shared import i18n
from shared.i18n import _, speaking

MARGIN = 25.0
WIDTH = 210.0 - 2 * MARGIN


@dataclass(frozen=True)
class LetterFacts:
    ministry: str
    signatory_name: str
    signatory_title: str
    training_title: str
    city: str
    starts_on: date
    ends_on: date
    organisation: str
    issued_on: date


def _day(day: date) -> str:
    return i18n.date(day)


def invitation_letter(facts: LetterFacts, passport: PassportDetails, lang: str) -> bytes:
    with speaking(lang):
        document = pdf.document(_("Invitation letter"))
        document.add_page()
        document.set_margins(MARGIN, MARGIN, MARGIN)
        document.set_xy(MARGIN, MARGIN)
        document.set_font(pdf.FAMILY, "B", 13)
        document.multi_cell(WIDTH, 6.5, facts.ministry, align="C")
        document.ln(2)
        document.line(MARGIN, document.get_y(), MARGIN + WIDTH, document.get_y())
        document.ln(8)
        document.set_font(pdf.FAMILY, "", 11)
        document.cell(WIDTH, 6, f"{facts.city}, {_day(facts.issued_on)}", align="R")
        document.ln(14)
        document.set_font(pdf.FAMILY, "B", 12)
        document.multi_cell(WIDTH, 6, _("Letter of invitation for a visa application"))
        document.ln(4)
        document.set_font(pdf.FAMILY, "", 11)
        document.multi_cell(WIDTH, 6, _("To the consular section concerned,"))
        document.ln(3)
        dates = (
            _day(facts.starts_on)
            if facts.starts_on == facts.ends_on
            else _("%(first)s to %(last)s", first=_day(facts.starts_on), last=_day(facts.ends_on))
        )
        document.multi_cell(
            WIDTH,
            6,
            _(
                "We are pleased to invite the person named below to take part in the training "
                "“%(training)s”, held in %(city)s on %(dates)s, as a participant from "
                "%(organisation)s.",
                training=facts.training_title,
                city=facts.city,
                dates=dates,
                organisation=facts.organisation,
            ),
        )
        document.ln(4)
        rows = (
            (_("Name (as in the passport)"), passport.passport_name),
            (_("Nationality"), i18n.country_name(passport.nationality, passport.nationality_name)),
            (_("Passport number"), passport.passport_number),
            (_("Date of birth"), _day(passport.date_of_birth)),
        )
        for label, value in rows:
            document.set_font(pdf.FAMILY, "", 11)
            document.cell(60, 7, label)
            document.set_font(pdf.FAMILY, "B", 11)
            document.multi_cell(WIDTH - 60, 7, value)
        document.ln(4)
        document.set_font(pdf.FAMILY, "", 11)
        document.multi_cell(
            WIDTH,
            6,
            _(
                "We kindly ask you to issue the visa needed for this stay. The invitation "
                "covers the training only; it creates no financial obligation of the "
                "inviting ministry unless agreed separately."
            ),
        )
        document.ln(16)
        document.set_font(pdf.FAMILY, "B", 11)
        document.multi_cell(WIDTH, 6, facts.signatory_name)
        document.set_font(pdf.FAMILY, "", 11)
        document.multi_cell(WIDTH, 6, facts.signatory_title)
        return pdf.as_bytes(document)

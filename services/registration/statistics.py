"""The series' statistics for the annual report, from registration's own facts: pure.

A participant is trained when a confirmed registration was checked in at least once. The
response rate comes from evaluation's counts per campaign (invited, answered), which it
publishes only when answers are released and at the close: counts per training, never
who answered, so no figure here can single out a person's answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypeVar

from services.registration.membership import category
from services.registration.schemas import (
    Attendance,
    CategoryFigures,
    Figures,
    HostCountryFigures,
    ParticipantCountryFigures,
    Statistics,
    TrainingFigures,
    YearFigures,
)
from shared.countries import country
from shared.spreadsheets import csv_text

CATEGORIES = ("member", "observer", "other")
A = TypeVar("A", bound=Attendance)
F = TypeVar("F", bound=Figures)


@dataclass(frozen=True)
class TrainingFacts:
    id: str
    title: str
    series: str
    host_country: str
    city: str
    starts_on: date
    status: str


@dataclass(frozen=True)
class Seat:
    """One confirmed registration."""

    training_id: str
    participant_id: str
    country: str
    attended: bool


@dataclass(frozen=True)
class Responses:
    """Evaluation's latest counts for one training (the "evaluation" stage)."""

    training_id: str
    invited: int
    answered: int


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Tally:
    trainings: set[str] = field(default_factory=set)
    confirmed: int = 0
    trained: int = 0
    people: set[str] = field(default_factory=set)
    invited: int = 0
    answered: int = 0
    evaluated: set[str] = field(default_factory=set)

    def seat(self, seat: Seat) -> None:
        self.trainings.add(seat.training_id)
        self.confirmed += 1
        if seat.attended:
            self.trained += 1
            self.people.add(seat.participant_id)

    def training(self, training_id: str, responses: Responses | None) -> None:
        self.trainings.add(training_id)
        if responses is not None and training_id not in self.evaluated:
            self.evaluated.add(training_id)
            self.invited += responses.invited
            self.answered += responses.answered

    def attendance(self, kind: type[A], **extra: Any) -> A:
        return kind(
            trainings=len(self.trainings),
            confirmed=self.confirmed,
            trained=self.trained,
            attendance_rate=rate(self.trained, self.confirmed),
            **extra,
        )

    def figures(self, kind: type[F], **extra: Any) -> F:
        return self.attendance(
            kind,
            invited=self.invited,
            answered=self.answered,
            response_rate=rate(self.answered, self.invited),
            **extra,
        )


def statistics(
    trainings: Iterable[TrainingFacts],
    seats: Iterable[Seat],
    responses: Iterable[Responses],
    year: int | None = None,
) -> Statistics:
    """The figures of `year` (every year when None). Cancelled trainings do not count."""
    held = [t for t in trainings if t.status != "cancelled"]
    years = sorted({t.starts_on.year for t in held}, reverse=True)
    chosen = {t.id: t for t in held if year is None or t.starts_on.year == year}
    answered = {r.training_id: r for r in responses}
    total = _Tally()
    per_year: defaultdict[int, _Tally] = defaultdict(_Tally)
    per_host: defaultdict[str, _Tally] = defaultdict(_Tally)
    per_country: defaultdict[str, _Tally] = defaultdict(_Tally)
    per_category: defaultdict[str, _Tally] = defaultdict(_Tally)
    per_training: dict[str, _Tally] = {}
    for training in chosen.values():
        counts = answered.get(training.id)
        for tally in (total, per_year[training.starts_on.year], per_host[training.host_country]):
            tally.training(training.id, counts)
        per_training[training.id] = _Tally()
        per_training[training.id].training(training.id, counts)
    for seat in seats:
        of = chosen.get(seat.training_id)
        if of is None:
            continue
        kind = category(seat.country, of.starts_on)
        for tally in (
            total,
            per_year[of.starts_on.year],
            per_host[of.host_country],
            per_country[seat.country],
            per_category[kind],
            per_training[of.id],
        ):
            tally.seat(seat)
    return Statistics(
        year=year,
        years=years,
        total=total.figures(Figures),
        people=len(total.people),
        by_year=[
            t.figures(YearFigures, year=y, people=len(t.people))
            for y, t in sorted(per_year.items())
        ],
        by_host_country=[
            t.figures(HostCountryFigures, country=code, name=_name(code))
            for code, t in _by_trained(per_host)
        ],
        by_participant_country=[
            t.attendance(ParticipantCountryFigures, country=code, name=_name(code))
            for code, t in _by_trained(per_country)
        ],
        by_category=[
            per_category[kind].attendance(CategoryFigures, category=kind) for kind in CATEGORIES
        ],
        trainings=[
            per_training[t.id].figures(TrainingFigures, **asdict(t))
            for t in sorted(chosen.values(), key=lambda t: (t.starts_on, t.title))
        ],
    )


def _name(code: str) -> str:
    return country(code).name


def _by_trained(tallies: dict[str, _Tally]) -> list[tuple[str, _Tally]]:
    """Most trained first, then by code."""
    return sorted(tallies.items(), key=lambda item: (-item[1].trained, item[0]))


CSV_COLUMNS = (
    "section",
    "key",
    "label",
    "trainings",
    "confirmed",
    "trained",
    "attendance_rate",
    "invited",
    "answered",
    "response_rate",
    "people",
)


def statistics_csv(figures: Statistics) -> str:
    """One table: a section per breakdown; text cells cannot start a spreadsheet formula."""

    def row(
        section: str, key: object, label: str, f: Attendance, people: int | None = None
    ) -> Sequence[object]:
        return (
            section,
            key,
            label,
            f.trainings,
            f.confirmed,
            f.trained,
            f.attendance_rate,
            getattr(f, "invited", None),
            getattr(f, "answered", None),
            getattr(f, "response_rate", None),
            people,
        )

    period = str(figures.year) if figures.year is not None else "all years"
    rows = [row("total", figures.year or "", period, figures.total, figures.people)]
    rows += [row("year", y.year, str(y.year), y, y.people) for y in figures.by_year]
    rows += [row("host_country", h.country, h.name, h) for h in figures.by_host_country]
    rows += [
        row("participant_country", p.country, p.name, p) for p in figures.by_participant_country
    ]
    rows += [row("category", c.category, c.category, c) for c in figures.by_category]
    rows += [row("training", t.id, t.title, t) for t in figures.trainings]
    return csv_text(CSV_COLUMNS, rows)

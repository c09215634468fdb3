"""How registration follows scheduling: the catalogue, capacity changes and cancellations."""

from __future__ import annotations

from functools import partial

from sqlmodel import col, select

from services.registration import commands
from services.registration.domain import ACTIVE
from services.registration.tables import ParticipantRow, RegistrationRow, TrainingRow
from shared.bus import Handler
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.mail import Mail
from shared.settings import Settings


async def training_changed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingData, _: Envelope
) -> None:
    row = await uow.session.get(TrainingRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        row = TrainingRow(
            id=data.id,
            revision=data.revision,
            series=data.series,
            title=data.title,
            host_country=data.host_country,
            city=data.city,
            venue=data.venue,
            timezone=data.timezone,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            capacity=data.capacity,
            status=data.status,
        )
    capacity_before = row.capacity
    for name in (
        "revision",
        "series",
        "title",
        "host_country",
        "city",
        "venue",
        "timezone",
        "starts_on",
        "ends_on",
        "capacity",
        "registration_opens_at",
        "registration_closes_at",
        "moderated",
        "language",
        "status",
    ):
        setattr(row, name, getattr(data, name))
    uow.session.add(row)
    await uow.session.flush()
    if row.capacity > capacity_before:
        await commands.promote(uow, settings, row.id)


async def training_cancelled(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCancelled, _: Envelope
) -> None:
    training = await uow.session.get(TrainingRow, data.id)
    if training is None or training.revision >= data.revision:
        return
    training.status, training.revision = "cancelled", data.revision
    uow.session.add(training)
    active = await uow.session.exec(
        select(RegistrationRow)
        .where(RegistrationRow.training_id == training.id)
        .where(col(RegistrationRow.status).in_(ACTIVE))
        .order_by(col(RegistrationRow.arrival))
    )
    for row in active:
        row.status = "cancelled"
        row.revision += 1
        row.updated_at = clock.now()
        uow.session.add(row)
        uow.emit(commands._event(row))
        participant = await uow.session.get(ParticipantRow, row.participant_id)
        assert participant is not None
        reason = f"\nThe organisers wrote: {data.reason}\n" if data.reason else ""
        uow.send_mail(
            Mail(
                to=row.email,
                subject=f"Training cancelled: {training.title}",
                text=(
                    f"Dear {row.name},\n\nWe are sorry: {training.title} "
                    f"({training.starts_on:%d %B %Y}, {training.city}) has been cancelled, "
                    f"and your registration with it.\n{reason}"
                ),
            )
        )
    training.taken = 0


async def training_completed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCompleted, _: Envelope
) -> None:
    training = await uow.session.get(TrainingRow, data.id)
    if training is None or training.revision >= data.revision:
        return
    training.status, training.revision = "completed", data.revision
    training.completed_at = clock.now()
    uow.session.add(training)


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCancelled.subject: partial(training_cancelled, settings),
        ev.TrainingCompleted.subject: partial(training_completed, settings),
    }

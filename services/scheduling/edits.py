"""One command's change to one training: what every change does besides its own step.

A command opens an `Edit` (the training read, the clock read once) and goes through it for
the change log, the feed revision, a session's new revision and the sessions' events, so
that each of those is done one way whichever command changes the training.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.scheduling import domain, events, queries, views
from services.scheduling.tables import ChangeRow, SessionRow, TrainingRow
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.staff import Staff


@dataclass(frozen=True)
class Edit:
    """A change to `training` by `who` at `now`, stored with `uow`."""

    uow: UnitOfWork
    who: Staff | None
    now: datetime
    training: TrainingRow

    def check_changeable(self, session: SessionRow) -> None:
        """A session's details change only while the training is not frozen and it is live."""
        domain.check_editable(self.training.status)
        domain.check_session_changeable(session.status)

    def log(
        self,
        what: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        session_id: str | None = None,
    ) -> None:
        """Published trainings keep a change log; drafts change freely."""
        training = self.training
        if training.status == "draft":
            return
        self.uow.session.add(
            ChangeRow(
                training_id=training.id,
                session_id=session_id,
                what=what,
                before=None if before is None else views.shown(before, training.timezone),
                after=None if after is None else views.shown(after, training.timezone),
                who=self.who.sub if self.who is not None else "system",
                at=self.now,
            )
        )

    def feed_changed(self) -> None:
        """Every change a feed shows raises the training's feed revision (see feeds.py)."""
        self.training.feed_revision += 1
        self.uow.session.add(self.training)

    def announce(self, session: SessionRow, event: type[ev.SessionData]) -> None:
        """Consumers hear of a session's changes once its training is published."""
        if self.training.status == "published":
            self.uow.emit(events.session_data(session, self.training.timezone, event))

    def revise_training(self) -> None:
        """A new revision of the training, its feed's with it."""
        self.training.revision += 1
        self.training.updated_at = self.now
        self.feed_changed()

    def revise(self, session: SessionRow, *, timing_changed: bool) -> None:
        """A new revision of the session, stored with the unit of work."""
        if timing_changed:
            # RFC 5546: a new start, end or status is a significant change for calendar clients.
            session.sequence += 1
        session.revision += 1
        session.revised_at = self.now
        self.uow.session.add(session)

    def cancel_session(self, session: SessionRow, change: domain.Change, *, public: bool) -> None:
        """Cancel one of the training's sessions; once `public`, the change log and the
        consumers hear of it."""
        session.status = change.status
        self.revise(session, timing_changed=True)
        if public:
            self.log(change.what, change.before, change.after, session.id)
            self.uow.emit(events.session_data(session, self.training.timezone, ev.SessionCancelled))

    async def announced(self, event: type[ev.TrainingData]) -> TrainingRow:
        """The training, once its consumers are sent all of it (sessions too) as `event`."""
        # Flushed first, so that the event carries what this change stored.
        await self.uow.session.flush()
        self.uow.emit(await events.training_data(self.uow, self.training, event))
        return self.training

    def apply(self, change: domain.Change, *, logged: bool = True) -> None:
        """Move the training to the change's status; the change log, kept from publication
        on, records it when `logged`."""
        self.training.status = change.status
        self.revise_training()
        if logged:
            self.log(change.what, change.before, change.after)


async def editing(uow: UnitOfWork, who: Staff | None, training_id: str) -> Edit:
    """A change to the training with this id (404 if there is none), from now."""
    now = clock.now()
    return Edit(uow, who, now, await queries.training(uow.session, training_id))


async def editable(uow: UnitOfWork, who: Staff | None, training_id: str) -> Edit:
    """A change to the training's details or timetable, refused once it is frozen."""
    edit = await editing(uow, who, training_id)
    domain.check_editable(edit.training.status)
    return edit


async def with_session(
    uow: UnitOfWork, who: Staff | None, training_id: str, session_id: str
) -> tuple[Edit, SessionRow]:
    """A change to one session of the training (404 if either is not there)."""
    edit = await editing(uow, who, training_id)
    return edit, await queries.session_of(uow.session, training_id, session_id)

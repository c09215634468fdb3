"""Campaigns and their invitations: opening, inviting, reminding, withdrawing and erasing.

Commands with the `(uow, settings, who, input)` signature, like those of commands.py;
`who` is None here, as the events and the schedule call them.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.evaluation import audits, domain, links, mails, queries
from services.evaluation.domain import EVALUATION, FOLLOW_UP
from services.evaluation.release import INVITATION, lock_campaigns
from services.evaluation.settings import own
from services.evaluation.tables import AttendeeRow, CampaignRow, InvitationRow, TrainingRow
from shared import audit, bus, mail, tokens
from shared.audit import audited
from shared.clock import clock
from shared.commands import OneRegistration, OneTraining
from shared.db import UnitOfWork
from shared.errors import Conflict
from shared.settings import Settings
from shared.staff import Staff

P = TypeVar("P", AttendeeRow, InvitationRow)
# What an invitation keeps of the person invited (an attendee, or for the follow-up the
# one invited before), under the same names.
INVITED = ("registration_id", "participant_id", "name", "email", "language")
# What on an invitation could tell whose it is: erasure empties these.
IDENTIFYING = ("participant_id", "registration_id", "name", "email", "draft")


@dataclass(frozen=True)
class ForTraining:
    """The input of a command about a training the caller (an event handler, a job) holds."""

    training: TrainingRow


class OpenCampaign(ForTraining):
    """The evaluation of a training goes to those who checked in."""

    stage: ClassVar[str] = EVALUATION

    def invitees(self) -> SelectOfScalar[AttendeeRow]:
        checked_in = col(AttendeeRow.checked_in).is_(True)
        return _by_name(AttendeeRow, AttendeeRow.training_id == self.training.id, checked_in)


@dataclass(frozen=True)
class OpenFollowUp(ForTraining):
    """The follow-up goes to the same people the evaluation went to."""

    evaluation: CampaignRow
    stage: ClassVar[str] = FOLLOW_UP

    def invitees(self) -> SelectOfScalar[InvitationRow]:
        mailable = col(InvitationRow.email).is_not(None)
        return _by_name(InvitationRow, InvitationRow.campaign_id == self.evaluation.id, mailable)


def _by_name(model: type[P], *conditions: Any) -> SelectOfScalar[P]:
    return select(model).where(*conditions).order_by(col(model.name))


@dataclass(frozen=True)
class InviteAttendee(ForTraining):
    attendee: AttendeeRow


class WithdrawInvitations(OneRegistration): ...


@dataclass(frozen=True)
class EraseParticipant:
    participant_id: str


class RemindNow(OneTraining): ...


# --- campaigns and invitations -----------------------------------------------------------


async def _new_campaign(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, stage: str, now: datetime
) -> CampaignRow | None:
    """A new campaign of the training at this stage, or None if it has one already."""
    if await queries.campaign_of(uow.session, training.id, stage) is not None:
        return None
    bank, _ = await queries.current_bank(uow.session)
    if stage == EVALUATION:
        questions = await queries.planned_questionnaire(uow.session, training, bank)
    else:
        questions = bank.follow_up
    campaign = CampaignRow(
        id=str(uuid.uuid4()),
        training_id=training.id,
        stage=stage,
        bank_version=bank.version,
        questions=domain.encode_questions(questions),
        opened_at=now,
        closes_at=now + own(settings).open_for,
    )
    uow.session.add(campaign)
    await uow.session.flush()
    return campaign


async def open_campaign(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: OpenCampaign
) -> None:
    """Open the evaluation of a training and invite those who checked in."""
    await _open(uow, settings, input)


async def open_follow_up(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: OpenFollowUp
) -> None:
    """Open the follow-up of a training: it goes to the same people the evaluation went to."""
    await _open(uow, settings, input)


async def _open(uow: UnitOfWork, settings: Settings, input: OpenCampaign | OpenFollowUp) -> None:
    """Open the input's campaign, unless the training has it, and invite its invitees."""
    now = clock.now()
    campaign = await _new_campaign(uow, settings, input.training, input.stage, now)
    if campaign is None:
        return
    for person in await uow.session.exec(input.invitees()):
        await _invite(uow, settings, campaign, input.training, person, now)


async def _invite(
    uow: UnitOfWork,
    settings: Settings,
    campaign: CampaignRow,
    training: TrainingRow,
    person: AttendeeRow | InvitationRow,
    now: datetime,
) -> None:
    """Invite an attendee (or, for the follow-up, someone invited before) unless done."""
    name, email = person.name, person.email
    if name is None or email is None:
        return  # erased
    if not domain.campaign_open(campaign.status, campaign.closes_at, now):
        return
    already = (
        await uow.session.exec(
            select(InvitationRow.id)
            .where(InvitationRow.campaign_id == campaign.id)
            .where(InvitationRow.registration_id == person.registration_id)
        )
    ).first()
    if already is not None:
        return
    invitation_id = str(uuid.uuid4())
    uow.session.add(
        InvitationRow(
            id=invitation_id,
            campaign_id=campaign.id,
            **{field: getattr(person, field) for field in INVITED},
            token_sha256=tokens.digest(links.invitation_token(settings, invitation_id)),
            invited_at=now,
            last_mailed_at=now,
        )
    )
    url = links.invitation_url(settings, invitation_id)
    uow.send_mail(mails.invitation(training, campaign, name, email, url, person.language))


async def invite_late_attendee(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: InviteAttendee
) -> None:
    """A check-in that arrives after completion still gets its invitations."""
    now = clock.now()
    for campaign in await queries.campaigns_of(uow.session, input.training.id):
        await _invite(uow, settings, campaign, input.training, input.attendee, now)


async def withdraw_invitations(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: WithdrawInvitations
) -> None:
    """An undone check-in: unanswered invitations of open campaigns go; answers stay."""
    rows = await uow.session.exec(
        select(InvitationRow.id, InvitationRow.campaign_id)
        .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
        .where(InvitationRow.registration_id == input.registration_id)
        .where(col(InvitationRow.responded).is_(False))
        .where(CampaignRow.status == "open")
    )
    found = list(rows)
    await lock_campaigns(uow, [campaign_id for _, campaign_id in found])
    for invitation_id, _ in found:
        await uow.execute(
            delete(INVITATION)
            .where(INVITATION.c.id == invitation_id)
            .where(INVITATION.c.responded.is_(False))
        )
    uow.forget_after_commit()


async def rename_invited(uow: UnitOfWork, registration_id: str, name: str, email: str) -> None:
    """The attendee corrected their details: reminders go to the new name and address."""
    await uow.execute(
        update(INVITATION)
        .where(INVITATION.c.registration_id == registration_id)
        .where(INVITATION.c.erased.is_(False))
        .where(INVITATION.c.email.is_not(None))
        .values(name=name, email=email)
    )


async def erase_participant(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: EraseParticipant
) -> None:
    """Erasure: the invitations stay for the response rates, with nothing that identifies.

    The mail sent to the person (and its .eml files) goes too: the addresses are read
    from the attendee and invitation rows before those lose them.
    """
    participant_id = input.participant_id
    addresses = set(
        await uow.session.exec(
            select(AttendeeRow.email).where(AttendeeRow.participant_id == participant_id)
        )
    )
    invited = await uow.session.exec(
        select(InvitationRow.email).where(InvitationRow.participant_id == participant_id)
    )
    addresses |= {address for address in invited if address}
    for address in sorted(addresses):
        await mail.forget_recipient(uow, settings.mail_dir, address)
    await bus.forget_dead_letters(uow, participant_id)
    await audit.forget_person(uow, participant_id)
    await uow.execute(delete(AttendeeRow).where(col(AttendeeRow.participant_id) == participant_id))
    rows = await uow.session.exec(
        select(InvitationRow.id, InvitationRow.campaign_id).where(
            InvitationRow.participant_id == participant_id
        )
    )
    found = list(rows)
    await lock_campaigns(uow, [campaign_id for _, campaign_id in found])
    for invitation_id, _ in found:
        await uow.execute(
            update(InvitationRow)
            .where(col(InvitationRow.id) == invitation_id)
            .values(
                **dict.fromkeys(IDENTIFYING),
                erased=True,
                # A hash of nothing anyone holds: the old link stops working.
                token_sha256=tokens.digest(secrets.token_urlsafe(32)),
            )
        )
    uow.forget_after_commit()


async def remind(
    uow: UnitOfWork,
    settings: Settings,
    invitation: InvitationRow,
    campaign: CampaignRow,
    training: TrainingRow,
    now: datetime,
) -> bool:
    """Mail one reminder; the conditional update keeps two instances from sending it twice.

    Someone who has responded but is not yet released is counted as reminded
    without being mailed: their reminder count and the number reminded must not
    single them out before their batch is released.
    """
    if invitation.name is None or invitation.email is None:
        return False  # erased
    done = await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.answered).is_(False))
        .where(col(InvitationRow.reminders_sent) == invitation.reminders_sent)
        .values(reminders_sent=invitation.reminders_sent + 1, last_mailed_at=now)
    )
    if not done.rowcount:
        return False
    if invitation.responded:
        return True
    url = links.invitation_url(settings, invitation.id)
    uow.send_mail(
        mails.reminder(
            training, campaign, invitation.name, invitation.email, url, invitation.language
        )
    )
    return True


@audited("evaluation.reminded", audits.reminders)
async def send_reminders_now(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: RemindNow
) -> int:
    """The secretariat's reminder: everyone who has not answered an open campaign, at once."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    campaigns = {
        c.id: c
        for c in await queries.campaigns_of(uow.session, training.id)
        if domain.campaign_open(c.status, c.closes_at, now)
    }
    if not campaigns:
        raise Conflict("this training has no open evaluation to remind people of")
    await lock_campaigns(uow, list(campaigns))
    sent = 0
    for invitation in await queries.unanswered(uow.session, list(campaigns)):
        campaign = campaigns[invitation.campaign_id]
        sent += await remind(uow, settings, invitation, campaign, training, now)
    return sent

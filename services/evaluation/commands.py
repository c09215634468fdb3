"""Campaigns, invitations, answers, reminders, follow-ups and the bank, each in a unit of work."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, func, insert, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.evaluation import domain, mails
from services.evaluation.domain import (
    EVALUATION,
    FOLLOW_UP,
    Bank,
    InvalidAnswer,
    InvalidQuestions,
    Question,
)
from services.evaluation.questions import BANK_V1
from services.evaluation.tables import (
    AnswerRow,
    AttendeeRow,
    BankRow,
    CampaignRow,
    InvitationRow,
    PendingResponseRow,
    ResponseRow,
    SessionRow,
    TrainingRow,
    metadata,
)
from shared import bus, mail, tokens
from shared.auth import Staff
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.problems import Problem
from shared.settings import Settings

TOKEN_PURPOSE = "invitation"
INVITATION = metadata.tables["invitation"]


def invitation_token(settings: Settings, invitation_id: str) -> str:
    return tokens.derive(settings.secret, TOKEN_PURPOSE, invitation_id)


def invitation_url(settings: Settings, invitation_id: str) -> str:
    token = invitation_token(settings, invitation_id)
    return f"{settings.public_url('evaluation')}/evaluations/{token}"


# --- the bank --------------------------------------------------------------------------


def _bank(row: BankRow) -> Bank:
    return Bank(
        version=row.version,
        questions=domain.decode_questions(row.questions),
        follow_up=domain.decode_questions(row.follow_up),
    )


async def banks(session: AsyncSession) -> list[Bank]:
    """Every version of the bank, oldest first; version 1 is built in."""
    rows = await session.exec(select(BankRow).order_by(col(BankRow.version)))
    return [BANK_V1, *(_bank(row) for row in rows)]


async def current_bank(session: AsyncSession) -> tuple[Bank, BankRow | None]:
    row = (
        await session.exec(select(BankRow).order_by(col(BankRow.version).desc()).limit(1))
    ).first()
    return (_bank(row), row) if row is not None else (BANK_V1, None)


async def edit_bank(
    uow: UnitOfWork, staff: Staff, questions: Sequence[Question], follow_up: Sequence[Question]
) -> tuple[Bank, BankRow | None]:
    """A new version of the bank; campaigns already opened keep the version they used."""
    history = await banks(uow.session)
    taken: set[str] = set()
    kinds = domain.kinds_of(history)
    try:
        domain.check_questions(
            questions, "questions", kinds=domain.BANK_KINDS, history=kinds, taken=taken
        )
        domain.check_questions(
            follow_up, "follow_up", kinds=domain.BANK_KINDS, history=kinds, taken=taken
        )
    except InvalidQuestions as exc:
        raise Problem(422, f"{exc.field}: {exc.message}", field=exc.field) from None
    latest = history[-1]
    proposed = Bank(
        version=latest.version + 1, questions=tuple(questions), follow_up=tuple(follow_up)
    )
    if proposed.same_questions(latest):
        return await current_bank(uow.session)
    row = BankRow(
        version=proposed.version,
        questions=domain.encode_questions(proposed.questions),
        follow_up=domain.encode_questions(proposed.follow_up),
        created_at=clock.now(),
        created_by=staff.sub,
    )
    uow.session.add(row)
    # Two editors at once both propose version N+1: the primary key lets one win.
    await uow.session.flush()
    return proposed, row


# --- trainings' own questions -------------------------------------------------------


async def campaign_of(session: AsyncSession, training_id: str, stage: str) -> CampaignRow | None:
    return (
        await session.exec(
            select(CampaignRow)
            .where(CampaignRow.training_id == training_id)
            .where(CampaignRow.stage == stage)
        )
    ).first()


async def campaigns_of(session: AsyncSession, training_id: str) -> list[CampaignRow]:
    return list(
        await session.exec(select(CampaignRow).where(CampaignRow.training_id == training_id))
    )


async def _not_opened(uow: UnitOfWork, training: TrainingRow) -> None:
    if await campaign_of(uow.session, training.id, EVALUATION) is not None:
        raise Problem(409, "the evaluation of this training has opened; its questions are fixed")


async def set_objectives(uow: UnitOfWork, training: TrainingRow, objectives: Sequence[str]) -> None:
    await _not_opened(uow, training)
    texts = [text.strip() for text in objectives]
    for index, text in enumerate(texts):
        if not text:
            raise Problem(422, "an objective needs text", field=f"objectives[{index}]")
    training.objectives = [{"id": f"o{i}", "text": t} for i, t in enumerate(texts, start=1)]
    uow.session.add(training)


async def set_extra_questions(
    uow: UnitOfWork, training: TrainingRow, questions: Sequence[Question]
) -> None:
    await _not_opened(uow, training)
    try:
        domain.check_questions(
            questions, "questions", kinds=domain.EXTRA_KINDS, history={}, taken=set()
        )
    except InvalidQuestions as exc:
        raise Problem(422, f"{exc.field}: {exc.message}", field=exc.field) from None
    training.extra_questions = domain.encode_questions(questions)
    uow.session.add(training)


async def sessions_of(session: AsyncSession, training_id: str) -> list[domain.Session]:
    rows = await session.exec(select(SessionRow).where(SessionRow.training_id == training_id))
    return [domain.Session(r.id, r.title, r.kind, r.starts_at, r.status) for r in rows]


def objectives_of(training: TrainingRow) -> list[domain.Objective]:
    return [domain.Objective(o["id"], o["text"]) for o in training.objectives]


async def planned_questionnaire(
    session: AsyncSession, training: TrainingRow, bank: Bank
) -> tuple[Question, ...]:
    return domain.evaluation_questionnaire(
        bank,
        await sessions_of(session, training.id),
        objectives_of(training),
        domain.decode_questions(training.extra_questions),
    )


# --- campaigns and invitations -----------------------------------------------------------


async def open_campaign(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, stage: str = EVALUATION
) -> CampaignRow:
    """Open the evaluation (or the follow-up) of a training and invite its attendees."""
    campaign = await campaign_of(uow.session, training.id, stage)
    if campaign is not None:
        return campaign
    bank, _ = await current_bank(uow.session)
    if stage == EVALUATION:
        questions = await planned_questionnaire(uow.session, training, bank)
    else:
        questions = bank.follow_up
    now = clock.now()
    campaign = CampaignRow(
        id=str(uuid.uuid4()),
        training_id=training.id,
        stage=stage,
        bank_version=bank.version,
        questions=domain.encode_questions(questions),
        opened_at=now,
        closes_at=now + settings.evaluation_open_for,
    )
    uow.session.add(campaign)
    await uow.session.flush()
    if stage == EVALUATION:
        attendees = await uow.session.exec(
            select(AttendeeRow)
            .where(AttendeeRow.training_id == training.id)
            .where(col(AttendeeRow.checked_in).is_(True))
            .order_by(col(AttendeeRow.name))
        )
        for attendee in attendees:
            await invite(uow, settings, campaign, training, attendee)
    else:
        # The follow-up goes to the same people the evaluation went to.
        first = await campaign_of(uow.session, training.id, EVALUATION)
        assert first is not None
        earlier = await uow.session.exec(
            select(InvitationRow)
            .where(InvitationRow.campaign_id == first.id)
            .where(col(InvitationRow.email).is_not(None))
            .order_by(col(InvitationRow.name))
        )
        for invitation in earlier:
            assert invitation.name is not None and invitation.email is not None
            await _invite(
                uow,
                settings,
                campaign,
                training,
                registration_id=invitation.registration_id,
                participant_id=invitation.participant_id,
                name=invitation.name,
                email=invitation.email,
            )
    return campaign


async def invite(
    uow: UnitOfWork,
    settings: Settings,
    campaign: CampaignRow,
    training: TrainingRow,
    attendee: AttendeeRow,
) -> None:
    await _invite(
        uow,
        settings,
        campaign,
        training,
        registration_id=attendee.registration_id,
        participant_id=attendee.participant_id,
        name=attendee.name,
        email=attendee.email,
    )


async def _invite(
    uow: UnitOfWork,
    settings: Settings,
    campaign: CampaignRow,
    training: TrainingRow,
    *,
    registration_id: str | None,
    participant_id: str | None,
    name: str,
    email: str,
) -> None:
    if campaign.status != "open" or clock.now() >= campaign.closes_at:
        return
    already = (
        await uow.session.exec(
            select(InvitationRow.id)
            .where(InvitationRow.campaign_id == campaign.id)
            .where(InvitationRow.registration_id == registration_id)
        )
    ).first()
    if already is not None:
        return
    invitation_id = str(uuid.uuid4())
    now = clock.now()
    uow.session.add(
        InvitationRow(
            id=invitation_id,
            campaign_id=campaign.id,
            registration_id=registration_id,
            participant_id=participant_id,
            name=name,
            email=email,
            token_sha256=tokens.digest(invitation_token(settings, invitation_id)),
            invited_at=now,
            last_mailed_at=now,
        )
    )
    uow.send_mail(
        mails.invitation(training, campaign, name, email, invitation_url(settings, invitation_id))
    )


async def invite_late_attendee(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, attendee: AttendeeRow
) -> None:
    """A check-in that arrives after completion still gets its invitations."""
    for campaign in await campaigns_of(uow.session, training.id):
        await invite(uow, settings, campaign, training, attendee)


async def withdraw_invitations(uow: UnitOfWork, registration_id: str) -> None:
    """An undone check-in: unanswered invitations of open campaigns go; answers stay."""
    rows = await uow.session.exec(
        select(InvitationRow.id, InvitationRow.campaign_id)
        .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
        .where(InvitationRow.registration_id == registration_id)
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


async def erase_participant(uow: UnitOfWork, settings: Settings, participant_id: str) -> None:
    """Erasure: the invitations stay for the response rates, with nothing that identifies.

    The mail sent to the person (and its .eml files) goes too: the addresses are read
    from the attendee and invitation rows before those lose them.
    """
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
                participant_id=None,
                registration_id=None,
                name=None,
                email=None,
                draft=None,
                erased=True,
                # A hash of nothing anyone holds: the old link stops working.
                token_sha256=tokens.digest(secrets.token_urlsafe(32)),
            )
        )
    uow.forget_after_commit()


# --- answering ---------------------------------------------------------------------------


async def invitation_by_token(
    session: AsyncSession, token: str
) -> tuple[InvitationRow, CampaignRow, TrainingRow]:
    invitation = (
        await session.exec(
            select(InvitationRow).where(InvitationRow.token_sha256 == tokens.digest(token))
        )
    ).first()
    if invitation is None:
        raise Problem(404, "no such evaluation; the link may be incomplete")
    campaign = await session.get(CampaignRow, invitation.campaign_id)
    assert campaign is not None
    training = await session.get(TrainingRow, campaign.training_id)
    assert training is not None
    return invitation, campaign, training


def is_open(campaign: CampaignRow, now: datetime) -> bool:
    return campaign.status == "open" and now < campaign.closes_at


def questions_of(campaign: CampaignRow) -> tuple[Question, ...]:
    return domain.decode_questions(campaign.questions)


def _clean(campaign: CampaignRow, answers: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    try:
        return domain.clean_answers(questions_of(campaign), answers, complete=complete)
    except InvalidAnswer as exc:
        field = f"answers.{exc.question_id}"
        raise Problem(422, f"question {exc.question_id!r} {exc.message}", field=field) from None


async def save_draft(uow: UnitOfWork, token: str, answers: dict[str, Any]) -> None:
    invitation, campaign, _ = await invitation_by_token(uow.session, token)
    if invitation.responded:
        raise Problem(409, "this evaluation has already been answered")
    if not is_open(campaign, clock.now()):
        raise Problem(409, "this evaluation is closed")
    clean = _clean(campaign, answers, complete=False)
    await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.responded).is_(False))
        .values(draft=clean)
    )
    uow.forget_after_commit()


async def lock_campaigns(uow: UnitOfWork, campaign_ids: Sequence[str]) -> list[CampaignRow]:
    """Lock campaigns, in id order, before writing several of their invitations.

    Submitting rewrites all of a campaign's invitations (see _blur_invitations);
    every transaction that writes more than one of them takes the campaign first,
    so two of them never wait for each other's rows (PostgreSQL; SQLite has one
    writer anyway).
    """
    if not campaign_ids:
        return []
    rows = await uow.session.exec(
        select(CampaignRow)
        .where(col(CampaignRow.id).in_(sorted(set(campaign_ids))))
        .order_by(col(CampaignRow.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def submit(uow: UnitOfWork, token: str, answers: dict[str, Any]) -> None:
    """Take one anonymous response for the invitation; a second one gets 409.

    The response is held as pending; it reaches the figures, and its invitation
    the who-answered list, only with a released batch (release_pending).
    """
    invitation, campaign, _ = await invitation_by_token(uow.session, token)
    if invitation.responded:
        raise Problem(409, "this evaluation has already been answered")
    if not is_open(campaign, clock.now()):
        raise Problem(409, "this evaluation is closed")
    questions = questions_of(campaign)
    clean = _clean(campaign, answers, complete=True)
    (campaign,) = await lock_campaigns(uow, [campaign.id])
    if not is_open(campaign, clock.now()):
        raise Problem(409, "this evaluation is closed")
    # The conditional update makes a second or concurrent submission lose the race.
    claimed = await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.responded).is_(False))
        .values(responded=True, draft=None)
    )
    if not claimed.rowcount:
        raise Problem(409, "this evaluation has already been answered")
    parts = domain.answer_parts(questions, clean)
    await uow.execute(
        insert(PendingResponseRow).values(
            id=str(uuid.uuid4()),
            campaign_id=campaign.id,
            bank_version=campaign.bank_version,
            parts=[
                {"question_id": p.question_id, "part": p.part, "value": p.value, "text": p.text}
                for p in parts
            ],
        )
    )
    if not await release_pending(uow, campaign):
        await _blur_invitations(uow, campaign.id)
    uow.forget_after_commit()


async def release_pending(uow: UnitOfWork, campaign: CampaignRow) -> int:
    """Release the campaign's pending responses as one batch, if there are enough of them.

    In one transaction, under the campaign's lock: the pending responses become
    responses and answers (inserted in random order), and every invitation whose
    person responded is marked answered. Reports, exports, trends and the
    who-answered list read only those, so they all move together, by at least
    RELEASE_STEP responses. Returns how many were released.
    """
    pending = list(
        await uow.session.exec(
            select(PendingResponseRow).where(PendingResponseRow.campaign_id == campaign.id)
        )
    )
    if not domain.releasable(len(pending)):
        return 0
    shuffle = random.SystemRandom().shuffle
    shuffle(pending)
    answers: list[dict[str, Any]] = []
    for row in pending:
        # A fresh key: nothing stored before the release carries over into the figures.
        response_id = str(uuid.uuid4())
        await uow.execute(
            insert(ResponseRow).values(
                id=response_id, campaign_id=campaign.id, bank_version=row.bank_version
            )
        )
        answers += [
            {**part, "response_id": response_id, "campaign_id": campaign.id} for part in row.parts
        ]
    if answers:
        shuffle(answers)
        await uow.execute(insert(AnswerRow), answers)
    await uow.execute(
        delete(PendingResponseRow).where(
            col(PendingResponseRow.id).in_([row.id for row in pending])
        )
    )
    await _blur_invitations(uow, campaign.id, mark_answered=True)
    invited, answered = await counts(uow.session, campaign.id)
    campaign.revision += 1
    uow.session.add(campaign)
    uow.emit(
        ev.ResponseSubmitted(
            id=campaign.id,
            revision=campaign.revision,
            training_id=campaign.training_id,
            invited=invited,
            answered=answered,
            stage=campaign.stage,
        )
    )
    return len(pending)


async def _blur_invitations(
    uow: UnitOfWork, campaign_id: str, *, mark_answered: bool = False
) -> None:
    """Rewrite every invitation of the campaign, in random order, in the submitting transaction.

    PostgreSQL stamps each row version with the id of the transaction that wrote it
    (xmin) and appends it to the heap (ctid). Without this, the answered invitation
    would be the one row sharing its xmin with the new response, and the heap order
    of answered invitations would follow the order of the responses: a DBA could
    join them. Rewritten together and shuffled, they all carry the same stamp and
    a meaningless order. (SQLite rewrites rows in place; it costs little there.)

    `mark_answered` (a release, or the close) marks answered, in the same pass,
    everyone who has responded.
    """
    ids = list(
        await uow.session.exec(
            select(InvitationRow.id).where(InvitationRow.campaign_id == campaign_id)
        )
    )
    random.SystemRandom().shuffle(ids)
    table = INVITATION
    answered = or_(table.c.answered, table.c.responded) if mark_answered else table.c.answered
    # On the Core table, so SQLAlchemy runs a plain executemany, not an ORM bulk update.
    await uow.execute(
        update(table).where(table.c.id == bindparam("invitation_id")).values(answered=answered),
        [{"invitation_id": invitation_id} for invitation_id in ids],
    )


async def counts(session: AsyncSession, campaign_id: str) -> tuple[int, int]:
    """How many were invited and how many answered."""
    answered = func.coalesce(func.sum(case((col(InvitationRow.answered), 1), else_=0)), 0)
    row = (
        await session.exec(
            select(func.count(), answered)
            .select_from(InvitationRow)
            .where(InvitationRow.campaign_id == campaign_id)
        )
    ).one()
    return int(row[0]), int(row[1])


# --- time-based rules: closing, reminders, follow-ups ----------------------------------------


async def close_due_campaigns(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Close every open campaign whose period is over; drafts, now useless, are deleted.

    Those who responded since the last release count as answered from now on,
    but a remainder of fewer than RELEASE_STEP responses is deleted unreleased:
    released, it would be the difference between two reads.
    """
    due = await uow.session.exec(
        select(CampaignRow.id)
        .where(CampaignRow.status == "open")
        .where(col(CampaignRow.closes_at) <= now)
    )
    closed = 0
    for campaign in await lock_campaigns(uow, list(due)):
        if campaign.status != "open":
            continue  # another instance closed it meanwhile
        campaign.status = "closed"
        campaign.revision += 1
        uow.session.add(campaign)
        await uow.execute(
            update(INVITATION).where(INVITATION.c.campaign_id == campaign.id).values(draft=None)
        )
        await release_pending(uow, campaign)
        await uow.execute(
            delete(PendingResponseRow).where(col(PendingResponseRow.campaign_id) == campaign.id)
        )
        await _blur_invitations(uow, campaign.id, mark_answered=True)
        uow.forget_after_commit()
        invited, answered = await counts(uow.session, campaign.id)
        uow.emit(
            ev.CampaignClosed(
                id=campaign.id,
                revision=campaign.revision,
                training_id=campaign.training_id,
                invited=invited,
                answered=answered,
                stage=campaign.stage,
            )
        )
        closed += 1
    return closed


async def remind(
    uow: UnitOfWork,
    settings: Settings,
    invitation: InvitationRow,
    campaign: CampaignRow,
    now: datetime,
) -> bool:
    """Mail one reminder; the conditional update keeps two instances from sending it twice.

    Someone who has responded but is not yet released is counted as reminded
    without being mailed: their reminder count and the number reminded must not
    single them out before their batch is released.
    """
    training = await uow.session.get(TrainingRow, campaign.training_id)
    assert training is not None and invitation.name and invitation.email
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
    uow.send_mail(
        mails.reminder(
            training,
            campaign,
            invitation.name,
            invitation.email,
            invitation_url(settings, invitation.id),
        )
    )
    return True


async def _unanswered(uow: UnitOfWork, campaign_ids: Sequence[str]) -> list[InvitationRow]:
    if not campaign_ids:
        return []
    return list(
        await uow.session.exec(
            select(InvitationRow)
            .where(col(InvitationRow.campaign_id).in_(campaign_ids))
            .where(col(InvitationRow.answered).is_(False))
            .where(col(InvitationRow.email).is_not(None))
            .order_by(col(InvitationRow.name))
        )
    )


async def send_due_reminders(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Remind those who have not answered, `evaluation_reminder_after` after the last mail,
    at most `evaluation_max_reminders` times."""
    if settings.evaluation_max_reminders <= 0:
        return 0
    campaigns = {
        c.id: c
        for c in await uow.session.exec(
            select(CampaignRow)
            .where(CampaignRow.status == "open")
            .where(col(CampaignRow.closes_at) > now)
        )
    }
    due_before = now - settings.evaluation_reminder_after
    due = [
        invitation
        for invitation in await _unanswered(uow, list(campaigns))
        if invitation.reminders_sent < settings.evaluation_max_reminders
        and invitation.last_mailed_at <= due_before
    ]
    await lock_campaigns(uow, [invitation.campaign_id for invitation in due])
    sent = 0
    for invitation in due:
        sent += await remind(uow, settings, invitation, campaigns[invitation.campaign_id], now)
    return sent


async def send_reminders_now(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, now: datetime
) -> int:
    """The secretariat's reminder: everyone who has not answered an open campaign, at once."""
    campaigns = {c.id: c for c in await campaigns_of(uow.session, training.id) if is_open(c, now)}
    if not campaigns:
        raise Problem(409, "this training has no open evaluation to remind people of")
    await lock_campaigns(uow, list(campaigns))
    sent = 0
    for invitation in await _unanswered(uow, list(campaigns)):
        sent += await remind(uow, settings, invitation, campaigns[invitation.campaign_id], now)
    return sent


def _no_follow_up() -> Any:
    """Condition on CampaignRow: its training has no follow-up campaign yet."""
    later = aliased(CampaignRow)
    return ~exists().where(
        col(later.training_id) == col(CampaignRow.training_id), col(later.stage) == FOLLOW_UP
    )


async def open_due_follow_ups(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Open each training's follow-up `evaluation_follow_up_after` after its evaluation opened."""
    due_before = now - settings.evaluation_follow_up_after
    first = list(
        await uow.session.exec(
            select(CampaignRow)
            .where(CampaignRow.stage == EVALUATION)
            .where(col(CampaignRow.opened_at) <= due_before)
            .where(_no_follow_up())
        )
    )
    opened = 0
    for campaign in first:
        training = await uow.session.get(TrainingRow, campaign.training_id)
        if training is None:
            continue
        await open_campaign(uow, settings, training, FOLLOW_UP)
        opened += 1
    return opened


async def anything_due(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Whether any time-based rule has work: a cheap read before taking a write lock."""
    open_ = select(CampaignRow.id).where(CampaignRow.status == "open")
    if (await session.exec(open_.where(col(CampaignRow.closes_at) <= now).limit(1))).first():
        return True
    if settings.evaluation_max_reminders > 0:
        reminder = (
            select(InvitationRow.id)
            .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
            .where(CampaignRow.status == "open")
            .where(col(InvitationRow.answered).is_(False))
            .where(col(InvitationRow.email).is_not(None))
            .where(col(InvitationRow.reminders_sent) < settings.evaluation_max_reminders)
            .where(col(InvitationRow.last_mailed_at) <= now - settings.evaluation_reminder_after)
            .limit(1)
        )
        if (await session.exec(reminder)).first():
            return True
    follow_up = (
        select(CampaignRow.id)
        .where(CampaignRow.stage == EVALUATION)
        .where(col(CampaignRow.opened_at) <= now - settings.evaluation_follow_up_after)
        .where(_no_follow_up())
        .limit(1)
    )
    return (await session.exec(follow_up)).first() is not None

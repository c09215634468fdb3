"""Reports per training and trends per series, aggregated by the database.

Every figure comes from GROUP BY queries: COUNT per (question, option or value),
from which n, mean, median, the recommendation score and the learning gain
follow exactly in a few lines of Python over at most a dozen rows per question.
No query returns individual responses, except the free-text comments of a
training whose report is not withheld (sorted, so their order says nothing).
Only released responses are in `response` and `answer` (see release.release_pending),
and `answered` counts only released invitations, so every figure here moves in steps.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.evaluation import domain, figures, queries
from services.evaluation.domain import EVALUATION, FOLLOW_UP, Question
from services.evaluation.schemas import (
    CommentGroup,
    DayAttendance,
    Edition,
    FollowUpEdition,
    FollowUpTrend,
    SeriesTrend,
    SessionResult,
    StageReport,
    TrainingFacts,
    TrainingReport,
)
from services.evaluation.tables import (
    AnswerRow,
    AttendeeRow,
    CampaignRow,
    InvitationRow,
    ResponseRow,
    TrainingRow,
    metadata,
)
from shared.db import Database
from shared.errors import NotFound
from shared.structs import carried

ANSWER = metadata.tables["answer"]


# --- tallies: what GROUP BY returns -------------------------------------------------


async def campaign_counts(
    session: AsyncSession, campaign_ids: Sequence[str]
) -> dict[str, figures.Counts]:
    """Invited and answered (from invitations) and stored responses, per campaign."""
    found = {cid: figures.Counts() for cid in campaign_ids}
    if not campaign_ids:
        return found
    answered = func.coalesce(func.sum(case((col(InvitationRow.answered), 1), else_=0)), 0)
    rows = await session.exec(
        select(InvitationRow.campaign_id, func.count(), answered)
        .where(col(InvitationRow.campaign_id).in_(campaign_ids))
        .group_by(InvitationRow.campaign_id)
    )
    for cid, invited, done in rows:
        found[cid].invited, found[cid].answered = int(invited), int(done)
    responses = await session.exec(
        select(ResponseRow.campaign_id, func.count())
        .where(col(ResponseRow.campaign_id).in_(campaign_ids))
        .group_by(ResponseRow.campaign_id)
    )
    for cid, n in responses:
        found[cid].responses = int(n)
    return found


TallyMap = dict[tuple[str, str], figures.Tally]


async def tallies(
    session: AsyncSession, campaign_ids: Sequence[str], questions: Iterable[Question]
) -> TallyMap:
    """(campaign, question) -> Tally, from one GROUP BY over the answers."""
    questions = list(questions)
    question_ids = sorted({q.id for q in questions})
    found: dict[tuple[str, str], figures.Tally] = {}
    if not campaign_ids or not question_ids:
        return found
    a = ANSWER.c
    grouped = (
        sa_select(a.campaign_id, a.question_id, a.part, a.value, func.count())
        .where(a.campaign_id.in_(campaign_ids))
        .where(a.question_id.in_(question_ids))
        .group_by(a.question_id, a.campaign_id, a.part, a.value)
    )
    for cid, qid, part, value, count in await SQLAlchemyAsyncSession.execute(session, grouped):
        tally = found.setdefault((cid, qid), figures.Tally())
        tally.counts[(part, value)] += int(count)
    return found


async def comment_texts(
    session: AsyncSession, campaign_id: str, question_ids: Sequence[str]
) -> dict[str, list[str]]:
    if not question_ids:
        return {}
    rows = await session.exec(
        select(AnswerRow.question_id, AnswerRow.text)
        .where(AnswerRow.campaign_id == campaign_id)
        .where(col(AnswerRow.question_id).in_(question_ids))
        .where(col(AnswerRow.text).is_not(None))
    )
    found: dict[str, list[str]] = {}
    for qid, text in rows:
        found.setdefault(qid, []).append(text or "")
    # Ordered by content alone: neither storage nor submission order may show through.
    return {qid: domain.comment_order(texts) for qid, texts in found.items()}


# --- from tallies to figures ---------------------------------------------------------


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def stage_report(
    session: AsyncSession, campaign: CampaignRow
) -> tuple[StageReport, tuple[Question, ...], dict[str, figures.Tally]]:
    questions = domain.decode_questions(campaign.questions)
    counts = (await campaign_counts(session, [campaign.id]))[campaign.id]
    withheld = not figures.reportable(counts.responses)
    found = await tallies(session, [campaign.id], questions)
    by_question = {qid: tally for (_, qid), tally in found.items()}
    results = [figures.result(q, by_question.get(q.id), withheld=withheld) for q in questions]
    comments: list[CommentGroup] = []
    if not withheld:
        texts = await comment_texts(
            session, campaign.id, [q.id for q in questions if q.kind == "text"]
        )
        comments = [
            CommentGroup(question_id=q.id, text=q.text, comments=texts[q.id])
            for q in questions
            if q.id in texts
        ]
    report = StageReport(
        campaign_id=campaign.id,
        stage=campaign.stage,
        status=campaign.status,
        opened_at=_iso(campaign.opened_at),
        closes_at=_iso(campaign.closes_at),
        questionnaire_version=campaign.bank_version,
        invited=counts.invited,
        answered=counts.answered,
        response_rate=figures.response_rate(counts.invited, counts.answered),
        withheld=withheld,
        questions=results,
        comments=comments,
    )
    return report, questions, by_question


async def attendance_per_day(session: AsyncSession, training: TrainingRow) -> list[DayAttendance]:
    """Attendees per day of the training; a check-in from before attendance was per day
    counts for the first day."""
    first = training.starts_on.isoformat()
    days = await session.exec(
        select(AttendeeRow.days)
        .where(AttendeeRow.training_id == training.id)
        .where(col(AttendeeRow.checked_in).is_(True))
    )
    counted = Counter(day for attended in days for day in (attended or [first]))
    return [DayAttendance(day=day, attended=counted[day]) for day in sorted(counted)]


def _not_opened() -> dict[str, Any]:
    """The figures of a training whose evaluation has not opened yet (new lists each time:
    a report is the caller's to change)."""
    return {
        "status": "not_opened",
        "questionnaire_version": None,
        "invited": 0,
        "answered": 0,
        "response_rate": 0.0,
        "withheld": True,
        "questions": [],
        "recommendation": None,
        "sessions": [],
        "learning": None,
        "comments": [],
    }


async def training_report(
    session: AsyncSession, training: TrainingRow, campaigns: Sequence[CampaignRow]
) -> TrainingReport:
    by_stage = {c.stage: c for c in campaigns}
    follow_up = None
    if FOLLOW_UP in by_stage:
        follow_up, _, _ = await stage_report(session, by_stage[FOLLOW_UP])
    attendance = await attendance_per_day(session, training)

    facts = msgspec.structs.asdict(
        carried(
            TrainingFacts,
            training,
            training_id=training.id,
            starts_on=training.starts_on.isoformat(),
            ends_on=training.ends_on.isoformat(),
        )
    )
    campaign = by_stage.get(EVALUATION)
    if campaign is None:
        return TrainingReport(**facts, **_not_opened(), follow_up=follow_up, attendance=attendance)
    stage, questions, by_question = await stage_report(session, campaign)
    sessions = [
        carried(SessionResult, r, title=q.about or q.text)
        for q, r in zip(questions, stage.questions, strict=True)
        if r.session_id is not None
    ]
    # The rest (status, counts, questions and comments) is the evaluation's stage report.
    return carried(
        TrainingReport,
        stage,
        **facts,
        follow_up=follow_up,
        attendance=attendance,
        recommendation=figures.recommendation_of(questions, by_question, stage.withheld),
        sessions=sessions,
        learning=figures.learning_of(questions, by_question, stage.withheld),
    )


# --- series trends ------------------------------------------------------------------


async def series_trend(db: Database, series: str, current_bank: domain.Bank) -> SeriesTrend | None:
    """Every edition of a series side by side.

    The GROUP BY queries of a whole series read every answer of it once; they
    run side by side on connections of their own, each over a share of the
    questions, so the trend takes about as long as the larger share.
    """
    async with db.session() as session:
        trainings = list(
            await session.exec(
                select(TrainingRow)
                .where(TrainingRow.series == series)
                .order_by(col(TrainingRow.starts_on), col(TrainingRow.id))
            )
        )
        if not trainings:
            return None
        by_id = {t.id: t for t in trainings}
        campaigns = list(
            await session.exec(
                select(CampaignRow).where(col(CampaignRow.training_id).in_(list(by_id)))
            )
        )
    order = {t.id: i for i, t in enumerate(trainings)}
    campaigns.sort(key=lambda c: order[c.training_id])
    evaluations = [c for c in campaigns if c.stage == EVALUATION]
    follow_ups = [c for c in campaigns if c.stage == FOLLOW_UP]
    core = figures.trend_questions(evaluations, current_bank.questions)
    # The pooled learning gain of each edition needs its self-assessment questions too.
    assessed = {
        c.id: [q for q in domain.decode_questions(c.questions) if q.kind == "self_assessment"]
        for c in evaluations
    }
    every = core + [q for qs in assessed.values() for q in qs]
    later = figures.trend_questions(follow_ups, current_bank.follow_up)

    async def counted() -> tuple[dict[str, figures.Counts], TallyMap]:
        async with db.session() as session:
            counts = await campaign_counts(session, [c.id for c in campaigns])
            return counts, await tallies(session, [c.id for c in follow_ups], later)

    async def tallied(questions: Sequence[Question]) -> TallyMap:
        async with db.session() as session:
            return await tallies(session, [c.id for c in evaluations], questions)

    # Two shares of the questions, one per connection: most of the work is the scan.
    (counts, found_later), first, second = await asyncio.gather(
        counted(), tallied(every[0::2]), tallied(every[1::2])
    )
    found = first | second
    withheld = {c.id: not figures.reportable(counts[c.id].responses) for c in campaigns}

    editions = []
    for campaign in evaluations:
        training = by_id[campaign.training_id]
        mine = {qid: t for (cid, qid), t in found.items() if cid == campaign.id}
        questions = domain.decode_questions(campaign.questions)
        score = figures.recommendation_of(questions, mine, withheld[campaign.id])
        learning = figures.learning_of(assessed[campaign.id], mine, withheld[campaign.id])
        c = counts[campaign.id]
        editions.append(
            # The title, city and host country are the training's; the counts the campaign's.
            carried(
                Edition,
                training,
                training_id=training.id,
                starts_on=training.starts_on.isoformat(),
                status=campaign.status,
                invited=c.invited,
                answered=c.answered,
                response_rate=figures.response_rate(c.invited, c.answered),
                withheld=withheld[campaign.id],
                recommendation_score=score.score if score else None,
                learning_gain=learning.gain if learning else None,
            )
        )
    return SeriesTrend(
        series=series,
        title=next((t.series_title for t in reversed(trainings) if t.series_title), None),
        editions=editions,
        questions=figures.trend(core, evaluations, found, withheld),
        follow_up=FollowUpTrend(
            editions=[
                FollowUpEdition(
                    training_id=c.training_id,
                    invited=counts[c.id].invited,
                    answered=counts[c.id].answered,
                    response_rate=figures.response_rate(
                        counts[c.id].invited, counts[c.id].answered
                    ),
                    withheld=withheld[c.id],
                )
                for c in follow_ups
            ],
            questions=figures.trend(later, follow_ups, found_later, withheld),
        ),
    )


# --- the readers the routes and pages use ------------------------------------------------


async def report_of(db: Database, training_id: str) -> TrainingReport:
    """A training's report; NotFound for a training evaluation does not know."""
    async with db.session() as session:
        training = await queries.training(session, training_id)
        campaigns = await queries.campaigns_of(session, training_id)
        return await training_report(session, training, campaigns)


async def trend_of(db: Database, series: str) -> SeriesTrend:
    """A series' trend against the current bank; NotFound for a series without trainings."""
    async with db.session() as session:
        bank, _ = await queries.current_bank(session)
    trend = await series_trend(db, series, bank)
    if trend is None:
        raise NotFound(f"no series {series}")
    return trend

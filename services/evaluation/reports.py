"""Reports per training and trends per series, aggregated by the database.

Every figure comes from GROUP BY queries: COUNT per (question, option or value),
from which n, mean, median, the recommendation score and the learning gain
follow exactly in a few lines of Python over at most a dozen rows per question.
No query returns individual responses, except the free-text comments of a
training whose report is not withheld (sorted, so their order says nothing).
Only released responses are in `response` and `answer` (see commands.release_pending),
and `answered` counts only released invitations, so every figure here moves in steps.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.evaluation import domain
from services.evaluation.domain import EVALUATION, FOLLOW_UP, Question
from services.evaluation.tables import (
    AnswerRow,
    CampaignRow,
    InvitationRow,
    ResponseRow,
    TrainingRow,
    metadata,
)
from shared.db import Database
from shared.spreadsheets import SpreadsheetWriter

# --- what the reports say ----------------------------------------------------------


class QuestionResult(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    text: str
    level: int
    n: int
    withheld: bool
    mean: float | None = None
    median: float | None = None
    distribution: dict[str, int] | None = None
    score: float | None = None
    before: float | None = None
    now: float | None = None
    gain: float | None = None
    session_id: str | None = None
    objective_id: str | None = None


class RecommendationOut(msgspec.Struct, kw_only=True):
    question_id: str
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float


class SessionResult(msgspec.Struct, kw_only=True):
    session_id: str
    title: str
    n: int
    withheld: bool
    mean: float | None
    median: float | None
    distribution: dict[str, int] | None


class ObjectiveResult(msgspec.Struct, kw_only=True):
    objective_id: str
    text: str
    n: int
    withheld: bool
    before: float | None
    now: float | None
    gain: float | None


class LearningOut(msgspec.Struct, kw_only=True):
    """Kirkpatrick level 2: the retrospective self-assessment, pooled and per objective."""

    n: int
    before: float | None
    now: float | None
    gain: float | None
    objectives: list[ObjectiveResult]


class CommentGroup(msgspec.Struct, kw_only=True):
    question_id: str
    text: str
    comments: list[str]


class StageReport(msgspec.Struct, kw_only=True):
    campaign_id: str
    stage: str
    status: str
    opened_at: str
    closes_at: str
    questionnaire_version: int
    invited: int
    answered: int
    response_rate: float
    withheld: bool
    questions: list[QuestionResult]
    comments: list[CommentGroup]


class TrainingReport(msgspec.Struct, kw_only=True):
    training_id: str
    title: str
    series: str
    host_country: str
    city: str
    starts_on: str
    ends_on: str
    status: str
    questionnaire_version: int | None
    invited: int
    answered: int
    response_rate: float
    withheld: bool
    questions: list[QuestionResult]
    recommendation: RecommendationOut | None
    sessions: list[SessionResult]
    learning: LearningOut | None
    comments: list[CommentGroup]
    follow_up: StageReport | None


class TrendPoint(msgspec.Struct, kw_only=True):
    training_id: str
    n: int
    withheld: bool
    mean: float | None = None
    median: float | None = None
    score: float | None = None
    distribution: dict[str, int] | None = None


class TrendQuestion(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    text: str
    level: int
    # A choice question's options: id -> text.
    options: dict[str, str]
    editions: list[TrendPoint]
    # Pooled over the editions that are themselves reported, so no total can be
    # differenced back into a withheld edition.
    series: TrendPoint


class FollowUpEdition(msgspec.Struct, kw_only=True):
    training_id: str
    invited: int
    answered: int
    response_rate: float
    withheld: bool


class Edition(msgspec.Struct, kw_only=True):
    training_id: str
    title: str
    city: str
    host_country: str
    starts_on: str
    status: str
    invited: int
    answered: int
    response_rate: float
    withheld: bool
    recommendation_score: float | None
    learning_gain: float | None


class FollowUpTrend(msgspec.Struct, kw_only=True):
    editions: list[FollowUpEdition]
    questions: list[TrendQuestion]


class SeriesTrend(msgspec.Struct, kw_only=True):
    series: str
    title: str | None
    editions: list[Edition]
    questions: list[TrendQuestion]
    follow_up: FollowUpTrend


ANSWER = metadata.tables["answer"]


# --- tallies: what GROUP BY returns -------------------------------------------------


@dataclass
class Tally:
    """Counts of one question in one campaign: (part, value) -> count."""

    counts: Counter[tuple[str, int | None]] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.counts.update(other.counts)

    def values(self, part: str = "") -> dict[int, int]:
        return {v: c for (p, v), c in self.counts.items() if p == part and v is not None}

    def options(self) -> dict[str, int]:
        chosen: Counter[str] = Counter()
        for (part, _), count in self.counts.items():
            if part:
                chosen[part] += count
        return dict(chosen)


@dataclass
class Counts:
    invited: int = 0
    answered: int = 0
    responses: int = 0


async def campaign_counts(session: AsyncSession, campaign_ids: Sequence[str]) -> dict[str, Counts]:
    """Invited and answered (from invitations) and stored responses, per campaign."""
    found = {cid: Counts() for cid in campaign_ids}
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


TallyMap = dict[tuple[str, str], Tally]


async def tallies(
    session: AsyncSession, campaign_ids: Sequence[str], questions: Iterable[Question]
) -> TallyMap:
    """(campaign, question) -> Tally, from one GROUP BY over the answers."""
    questions = list(questions)
    question_ids = sorted({q.id for q in questions})
    found: dict[tuple[str, str], Tally] = {}
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
        tally = found.setdefault((cid, qid), Tally())
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


def n_of(question: Question, tally: Tally) -> int:
    if question.kind == "multiple":
        # Its "" row counts the responses; the option rows count the choices.
        return sum(c for (part, _), c in tally.counts.items() if part == "")
    if question.kind == "self_assessment":
        return sum(tally.values("now").values())
    return sum(tally.counts.values())


def result(question: Question, tally: Tally | None, *, withheld: bool) -> QuestionResult:
    """One question's figures; only n when the group is too small to break down."""
    tally = tally or Tally()
    n = n_of(question, tally)
    out = QuestionResult(
        id=question.id,
        kind=question.kind,
        text=question.text,
        level=question.level,
        n=n,
        withheld=withheld or not domain.reportable(n),
        session_id=question.session_id,
        objective_id=question.objective_id,
    )
    if out.withheld:
        return out
    if question.kind in ("likert", "nps"):
        counts = tally.values()
        summary = domain.summarise(counts)
        out.mean, out.median = summary.mean, summary.median
        out.distribution = domain.full_scale(question, counts)
        if question.kind == "nps":
            score = domain.recommendation(counts)
            out.score = score.score if score else None
    elif question.kind == "self_assessment":
        gain = domain.learning_gain(tally.values("before"), tally.values("now"))
        if gain is not None:
            out.before, out.now, out.gain = gain.before, gain.now, gain.gain
    elif question.kind in domain.CHOICE_KINDS:
        chosen = tally.options()
        out.distribution = {o.id: int(chosen.get(o.id, 0)) for o in question.options}
    return out


def point(
    question: Question, training_id: str, tally: Tally | None, *, withheld: bool
) -> TrendPoint:
    figures = result(question, tally, withheld=withheld)
    return TrendPoint(
        training_id=training_id,
        n=figures.n,
        withheld=figures.withheld,
        mean=figures.mean,
        median=figures.median,
        score=figures.score,
        distribution=figures.distribution,
    )


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def stage_report(
    session: AsyncSession, campaign: CampaignRow
) -> tuple[StageReport, tuple[Question, ...], dict[str, Tally]]:
    questions = domain.decode_questions(campaign.questions)
    counts = (await campaign_counts(session, [campaign.id]))[campaign.id]
    withheld = not domain.reportable(counts.responses)
    found = await tallies(session, [campaign.id], questions)
    by_question = {qid: tally for (_, qid), tally in found.items()}
    results = [result(q, by_question.get(q.id), withheld=withheld) for q in questions]
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
        response_rate=domain.response_rate(counts.invited, counts.answered),
        withheld=withheld,
        questions=results,
        comments=comments,
    )
    return report, questions, by_question


def recommendation_of(
    questions: Sequence[Question], by_question: dict[str, Tally], withheld: bool
) -> RecommendationOut | None:
    nps = next((q for q in questions if q.kind == "nps" and q.is_core), None)
    tally = by_question.get(nps.id) if nps else None
    if nps is None or tally is None or withheld:
        return None
    score = domain.recommendation(tally.values())
    if score is None or not domain.reportable(score.n):
        return None
    return RecommendationOut(
        question_id=nps.id,
        n=score.n,
        promoters=score.promoters,
        passives=score.passives,
        detractors=score.detractors,
        score=score.score,
    )


def learning_of(
    questions: Sequence[Question], by_question: dict[str, Tally], withheld: bool
) -> LearningOut | None:
    assessed = [q for q in questions if q.kind == "self_assessment"]
    if not assessed:
        return None
    pooled = Tally()
    objectives = []
    for question in assessed:
        tally = by_question.get(question.id) or Tally()
        figures = result(question, tally, withheld=withheld)
        if not figures.withheld:
            pooled.add(tally)
        objectives.append(
            ObjectiveResult(
                objective_id=question.objective_id or question.id,
                text=question.text,
                n=figures.n,
                withheld=figures.withheld,
                before=figures.before,
                now=figures.now,
                gain=figures.gain,
            )
        )
    gain = domain.learning_gain(pooled.values("before"), pooled.values("now"))
    return LearningOut(
        n=max((o.n for o in objectives), default=0),
        before=gain.before if gain else None,
        now=gain.now if gain else None,
        gain=gain.gain if gain else None,
        objectives=objectives,
    )


async def training_report(
    session: AsyncSession, training: TrainingRow, campaigns: Sequence[CampaignRow]
) -> TrainingReport:
    by_stage = {c.stage: c for c in campaigns}
    follow_up = None
    if FOLLOW_UP in by_stage:
        follow_up, _, _ = await stage_report(session, by_stage[FOLLOW_UP])

    def report(**figures: Any) -> TrainingReport:
        return TrainingReport(
            training_id=training.id,
            title=training.title,
            series=training.series,
            host_country=training.host_country,
            city=training.city,
            starts_on=training.starts_on.isoformat(),
            ends_on=training.ends_on.isoformat(),
            follow_up=follow_up,
            **figures,
        )

    campaign = by_stage.get(EVALUATION)
    if campaign is None:
        return report(
            status="not_opened",
            questionnaire_version=None,
            invited=0,
            answered=0,
            response_rate=0.0,
            withheld=True,
            questions=[],
            recommendation=None,
            sessions=[],
            learning=None,
            comments=[],
        )
    stage, questions, by_question = await stage_report(session, campaign)
    sessions = [
        SessionResult(
            session_id=r.session_id,
            title=q.about or q.text,
            n=r.n,
            withheld=r.withheld,
            mean=r.mean,
            median=r.median,
            distribution=r.distribution,
        )
        for q, r in zip(questions, stage.questions, strict=True)
        if r.session_id is not None
    ]
    return report(
        status=stage.status,
        questionnaire_version=stage.questionnaire_version,
        invited=stage.invited,
        answered=stage.answered,
        response_rate=stage.response_rate,
        withheld=stage.withheld,
        questions=stage.questions,
        recommendation=recommendation_of(questions, by_question, stage.withheld),
        sessions=sessions,
        learning=learning_of(questions, by_question, stage.withheld),
        comments=stage.comments,
    )


# --- series trends ------------------------------------------------------------------


def trend_questions(
    campaigns: Sequence[CampaignRow], current: Sequence[Question]
) -> list[Question]:
    """The core questions asked in these campaigns, in the current bank's order first.

    Free text has no trend. A question keeps its id and kind across versions, so
    the newest wording stands for all of them.
    """
    seen: dict[str, Question] = {q.id: q for q in current if q.kind != "text"}
    asked: set[str] = set()
    for campaign in campaigns:
        for question in domain.decode_questions(campaign.questions):
            if question.is_core and question.kind != "text":
                asked.add(question.id)
                seen.setdefault(question.id, question)
    return [q for qid, q in seen.items() if qid in asked]


def trend(
    questions: Sequence[Question],
    campaigns: Sequence[CampaignRow],
    found: dict[tuple[str, str], Tally],
    withheld: dict[str, bool],
) -> list[TrendQuestion]:
    out = []
    for question in questions:
        pooled = Tally()
        points = []
        for campaign in campaigns:
            tally = found.get((campaign.id, question.id))
            figures = point(question, campaign.training_id, tally, withheld=withheld[campaign.id])
            if tally is not None and not figures.withheld:
                pooled.add(tally)
            points.append(figures)
        out.append(
            TrendQuestion(
                id=question.id,
                kind=question.kind,
                text=question.text,
                level=question.level,
                options={o.id: o.text for o in question.options},
                editions=points,
                series=point(question, "", pooled, withheld=False),
            )
        )
    return out


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
    core = trend_questions(evaluations, current_bank.questions)
    # The pooled learning gain of each edition needs its self-assessment questions too.
    assessed = {
        c.id: [q for q in domain.decode_questions(c.questions) if q.kind == "self_assessment"]
        for c in evaluations
    }
    every = core + [q for qs in assessed.values() for q in qs]
    later = trend_questions(follow_ups, current_bank.follow_up)

    async def counted() -> tuple[dict[str, Counts], TallyMap]:
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
    withheld = {c.id: not domain.reportable(counts[c.id].responses) for c in campaigns}

    editions = []
    for campaign in evaluations:
        training = by_id[campaign.training_id]
        mine = {qid: t for (cid, qid), t in found.items() if cid == campaign.id}
        questions = domain.decode_questions(campaign.questions)
        score = recommendation_of(questions, mine, withheld[campaign.id])
        learning = learning_of(assessed[campaign.id], mine, withheld[campaign.id])
        c = counts[campaign.id]
        editions.append(
            Edition(
                training_id=training.id,
                title=training.title,
                city=training.city,
                host_country=training.host_country,
                starts_on=training.starts_on.isoformat(),
                status=campaign.status,
                invited=c.invited,
                answered=c.answered,
                response_rate=domain.response_rate(c.invited, c.answered),
                withheld=withheld[campaign.id],
                recommendation_score=score.score if score else None,
                learning_gain=learning.gain if learning else None,
            )
        )
    return SeriesTrend(
        series=series,
        title=next((t.series_title for t in reversed(trainings) if t.series_title), None),
        editions=editions,
        questions=trend(core, evaluations, found, withheld),
        follow_up=FollowUpTrend(
            editions=[
                FollowUpEdition(
                    training_id=c.training_id,
                    invited=counts[c.id].invited,
                    answered=counts[c.id].answered,
                    response_rate=domain.response_rate(counts[c.id].invited, counts[c.id].answered),
                    withheld=withheld[c.id],
                )
                for c in follow_ups
            ],
            questions=trend(later, follow_ups, found_later, withheld),
        ),
    )


# --- CSV -----------------------------------------------------------------------------

CSV_COLUMNS = (
    "stage",
    "question_id",
    "kind",
    "level",
    "text",
    "n",
    "withheld",
    "mean",
    "median",
    "score",
    "before",
    "now",
    "gain",
    "distribution",
)


def report_csv(report: TrainingReport) -> str:
    """One row per question and stage, then the comments; figures as in the JSON report."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerow(CSV_COLUMNS)
    stages: list[tuple[str, int, int, float, list[QuestionResult], list[CommentGroup]]] = [
        (
            EVALUATION,
            report.invited,
            report.answered,
            report.response_rate,
            report.questions,
            report.comments,
        )
    ]
    if report.follow_up is not None:
        f = report.follow_up
        stages.append((FOLLOW_UP, f.invited, f.answered, f.response_rate, f.questions, f.comments))
    for stage, invited, answered, rate, questions, _ in stages:
        for name, value in (("invited", invited), ("answered", answered), ("response_rate", rate)):
            row: tuple[object, ...] = (stage, name, "count", "", "", value)
            writer.writerow([*row, *[""] * (len(CSV_COLUMNS) - len(row))])
        for q in questions:
            distribution = (
                " ".join(f"{k}={v}" for k, v in q.distribution.items()) if q.distribution else ""
            )
            row = (
                stage,
                q.id,
                q.kind,
                q.level,
                q.text,
                q.n,
                "yes" if q.withheld else "no",
                q.mean,
                q.median,
                q.score,
                q.before,
                q.now,
                q.gain,
                distribution,
            )
            writer.writerow(row)
    for stage, *_, comments in stages:
        for group in comments:
            for comment in group.comments:
                row = (stage, group.question_id, "comment", "", comment)
                writer.writerow([*row, *[""] * (len(CSV_COLUMNS) - len(row))])
    return buffer.getvalue()

"""Request and response bodies of the evaluation API (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from services.evaluation import domain
from services.evaluation.question_head import QuestionHead
from shared.inputs import LINE_PATTERN, Title
from shared.structs import carried

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
QuestionText = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=LINE_PATTERN)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=LINE_PATTERN)]


# --- input ---------------------------------------------------------------------


class AnswersIn(msgspec.Struct, forbid_unknown_fields=True):
    """`{question_id: value}`: a number, an option id, a list of option ids, a text, or
    `{"before": n, "now": n}` for a self-assessment."""

    answers: Annotated[dict[str, Any], msgspec.Meta(max_length=200)]


class OptionIn(msgspec.Struct, forbid_unknown_fields=True):
    id: Slug
    text: Title


class QuestionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: Slug
    kind: Literal["likert", "nps", "single", "multiple", "text"]
    text: QuestionText
    level: Annotated[int, msgspec.Meta(ge=1, le=4)]
    required: bool = False
    options: Annotated[list[OptionIn], msgspec.Meta(max_length=20)] = []
    low_label: Label | None = None
    high_label: Label | None = None

    def to_question(self) -> domain.Question:
        return domain.Question(
            id=self.id,
            kind=self.kind,
            text=self.text,
            level=self.level,
            required=self.required,
            options=tuple(domain.Option(o.id, o.text) for o in self.options),
            low_label=self.low_label,
            high_label=self.high_label,
        )


class BankIn(msgspec.Struct, forbid_unknown_fields=True):
    questions: Annotated[list[QuestionIn], msgspec.Meta(min_length=1, max_length=40)]
    follow_up: Annotated[list[QuestionIn], msgspec.Meta(max_length=20)] = []


class ObjectivesIn(msgspec.Struct, forbid_unknown_fields=True):
    objectives: Annotated[list[Title], msgspec.Meta(max_length=10)]


class ExtraQuestionsIn(msgspec.Struct, forbid_unknown_fields=True):
    questions: Annotated[list[QuestionIn], msgspec.Meta(max_length=10)]


# --- output --------------------------------------------------------------------


class OptionOut(msgspec.Struct):
    id: str
    text: str


class QuestionOut(QuestionHead, omit_defaults=True, kw_only=True):
    required: bool = False
    options: list[OptionOut] = []
    min: int | None = None
    max: int | None = None
    low_label: str | None = None
    high_label: str | None = None

    @classmethod
    def of(cls, question: domain.Question) -> QuestionOut:
        low, high = question.scale or (None, None)
        options = [OptionOut(o.id, o.text) for o in question.options]
        return carried(cls, question, options=options, min=low, max=high)


class Questionnaire(msgspec.Struct, kw_only=True):
    training_id: str
    training_title: str
    city: str
    stage: str
    questions: list[QuestionOut]
    draft: dict[str, Any] | None
    answered: bool
    status: str
    closes_at: str


class Saved(msgspec.Struct):
    saved: bool


class Submitted(msgspec.Struct):
    submitted: bool


class BankOut(msgspec.Struct, kw_only=True):
    version: int
    questions: list[QuestionOut]
    follow_up: list[QuestionOut]
    created_at: str | None = None
    created_by: str | None = None


class ObjectiveOut(msgspec.Struct):
    id: str
    text: str


class TrainingQuestions(msgspec.Struct, kw_only=True):
    """What a training's evaluation will ask (or asks, once it has opened)."""

    training_id: str
    fixed: bool
    objectives: list[ObjectiveOut]
    objectives_derived: bool
    extra_questions: list[QuestionOut]
    questionnaire: list[QuestionOut]


class Reminded(msgspec.Struct):
    reminded: int


class InvitationOut(msgspec.Struct, kw_only=True):
    stage: str
    name: str | None
    email: str | None
    answered: bool
    reminders_sent: int
    invited_at: str
    erased: bool


class Invitations(msgspec.Struct):
    items: list[InvitationOut]


# --- reports and trends ------------------------------------------------------------


class QuestionResult(QuestionHead, kw_only=True):
    n: int
    withheld: bool
    mean: float | None = None
    median: float | None = None
    distribution: dict[str, int] | None = None
    score: float | None = None
    before: float | None = None
    now: float | None = None
    gain: float | None = None


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


class DayAttendance(msgspec.Struct, kw_only=True):
    """How many attendees were checked in on one day of the training."""

    day: str
    attended: int


class TrainingFacts(msgspec.Struct, kw_only=True):
    """The training a report is about, as the report opens."""

    training_id: str
    title: str
    series: str
    host_country: str
    city: str
    starts_on: str
    ends_on: str


class TrainingReport(TrainingFacts, kw_only=True):
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
    # Attendance per day, as registration's check-in events told it.
    attendance: list[DayAttendance] = []


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

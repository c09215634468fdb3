"""Request and response bodies of the evaluation API (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from services.evaluation import domain
from shared.inputs import LINE_PATTERN, Title

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


class QuestionOut(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    kind: str
    text: str
    level: int
    required: bool = False
    options: list[OptionOut] = []
    min: int | None = None
    max: int | None = None
    low_label: str | None = None
    high_label: str | None = None
    session_id: str | None = None
    objective_id: str | None = None

    @classmethod
    def of(cls, question: domain.Question) -> QuestionOut:
        low, high = question.scale or (None, None)
        return cls(
            id=question.id,
            kind=question.kind,
            text=question.text,
            level=question.level,
            required=question.required,
            options=[OptionOut(o.id, o.text) for o in question.options],
            min=low,
            max=high,
            low_label=question.low_label,
            high_label=question.high_label,
            session_id=question.session_id,
            objective_id=question.objective_id,
        )


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

"""The rules of evaluation, free of HTTP and storage: questionnaires, answers and the figures."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from services.evaluation.question_head import QuestionHead
from shared.errors import Invalid
from shared.inputs import REFUSED_TEXT, is_text

# The two questionnaires about a training: right after it, and months later.
EVALUATION, FOLLOW_UP = "evaluation", "follow_up"
KINDS = ("likert", "nps", "single", "multiple", "text", "self_assessment")
# Kinds the secretariat may put in the bank; the others are made from the training.
BANK_KINDS = ("likert", "nps", "single", "multiple", "text")
EXTRA_KINDS = ("likert", "single", "multiple", "text")
SCALES: dict[str, tuple[int, int]] = {"likert": (1, 5), "nps": (0, 10), "self_assessment": (1, 5)}
CHOICE_KINDS = ("single", "multiple")
TEXT_MAX = 5000
# With fewer responses than this a report shows counts only, and a breakdown is withheld.
SMALL_GROUP = 3
# Sessions of these kinds teach something, so a training without objectives of its
# own gets one self-assessment per such session.
TEACHING_KINDS = ("lecture", "workshop", "case_study", "panel")
MAX_DERIVED_OBJECTIVES = 6
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ASSESSMENT_PARTS = ("before", "now")


class Option(msgspec.Struct, frozen=True):
    id: str
    text: str


# Frozen over a mutable base, which msgspec allows (a question as asked never changes;
# its results are filled in one by one) and mypy's dataclass rules do not know.
class Question(QuestionHead, frozen=True, kw_only=True, omit_defaults=True):  # type: ignore[misc]
    """One question as asked."""

    required: bool = False
    options: tuple[Option, ...] = ()
    low_label: str | None = None
    high_label: str | None = None
    # What a made-for-this-training question is about: the session's title.
    about: str | None = None

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    @property
    def is_core(self) -> bool:
        """Core bank questions have plain ids; made-for-this-training ones carry a prefix."""
        return ":" not in self.id


class Bank(msgspec.Struct, frozen=True, kw_only=True):
    """One version of the core bank: the questionnaire after the training and the follow-up."""

    version: int
    questions: tuple[Question, ...]
    follow_up: tuple[Question, ...]

    def same_questions(self, other: Bank) -> bool:
        return self.questions == other.questions and self.follow_up == other.follow_up


class Objective(msgspec.Struct, frozen=True):
    id: str
    text: str


@dataclass(frozen=True)
class Session:
    """A session as evaluation knows it, for its rating question."""

    id: str
    title: str
    kind: str
    starts_at: datetime
    status: str


class InvalidAnswer(Invalid):
    """An answer that does not fit its question; `question_id` names it, `reason` says why."""

    def __init__(self, question_id: str, reason: str) -> None:
        super().__init__(f"question {question_id!r} {reason}", field=f"answers.{question_id}")
        self.question_id = question_id
        self.reason = reason


class InvalidQuestions(Invalid):
    """A bank or per-training question list that breaks a rule; `field` names where."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason


# --- questionnaires ----------------------------------------------------------


def rated_sessions(sessions: Iterable[Session]) -> list[Session]:
    """Sessions that get a rating question: neither breaks nor cancelled, in time order."""
    live = [s for s in sessions if s.kind != "break" and s.status != "cancelled"]
    return sorted(live, key=lambda s: (s.starts_at, s.title))


def session_question(session: Session) -> Question:
    return Question(
        id=f"session:{session.id}",
        kind="likert",
        text=f"How useful was the session “{session.title}”?",
        level=1,
        low_label="Not useful",
        high_label="Very useful",
        session_id=session.id,
        about=session.title,
    )


def derived_objectives(sessions: Iterable[Session]) -> list[Objective]:
    """Objectives for a training that has none of its own: what its teaching sessions cover."""
    teaching = [s for s in rated_sessions(sessions) if s.kind in TEACHING_KINDS]
    return [Objective(id=s.id, text=s.title) for s in teaching[:MAX_DERIVED_OBJECTIVES]]


def objective_question(objective: Objective) -> Question:
    return Question(
        id=f"objective:{objective.id}",
        kind="self_assessment",
        text=objective.text,
        level=2,
        low_label="Not at all",
        high_label="Fully",
        objective_id=objective.id,
    )


def evaluation_questionnaire(
    bank: Bank,
    sessions: Iterable[Session],
    objectives: Sequence[Objective],
    extras: Sequence[Question],
) -> tuple[Question, ...]:
    """The questionnaire after one training: the core bank with this training's questions.

    Session ratings, the retrospective self-assessment (Kirkpatrick level 2) and
    the organisers' extra questions come before the core bank's free-text questions,
    so the form ends with the open comments.
    """
    made = [session_question(s) for s in rated_sessions(sessions)]
    made += [objective_question(o) for o in objectives or derived_objectives(sessions)]
    made += [msgspec.structs.replace(q, id=f"extra:{q.id}") for q in extras]
    closed = [q for q in bank.questions if q.kind != "text"]
    open_ = [q for q in bank.questions if q.kind == "text"]
    return (*closed, *made, *open_)


def decode_questions(raw: Any) -> tuple[Question, ...]:
    return msgspec.convert(raw, tuple[Question, ...])


def encode_questions(questions: Iterable[Question]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(q) for q in questions]


# --- answers -------------------------------------------------------------------


def _whole(question: Question, value: Any) -> int:
    low, high = question.scale or (0, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidAnswer(question.id, f"takes a whole number from {low} to {high}")
    return value


def _clean_one(question: Question, value: Any, *, complete: bool) -> Any:
    """The answer in its stored form, or None for "not answered"; InvalidAnswer if it is wrong."""
    kind = question.kind
    if kind in ("likert", "nps"):
        return _whole(question, value)
    if kind == "self_assessment":
        if not isinstance(value, dict) or set(value) - set(ASSESSMENT_PARTS):
            raise InvalidAnswer(
                question.id, 'takes {"before": n, "now": n}, each a whole number from 1 to 5'
            )
        parts = {part: value.get(part) for part in ASSESSMENT_PARTS}
        given = {part: v for part, v in parts.items() if v is not None}
        if not given:
            return None
        if complete and len(given) < len(ASSESSMENT_PARTS):
            missing = next(part for part in ASSESSMENT_PARTS if part not in given)
            raise InvalidAnswer(question.id, f"needs both ratings; {missing!r} is missing")
        return {part: _whole(question, v) for part, v in given.items()}
    option_ids = [o.id for o in question.options]
    if kind == "single":
        if not isinstance(value, str) or value not in option_ids:
            raise InvalidAnswer(question.id, f"takes one of {', '.join(option_ids)}")
        return value
    if kind == "multiple":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidAnswer(question.id, "takes a list of options")
        unknown = [v for v in value if v not in option_ids]
        if unknown:
            raise InvalidAnswer(
                question.id, f"has no option {unknown[0]!r}; options: {', '.join(option_ids)}"
            )
        chosen = [o for o in option_ids if o in value]
        return chosen or None
    if not isinstance(value, str):
        raise InvalidAnswer(question.id, "takes text")
    if len(value) > TEXT_MAX:
        raise InvalidAnswer(question.id, f"takes text up to {TEXT_MAX} characters")
    if not is_text(value):
        # PostgreSQL cannot store a NUL; the other control characters serve no answer.
        raise InvalidAnswer(question.id, REFUSED_TEXT)
    return value.strip() or None


def check_answers(
    questions: Sequence[Question], answers: Mapping[str, Any], *, complete: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check every answer against its question; the clean answers and every problem found.

    `complete` is a submission: every required question must be answered. A
    draft may be partial, but what it holds must still fit its questions.
    Problems are keyed by question id, in questionnaire order (unknown ids first).
    """
    known = {q.id for q in questions}
    problems = {
        question_id: "is not a question of this questionnaire"
        for question_id in answers
        if question_id not in known
    }
    clean: dict[str, Any] = {}
    for question in questions:
        raw = answers.get(question.id)
        try:
            value = None if raw is None else _clean_one(question, raw, complete=complete)
        except InvalidAnswer as exc:
            problems[question.id] = exc.reason
            continue
        if value is None:
            if complete and question.required:
                problems[question.id] = "needs an answer"
            continue
        clean[question.id] = value
    return clean, problems


def clean_answers(
    questions: Sequence[Question], answers: Mapping[str, Any], *, complete: bool
) -> dict[str, Any]:
    """The clean answers, or InvalidAnswer naming the first question that is wrong."""
    clean, problems = check_answers(questions, answers, complete=complete)
    for question_id, message in problems.items():
        raise InvalidAnswer(question_id, message)
    return clean


@dataclass(frozen=True)
class AnswerPart:
    """One stored answer row: a number, an option, or a text; never who gave it."""

    question_id: str
    part: str
    value: int | None = None
    text: str | None = None


def answer_parts(questions: Sequence[Question], clean: Mapping[str, Any]) -> list[AnswerPart]:
    """Clean answers in the shape the database aggregates: one row per number or option."""
    parts: list[AnswerPart] = []
    for question in questions:
        value = clean.get(question.id)
        if value is None:
            continue
        if question.kind in ("likert", "nps"):
            parts.append(AnswerPart(question.id, "", value=value))
        elif question.kind == "self_assessment":
            parts += [AnswerPart(question.id, p, value=v) for p, v in value.items()]
        elif question.kind == "single":
            parts.append(AnswerPart(question.id, value))
        elif question.kind == "multiple":
            # One row saying how many options were chosen, so n is a plain count too.
            parts.append(AnswerPart(question.id, "", value=len(value)))
            parts += [AnswerPart(question.id, option) for option in value]
        else:
            parts.append(AnswerPart(question.id, "", text=value))
    return parts


# --- release -------------------------------------------------------------------


# Responses are released into figures and the who-answered list only this many at a
# time, so that no two reads around one submission can tell one response apart: a
# reader who compares the figures before and after sees at least this many change.
RELEASE_STEP = 3


# A training that reached one of these stays there, whatever a late update says.
ENDED = ("completed", "cancelled")


def status_after(before: str | None, update: str, outcome: str | None) -> str:
    """A training's status once an update says `update`: completion and cancellation are
    final, and an outcome that arrived first (`outcome`) holds over any update."""
    if outcome is not None:
        return outcome
    if before is not None and before in ENDED:
        return before
    return update


def campaign_open(status: str, closes_at: datetime, now: datetime) -> bool:
    """A campaign takes answers and invitations while open and before its end."""
    return status == "open" and now < closes_at


def releasable(pending: int) -> bool:
    """Stepped release: pending responses go out together once there are enough of them."""
    return pending >= RELEASE_STEP


def comment_order(texts: Iterable[str]) -> list[str]:
    """Comments in an order that follows their content only, never their arrival.

    Sorted by code point in Python, so both databases give the same order whatever
    their collation, and equal texts are interchangeable.
    """
    return sorted(texts)


# --- the bank and per-training questions ------------------------------------------


def check_questions(
    questions: Sequence[Question],
    field: str,
    *,
    kinds: Sequence[str],
    history: Mapping[str, str],
    taken: set[str],
) -> None:
    """The rules every list of authored questions follows.

    `history` maps each id ever used to its kind: an id keeps its kind for ever,
    or its results would stop comparing across editions. `taken` collects ids
    so two lists of one version cannot share one.
    """
    for index, question in enumerate(questions):
        where = f"{field}[{index}]"
        if not SLUG.match(question.id):
            raise InvalidQuestions(
                f"{where}.id", "ids are lower-case letters, digits and _, starting with a letter"
            )
        if question.id in taken:
            raise InvalidQuestions(f"{where}.id", f"the id {question.id!r} is used twice")
        taken.add(question.id)
        if question.kind not in kinds:
            raise InvalidQuestions(f"{where}.kind", f"kind must be one of {', '.join(kinds)}")
        before = history.get(question.id)
        if before is not None and before != question.kind:
            raise InvalidQuestions(
                f"{where}.kind",
                f"question {question.id!r} was a {before} question; a new kind needs a new id",
            )
        if question.kind in CHOICE_KINDS:
            ids = [o.id for o in question.options]
            if not 2 <= len(ids) <= 20:
                raise InvalidQuestions(
                    f"{where}.options", "a choice question needs 2 to 20 options"
                )
            if len(set(ids)) != len(ids) or not all(SLUG.match(i) for i in ids):
                raise InvalidQuestions(
                    f"{where}.options", "option ids must be unique slugs (a-z, 0-9, _)"
                )
        elif question.options:
            raise InvalidQuestions(f"{where}.options", f"a {question.kind} question has no options")


def kinds_of(banks: Iterable[Bank]) -> dict[str, str]:
    """Every id ever used in the bank, with its kind."""
    seen: dict[str, str] = {}
    for bank in banks:
        for question in (*bank.questions, *bank.follow_up):
            seen.setdefault(question.id, question.kind)
    return seen

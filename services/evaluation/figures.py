"""The figures of a report, from counts alone: pure, so they are tested without a database.

Means, medians, the recommendation score, the learning gain and the small-group rule,
and how one question's tallies become its figures in a report or a series trend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.evaluation import domain
from services.evaluation.domain import SMALL_GROUP, Question
from services.evaluation.question_head import QuestionHead
from services.evaluation.schemas import (
    LearningOut,
    ObjectiveResult,
    QuestionResult,
    RecommendationOut,
    TrendPoint,
    TrendQuestion,
)
from shared.structs import carried


class Asked(Protocol):
    """A campaign as the trend sees it: its id, its training and the questions it asked."""

    @property
    def id(self) -> str: ...

    @property
    def training_id(self) -> str: ...

    @property
    def questions(self) -> Any: ...


def reportable(n: int) -> bool:
    """The small-group rule: fewer than SMALL_GROUP answers are never broken down."""
    return n >= SMALL_GROUP


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    median: float | None


def summarise(counts: Mapping[int, int]) -> Summary:
    """n, mean and median from a value -> count distribution (what GROUP BY value returns)."""
    n = sum(counts.values())
    if n == 0:
        return Summary(0, None, None)
    mean = sum(value * count for value, count in counts.items()) / n
    ordered = sorted(counts.items())

    def nth(position: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        raise IndexError(position)

    middle = n // 2
    median = float(nth(middle)) if n % 2 else (nth(middle - 1) + nth(middle)) / 2
    return Summary(n, round(mean, 2), median)


@dataclass(frozen=True)
class Recommendation:
    """The net promoter score of a 0-10 question: % of 9 or 10 minus % of 0 to 6."""

    n: int
    promoters: int
    passives: int
    detractors: int
    score: float


def recommendation(counts: Mapping[int, int]) -> Recommendation | None:
    n = sum(counts.values())
    if n == 0:
        return None
    promoters = sum(c for v, c in counts.items() if v >= 9)
    detractors = sum(c for v, c in counts.items() if v <= 6)
    score = round(100 * (promoters - detractors) / n, 1)
    return Recommendation(n, promoters, n - promoters - detractors, detractors, score)


@dataclass(frozen=True)
class Gain:
    """Learning gain: the mean "now" minus the mean "before the training"."""

    n: int
    before: float
    now: float
    gain: float


def learning_gain(before: Mapping[int, int], now: Mapping[int, int]) -> Gain | None:
    nb, nn = sum(before.values()), sum(now.values())
    if not nb or not nn:
        return None
    mean_before = sum(v * c for v, c in before.items()) / nb
    mean_now = sum(v * c for v, c in now.items()) / nn
    return Gain(
        min(nb, nn), round(mean_before, 2), round(mean_now, 2), round(mean_now - mean_before, 2)
    )


def full_scale(question: Question, counts: Mapping[int, int]) -> dict[str, int]:
    """A distribution with every point of the scale, zeros included, for charts and CSV."""
    low, high = question.scale or (0, -1)
    return {str(v): int(counts.get(v, 0)) for v in range(low, high + 1)}


def response_rate(invited: int, answered: int) -> float:
    return round(answered / invited, 4) if invited else 0.0


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


# What a result repeats of its question (the fields of QuestionHead), so it can be told which.
NAMED = QuestionHead.__struct_fields__


@dataclass
class Counts:
    invited: int = 0
    answered: int = 0
    responses: int = 0


def answer_count(question: Question, tally: Tally) -> int:
    if question.kind == "multiple":
        # Its "" row counts the responses; the option rows count the choices.
        return sum(c for (part, _), c in tally.counts.items() if part == "")
    if question.kind == "self_assessment":
        return sum(tally.values("now").values())
    return sum(tally.counts.values())


def result(question: Question, tally: Tally | None, *, withheld: bool) -> QuestionResult:
    """One question's figures; only n when the group is too small to break down."""
    tally = tally or Tally()
    n = answer_count(question, tally)
    out = QuestionResult(
        **{field: getattr(question, field) for field in NAMED},
        n=n,
        withheld=withheld or not reportable(n),
    )
    if out.withheld:
        return out
    if question.kind in ("likert", "nps"):
        counts = tally.values()
        summary = summarise(counts)
        out.mean, out.median = summary.mean, summary.median
        out.distribution = full_scale(question, counts)
        if question.kind == "nps":
            score = recommendation(counts)
            out.score = score.score if score else None
    elif question.kind == "self_assessment":
        gain = learning_gain(tally.values("before"), tally.values("now"))
        if gain is not None:
            out.before, out.now, out.gain = gain.before, gain.now, gain.gain
    elif question.kind in domain.CHOICE_KINDS:
        chosen = tally.options()
        out.distribution = {o.id: int(chosen.get(o.id, 0)) for o in question.options}
    return out


def point(
    question: Question, training_id: str, tally: Tally | None, *, withheld: bool
) -> TrendPoint:
    return carried(TrendPoint, result(question, tally, withheld=withheld), training_id=training_id)


def recommendation_of(
    questions: Sequence[Question], by_question: dict[str, Tally], withheld: bool
) -> RecommendationOut | None:
    nps = next((q for q in questions if q.kind == "nps" and q.is_core), None)
    tally = by_question.get(nps.id) if nps else None
    if nps is None or tally is None or withheld:
        return None
    score = recommendation(tally.values())
    if score is None or not reportable(score.n):
        return None
    return carried(RecommendationOut, score, question_id=nps.id)


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
        objective_id = question.objective_id or question.id
        objectives.append(carried(ObjectiveResult, figures, objective_id=objective_id))
    gain = learning_gain(pooled.values("before"), pooled.values("now"))
    return LearningOut(
        n=max((o.n for o in objectives), default=0),
        before=gain.before if gain else None,
        now=gain.now if gain else None,
        gain=gain.gain if gain else None,
        objectives=objectives,
    )


def trend_questions(campaigns: Sequence[Asked], current: Sequence[Question]) -> list[Question]:
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
    campaigns: Sequence[Asked],
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
        options = {o.id: o.text for o in question.options}
        series = point(question, "", pooled, withheld=False)
        out.append(
            carried(TrendQuestion, question, options=options, editions=points, series=series)
        )
    return out

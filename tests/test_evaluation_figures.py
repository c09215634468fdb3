"""The figures of a report on their own, from counts: no database, no server."""

from __future__ import annotations

from services.evaluation import figures
from services.evaluation.domain import Option, Question
from services.evaluation.figures import Tally


def tally(counts: dict[tuple[str, int | None], int]) -> Tally:
    found = Tally()
    found.counts.update(counts)
    return found


def test_mean_and_median_come_from_the_value_counts() -> None:
    odd = figures.summarise({2: 1, 4: 1, 5: 1})
    assert (odd.n, odd.mean, odd.median) == (3, 3.67, 4.0)
    even = figures.summarise({1: 1, 3: 2, 5: 1})
    assert (even.n, even.mean, even.median) == (4, 3.0, 3.0)
    split = figures.summarise({4: 2, 5: 2})
    assert split.median == 4.5
    assert figures.summarise({}) == figures.Summary(0, None, None)


def test_recommendation_score_is_promoters_minus_detractors_in_percent() -> None:
    score = figures.recommendation({10: 1, 9: 1, 8: 1, 3: 1})
    assert score is not None
    assert (score.promoters, score.passives, score.detractors) == (2, 1, 1)
    assert score.score == 25.0
    worst = figures.recommendation({0: 2, 6: 1})
    assert worst is not None and worst.score == -100.0


def test_learning_gain_is_mean_now_minus_mean_before() -> None:
    gain = figures.learning_gain({1: 1, 2: 2, 3: 1}, {4: 3, 3: 1})
    assert gain is not None
    assert (gain.before, gain.now, gain.gain) == (2.0, 3.75, 1.75)
    assert figures.learning_gain({}, {4: 1}) is None


NPS = Question(id="recommend", kind="nps", text="Recommend?", level=1)
LIKERT = Question(id="useful", kind="likert", text="Useful?", level=1)
CHOICE = Question(
    id="role",
    kind="multiple",
    text="Your role",
    level=1,
    options=(Option("police", "Police"), Option("ngo", "NGO")),
)
ASSESSED = Question(
    id="objective:o1", kind="self_assessment", text="Refer", level=2, objective_id="o1"
)


def test_fewer_than_three_answers_are_counted_but_not_broken_down() -> None:
    assert not figures.reportable(2) and figures.reportable(3)
    small = figures.result(LIKERT, tally({("", 4): 2}), withheld=False)
    assert (small.n, small.withheld, small.mean, small.distribution) == (2, True, None, None)
    enough = figures.result(LIKERT, tally({("", 4): 2, ("", 5): 1}), withheld=False)
    assert (enough.n, enough.withheld, enough.mean, enough.median) == (3, False, 4.33, 4.0)
    assert enough.distribution == {"1": 0, "2": 0, "3": 0, "4": 2, "5": 1}
    assert figures.result(LIKERT, tally({("", 4): 5}), withheld=True).withheld


def test_a_multiple_choice_counts_responses_not_choices() -> None:
    # The "" row counts the responses; the option rows count what they chose.
    counts = tally({("", 2): 2, ("", 1): 1, ("police", None): 3, ("ngo", None): 2})
    assert figures.answer_count(CHOICE, counts) == 3
    assert figures.result(CHOICE, counts, withheld=False).distribution == {"police": 3, "ngo": 2}


def test_a_self_assessment_counts_its_now_ratings_and_gives_the_gain() -> None:
    counts = tally({("before", 2): 3, ("now", 4): 3})
    assert figures.answer_count(ASSESSED, counts) == 3
    out = figures.result(ASSESSED, counts, withheld=False)
    assert (out.before, out.now, out.gain) == (2.0, 4.0, 2.0)
    learning = figures.learning_of([ASSESSED], {ASSESSED.id: counts}, withheld=False)
    assert learning is not None and learning.gain == 2.0 and learning.objectives[0].n == 3


def test_the_recommendation_needs_three_answers_to_the_core_question() -> None:
    few = {NPS.id: tally({("", 10): 2})}
    assert figures.recommendation_of([NPS], few, withheld=False) is None
    enough = {NPS.id: tally({("", 10): 2, ("", 3): 1})}
    score = figures.recommendation_of([NPS], enough, withheld=False)
    assert score is not None and (score.promoters, score.detractors, score.score) == (2, 1, 33.3)
    assert figures.recommendation_of([NPS], enough, withheld=True) is None


def test_the_response_rate_is_zero_without_invitations() -> None:
    assert figures.response_rate(0, 0) == 0.0
    assert figures.response_rate(3, 1) == 0.3333


class Campaign:
    def __init__(self, id: str, training_id: str, questions: list[Question]) -> None:
        self.id, self.training_id = id, training_id
        self.questions = [
            {"id": q.id, "kind": q.kind, "text": q.text, "level": q.level} for q in questions
        ]


def test_a_trend_pools_the_editions_that_are_not_withheld() -> None:
    first, second = Campaign("c1", "t1", [LIKERT]), Campaign("c2", "t2", [LIKERT])
    asked = figures.trend_questions([first, second], [LIKERT, NPS])
    assert [q.id for q in asked] == ["useful"]  # the NPS question was never asked
    found = {("c1", "useful"): tally({("", 5): 3}), ("c2", "useful"): tally({("", 1): 3})}
    (trend,) = figures.trend(asked, [first, second], found, {"c1": False, "c2": True})
    assert [p.withheld for p in trend.editions] == [False, True]
    assert (trend.series.n, trend.series.mean) == (3, 5.0)

"""The evaluation rules on their own: questionnaires, answers, release and charts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.evaluation import charts, domain
from services.evaluation.domain import InvalidAnswer, InvalidQuestions, Objective, Question, Session
from services.evaluation.questions import BANK_V1
from shared.errors import Invalid

DAY = datetime(2031, 5, 12, 9, tzinfo=UTC)


def session(title: str, kind: str, hour: int, status: str = "scheduled") -> Session:
    return Session(f"s-{title}", title, kind, DAY.replace(hour=hour), status)


def test_only_sessions_that_are_neither_breaks_nor_cancelled_are_rated() -> None:
    sessions = [
        session("Referral", "workshop", 11),
        session("Coffee", "break", 10),
        session("Identification", "lecture", 9),
        session("Dropped", "panel", 14, status="cancelled"),
        session("Photographs", "exhibition", 16),
    ]
    questions = domain.evaluation_questionnaire(BANK_V1, sessions, [], [])
    rated = [q.about for q in questions if q.session_id]
    assert rated == ["Identification", "Referral", "Photographs"]


def test_a_training_without_objectives_assesses_its_teaching_sessions() -> None:
    sessions = [session("Identification", "lecture", 9), session("Photographs", "exhibition", 16)]
    derived = domain.evaluation_questionnaire(BANK_V1, sessions, [], [])
    assert [q.text for q in derived if q.kind == "self_assessment"] == ["Identification"]
    own = domain.evaluation_questionnaire(
        BANK_V1, sessions, [Objective("o1", "Refer a presumed victim")], []
    )
    assert [q.id for q in own if q.kind == "self_assessment"] == ["objective:o1"]
    assert all(q.level == 2 for q in own if q.kind == "self_assessment")


def test_the_questionnaire_ends_with_the_open_comments() -> None:
    extra = Question(id="visa", kind="likert", text="Was the visa session clear?", level=1)
    questions = domain.evaluation_questionnaire(BANK_V1, [], [], [extra])
    assert questions[-1].kind == "text"
    assert "extra:visa" in [q.id for q in questions]
    assert {"overall", "recommend"} <= {q.id for q in questions if q.required}


def test_a_submission_needs_the_required_answers_a_draft_does_not() -> None:
    questions = BANK_V1.questions
    with pytest.raises(InvalidAnswer) as missing:
        domain.clean_answers(questions, {"overall": 4}, complete=True)
    assert missing.value.question_id == "recommend"
    assert domain.clean_answers(questions, {"overall": 4}, complete=False) == {"overall": 4}


@pytest.mark.parametrize(
    ("answers", "question_id"),
    [
        ({"overall": 6, "recommend": 9}, "overall"),
        ({"overall": True, "recommend": 9}, "overall"),
        ({"overall": 4, "recommend": 11}, "recommend"),
        ({"overall": 4, "recommend": "9"}, "recommend"),
        ({"overall": 4, "recommend": 9, "length": "far_too_long"}, "length"),
        ({"overall": 4, "recommend": 9, "intended_use": ["brief_colleagues", "x"]}, "intended_use"),
        ({"overall": 4, "recommend": 9, "comments": "x" * 5001}, "comments"),
        ({"overall": 4, "recommend": 9, "mood": 3}, "mood"),
    ],
)
def test_a_wrong_answer_names_its_question(answers: dict[str, object], question_id: str) -> None:
    with pytest.raises(InvalidAnswer) as wrong:
        domain.clean_answers(BANK_V1.questions, answers, complete=True)
    assert wrong.value.question_id == question_id


def test_a_self_assessment_takes_both_ratings_on_submission() -> None:
    question = domain.objective_question(Objective("o1", "Refer a presumed victim"))
    assert domain.clean_answers([question], {"objective:o1": {"before": 2}}, complete=False) == {
        "objective:o1": {"before": 2}
    }
    with pytest.raises(InvalidAnswer, match="'now' is missing"):
        domain.clean_answers([question], {"objective:o1": {"before": 2}}, complete=True)
    with pytest.raises(InvalidAnswer):
        domain.clean_answers([question], {"objective:o1": {"before": 2, "now": 9}}, complete=True)


def test_answers_are_stored_as_one_row_per_number_or_option_chosen() -> None:
    objective = domain.objective_question(Objective("o1", "Refer a presumed victim"))
    questions = (*BANK_V1.questions, objective)
    clean = domain.clean_answers(
        questions,
        {
            "overall": 5,
            "recommend": 9,
            "length": "about_right",
            "intended_use": ["handle_cases", "brief_colleagues"],
            "comments": "  Keep the case studies.  ",
            "objective:o1": {"before": 2, "now": 4},
        },
        complete=True,
    )
    parts = {
        (p.question_id, p.part, p.value, p.text) for p in domain.answer_parts(questions, clean)
    }
    assert parts == {
        ("overall", "", 5, None),
        ("recommend", "", 9, None),
        ("length", "about_right", None, None),
        ("intended_use", "", 2, None),
        ("intended_use", "brief_colleagues", None, None),
        ("intended_use", "handle_cases", None, None),
        ("comments", "", None, "Keep the case studies."),
        ("objective:o1", "before", 2, None),
        ("objective:o1", "now", 4, None),
    }


def test_a_bank_question_keeps_its_kind_for_ever() -> None:
    history = domain.kinds_of([BANK_V1])
    renamed = Question(id="overall", kind="likert", text="All in all, were you satisfied?", level=1)
    domain.check_questions(
        [renamed], "questions", kinds=domain.BANK_KINDS, history=history, taken=set()
    )
    changed = Question(id="overall", kind="nps", text="Satisfied, 0 to 10?", level=1)
    with pytest.raises(InvalidQuestions, match="new id") as wrong:
        domain.check_questions(
            [changed], "questions", kinds=domain.BANK_KINDS, history=history, taken=set()
        )
    assert wrong.value.field == "questions[0].kind"


def test_a_choice_question_needs_options_with_unique_ids() -> None:
    lonely = Question(
        id="venue", kind="single", text="Venue?", level=1, options=(domain.Option("ok", "OK"),)
    )
    with pytest.raises(InvalidQuestions, match="2 to 20 options"):
        domain.check_questions(
            [lonely], "questions", kinds=domain.BANK_KINDS, history={}, taken=set()
        )


def test_bars_start_at_zero_and_run_left_for_negative_scores() -> None:
    chart = charts.bar_chart(
        "score",
        [("Tallinn", 50.0, "+50", ""), ("Riga", -25.0, "-25", ""), ("Oslo", None, "withheld", "")],
        -100,
        100,
    )
    tallinn, riga, oslo = chart.bars
    middle = charts.LEFT + charts.WIDTH / 2
    assert tallinn.x == middle and tallinn.width == charts.WIDTH / 4
    assert riga.x == middle - charts.WIDTH / 8 and riga.width == charts.WIDTH / 8
    assert oslo.x is None and oslo.display == "withheld"


def test_responses_are_released_three_at_a_time_at_least() -> None:
    assert [domain.releasable(n) for n in range(5)] == [False, False, False, True, True]


def test_comments_are_ordered_by_their_text_whatever_order_they_came_in() -> None:
    arrived = ["Zebra", "apple", "Apple", "Äpfel", "Zebra"]
    assert domain.comment_order(arrived) == ["Apple", "Zebra", "Zebra", "apple", "Äpfel"]
    assert domain.comment_order(reversed(arrived)) == domain.comment_order(arrived)


def test_a_wrong_answer_is_invalid_and_names_its_field() -> None:
    with pytest.raises(Invalid) as wrong:
        domain.clean_answers(BANK_V1.questions, {"recommend": 11}, complete=False)
    assert isinstance(wrong.value, InvalidAnswer)
    assert wrong.value.field == "answers.recommend"
    assert wrong.value.message.startswith("question 'recommend' takes a whole number")


def test_a_broken_question_list_is_invalid_and_names_its_field() -> None:
    bad = Question(id="Bad Id", kind="likert", text="Useful?", level=1)
    with pytest.raises(Invalid) as wrong:
        domain.check_questions([bad], "questions", kinds=domain.BANK_KINDS, history={}, taken=set())
    assert isinstance(wrong.value, InvalidQuestions)
    assert wrong.value.field == "questions[0].id"
    assert wrong.value.message.startswith("questions[0].id: ids are lower-case")


def test_a_campaign_takes_answers_while_open_and_before_its_end() -> None:
    assert domain.campaign_open("open", DAY, DAY.replace(hour=8))
    assert not domain.campaign_open("open", DAY, DAY)
    assert not domain.campaign_open("closed", DAY, DAY.replace(hour=8))


@pytest.mark.parametrize(
    ("before", "update", "outcome", "after"),
    [
        (None, "published", None, "published"),
        ("published", "draft", None, "draft"),
        ("completed", "published", None, "completed"),  # final, whatever a late update says
        ("cancelled", "published", None, "cancelled"),
        (None, "published", "completed", "completed"),  # the outcome came first
        ("published", "published", "cancelled", "cancelled"),
    ],
)
def test_a_training_that_ended_stays_ended(
    before: str | None, update: str, outcome: str | None, after: str
) -> None:
    assert domain.status_after(before, update, outcome) == after

"""The core question bank, version 1: the same questions in every edition, so results compare.

Version 1 lives here and must never change: campaigns that used it keep reading it.
The secretariat's edits (PUT /questions) are stored as versions 2, 3, ... in the
database. Every question carries its Kirkpatrick level: 1 reaction, 2 learning,
3 behaviour, 4 results.
"""

from __future__ import annotations

from services.evaluation.domain import Bank, Option, Question

CORE_V1: tuple[Question, ...] = (
    Question(
        id="overall",
        kind="likert",
        text="Overall, how satisfied are you with the training?",
        level=1,
        required=True,
        low_label="Very dissatisfied",
        high_label="Very satisfied",
    ),
    Question(
        id="relevance",
        kind="likert",
        text="How relevant was the training to your daily work?",
        level=1,
        low_label="Not relevant",
        high_label="Very relevant",
    ),
    Question(
        id="organisation",
        kind="likert",
        text="How well was the training organised (venue, timing, materials)?",
        level=1,
        low_label="Poorly",
        high_label="Very well",
    ),
    Question(
        id="recommend",
        kind="nps",
        text="How likely are you to recommend this training to a colleague?",
        level=1,
        required=True,
        low_label="Not at all likely",
        high_label="Extremely likely",
    ),
    Question(
        id="length",
        kind="single",
        text="The length of the training was",
        level=1,
        options=(
            Option("too_short", "Too short"),
            Option("about_right", "About right"),
            Option("too_long", "Too long"),
        ),
    ),
    Question(
        id="confidence",
        kind="likert",
        text="How confident do you feel applying what you learned in your work?",
        level=2,
        low_label="Not confident",
        high_label="Very confident",
    ),
    Question(
        id="intended_use",
        kind="multiple",
        text="How do you intend to use what you learned? (choose any)",
        level=3,
        options=(
            Option("brief_colleagues", "Brief my colleagues"),
            Option("update_procedures", "Update our procedures"),
            Option("contact_partners", "Contact partners I met here"),
            Option("handle_cases", "Handle cases differently"),
            Option("not_sure", "Not sure yet"),
        ),
    ),
    Question(
        id="comments",
        kind="text",
        text="What should we keep or change?",
        level=1,
    ),
)

FOLLOW_UP_V1: tuple[Question, ...] = (
    Question(
        id="applied",
        kind="single",
        text="Since the training, have you applied what you learned in your work?",
        level=3,
        required=True,
        options=(
            Option("often", "Yes, often"),
            Option("sometimes", "Yes, sometimes"),
            Option("not_yet", "Not yet"),
            Option("no_occasion", "No, there was no occasion"),
        ),
    ),
    Question(
        id="applied_how",
        kind="multiple",
        text="How have you applied it? (choose any)",
        level=3,
        options=(
            Option("identified_case", "Recognised a possible case"),
            Option("referred_case", "Referred someone to help"),
            Option("briefed_colleagues", "Briefed or trained colleagues"),
            Option("changed_procedure", "Changed a procedure"),
            Option("cooperated", "Worked with a contact from the training"),
        ),
    ),
    Question(
        id="usefulness_now",
        kind="likert",
        text="Looking back, how useful has the training been for your work?",
        level=3,
        low_label="Not useful",
        high_label="Very useful",
    ),
    Question(
        id="difference",
        kind="text",
        text="Has it made a difference for your mission or the people you serve? How?",
        level=4,
    ),
    Question(
        id="barriers",
        kind="text",
        text="What, if anything, has kept you from applying it?",
        level=3,
    ),
)

BANK_V1 = Bank(version=1, questions=CORE_V1, follow_up=FOLLOW_UP_V1)

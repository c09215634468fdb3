"""The question editors' forms read into the API's bodies, so both are checked by the same rules.

A list of questions is a group of fields per question, named `{list}-{n}-{field}`
(`questions-2-text`); `{list}-new-...` adds one. Each question has a position (the
order) and a remove box. Options are one per line, `id: text`, so that an option
keeps its id (and its results compare) when its text changes; a line without an id
gets one made from its text. `form_field` names the form field a refusal is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from services.evaluation import domain
from services.evaluation.schemas import BankIn, ExtraQuestionsIn, ObjectivesIn, QuestionOut
from shared.errors import Invalid

T = TypeVar("T")
# More question groups than any list may hold are not read at all.
MOST_GROUPS = 60
_OPTION = re.compile(r"^([a-z][a-z0-9_]{0,39})\s*:\s*(.*)$")
_AT = re.compile(r"\$\.(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")
_PLACE = re.compile(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")


@dataclass(frozen=True)
class Draft:
    """One question as its editor shows it: the fields of its group."""

    key: str
    id: str
    kind: str
    text: str
    level: str
    required: bool
    options: str
    low_label: str
    high_label: str
    position: int
    new: bool = False
    # Where the group was on the form.
    order: int = 0

    def field(self, name: str) -> str:
        return f"{self.key}-{name}"


def drafts_of(section: str, questions: Iterable[QuestionOut]) -> list[Draft]:
    """The groups of a list of questions, and an empty one to add a question."""
    drafts = [
        Draft(
            key=f"{section}-{index}",
            id=q.id,
            kind=q.kind,
            text=q.text,
            level=str(q.level),
            required=q.required,
            options="\n".join(f"{o.id}: {o.text}" for o in q.options),
            low_label=q.low_label or "",
            high_label=q.high_label or "",
            position=index + 1,
        )
        for index, q in enumerate(questions)
    ]
    return [*drafts, blank(section, len(drafts) + 1)]


def blank(section: str, position: int) -> Draft:
    return Draft(f"{section}-new", "", "likert", "", "1", False, "", "", "", position, new=True)


def slug_of(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40].strip("_")
    if not slug or not slug[0].isalpha():
        slug = (fallback + "_" + slug).strip("_")[:40]
    return slug


def options_of(lines: str) -> list[dict[str, str]]:
    options = []
    for line in (line.strip() for line in lines.splitlines()):
        if not line:
            continue
        found = _OPTION.match(line)
        if found:
            options.append({"id": found.group(1), "text": found.group(2).strip()})
        else:
            options.append({"id": slug_of(line, f"option_{len(options) + 1}"), "text": line})
    return options


def _position(raw: str, fallback: int) -> int:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) < 6 else fallback


def read_drafts(form: Mapping[str, str], section: str) -> list[Draft]:
    """The groups the form sent, kept or new, in their chosen order; removed ones left out."""
    keys = [f"{section}-{n}" for n in range(MOST_GROUPS) if f"{section}-{n}-text" in form]
    found = []
    for order, key in enumerate([*keys, f"{section}-new"]):
        new = key.endswith("-new")
        text = form.get(f"{key}-text", "").strip()
        if form.get(f"{key}-remove") == "on" or (new and not text):
            continue
        found.append(
            Draft(
                key=key,
                id=form.get(f"{key}-id", "").strip() or slug_of(text, "question"),
                kind=form.get(f"{key}-kind", "").strip(),
                text=text,
                level=form.get(f"{key}-level", "1").strip() or "1",
                required=form.get(f"{key}-required") == "on",
                options=form.get(f"{key}-options", "").replace("\r\n", "\n"),
                low_label=form.get(f"{key}-low_label", "").strip(),
                high_label=form.get(f"{key}-high_label", "").strip(),
                position=_position(form.get(f"{key}-position", ""), order + 1),
                new=new,
                order=order,
            )
        )
    # At one number, a question moved there goes before the one that was there already.
    return sorted(found, key=lambda d: (d.position, d.position == d.order + 1, d.order))


def question_body(draft: Draft) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": draft.id,
        "kind": draft.kind,
        "text": draft.text,
        "level": draft.level,
        "required": draft.required,
    }
    if draft.kind in domain.CHOICE_KINDS:
        body["options"] = options_of(draft.options)
    if draft.kind in domain.SCALES:
        labels = {"low_label": draft.low_label, "high_label": draft.high_label}
        body |= {name: label for name, label in labels.items() if label}
    return body


def form_field(place: str, groups: Mapping[str, list[Draft]]) -> str:
    """The form field a body's place (`questions[2].options[1].id`) stands for."""
    found = _PLACE.match(place)
    if not found:
        return "form"
    section, index, name = found.groups()
    drafts = groups.get(section)
    if drafts is None or index is None:
        return section
    if int(index) >= len(drafts):
        return "form"
    return drafts[int(index)].field(name or "text")


def convert(data: dict[str, Any], kind: type[T]) -> T:
    """The API's body from the form's values; Invalid naming the place in the body
    (`questions[2].text`, as the domain's refusals do) otherwise."""
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as error:
        message, _, at = str(error).partition(" - at ")
        found = _AT.search(at)
        place = "".join(
            part
            for part in (
                found.group(1) if found else "form",
                f"[{found.group(2)}]" if found and found.group(2) else "",
                f".{found.group(3)}" if found and found.group(3) else "",
            )
        )
        raise Invalid(message, field=place) from None


def bank_in(form: Mapping[str, str]) -> tuple[BankIn, dict[str, list[Draft]]]:
    groups = {section: read_drafts(form, section) for section in ("questions", "follow_up")}
    data = {s: [question_body(d) for d in drafts] for s, drafts in groups.items()}
    return convert(data, BankIn), groups


def extra_questions_in(form: Mapping[str, str]) -> tuple[ExtraQuestionsIn, dict[str, list[Draft]]]:
    groups = {"questions": read_drafts(form, "questions")}
    data = {"questions": [question_body(d) for d in groups["questions"]]}
    return convert(data, ExtraQuestionsIn), groups


def objectives_in(form: Mapping[str, str]) -> ObjectivesIn:
    lines = [line.strip() for line in form.get("objectives", "").splitlines()]
    data = {"objectives": [line for line in lines if line]}
    return convert(data, ObjectivesIn)

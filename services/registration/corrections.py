"""The participant's corrections to their own details: which values are accepted, each
refusal naming its field. Pure: no framework, no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.errors import Invalid
from shared.inputs import REFUSED_LINE, REFUSED_TEXT, is_line, is_text

NAME_LIMIT = 200
NEED_LIMIT = 5000


@dataclass(frozen=True)
class Details:
    """What the participant may correct on their registration."""

    name: str
    organisation: str
    position: str | None
    needs: Mapping[str, str] | None
    language: str


def _line(value: str, field_name: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field_name} must not be blank", field=field_name)
    if len(value) > NAME_LIMIT:
        raise Invalid(f"{field_name} must be at most {NAME_LIMIT} characters", field=field_name)
    if not is_line(value):
        raise Invalid(f"{field_name} {REFUSED_LINE}", field=field_name)
    return value


def corrected(current: Details, changes: Mapping[str, object], languages: Sequence[str]) -> Details:
    """The details after the participant's corrections (`changes` holds only what they
    change; an empty position or need clears it); Invalid names the first bad field."""
    name = current.name
    organisation = current.organisation
    position = current.position
    needs = dict(current.needs or {})
    language = current.language
    if "name" in changes:
        name = _line(str(changes["name"]), "name", required=True)
    if "organisation" in changes:
        organisation = _line(str(changes["organisation"]), "organisation", required=True)
    if "position" in changes:
        position = _line(str(changes["position"] or ""), "position", required=False) or None
    if "needs" in changes:
        given = changes["needs"] or {}
        if not isinstance(given, Mapping) or set(given) - {"access", "diet"}:
            raise Invalid("needs may hold only access and diet", field="needs")
        for key, text in given.items():
            text = str(text or "").replace("\r\n", "\n").strip()
            if len(text) > NEED_LIMIT:
                raise Invalid(
                    f"needs.{key} must be at most {NEED_LIMIT} characters", field=f"needs.{key}"
                )
            if not is_text(text):
                raise Invalid(f"needs.{key} {REFUSED_TEXT}", field=f"needs.{key}")
            needs[key] = text
    if "language" in changes:
        language = str(changes["language"] or "")
        if language not in languages:
            raise Invalid(f"language must be one of {', '.join(languages)}", field="language")
    kept = {key: text for key, text in needs.items() if text}
    return Details(name, organisation, position, kept or None, language)

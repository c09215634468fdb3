"""The organisers' forms read into the API's bodies, so both are checked by the same rules.

An empty field is an unsent one; a refusal names the field it is about (`FormError`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from services.scheduling.schemas import SessionIn, SessionPatch, TrainingIn, TrainingPatch
from shared.errors import Invalid

T = TypeVar("T")
TRAINING_FIELDS = tuple(TrainingIn.__struct_fields__)
SPEAKER_SLOTS = 3
_AT = re.compile(r"at `\$\.([a-z_]+)")


def _field_of(error: msgspec.ValidationError) -> str | None:
    match = _AT.search(str(error))
    return match.group(1) if match else None


def _convert(data: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as error:
        message = str(error).split(" - at ")[0]
        name = _field_of(error) or "form"
        raise Invalid(f"{name}: {message}", field=name) from None


def _filled(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: form[n].strip() for n in names if form.get(n, "").strip()}


def training_values(form: Mapping[str, str]) -> dict[str, Any]:
    values = _filled(form, TRAINING_FIELDS)
    for name in ("moderated", "by_nomination"):
        values[name] = form.get(name) == "on"
    for name in ("registration_opens_at", "registration_closes_at", "nominations_close_at"):
        if name in values and len(values[name]) == 16:
            values[name] += ":00"  # a datetime-local input sends no seconds
    if "host_country" in values:
        values["host_country"] = values["host_country"].upper()
    return values


def new_training(form: Mapping[str, str]) -> TrainingIn:
    return _convert(training_values(form), TrainingIn)


def training_patch(form: Mapping[str, str]) -> TrainingPatch:
    values = training_values(form)
    for name in ("series", "host_country"):
        values.pop(name, None)
    for name in (
        "registration_opens_at",
        "registration_closes_at",
        "nominations_close_at",
        "description",
    ):
        values.setdefault(name, None)
    values["shift_sessions"] = form.get("shift_sessions") == "on"
    return _convert(values, TrainingPatch)


def _speakers(form: Mapping[str, str]) -> list[dict[str, str]]:
    found = []
    for n in range(1, SPEAKER_SLOTS + 1):
        name = form.get(f"speaker_{n}", "").strip()
        if name:
            organisation = form.get(f"organisation_{n}", "").strip()
            found.append({"name": name, **({"organisation": organisation} if organisation else {})})
    return found


def _session_values(form: Mapping[str, str]) -> dict[str, Any]:
    day = form.get("day", "").strip()
    values: dict[str, Any] = _filled(form, ("title", "kind", "room", "description"))
    for part, name in (("start", "starts_at"), ("end", "ends_at")):
        clock = form.get(part, "").strip()
        if not day or not clock:
            raise Invalid(f"{name}: give the day and the time", field=name)
        values[name] = f"{day}T{clock}" + (":00" if len(clock) == 5 else "")
    values.setdefault("room", None)
    values.setdefault("description", None)
    values["speakers"] = _speakers(form)
    return values


def new_session(form: Mapping[str, str]) -> SessionIn:
    return _convert(_session_values(form), SessionIn)


def session_patch(form: Mapping[str, str]) -> SessionPatch:
    return _convert(_session_values(form), SessionPatch)

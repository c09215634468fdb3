"""JSON Schema of every event, generated from the contracts into docs/events/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from shared.events import REGISTRY, Envelope

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "events"


def event_schema(subject: str) -> dict[str, Any]:
    payload = REGISTRY[subject]
    _, components = msgspec.json.schema_components([Envelope], ref_template="#/$defs/{name}")
    (data,), payload_components = msgspec.json.schema_components(
        [payload], ref_template="#/$defs/{name}"
    )
    envelope_schema = components["Envelope"]
    properties = dict(envelope_schema["properties"])
    properties["type"] = {"const": subject}
    properties["version"] = {"const": payload.version}
    properties["producer"] = {"const": subject.split(".", 1)[0]}
    properties["data"] = data
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": subject,
        "type": "object",
        "properties": properties,
        "required": envelope_schema["required"],
        "$defs": payload_components,
    }


def rendered() -> dict[str, str]:
    """File name to file text, for every registered event."""
    return {
        f"{subject}.json": json.dumps(event_schema(subject), indent=2, sort_keys=True) + "\n"
        for subject in sorted(REGISTRY)
    }


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path, file=sys.stdout)

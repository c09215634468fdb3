"""Event contracts: one envelope for every event, and a payload Struct per event type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, TypeVar, cast

import msgspec

from shared.clock import clock


class Payload(msgspec.Struct, kw_only=True):
    """Base of every event's `data`: the aggregate's id and its revision.

    Subclasses set `subject` (the event type) and `version` (its schema version).
    New fields always get defaults, and no field ever changes its type.
    """

    subject: ClassVar[str]
    version: ClassVar[int] = 1

    id: str
    revision: int


class Envelope(msgspec.Struct, kw_only=True):
    """What travels on the bus; `data` stays raw until the type is known."""

    event_id: str
    # The NATS subject, which is the event type by design; "type" on the wire and in
    # docs/events, so the format other readers rely on stays as it is.
    subject: str = msgspec.field(name="type")
    occurred_at: datetime
    producer: str
    correlation_id: str
    version: int
    data: msgspec.Raw


P = TypeVar("P", bound=Payload)


def by_status(
    base: type[P], aggregate: str, statuses: tuple[str, ...], module: str
) -> dict[str, type[P]]:
    """One event per status an aggregate moves to, each `base` under the subject
    `<aggregate>.<status>` and named after both: "registration.letter" and "approved" give
    `LetterApproved`. A family of events that differ in subject alone is data, not code."""
    noun = aggregate.split(".")[1].title()
    return {
        # A subclass of `base`, which defstruct's typing cannot say.
        status: cast(
            "type[P]",
            msgspec.defstruct(
                noun + status.title(),
                (),
                bases=(base,),
                module=module,
                namespace={"subject": f"{aggregate}.{status}"},
                kw_only=True,
            ),
        )
        for status in statuses
    }


REGISTRY: dict[str, type[Payload]] = {}


def register(*payloads: type[Payload]) -> None:
    """Make each payload's subject known to consumers and to `producers()`."""
    for payload in payloads:
        REGISTRY[payload.subject] = payload


def producers() -> tuple[str, ...]:
    """Every service that publishes events, from the subjects of the registered contracts."""
    return tuple(sorted({subject.split(".", 1)[0] for subject in REGISTRY}))


def envelope_for(payload: Payload, correlation_id: str) -> Envelope:
    subject = type(payload).subject
    return Envelope(
        event_id=str(uuid.uuid4()),
        subject=subject,
        occurred_at=clock.now(),
        producer=subject.split(".", 1)[0],
        correlation_id=correlation_id,
        version=type(payload).version,
        data=msgspec.Raw(msgspec.json.encode(payload)),
    )


def encode(envelope: Envelope) -> bytes:
    return msgspec.json.encode(envelope)


_envelope_decoder = msgspec.json.Decoder(Envelope)


def decode_envelope(raw: bytes) -> Envelope:
    return _envelope_decoder.decode(raw)


def decode_payload(envelope: Envelope, payload_type: type[Any]) -> Any:
    return msgspec.json.decode(envelope.data, type=payload_type)


from shared.events import contracts as contracts  # noqa: E402  (registers every contract)

"""The mails of registration, received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.events import contracts as ev
from tests.registration_support import (
    SmtpSink,
    open_training,
    person,
    publish,
    register,
    smtp_sink,
    staff,
)
from tests.support import System, eventually, running_system


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
async def system(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[System]:
    async with running_system(tmp_path, services=("registration",), SMTP_URL=sink.url) as running:
        yield running


async def _mails(sink: SmtpSink, address: str, count: int) -> list[tuple[str, str]]:
    async def arrived() -> list[tuple[str, str]]:
        found = sink.to(address)
        assert len(found) >= count, found
        return found

    return await eventually(arrived)


async def test_each_change_of_a_registration_is_mailed_through_smtp(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration, capacity=1)
    seated = await register(system.registration, training.id, person(1))
    waiting = await register(system.registration, training.id, person(2))

    ((subject, text),) = await _mails(sink, "participant1@example.org", 1)
    assert subject.startswith("Registration confirmed: ")
    assert seated["manage_url"] in text and seated["calendar_url"] in text
    ((subject, text),) = await _mails(sink, "participant2@example.org", 1)
    assert subject.startswith("On the waiting list: ")
    assert "number 1 on the waiting list" in text and waiting["manage_url"] in text

    cancelled = await system.registration.post(
        f"/registrations/{seated['id']}/cancel", headers={"X-Manage-Token": seated["manage_token"]}
    )
    assert cancelled.status_code == 200
    mails = await _mails(sink, "participant1@example.org", 2)
    assert mails[1][0].startswith("Registration cancelled: ")
    mails = await _mails(sink, "participant2@example.org", 2)
    assert mails[1][0].startswith("A seat is yours: ")
    assert waiting["calendar_url"] in mails[1][1] and waiting["manage_url"] in mails[1][1]

    await publish(system.nats.url, ev.TrainingCancelled(id=training.id, revision=2, reason="Fog"))
    mails = await _mails(sink, "participant2@example.org", 3)
    assert mails[2][0].startswith("Training cancelled: ")
    assert "Fog" in mails[2][1]


async def test_pending_and_declined_registrations_are_mailed(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration, moderated=True)
    pending = await register(system.registration, training.id, person(3))
    ((subject, text),) = await _mails(sink, "participant3@example.org", 1)
    assert subject.startswith("Registration received: ") and pending["manage_url"] in text

    declined = await system.registration.post(
        f"/registrations/{pending['id']}/decline", headers=staff("organiser", ["EE"])
    )
    assert declined.status_code == 200
    mails = await _mails(sink, "participant3@example.org", 2)
    assert mails[1][0].startswith("Registration declined: ")


async def test_link_request_mails_the_links_of_a_known_address_and_answers_alike(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration)
    held = await register(system.registration, training.id, person(4))

    known = await system.registration.post(
        "/manage-link", json={"email": "Participant4@example.org"}
    )
    unknown = await system.registration.post("/manage-link", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()

    mails = await _mails(sink, "participant4@example.org", 2)
    subject, text = mails[1]
    assert subject == "Your registration links"
    assert held["manage_url"] in text and held["calendar_url"] in text
    token = re.search(r"/manage/([A-Za-z0-9_-]+)", text)
    assert token is not None and token.group(1) == held["manage_token"]
    assert sink.to("nobody@example.org") == []

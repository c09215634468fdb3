"""The mails of registration, received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.db import Database
from shared.events import contracts as ev
from shared.mail import MAX_ATTEMPTS, Mail
from shared.tables import mail_queue
from tests.registration_support import (
    open_training,
    person,
    publish,
    register,
)
from tests.support import SmtpSink, System, eventually, running_system, staff_headers


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
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
        f"/registrations/{pending['id']}/decline", headers=staff_headers("organiser", ["EE"])
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


async def test_a_mail_that_cannot_be_sent_dies_visibly_and_holds_up_no_other(
    system: System, sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    training = await open_training(system.nats.url, system.registration)
    # A connection of the test's own: the service's runs on the test client's event loop.
    db = Database(system.settings.database_url("registration"))
    before = await register(system.registration, training.id, person(5))
    # An old row with header syntax in its recipient and subject, on its last attempt.
    poisoned = Mail(
        to="=?utf-8?q?a=0d=0abcc=3a_evil=40evil.example?=@example.org\r\nBcc: x@evil.example",
        subject="Links\r\nBcc: evil@evil.example",
        text="Hello.",
    ).as_row()
    async with db.unit() as uow:
        await uow.execute(mail_queue.insert().values(**poisoned, attempts=MAX_ATTEMPTS - 1))
    await db.dispose()
    after = await register(system.registration, training.id, person(6))

    for registered, address in (
        (before, "participant5@example.org"),
        (after, "participant6@example.org"),
    ):
        ((_subject, text),) = await _mails(sink, address, 1)
        assert registered["manage_url"] in text

    async def dead() -> list[dict[str, Any]]:
        listed = await system.registration.get("/mail/dead", headers=staff_headers())
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    (item,) = await eventually(dead)
    assert item["recipient"] == poisoned["recipient"] and item["subject"] == poisoned["subject"]
    assert item["attempts"] == MAX_ATTEMPTS and item["dead_at"]
    assert item["last_error"].startswith("NotAnAddress")
    assert [r for r in caplog.records if r.levelno == logging.ERROR and "is dead" in r.message]
    assert not [m for m in sink.messages if "evil" in str(m["To"]) + str(m.get("Bcc"))]
    assert len(sink.messages) == 2

    assert (await system.registration.get("/mail/dead")).status_code == 401
    organiser = await system.registration.get(
        "/mail/dead", headers=staff_headers("organiser", ["EE"])
    )
    assert organiser.status_code == 403
    for service in ("registration",):
        document = (await system.clients[service].get("/schema/openapi.json")).json()
        responses = document["paths"]["/mail/dead"]["get"]["responses"]
        assert {"200", "401", "403"} <= set(responses)


async def test_registering_an_address_again_mails_its_owner_the_links_and_echoes_nothing(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration)
    held = await register(system.registration, training.id, person(7))
    await _mails(sink, "participant7@example.org", 1)

    again = await system.registration.post(
        f"/trainings/{training.id}/registrations",
        json=person(7, name="Someone Else", email=" Participant7@Example.org"),
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    problem = again.json()
    assert problem["errors"][0]["field"] == "email"
    assert "we have sent your links" in problem["detail"]
    assert "participant7" not in again.text.lower()

    mails = await _mails(sink, "participant7@example.org", 2)
    subject, text = mails[1]
    assert subject == "Your registration links"
    assert held["manage_url"] in text and held["calendar_url"] in text
    assert "Someone Else" not in text

"""One journey through all three services over a real broker, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from services.evaluation.settings import own
from shared.clock import clock
from tests.scheduling_support import add_session, create_training
from tests.support import System, eventually, plain_text


def mails_to(system: System, address: str) -> list[str]:
    folder = system.settings.mail_dir
    bodies = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            bodies.append(plain_text(message))
    return bodies


async def test_training_journey_across_the_three_services(
    any_system: System, tmp_path: Path
) -> None:
    system = any_system
    organiser = system.token("organiser", ["EE"])
    starts = date.today() + timedelta(days=30)

    training = await create_training(system, organiser, starts_on=starts, capacity=1)
    assert training["status"] == "draft"
    assert training["city"] == "Tallinn" and training["timezone"] == "Europe/Tallinn"

    session = await add_session(system, organiser, training)
    assert session["sequence"] == 0 and session["status"] == "scheduled"

    published = await system.scheduling.post(
        f"/trainings/{training['id']}/publish", headers=organiser
    )
    assert published.status_code == 200, published.text

    async def listed() -> dict[str, object]:
        response = await system.registration.get("/trainings")
        items = [i for i in response.json()["items"] if i["id"] == training["id"]]
        assert items, "registration has not learned of the training yet"
        return items[0]

    entry = await eventually(listed)
    assert entry["seats_left"] == 1 and entry["registration_open"] is True

    # The training page's "register" link opens the registration form of the other service.
    form_path = "/" + training["register_url"].split("://", 1)[1].split("/", 1)[1]
    form = await system.registration.get(form_path)
    assert form.status_code == 200 and "consent" in form.text.lower()

    person = {
        "name": "Mari Tamm",
        "email": "mari.tamm@mfa.ee",
        "organisation": "Ministry of Foreign Affairs of Estonia",
        "country": "EE",
        "consent": True,
    }
    first = await system.registration.post(
        f"/trainings/{training['id']}/registrations", json=person
    )
    assert first.status_code == 201, first.text
    registration = first.json()
    assert registration["status"] == "confirmed"
    assert registration["manage_url"].endswith(registration["manage_token"])

    second = await system.registration.post(
        f"/trainings/{training['id']}/registrations",
        json={**person, "name": "Jaan Kask", "email": "jaan.kask@mfa.ee"},
    )
    assert second.status_code == 201, second.text
    assert second.json()["status"] == "waitlisted"
    assert second.json()["waitlist_position"] == 1

    feed_path = registration["calendar_url"].split("://", 1)[1].split("/", 1)[1]

    async def personal_feed() -> str:
        response = await system.scheduling.get(f"/{feed_path}")
        assert response.status_code == 200, response.text
        assert session["id"] in response.text
        return response.text

    feed = await eventually(personal_feed)
    assert "Identifying victims at the consulate" in feed
    assert "mari" not in feed.lower()

    # The training's first day, in Tallinn.
    clock.set(datetime(starts.year, starts.month, starts.day, 8, 0, tzinfo=UTC))
    organiser = system.token("organiser", ["EE"])
    checked = await system.registration.post(
        f"/registrations/{registration['id']}/check-in", headers=organiser
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["checked_in"] is True

    completed = await system.scheduling.post(
        f"/trainings/{training['id']}/complete", headers=organiser
    )
    assert completed.status_code == 200, completed.text

    async def invitation_link() -> str:
        for body in mails_to(system, "mari.tamm@mfa.ee"):
            found = re.search(r"/evaluations/([A-Za-z0-9_-]+)", body)
            if found:
                return found.group(1)
        raise AssertionError("no invitation mailed yet")

    token = await eventually(invitation_link)
    form = await system.evaluation.get(f"/evaluations/{token}")
    assert form.status_code == 200, form.text
    assert {q["id"] for q in form.json()["questions"]} >= {"overall", "recommend"}

    answers = {"answers": {"overall": 5, "recommend": 9, "comments": "Very useful."}}
    submitted = await system.evaluation.post(f"/evaluations/{token}", json=answers)
    assert submitted.status_code == 201, submitted.text
    again = await system.evaluation.post(f"/evaluations/{token}", json=answers)
    assert again.status_code == 409

    report = await system.evaluation.get(
        f"/trainings/{training['id']}/report", headers=system.token()
    )
    assert report.status_code == 200, report.text
    # One answer is no step of the release: it shows only with two more, or at the close.
    assert report.json()["invited"] == 1 and report.json()["answered"] == 0
    clock.advance(own(system.settings).open_for)

    async def closed_and_counted() -> bool:
        report = await system.evaluation.get(
            f"/trainings/{training['id']}/report", headers=system.token()
        )
        figures = report.json()
        assert (figures["status"], figures["invited"], figures["answered"]) == ("closed", 1, 1)
        assert figures["comments"] == []
        return True

    await eventually(closed_and_counted)

"""A mail that gives a seat carries the training's programme as a calendar to import, with
the same events (UIDs) as scheduling's feeds; every mail has a plain-text and an HTML part."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from services.registration.tables import TrainingRow
from shared.calendar import session_uid
from shared.events import contracts as ev
from shared.mail import Attachment, Mail, build_message, html_of
from tests import test_registration_mail
from tests.registration_support import open_training, person, publish, register
from tests.scheduling_support import strict
from tests.support import SmtpSink, System, eventually

TALLINN = ZoneInfo("Europe/Tallinn")
# Registration alone, mailing through a real SMTP server: the fixtures of its mail tests.
sink = test_registration_mail.sink
system = test_registration_mail.system


def programme(training_id: str, day: datetime) -> list[ev.SessionData]:
    def session(title: str, kind: str, hour: int, minutes: int) -> ev.SessionData:
        starts = day.replace(hour=hour, tzinfo=TALLINN)
        return ev.SessionData(
            id=str(uuid.uuid4()),
            revision=1,
            training_id=training_id,
            title=title,
            kind=kind,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
            room="Hall A",
            speakers=[ev.Speaker(name="Kristiina Kangaspunta", organisation="UNODC")],
        )

    return [
        session("Identifying victims", "lecture", 9, 90),
        session("Coffee", "break", 11, 15),
        session("Referral across borders", "case_study", 13, 60),
    ]


async def _messages(sink: SmtpSink, address: str, count: int) -> list[Any]:
    async def arrived() -> list[Any]:
        found = [m for m in list(sink.messages) if str(m["To"]).strip() == address]
        assert len(found) >= count
        return found

    result: list[Any] = await eventually(arrived)
    return result


def calendar_of(message: Any) -> bytes:
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "training.ics"
    payload: bytes = attachment.get_payload(decode=True)
    return payload


async def test_the_confirmation_carries_the_programme_with_the_feeds_uids(
    system: System, sink: SmtpSink
) -> None:
    training_id = str(uuid.uuid4())
    first_day = datetime.now(TALLINN).date() + timedelta(days=30)
    day = datetime.combine(first_day, datetime.min.time())
    sessions = programme(training_id, day)
    training = await open_training(
        system.nats.url,
        system.registration,
        training_id=training_id,
        starts_on=first_day,
        capacity=1,
        title="Training for consular staff, Tallinn",
        sessions=sessions,
    )
    seated = await register(system.registration, training.id, person(1))
    await register(system.registration, training.id, person(2))  # waits

    (confirmation,) = await _messages(sink, "participant1@example.org", 1)
    assert confirmation.get_content_type() == "multipart/mixed"
    html = confirmation.get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{seated["manage_url"]}">' in html and '<html lang="en">' in html
    body = calendar_of(confirmation)
    strict(body)
    text = body.decode()
    assert "METHOD:PUBLISH" in text
    lecture, coffee, case = sessions
    assert f"UID:{session_uid(lecture.id)}" in text and f"UID:{session_uid(case.id)}" in text
    assert session_uid(coffee.id) not in text  # breaks stay out of calendars
    assert "X-WR-CALNAME:Training for consular staff\\, Tallinn\r\n" in text
    assert "DTSTART;TZID=Europe/Tallinn:" in text and "CATEGORIES:Case study" in text

    # A waiting-list mail has no calendar; the seat that frees up brings one, as updated.
    (waiting,) = await _messages(sink, "participant2@example.org", 1)
    assert not list(waiting.iter_attachments())
    moved = ev.SessionUpdated(
        **{
            **{f: getattr(case, f) for f in case.__struct_fields__},
            "revision": 2,
            "sequence": 1,
            "starts_at": case.starts_at + timedelta(hours=1),
            "ends_at": case.ends_at + timedelta(hours=1),
        }
    )
    await publish(system.nats.url, moved)
    seen = moved.starts_at.strftime("%Y%m%dT%H%M%S")

    async def moved_held() -> bool:
        async with system.apps["registration"].state.runtime.db.session() as reading:
            row = await reading.get(TrainingRow, case.training_id)
        kept = {session["id"]: session for session in (row.sessions if row else None) or ()}
        return case.id in kept and kept[case.id]["revision"] == 2

    # Once registration holds the moved session, the seat frees up.
    await eventually(moved_held)
    cancelled = await system.registration.post(
        f"/registrations/{seated['id']}/cancel", headers={"X-Manage-Token": seated["manage_token"]}
    )
    assert cancelled.status_code == 200
    promoted = (await _messages(sink, "participant2@example.org", 2))[1]
    assert str(promoted["Subject"]).startswith("A seat is yours")
    text = calendar_of(promoted).decode()
    case_event = text[text.index(f"UID:{session_uid(case.id)}") :].split("END:VEVENT")[0]
    assert "SEQUENCE:1" in case_event and f"DTSTART;TZID=Europe/Tallinn:{seen}" in case_event


async def test_a_training_without_sessions_yet_is_confirmed_without_a_calendar(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration)
    await register(system.registration, training.id, person(3))
    (confirmation,) = await _messages(sink, "participant3@example.org", 1)
    assert str(confirmation["Subject"]).startswith("Registration confirmed")
    assert not list(confirmation.iter_attachments())
    assert confirmation.get_body(preferencelist=("plain",)) is not None


def test_the_html_part_is_the_text_escaped_with_its_links() -> None:
    html = html_of("Dear <Eve> & co,\n\nSee https://x.example/manage/a?b=1&c=2.\nBye", "de")
    assert '<html lang="de">' in html
    assert "Dear &lt;Eve&gt; &amp; co,</p>" in html
    link = "https://x.example/manage/a?b=1&amp;c=2"
    assert f'See <a href="{link}">{link}</a>.<br>' in html


def test_a_mail_with_an_attachment_is_text_html_and_the_file() -> None:
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    mail = Mail(
        to="eve@example.org",
        subject="Hello",
        text="Hello https://x.example/",
        attachments=(Attachment("training.ics", "text/calendar", ics, {"method": "PUBLISH"}),),
    )
    row = SimpleNamespace(**mail.as_row())
    message = build_message(row, "Capitals <noreply@localhost>")
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_payload(decode=True) == ics.encode()  # CRLFs untouched

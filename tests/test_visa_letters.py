"""Invitation letters for visa applications: a confirmed participant asks on the manage page
or the API; the host country's staff approve or decline (audited); the participant then
downloads the PDF. The passport details are sealed at rest, shown to no one else, exported
and erased with the person, and erased 30 days after the training."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from services.registration import sealing, visa
from services.registration.visa_commands import erase_expired_letters
from shared.clock import clock
from shared.errors import Conflict
from tests import test_registration_staff_pages as staff_page_tests
from tests.browser import accessibility_violations, browser_page, csrf_of, sign_in_with_token
from tests.registration_support import open_training, person, register, registration_events
from tests.support import System, eventually
from tests.test_erasure import files_holding, read, rows_holding

pytestmark = pytest.mark.services("registration")
# Registration served on a port for the browser, and a staff sign-in there.
served = staff_page_tests.served

PASSPORT = {
    "passport_name": "MARI TAMM",
    "nationality": "EE",
    "passport_number": "KF0123456",
    "date_of_birth": "1984-03-09",
}
LETTERHEAD = {
    "ministry": "Ministry of Foreign Affairs of the Republic of Estonia\nIslandi väljak 1, Tallinn",
    "signatory_name": "Kadri Kask",
    "signatory_title": "Director, Consular Department",
}


def owner(registration: dict[str, Any]) -> dict[str, str]:
    return {"X-Manage-Token": registration["manage_token"]}


async def confirmed(system: System, number: int = 1, **changes: Any) -> tuple[Any, Any]:
    training = await open_training(system.nats.url, system.registration, **changes)
    registration = await register(system.registration, training.id, person(number))
    assert registration["status"] == "confirmed"
    return training, registration


async def requested(system: System, registration: dict[str, Any], **changes: str) -> Any:
    answer = await system.registration.post(
        f"/registrations/{registration['id']}/letter",
        json={**PASSPORT, **changes},
        headers=owner(registration),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_an_approved_letter_holds_the_passport_details_and_the_letterhead(
    any_registration: System,
) -> None:
    system = any_registration
    training, registration = await confirmed(system)
    letter = await requested(system, registration)
    assert letter["status"] == "requested" and letter["passport_number"] == "KF0123456"
    staff = system.token("organiser", ["EE"])
    path = f"/registrations/{registration['id']}"

    # The letter waits for a letterhead; until approved there is nothing to download.
    early = await system.registration.post(f"{path}/letter/approve", headers=staff)
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "letterhead"
    not_yet = await system.registration.get(f"{path}/letter.pdf", headers=owner(registration))
    assert not_yet.status_code == 409
    put = await system.registration.put(
        f"/trainings/{training.id}/letterhead", json=LETTERHEAD, headers=staff
    )
    assert put.status_code == 200, put.text
    approved = await system.registration.post(f"{path}/letter/approve", headers=staff)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = await system.registration.post(f"{path}/letter/decline", headers=staff)
    assert again.status_code == 409

    pdf = await system.registration.get(f"{path}/letter.pdf", headers=owner(registration))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    # Words apart by one space, whether a justified line spread them or a line ended.
    words = " ".join(
        " ".join(
            page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages
        ).split()
    )
    for expected in (
        "Ministry of Foreign Affairs of the Republic of Estonia",
        "Kadri Kask",
        "Director, Consular Department",
        "MARI TAMM",
        "Estonia",
        "KF0123456",
        "9 March 1984",
        training.title,
        "Tallinn",
        training.starts_on.strftime("%B"),
    ):
        assert expected in words, expected

    # Events carry ids only; the staff actions are audited.
    async def announced() -> list[str]:
        events = [e for e in await registration_events(system.nats.url) if "letter" in e.subject]
        assert [e.subject for e in events] == [
            "registration.letter.requested",
            "registration.letter.approved",
        ]
        for event in events:
            assert "KF0123456" not in str(event.data) and "MARI" not in str(event.data)
            assert event.data["id"] == registration["id"]
        return [e.subject for e in events]

    await eventually(announced, timeout=15)
    log = (await system.registration.get("/audit", headers=system.token())).json()["items"]
    actions = [item["action"] for item in log]
    assert "letter.approved" in actions and "letterhead.set" in actions
    assert "KF0123456" not in str(log)

    # The participant is mailed with a link to their page, not the letter or the details.
    folder = system.settings.mail_dir

    async def mailed() -> str:
        texts = [p.read_text() for p in folder.glob("*.eml") if "letter" in p.read_text()]
        assert len(texts) == 1
        return texts[0]

    mail = await eventually(mailed, timeout=15)
    assert "Invitation letter ready" in mail and "/manage/" in mail and "KF0123456" not in mail


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("passport_number", "KF01\x1b23456"),
        ("passport_number", ""),
        ("nationality", "XX"),
        ("nationality", "Estonia"),
        ("date_of_birth", (date.today() + timedelta(days=2)).isoformat()),
        ("passport_name", "MARI\nTAMM"),
    ],
)
async def test_a_bad_letter_request_is_422_naming_the_field_and_stores_nothing(
    system: System, field: str, value: str
) -> None:
    _, registration = await confirmed(system)
    answer = await system.registration.post(
        f"/registrations/{registration['id']}/letter",
        json={**PASSPORT, field: value},
        headers=owner(registration),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field
    kept = await system.registration.get(
        f"/registrations/{registration['id']}/letter", headers=owner(registration)
    )
    assert kept.status_code == 404


async def test_only_the_participant_and_the_host_countrys_staff_see_a_letter(
    system: System,
) -> None:
    training, registration = await confirmed(system, host_country="EE")
    other = await register(system.registration, training.id, person(2))
    await requested(system, registration)
    path = f"/registrations/{registration['id']}/letter"
    client = system.registration
    assert (await client.get(path, headers=owner(registration))).status_code == 200
    assert (await client.get(path, headers=owner(other))).status_code == 404
    assert (await client.get(path)).status_code == 404
    latvian = system.token("organiser", ["LV"])
    assert (await client.get(path, headers=latvian)).status_code == 403
    assert (await client.get(path, headers=system.token("organiser", ["EE"]))).status_code == 200
    assert (await client.get(f"{path}.pdf", headers=owner(other))).status_code == 404
    listed = await client.get(f"/trainings/{training.id}/letters", headers=latvian)
    assert listed.status_code == 403
    assert (await client.post(f"{path}/approve", headers=latvian)).status_code == 403
    assert (await client.post(f"{path}/approve", headers=owner(registration))).status_code == 401
    # Another participant cannot ask in someone's name, nor can staff without the token.
    stranger = await client.post(f"{path}", json=PASSPORT, headers=owner(other))
    assert stranger.status_code == 404
    staff_only = await client.post(path, json=PASSPORT, headers=system.token())
    assert staff_only.status_code == 404
    listed = await client.get(f"/trainings/{training.id}/letters", headers=system.token())
    assert [item["registration_id"] for item in listed.json()["items"]] == [registration["id"]]


async def test_only_a_confirmed_participant_may_ask_for_a_letter(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, moderated=True)
    pending = await register(system.registration, training.id, person(1))
    answer = await system.registration.post(
        f"/registrations/{pending['id']}/letter", json=PASSPORT, headers=owner(pending)
    )
    assert answer.status_code == 409 and answer.json()["errors"][0]["field"] == "status"


async def test_passport_details_are_sealed_at_rest(system: System, tmp_path: Path) -> None:
    _, registration = await confirmed(system)
    await requested(system, registration, passport_number="QZSEALED77")
    sealed = await read(system, "registration", text("SELECT sealed FROM visa_letter"))
    assert len(sealed) == 1 and "QZSEALED77" not in sealed[0][0]
    url = system.settings.database_url("registration")
    assert await rows_holding(url, "QZSEALED77") == []
    assert files_holding(tmp_path, "QZSEALED77") == []


async def test_letters_are_exported_and_erased_with_the_person(system: System) -> None:
    _, registration = await confirmed(system)
    await requested(system, registration, passport_number="QZERASE123")
    boss = system.token()
    exported = await system.registration.post(
        "/privacy/export", json={"email": "participant1@example.org"}, headers=boss
    )
    assert exported.status_code == 200
    (letter,) = exported.json()["letters"]
    assert letter["passport_number"] == "QZERASE123" and letter["nationality"] == "EE"
    erased = await system.registration.post(
        "/privacy/erase", json={"email": "participant1@example.org"}, headers=boss
    )
    assert erased.status_code == 200
    assert await read(system, "registration", text("SELECT * FROM visa_letter")) == []
    gone = await system.registration.get(
        f"/registrations/{registration['id']}/letter", headers=boss
    )
    assert gone.status_code == 404


async def test_letters_are_erased_30_days_after_the_training_ends(system: System) -> None:
    training, registration = await confirmed(system)
    await requested(system, registration)
    runtime = system.runtime("registration")

    async def erase_on(day: date) -> int:
        clock.set(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
        return await system.on_service_loop(
            "registration", erase_expired_letters, runtime.db, system.settings
        )

    assert await erase_on(training.ends_on + timedelta(days=30)) == 0
    assert await erase_on(training.ends_on + timedelta(days=31)) == 1
    clock.reset()
    gone = await system.registration.get(
        f"/registrations/{registration['id']}/letter", headers=owner(registration)
    )
    assert gone.status_code == 404


# --- rules, without I/O ----------------------------------------------------------------


def test_every_refused_field_is_named_at_once() -> None:
    today = date(2026, 12, 1)
    problems = visa.problems_of(
        {
            "passport_name": " ",
            "nationality": "xx",
            "passport_number": "A\u202eB",
            "date_of_birth": "2026-12-02",
        },
        today,
    )
    assert list(problems) == list(visa.FIELDS)
    fine = visa.checked({**PASSPORT, "nationality": " ee "}, today)
    assert fine.nationality == "EE" and fine.date_of_birth == date(1984, 3, 9)
    assert fine.nationality_name == "Estonia"


def test_a_letter_is_decided_once_and_approved_only_for_a_confirmed_participant() -> None:
    assert visa.decided("confirmed", "requested", "approved", True) == "approved"
    assert visa.decided("cancelled", "requested", "declined", False) == "declined"
    for registration, letter, verdict, letterhead in (
        ("confirmed", "approved", "declined", True),
        ("confirmed", "requested", "approved", False),
        ("cancelled", "requested", "approved", True),
    ):
        with pytest.raises(Conflict):
            visa.decided(registration, letter, verdict, letterhead)


def test_a_sealed_value_opens_only_for_its_registration_and_secret() -> None:
    sealed = sealing.seal("secret-one", "registration-1", b"KF0123456")
    assert b"KF0123456" not in sealed.encode()
    assert sealing.unseal("secret-one", "registration-1", sealed) == b"KF0123456"
    with pytest.raises(InvalidTag):
        sealing.unseal("secret-one", "registration-2", sealed)
    with pytest.raises(InvalidTag):
        sealing.unseal("secret-two", "registration-1", sealed)
    assert sealing.seal("secret-one", "registration-1", b"KF0123456") != sealed


# --- pages ------------------------------------------------------------------------------


async def test_the_manage_page_shows_each_refused_field_beside_it(system: System) -> None:
    _, registration = await confirmed(system)
    page = await system.registration.get(registration["manage_url"])
    assert page.status_code == 200 and 'id="letter"' in page.text
    form = {
        "_csrf_token": csrf_of(page.text),
        **PASSPORT,
        "passport_number": "AB\x07CD",
        "nationality": "XX",
        "date_of_birth": (date.today() + timedelta(days=1)).isoformat(),
    }
    refused = await system.registration.post(f"{registration['manage_url']}/letter", data=form)
    assert refused.status_code == 422
    for field in ("passport_number", "nationality", "date_of_birth"):
        assert f'id="{field}-error"' in refused.text, field
    assert 'id="passport_name-error"' not in refused.text
    kept = await system.registration.get(
        f"/registrations/{registration['id']}/letter", headers=owner(registration)
    )
    assert kept.status_code == 404


async def test_staff_decide_letters_on_their_page_with_csrf(system: System) -> None:
    training, registration = await confirmed(system)
    await requested(system, registration)
    estonian = system.token("organiser", ["EE"])
    latvian = system.token("organiser", ["LV"])
    path = f"/staff/trainings/{training.id}/letters"
    assert (await system.registration.get(path, headers=latvian)).status_code == 403
    page = await system.registration.get(path, headers=estonian)
    assert page.status_code == 200 and "KF0123456" in page.text
    token = csrf_of(page.text)
    decline = f"/staff/registrations/{registration['id']}/letter/decline"
    no_csrf = await system.registration.post(decline, headers=estonian)
    assert no_csrf.status_code == 403
    refused = await system.registration.post(
        decline, data={"_csrf_token": token}, headers=latvian, follow_redirects=False
    )
    assert refused.status_code == 403
    declined = await system.registration.post(
        decline, data={"_csrf_token": token}, headers=estonian, follow_redirects=False
    )
    assert declined.status_code == 303
    shown = await system.registration.get(
        f"/registrations/{registration['id']}/letter", headers=estonian
    )
    assert shown.json()["status"] == "declined"
    log = (await system.registration.get("/audit", headers=system.token())).json()["items"]
    assert any(item["action"] == "letter.declined" for item in log)
    # Declined: the participant may ask again with corrected details.
    again = await requested(system, registration, passport_number="KF0999999")
    assert again["status"] == "requested"


# --- in a real browser --------------------------------------------------------------------


@pytest.mark.browser
async def test_a_letter_is_requested_approved_and_downloaded_in_the_browser(
    served: tuple[System, str],
) -> None:
    system, url = served
    training, registration = await confirmed(system)
    staff = system.token("organiser", ["EE"])
    await system.registration.put(
        f"/trainings/{training.id}/letterhead", json=LETTERHEAD, headers=staff
    )
    manage = registration["manage_url"]
    async with browser_page(viewport={"width": 390, "height": 844}) as tab:
        await tab.goto(manage)
        assert await accessibility_violations(tab, impacts=()) == []
        await tab.get_by_label("Name as in the passport").fill("MARI TAMM")
        await tab.get_by_label("Nationality").select_option("EE")
        await tab.get_by_label("Passport number").fill("KF0123456")
        await tab.get_by_label("Date of birth").fill("1984-03-09")
        await tab.get_by_label("Date of birth").press("Tab")
        await tab.get_by_role("button", name="Request an invitation letter").click()
        await tab.wait_for_selector("#letter-status")
        assert "with the organisers" in await tab.locator("#letter-status").inner_text()
        assert await accessibility_violations(tab, impacts=()) == []
        # An error beside its field, accessible too.
        await tab.get_by_label("Passport number").fill("")
        await tab.get_by_role("button", name="Correct my request").click()
        await tab.wait_for_selector("#passport_number-error")
        assert await accessibility_violations(tab, impacts=()) == []

    token = staff["Authorization"].removeprefix("Bearer ")
    path = f"/staff/trainings/{training.id}/letters"
    async with browser_page(viewport={"width": 1280, "height": 900}) as tab:
        await sign_in_with_token(tab, url, path, token)
        assert await accessibility_violations(tab) == []
        await tab.get_by_role("button", name="Approve the letter of Participant 1").click()
        await tab.wait_for_selector("#notice")
        assert await tab.locator(f"#letter-{registration['id']} .status").inner_text() == (
            "approved"
        )

    async with browser_page() as tab:
        await tab.goto(manage)
        link = tab.locator("#letter-download")
        href = await link.get_attribute("href")
        assert href is not None
        answer = await tab.request.get(f"{url}{href}")
        assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
        words = pypdf.PdfReader(io.BytesIO(await answer.body())).pages[0].extract_text()
        assert "KF0123456" in words and "Kadri Kask" in words
        assert await accessibility_violations(tab, impacts=()) == []

"""Badges: the sheet a training's staff print (A4, cut marks, a QR code of each confirmed
participant's check-in code) and the door page that takes the code, typed or scanned."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
import zxingcpp
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.registration import domain
from shared.migrations import upgrade
from tests import test_registration_staff_pages as staff_page_tests
from tests.browser import accessibility_violations, browser_page, csrf_of, sign_in_with_token
from tests.registration_support import open_training, person, register
from tests.support import System, create_pg_database, drop_pg_database

pytestmark = pytest.mark.services("registration")
# Registration served on a port for the browser, and a staff sign-in there.
served = staff_page_tests.served


def codes_in(content: bytes) -> list[str]:
    """Every QR code on every page of a PDF, decoded."""
    codes = []
    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        for image in page.images:
            codes += [found.text for found in zxingcpp.read_barcodes(image.image)]
    return codes


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


async def registered(system: System, training_id: str, *numbers: int, **changes: Any) -> list[Any]:
    """Registered by staff, who may do so on the training's day too."""
    staff = system.token("organiser", ["EE"])
    return [
        await register(system.registration, training_id, person(number, **changes), headers=staff)
        for number in numbers
    ]


def test_a_check_in_code_is_read_in_any_case_with_spaces_or_dashes() -> None:
    code = domain.new_check_in_code()
    assert len(code) == 10 and set(code) <= set(domain.CHECK_IN_ALPHABET)
    assert domain.typed_check_in_code(f" {code[:5].lower()}-{code[5:]} ") == code
    for wrong in ("", code[:9], code + "2", "0O1IL0O1IL", "ABCDE FGHJ!"):
        assert domain.typed_check_in_code(wrong) is None, wrong
    assert not set("01ILO") & set(domain.CHECK_IN_ALPHABET)


async def test_badge_sheet_prints_every_confirmed_participant_with_a_code_the_door_accepts(
    any_registration: System,
) -> None:
    system = any_registration
    training = await open_training(
        system.nats.url, system.registration, capacity=9, starts_on=datetime.now(UTC).date()
    )
    held = await registered(system, training.id, *range(1, 11), country="LT")
    waiting = held[-1]
    assert waiting["status"] == "waitlisted"
    staff = system.token("organiser", ["EE"])

    sheet = await system.registration.get(f"/trainings/{training.id}/badges.pdf", headers=staff)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(sheet.content))
    assert len(reader.pages) == 2  # eight badges a page
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    text = text_of(sheet.content)
    for number in range(1, 10):
        assert f"Participant {number}" in text
    assert "Participant 10" not in text  # waitlisted: no badge
    assert "Ministry of Foreign Affairs of\nEstonia" in text and "Lithuania" in text
    assert training.title.split(":")[0] in text

    codes = codes_in(sheet.content)
    assert len(codes) == 9 and len(set(codes)) == 9
    by_id = {}
    for registration in held[:-1]:
        shown = await system.registration.get(f"/registrations/{registration['id']}", headers=staff)
        by_id[shown.json()["check_in_code"]] = registration["id"]
        assert registration["manage_token"] not in sheet.content.decode("latin-1")
    assert set(codes) == set(by_id)
    for code in codes:
        assert re.fullmatch(f"[{domain.CHECK_IN_ALPHABET}]{{10}}", code)

    # The door page takes the decoded code and checks that person in.
    door = await system.registration.get(f"/staff/trainings/{training.id}/check-in", headers=staff)
    answer = await system.registration.post(
        f"/staff/trainings/{training.id}/check-in-code",
        data={"_csrf_token": csrf_of(door.text), "code": codes[0]},
        headers=staff,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    checked = await system.registration.get(f"/registrations/{by_id[codes[0]]}", headers=staff)
    assert checked.json()["checked_in"] is True


async def test_the_door_refuses_an_unknown_code_or_another_trainings_beside_the_field(
    system: System,
) -> None:
    today = datetime.now(UTC).date()
    here = await open_training(system.nats.url, system.registration, starts_on=today)
    there = await open_training(system.nats.url, system.registration, starts_on=today)
    (mine,) = await registered(system, here.id, 1)
    (theirs,) = await registered(system, there.id, 2)
    staff = system.token("organiser", ["EE"])
    code = (await system.registration.get(f"/registrations/{theirs['id']}", headers=staff)).json()[
        "check_in_code"
    ]
    door = await system.registration.get(f"/staff/trainings/{here.id}/check-in", headers=staff)
    for typed in (code, "ZZZZZ ZZZZZ", "0O1I", ""):
        refused = await system.registration.post(
            f"/staff/trainings/{here.id}/check-in-code",
            data={"_csrf_token": csrf_of(door.text), "code": typed},
            headers=staff,
        )
        assert refused.status_code == 422, typed
        assert 'id="code-error"' in refused.text and 'aria-invalid="true"' in refused.text
        assert "No participant of this training has this badge code" in refused.text
    for registration in (mine, theirs):
        shown = await system.registration.get(f"/registrations/{registration['id']}", headers=staff)
        assert shown.json()["checked_in"] is False


async def test_a_code_is_found_typed_in_any_case_with_spaces_and_only_in_its_training(
    system: System,
) -> None:
    here = await open_training(system.nats.url, system.registration)
    there = await open_training(system.nats.url, system.registration)
    (mine,) = await registered(system, here.id, 1)
    staff = system.token("organiser", ["EE"])
    code = (await system.registration.get(f"/registrations/{mine['id']}", headers=staff)).json()[
        "check_in_code"
    ]
    typed = f"{code[:5].lower()} {code[5:]}"
    found = await system.registration.get(
        f"/trainings/{here.id}/check-in-codes/{typed}", headers=staff
    )
    assert found.status_code == 200 and found.json()["id"] == mine["id"]
    elsewhere = await system.registration.get(
        f"/trainings/{there.id}/check-in-codes/{code}", headers=staff
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json()["errors"][0]["field"] == "code"


async def test_the_badge_sheet_is_for_the_host_countrys_staff_only(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, host_country="EE")
    await registered(system, training.id, 1)
    path = f"/trainings/{training.id}/badges.pdf"
    assert (await system.registration.get(path)).status_code == 401
    latvian = system.token("organiser", ["LV"])
    assert (await system.registration.get(path, headers=latvian)).status_code == 403
    assert (await system.registration.get(path, headers=system.token())).status_code == 200
    missing = await system.registration.get("/trainings/nothing/badges.pdf", headers=latvian)
    assert missing.status_code == 404
    page = await system.registration.get(
        f"/staff/trainings/{training.id}", headers=system.token("organiser", ["EE"])
    )
    assert f'href="/trainings/{training.id}/badges.pdf"' in page.text


async def test_existing_registrations_get_a_unique_check_in_code_when_migrated(
    tmp_path: Path, db_kind: str
) -> None:
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'registration.sqlite3'}"
    else:
        name = f"capitals_badges_{uuid.uuid4().hex[:10]}"
        url = await create_pg_database(name)
    try:
        await asyncio.to_thread(upgrade, "registration", url, "e1a7c3f5b902")
        engine = create_async_engine(url, poolclass=NullPool)
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO training (id, revision, series, title, host_country, city, venue,"
                    " timezone, starts_on, ends_on, capacity, moderated, language, taken, status)"
                    " VALUES ('t1', 1, 's', 'T', 'EE', 'Tallinn', 'V', 'Europe/Tallinn',"
                    " '2026-01-01', '2026-01-01', 10, false, 'en', 0, 'published')"
                )
            )
            await connection.execute(
                sa.text(
                    "INSERT INTO participant (id, email, name, feed_token_sha256,"
                    " feed_generation, revision, created_at)"
                    " VALUES ('p1', 'a@example.org', 'A', 'x', 1, 1, :now)"
                ).bindparams(now=now)
            )
            for number in range(3):
                await connection.execute(
                    sa.text(
                        "INSERT INTO registration (id, training_id, participant_id, name, email,"
                        " organisation, country, category, consent_at, status,"
                        " manage_token_sha256, revision, created_at, updated_at)"
                        " VALUES (:id, 't1', 'p1', 'A', 'a@example.org', 'O', 'EE', 'member',"
                        " :now, 'cancelled', :token, 1, :now, :now)"
                    ).bindparams(id=f"r{number}", token=f"h{number}", now=now)
                )
        await asyncio.to_thread(upgrade, "registration", url)
        async with engine.connect() as connection:
            codes = [
                row[0]
                for row in await connection.execute(
                    sa.text("SELECT check_in_code FROM registration")
                )
            ]
        await engine.dispose()
        assert len(codes) == 3 and len(set(codes)) == 3
        assert all(domain.typed_check_in_code(code) == code for code in codes)
    finally:
        if db_kind != "sqlite":
            await drop_pg_database(name)


# --- at the door, in a real browser -----------------------------------------------------

# The camera and the detector as a phone's browser offers them: a canvas stream for the
# camera, a detector that reads the badge's code (headless Chromium on Linux has neither).
FAKE_SCANNER = """
window.BarcodeDetector = class {
  constructor(options) { this.formats = options.formats; }
  detect(source) { return Promise.resolve([{ rawValue: "BADGE_CODE" }]); }
};
navigator.mediaDevices.getUserMedia = function () {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const paint = canvas.getContext("2d");
  let shade = 0;
  setInterval(() => {
    shade = (shade + 37) % 256;
    paint.fillStyle = `rgb(${shade}, 90, 120)`;
    paint.fillRect(0, 0, 64, 64);
  }, 40);
  return Promise.resolve(canvas.captureStream(25));
};
"""


@pytest.mark.browser
async def test_badges_are_checked_in_at_the_door_typed_or_scanned_on_a_phone(
    served: tuple[System, str],
) -> None:
    system, url = served
    training = await open_training(
        system.nats.url, system.registration, starts_on=datetime.now(UTC).date()
    )
    typed, scanned = await registered(system, training.id, 1, 2)
    staff = system.token("organiser", ["EE"])

    async def code_of(registration: dict[str, Any]) -> str:
        shown = await system.registration.get(f"/registrations/{registration['id']}", headers=staff)
        code: str = shown.json()["check_in_code"]
        return code

    token = staff["Authorization"].removeprefix("Bearer ")
    path = f"/staff/trainings/{training.id}/check-in"
    async with browser_page(viewport={"width": 390, "height": 844}) as tab:
        await sign_in_with_token(tab, url, path, token)
        # Without BarcodeDetector there is no scan button; the typed code works.
        assert await tab.locator("#scan-start").count() == 0
        await tab.get_by_label("Badge code").fill("WRONG CODE")
        await tab.locator("#code-check-in").click()
        await expect(tab.locator("#code-error")).to_be_visible()
        assert await accessibility_violations(tab) == []
        await tab.get_by_label("Badge code").fill(await code_of(typed))
        await tab.locator("#code-check-in").click()
        await expect(tab.locator("#notice")).to_have_text("Checked in.")
        assert await accessibility_violations(tab) == []

        await tab.add_init_script(FAKE_SCANNER.replace("BADGE_CODE", await code_of(scanned)))
        await tab.goto(f"{url}{path}")
        await tab.get_by_role("button", name="Scan badge").click()
        await expect(tab.locator("#notice")).to_have_text("Checked in.", timeout=10_000)
    for registration in (typed, scanned):
        assert (await code_of(registration)) and (
            await system.registration.get(f"/registrations/{registration['id']}", headers=staff)
        ).json()["checked_in"] is True

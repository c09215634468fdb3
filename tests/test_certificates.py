"""Certificates of attendance: issued after completion to those who attended every day (mailed
with a link to a PDF whose QR code leads to the public verification page), revoked by the
secretariat, withdrawn when corrected attendance misses a day, erased with the person or at
the end of CERTIFICATE_RETENTION."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
import zxingcpp

from capitals.embedded import free_port
from services.registration import certificate_pdf, certificates
from services.registration.settings import own
from shared.clock import clock
from shared.events import contracts as ev
from shared.i18n import speaking
from tests.browser import accessibility_violations, browser_page
from tests.document_support import sample_training, session
from tests.registration_support import (
    completed,
    events_about,
    person,
    register,
    two_day_training,
)
from tests.servers import serve_app
from tests.support import SmtpSink, System, eventually, running_system

pytestmark = pytest.mark.services("registration")
CERTIFICATE_LINK = re.compile(r"(https?://\S+/manage/\S+/certificate\.pdf)")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def served(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[tuple[System, str]]:
    """Registration behind a real HTTP server (for the browser and the QR code's link),
    mailing through the SMTP sink."""
    port = free_port()
    async with (
        running_system(
            tmp_path,
            services=("registration",),
            REGISTRATION_PUBLIC_URL=f"http://127.0.0.1:{port}",
            SMTP_URL=sink.url,
        ) as system,
        serve_app(system.apps["registration"], port, lifespan="off") as url,
    ):
        yield system, url


@pytest.fixture
async def system(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    """Registration alone, on SQLite and again on PostgreSQL."""
    async with running_system(tmp_path, db_kind, services=("registration",)) as running:
        yield running


def on(system: System, day: date, role: str = "organiser") -> dict[str, str]:
    """The clock at 09:00 in Reykjavik on `day`; a staff token of that moment."""
    clock.set(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    return system.token(role, ["IS"] if role == "organiser" else None)


async def check_in(system: System, registration: dict[str, Any], *days: date) -> None:
    for day in days:
        staff = on(system, day)
        done = await system.registration.post(
            f"/registrations/{registration['id']}/check-in", json={"day": str(day)}, headers=staff
        )
        assert done.status_code == 200, done.text


async def record_of(system: System, registration: dict[str, Any]) -> dict[str, Any]:
    """The certificate's record once issued (staff's view)."""

    async def issued() -> dict[str, Any]:
        found = await system.registration.get(
            f"/registrations/{registration['id']}/certificate", headers=system.token()
        )
        assert found.status_code == 200, found.text
        record: dict[str, Any] = found.json()
        return record

    return await eventually(issued)


async def certified(system: System, number: int) -> tuple[ev.TrainingData, dict[str, Any], str]:
    """A completed two-day training that `person(number)` attended on both days: the
    training, the registration and its certificate's number."""
    training = await two_day_training(system.nats.url, system.registration)
    full = await register(system.registration, training.id, person(number))
    await check_in(system, full, training.starts_on, training.ends_on)
    await completed(system.nats.url, system.registration, training.id)
    return training, full, (await record_of(system, full))["number"]


def pdf_of(body: bytes) -> tuple[str, str]:
    """The text of a one-page PDF and what its QR code holds."""
    page = pypdf.PdfReader(io.BytesIO(body)).pages[0]
    (code,) = zxingcpp.read_barcodes(page.images[0].image)
    return page.extract_text(), code.text


async def test_the_certificate_needs_completion_and_every_day_and_is_the_holders_own(
    system: System,
) -> None:
    training = await two_day_training(system.nats.url, system.registration)
    partial = await register(system.registration, training.id, person(1))
    full = await register(system.registration, training.id, person(2))
    await check_in(system, partial, training.starts_on)
    await check_in(system, full, training.starts_on, training.ends_on)
    pdf = "/registrations/{}/certificate.pdf"

    early = await system.registration.get(
        pdf.format(full["id"]), headers={"X-Manage-Token": full["manage_token"]}
    )
    assert early.status_code == 409 and "completed" in early.json()["detail"], early.text
    await completed(system.nats.url, system.registration, training.id)
    await record_of(system, full)

    mine = await system.registration.get(
        pdf.format(full["id"]), headers={"X-Manage-Token": full["manage_token"]}
    )
    assert mine.status_code == 200 and mine.headers["content-type"] == "application/pdf"
    text, link = pdf_of(mine.content)
    assert "Participant 2" in text and training.title in text
    number = (await record_of(system, full))["number"]
    assert number in text and link.endswith(f"/certificates/{number}")
    assert len(number.replace("-", "")) * 5 >= 64  # base-32 digits: at least 64 random bits

    missing = await system.registration.get(
        pdf.format(partial["id"]), headers={"X-Manage-Token": partial["manage_token"]}
    )
    assert missing.status_code == 409 and str(training.ends_on) in missing.json()["detail"]
    not_yours = await system.registration.get(
        pdf.format(full["id"]), headers={"X-Manage-Token": partial["manage_token"]}
    )
    assert not_yours.status_code == 404
    unknown = await system.registration.get(
        pdf.format("no-such-registration"), headers={"X-Manage-Token": full["manage_token"]}
    )
    assert unknown.status_code == 404
    staff = on(system, training.ends_on + timedelta(days=1))
    by_host = await system.registration.get(pdf.format(full["id"]), headers=staff)
    assert by_host.status_code == 200
    stranger = system.token("organiser", ["EE"])
    assert (
        await system.registration.get(pdf.format(full["id"]), headers=stranger)
    ).status_code == 403

    issued = [
        e for e in await events_about(system.nats.url, {full["id"]}) if "certificate" in e.subject
    ]
    assert [e.subject for e in issued] == ["registration.certificate.issued"]
    assert "name" not in issued[0].data and "number" not in issued[0].data


async def test_the_secretariat_revokes_naming_a_reason_and_it_is_audited(system: System) -> None:
    training, full, number = await certified(system, 3)
    url = f"/registrations/{full['id']}/certificate/revoke"

    organiser = on(system, training.ends_on + timedelta(days=2))
    refused = await system.registration.post(url, json={"reason": "other"}, headers=organiser)
    assert refused.status_code == 403
    secretariat = system.token()
    bad = await system.registration.post(url, json={"reason": "whim"}, headers=secretariat)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    revoked = await system.registration.post(
        url, json={"reason": "issued_in_error"}, headers=secretariat
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    twice = await system.registration.post(url, json={"reason": "other"}, headers=secretariat)
    assert twice.status_code == 409

    page = await system.registration.get(f"/certificates/{number.lower()}")
    assert page.status_code == 410 and "issued in error" in page.text
    assert "Participant 3" not in page.text
    pdf = await system.registration.get(
        f"/registrations/{full['id']}/certificate.pdf", headers=secretariat
    )
    assert pdf.status_code == 409
    log = await system.registration.get(
        "/audit", params={"action": "certificate.revoked"}, headers=secretariat
    )
    assert log.status_code == 200, log.text
    assert full["id"] in log.text

    async def announced() -> list[str]:
        subjects = [e.subject for e in await events_about(system.nats.url, {full["id"]})]
        assert "registration.certificate.revoked" in subjects, subjects
        return subjects

    await eventually(announced)


async def test_a_correction_withdraws_the_certificate_and_another_issues_it_again(
    tmp_path: Path, sink: SmtpSink
) -> None:
    async with running_system(tmp_path, services=("registration",), SMTP_URL=sink.url) as system:
        training, full, number = await certified(system, 4)
        url = f"/registrations/{full['id']}/check-in"

        secretariat = on(system, training.ends_on + timedelta(days=2), "secretariat")
        undone = await system.registration.delete(
            url, params={"day": str(training.ends_on)}, headers=secretariat
        )
        assert undone.status_code == 200, undone.text
        assert (await record_of(system, full))["status"] == "withdrawn"
        assert (await system.registration.get(f"/certificates/{number}")).status_code == 410

        async def mailed(subject: str) -> bool:
            subjects = [s for s, _ in sink.to("participant4@example.org")]
            assert any(s.startswith(subject) for s in subjects), subjects
            return True

        await eventually(lambda: mailed("Certificate of attendance withdrawn"), timeout=15)
        again = await system.registration.post(
            url, json={"day": str(training.ends_on)}, headers=secretariat
        )
        assert again.status_code == 200
        record = await record_of(system, full)
        assert (record["status"], record["number"]) == ("valid", number)


async def test_certificate_records_are_erased_at_the_end_of_their_retention(
    system: System,
) -> None:
    _, _, number = await certified(system, 5)
    valid = await system.registration.get(f"/certificates/{number}")
    assert valid.status_code == 200 and "Participant 5" in valid.text

    clock.advance(own(system.settings).certificate_retention + timedelta(days=1))
    runtime = system.runtime("registration")
    erased = await system.on_service_loop(
        "registration", certificates.erase_expired, runtime.db, system.settings
    )
    assert erased >= 1
    page = await system.registration.get(f"/certificates/{number}")
    assert page.status_code == 410 and "erased" in page.text and "Participant 5" not in page.text
    assert (await system.registration.get("/certificates/0000-0000-0000-0000")).status_code == 404


@pytest.mark.browser
async def test_only_who_attended_both_days_gets_a_certificate_that_verifies(
    served: tuple[System, str], sink: SmtpSink
) -> None:
    system, url = served
    training = await two_day_training(
        system.nats.url, system.registration, title="Человеческий фактор: consular response"
    )
    names = ["Anna Jónsdóttir", "Žydrė Ąžuolaitė-Жукова", "Bjarni Þórsson"]
    people = [
        await register(system.registration, training.id, person(n, name=name, country="IS"))
        for n, name in enumerate(names, start=11)
    ]
    one_day, both, revoked = people

    # At the door on the second day: yesterday's attendance is recorded by picking the day.
    staff = on(system, training.ends_on)
    token = staff["Authorization"].removeprefix("Bearer ")
    door = f"/staff/trainings/{training.id}/check-in"
    async with browser_page(viewport={"width": 390, "height": 844}) as tab:
        await tab.goto(f"{url}/login?next={door}")
        await tab.get_by_label("Staff token").fill(token)
        await tab.get_by_role("button", name="Sign in").click()
        await tab.wait_for_url(f"**{door}")
        await tab.get_by_label("Day", exact=True).select_option(str(training.starts_on))
        await tab.get_by_role("button", name="Show day").click()
        await tab.wait_for_url(re.compile(rf"day={training.starts_on}"))
        for name in names:
            await tab.get_by_role("button", name=f"Check in {name}").click()
            await tab.wait_for_selector("#notice")
        assert await tab.locator("#count-checked-in").inner_text() == "3"
        await tab.get_by_label("Day", exact=True).select_option(str(training.ends_on))
        await tab.get_by_role("button", name="Show day").click()
        await tab.wait_for_url(re.compile(rf"day={training.ends_on}"))
        for name in names[1:]:
            await tab.get_by_role("button", name=f"Check in {name}").click()
            await tab.wait_for_selector("#notice")
        assert await tab.locator("#count-checked-in").inner_text() == "2"
        found = await accessibility_violations(tab)
        assert found == [], found

    await completed(system.nats.url, system.registration, training.id)

    async def certificate_mail(address: str) -> str:
        for subject, text in sink.to(address):
            if subject.startswith("Your certificate of attendance"):
                return CERTIFICATE_LINK.search(text).group(1)  # type: ignore[union-attr]
        raise AssertionError(f"no certificate mail to {address} yet")

    link = await eventually(lambda: certificate_mail(both["email"]), timeout=15)
    await eventually(lambda: certificate_mail(revoked["email"]), timeout=15)
    assert not [s for s, _ in sink.to(one_day["email"]) if "certificate" in s.lower()]

    async with httpx.AsyncClient() as client:
        downloaded = await client.get(link)
    assert downloaded.status_code == 200
    text, verification = pdf_of(downloaded.content)
    assert "Žydrė Ąžuolaitė-Жукова" in text and "Reykjavik, Iceland" in text
    assert "Человеческий фактор" in text
    assert verification.startswith(f"{url}/certificates/")
    revoked_number = (await record_of(system, revoked))["number"]
    secretariat = system.token()

    async with browser_page() as tab:
        shown = await tab.goto(verification)
        assert shown is not None and shown.status == 200
        assert await tab.locator("#holder").inner_text() == "Žydrė Ąžuolaitė-Жукова"
        assert await accessibility_violations(tab, impacts=()) == []
        # The manage page offers the certificate too.
        await tab.goto(link.removesuffix("/certificate.pdf"))
        assert await tab.locator("#certificate-link").get_attribute("href") == link.removeprefix(
            url
        )
        assert await accessibility_violations(tab, impacts=()) == []

        # The secretariat revokes the third person's certificate from its staff page.
        page = f"/staff/registrations/{revoked['id']}/certificate"
        await tab.goto(f"{url}/login?next={page}")
        await tab.get_by_label("Staff token").fill(
            secretariat["Authorization"].removeprefix("Bearer ")
        )
        await tab.get_by_role("button", name="Sign in").click()
        await tab.wait_for_url(f"**{page}")
        await tab.get_by_label("Reason").select_option("identity_disputed")
        await tab.get_by_role("button", name="Revoke the certificate").click()
        await tab.wait_for_selector("#notice")
        assert "revoked" in await tab.locator("#status").inner_text()
        assert await accessibility_violations(tab) == []

        shown = await tab.goto(f"{url}/certificates/{revoked_number}")
        assert shown is not None and shown.status == 410
        assert await tab.locator("#reason").inner_text() == "identity of the holder disputed"
        assert names[2] not in await tab.content()
        assert await accessibility_violations(tab, impacts=()) == []

        erased = await system.registration.post(
            "/privacy/erase", json={"email": both["email"]}, headers=secretariat
        )
        assert erased.status_code == 200
        shown = await tab.goto(verification)
        assert shown is not None and shown.status == 410
        assert "existed" in await tab.locator("h1").inner_text()
        assert "Žydrė" not in await tab.content()
        assert await accessibility_violations(tab, impacts=()) == []

        shown = await tab.goto(f"{url}/certificates/AAAA-BBBB-CCCC-DDDD")
        assert shown is not None and shown.status == 404
        assert await accessibility_violations(tab, impacts=()) == []


def test_a_name_beyond_the_cut_down_fonts_still_renders_with_the_whole_ones() -> None:
    training = sample_training(
        "LT",
        "Prekyba žmonėmis",
        "Vilnius",
        "Europe/Vilnius",
        [
            session(
                "Identifying victims",
                "lecture",
                "2009-09-02T09:00:00+03:00",
                "2009-09-02T12:30:00+03:00",
            ),
            session("Lunch", "break", "2009-09-02T12:30:00+03:00", "2009-09-02T13:30:00+03:00"),
        ],
    )
    for name in ("Ąžuolas Šimkūnas", "Աննա Жукова"):
        with speaking("en"):
            body = certificate_pdf.render(
                number="7KQ2-9XDF-M3HT-Q8WN",
                name=name,
                training=training,
                days=[date(2009, 9, 2)],
                verification_url="https://example.org/certificates/7KQ2-9XDF-M3HT-Q8WN",
            )
        text, link = pdf_of(body)
        assert name in text and "3.5 hours" in text and "Lithuania" in text
        assert link == "https://example.org/certificates/7KQ2-9XDF-M3HT-Q8WN"

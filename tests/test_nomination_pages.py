"""The pages of nominations without a browser: the organisers' page (who may see it, a focal
point named from it, refusals beside their field), the focal point's form and the nominee's
page refusing with the field named, and links that do not work."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.browser import csrf_of
from tests.registration_support import open_training
from tests.support import SmtpSink, System, eventually, running_system

NOMINATE_LINK = re.compile(r"/nominate/([A-Za-z0-9_-]{20,})")
NOMINEE_LINK = re.compile(r"/nominee/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def system(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[System]:
    async with running_system(tmp_path, services=("registration",), SMTP_URL=sink.url) as running:
        yield running


async def mailed(sink: SmtpSink, address: str, pattern: re.Pattern[str]) -> str:
    async def arrived() -> str:
        for _, text in sink.to(address):
            found = pattern.search(text)
            if found:
                return found.group(1)
        raise AssertionError(f"nothing to {address} yet")

    return await eventually(arrived, timeout=15)


async def test_the_organisers_page_names_focal_points_for_the_host_country_only(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration, by_nomination=True)
    path = f"/staff/trainings/{training.id}/nominations"
    host = system.token("organiser", ["EE"])
    stranger = system.token("organiser", ["LV"])
    assert (await system.registration.get(path, follow_redirects=False)).status_code == 303
    assert (await system.registration.get(path, headers=stranger)).status_code == 403
    page = await system.registration.get(path, headers=host)
    assert page.status_code == 200 and "No focal point named yet" in page.text
    assert page.headers["content-type"].startswith("text/html")
    listing = await system.registration.get(f"/staff/trainings/{training.id}", headers=host)
    assert f'href="{path}"' in listing.text

    action = f"/staff/trainings/{training.id}/focal-points"
    form = {"_csrf_token": csrf_of(page.text), "country": "FI", "name": "Mikko Laine"}
    bad = await system.registration.post(action, data={**form, "email": "mikko@"}, headers=host)
    assert bad.status_code == 422 and 'id="fp-email-error"' in bad.text
    assert 'value="Mikko Laine"' in bad.text
    refused = await system.registration.post(
        action, data={**form, "email": "mikko@um.fi"}, headers=stranger
    )
    assert refused.status_code == 403
    named = await system.registration.post(
        action, data={**form, "email": "mikko@um.fi"}, headers=host, follow_redirects=False
    )
    assert named.status_code == 303, named.text
    page = await system.registration.get(path, headers=host)
    assert "mikko@um.fi" in page.text
    assert await mailed(sink, "mikko@um.fi", NOMINATE_LINK)


async def test_the_nomination_forms_name_the_field_they_refuse(
    system: System, sink: SmtpSink
) -> None:
    training = await open_training(system.nats.url, system.registration, by_nomination=True)
    named = await system.registration.post(
        f"/trainings/{training.id}/focal-points",
        json={"country": "EE", "name": "Kadri Saar", "email": "kadri@mfa.ee"},
        headers=system.token(),
    )
    assert named.status_code == 201
    token = await mailed(sink, "kadri@mfa.ee", NOMINATE_LINK)
    path = f"/nominate/{token}"
    page = await system.registration.get(path)
    assert "Nominations of Estonia" in page.text and "no quota of its own" in page.text
    form = {"_csrf_token": csrf_of(page.text), "email": "jaan@mfa.ee", "organisation": "MFA"}
    blank = await system.registration.post(path, data={**form, "name": " "})
    assert blank.status_code == 422 and 'id="name-error"' in blank.text
    done = await system.registration.post(path, data={**form, "name": "Jaan Kask"})
    assert done.status_code == 200 and "Jaan Kask" in done.text and "Place offered" in done.text
    again = await system.registration.post(path, data={**form, "name": "Jaan Kask"})
    assert again.status_code == 409 and 'id="email-error"' in again.text

    nominee = await mailed(sink, "jaan@mfa.ee", NOMINEE_LINK)
    offer = await system.registration.get(f"/nominee/{nominee}")
    assert offer.status_code == 200 and 'value="Jaan Kask"' in offer.text
    answers = {"_csrf_token": csrf_of(offer.text), "name": "Jaan Kask", "organisation": " "}
    refused = await system.registration.post(f"/nominee/{nominee}", data=answers)
    assert refused.status_code == 422 and 'id="organisation-error"' in refused.text

    for unknown in ("/nominate/not-a-real-link-at-all", "/nominee/not-a-real-link-at-all"):
        gone = await system.registration.get(unknown)
        assert gone.status_code == 404 and "This link does not work" in gone.text

"""Trainings by nomination: the public form closed, national focal points nominating within
their country's quota, nominees confirming through the registration intake, and unused
quotas released at the nomination deadline, and the pages of nominations; over a real
broker, database and SMTP server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.registration.nominations import offer_waiting
from shared.clock import clock
from tests.browser import csrf_of
from tests.registration_support import open_training, person, registration_events
from tests.support import SmtpSink, System, eventually, running_system

NOMINATE_LINK = re.compile(r"/nominate/([A-Za-z0-9_-]{20,})")
NOMINEE_LINK = re.compile(r"/nominee/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture(params=["sqlite", "postgres"])
async def system(
    request: pytest.FixtureRequest, tmp_path: Path, sink: SmtpSink
) -> AsyncIterator[System]:
    if request.param == "postgres":
        import os

        if not os.environ.get("CI"):
            pytest.skip("PostgreSQL runs with CI=1")
    async with running_system(
        tmp_path, request.param, services=("registration",), SMTP_URL=sink.url
    ) as running:
        yield running


async def link_in_mail(sink: SmtpSink, address: str, pattern: re.Pattern[str], nth: int = 0) -> str:
    async def arrived() -> str:
        found = [m.group(1) for _, text in sink.to(address) for m in pattern.finditer(text)]
        assert len(found) > nth, sink.to(address)
        return found[nth]

    return await eventually(arrived, timeout=15)


async def by_nomination(system: System, **changes: Any) -> Any:
    return await open_training(system.nats.url, system.registration, by_nomination=True, **changes)


async def focal_point(
    system: System, sink: SmtpSink, training_id: str, country: str, email: str
) -> str:
    """Name a focal point (as the secretariat) and return the token of their mailed link."""
    named = await system.registration.post(
        f"/trainings/{training_id}/focal-points",
        json={"country": country, "name": f"Focal point {country}", "email": email},
        headers=system.token(),
    )
    assert named.status_code == 201, named.text
    return await link_in_mail(sink, email, NOMINATE_LINK)


async def nominate(system: System, token: str, number: int) -> dict[str, Any]:
    nominee = person(number)
    response = await system.registration.post(
        f"/focal-points/{token}/nominations",
        json={k: nominee[k] for k in ("name", "email", "organisation", "position")},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def states(system: System, token: str) -> list[tuple[str, str]]:
    response = await system.registration.get(f"/focal-points/{token}/nominations")
    assert response.status_code == 200, response.text
    return [(item["email"], item["status"]) for item in response.json()["items"]]


async def test_the_public_form_of_a_training_by_nomination_answers_409_naming_training(
    system: System,
) -> None:
    training = await by_nomination(system)
    refused = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(1)
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "training"
    entry = (await system.registration.get(f"/trainings/{training.id}")).json()
    assert entry["by_nomination"] is True and entry["registration_open"] is False
    page = await system.registration.get("/")
    assert "By nomination" in page.text and f"/register/{training.id}" not in page.text
    form = await system.registration.get(f"/register/{training.id}")
    assert "by nomination" in form.text and 'name="consent"' not in form.text
    # Staff of the host country still register someone themselves.
    walk_in = await system.registration.post(
        f"/trainings/{training.id}/registrations",
        json=person(2),
        headers=system.token("organiser", ["EE"]),
    )
    assert walk_in.status_code == 201, walk_in.text


async def test_nominees_within_the_quota_are_offered_and_the_rest_wait_in_nomination_order(
    system: System, sink: SmtpSink
) -> None:
    training = await by_nomination(system)
    quotas = await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"EE": 2}, headers=system.token()
    )
    assert quotas.status_code == 200
    token = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    for number in (1, 2, 3, 4):
        await nominate(system, token, number)
    assert await states(system, token) == [
        ("participant1@example.org", "offered"),
        ("participant2@example.org", "offered"),
        ("participant3@example.org", "waiting"),
        ("participant4@example.org", "waiting"),
    ]
    await link_in_mail(sink, "participant1@example.org", NOMINEE_LINK)
    ((subject, _),) = await eventually(lambda: _mails(sink, "participant3@example.org"))
    assert subject.startswith("Nomination received")

    listing = (await system.registration.get(f"/focal-points/{token}/nominations")).json()
    assert listing["quota"] == 2 and listing["holding"] == 2
    first = listing["items"][0]["id"]
    withdrawn = await system.registration.post(
        f"/focal-points/{token}/nominations/{first}/withdraw"
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert [s for _, s in await states(system, token)] == [
        "withdrawn",
        "offered",
        "offered",
        "waiting",
    ]
    again = await system.registration.post(f"/focal-points/{token}/nominations/{first}/withdraw")
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "nomination"

    subjects = {event.subject for event in await registration_events(system.nats.url)}
    assert {
        "registration.focal_point.named",
        "registration.nomination.offered",
        "registration.nomination.waiting",
        "registration.nomination.withdrawn",
    } <= subjects
    for event in await registration_events(system.nats.url):
        if event.subject.startswith("registration.nomination."):
            assert "email" not in event.data and "name" not in event.data


async def _mails(sink: SmtpSink, address: str) -> list[tuple[str, str]]:
    return sink.to(address)


async def test_a_nominee_confirms_with_consent_and_gets_a_registration(
    system: System, sink: SmtpSink
) -> None:
    training = await by_nomination(system)
    token = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    await nominate(system, token, 1)
    nominee = await link_in_mail(sink, "participant1@example.org", NOMINEE_LINK)

    no_consent = await system.registration.post(
        f"/nominees/{nominee}/registration", json={"consent": False}
    )
    assert no_consent.status_code == 422 and no_consent.json()["errors"][0]["field"] == "consent"
    confirmed = await system.registration.post(
        f"/nominees/{nominee}/registration",
        json={"consent": True, "position": "First Secretary"},
    )
    assert confirmed.status_code == 201, confirmed.text
    registration = confirmed.json()
    assert registration["status"] == "confirmed" and registration["country"] == "EE"
    assert registration["email"] == "participant1@example.org"
    assert registration["position"] == "First Secretary"
    twice = await system.registration.post(
        f"/nominees/{nominee}/registration", json={"consent": True}
    )
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "nomination"
    (item,) = (await system.registration.get(f"/focal-points/{token}/nominations")).json()["items"]
    assert item["status"] == "registered" and item["registration_id"] == registration["id"]
    unknown = await system.registration.post(
        "/nominees/not-a-real-token-at-all/registration", json={"consent": True}
    )
    assert unknown.status_code == 404


async def test_a_nominee_of_a_moderated_training_waits_for_approval(
    system: System, sink: SmtpSink
) -> None:
    training = await by_nomination(system, moderated=True)
    token = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    await nominate(system, token, 1)
    nominee = await link_in_mail(sink, "participant1@example.org", NOMINEE_LINK)
    confirmed = await system.registration.post(
        f"/nominees/{nominee}/registration", json={"consent": True}
    )
    assert confirmed.status_code == 201 and confirmed.json()["status"] == "pending"


async def test_unused_quotas_go_to_other_countries_waiting_nominees_at_the_deadline(
    system: System, sink: SmtpSink
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    training = await by_nomination(system, nominations_close_at=now + timedelta(days=2))
    await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"EE": 1, "LV": 3, "LT": 1}, headers=system.token()
    )
    ee = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    lv = await focal_point(system, sink, training.id, "LV", "fp.lv@mfa.lv")
    for number in (1, 2, 3):
        await nominate(system, ee, number)
    await nominate(system, lv, 4)
    assert [s for _, s in await states(system, ee)] == ["offered", "waiting", "waiting"]

    clock.set(now + timedelta(days=1))
    assert [s for _, s in await states(system, ee)] == ["offered", "waiting", "waiting"]
    clock.set(now + timedelta(days=2, seconds=1))

    async def released() -> bool:
        return [s for _, s in await states(system, ee)] == ["offered", "offered", "offered"]

    await eventually(released, timeout=15)
    # LV left two places unused, LT one: the two EE nominees take LT's and one of LV's, in
    # country order; the quotas move with them, so that registration seats them.
    quotas = (
        await system.registration.get(
            f"/trainings/{training.id}/nominations", headers=system.token()
        )
    ).json()["items"]
    assert [n["status"] for n in quotas] == ["offered", "offered", "offered", "offered"]
    late = await link_in_mail(sink, "participant3@example.org", NOMINEE_LINK, nth=1)
    confirmed = await system.registration.post(
        f"/nominees/{late}/registration", json={"consent": True}
    )
    assert confirmed.status_code == 201 and confirmed.json()["status"] == "confirmed"
    closed = await system.registration.post(
        f"/focal-points/{ee}/nominations",
        json={"name": "Late", "email": "late@example.org", "organisation": "MFA"},
    )
    assert closed.status_code == 409 and closed.json()["errors"][0]["field"] == "training"


async def test_focal_points_see_their_own_country_and_organisers_their_own_trainings(
    system: System, sink: SmtpSink
) -> None:
    training = await by_nomination(system)
    ee = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    lv = await focal_point(system, sink, training.id, "LV", "fp.lv@mfa.lv")
    await nominate(system, ee, 1)
    await nominate(system, lv, 2)
    assert await states(system, ee) == [("participant1@example.org", "offered")]
    assert await states(system, lv) == [("participant2@example.org", "offered")]
    lv_item = (await system.registration.get(f"/focal-points/{lv}/nominations")).json()
    other = await system.registration.post(
        f"/focal-points/{ee}/nominations/{lv_item['items'][0]['id']}/withdraw"
    )
    assert other.status_code == 404
    assert (
        await system.registration.get("/focal-points/nobody-at-all-here/nominations")
    ).status_code == 404

    host = system.token("organiser", ["EE"])
    stranger = system.token("organiser", ["FI"])
    path = f"/trainings/{training.id}/nominations"
    assert (await system.registration.get(path)).status_code == 401
    assert (await system.registration.get(path, headers=stranger)).status_code == 403
    listed = await system.registration.get(path, headers=host)
    assert [n["country"] for n in listed.json()["items"]] == ["EE", "LV"]
    named = await system.registration.post(
        f"/trainings/{training.id}/focal-points",
        json={"country": "FI", "name": "Someone", "email": "fp@um.fi"},
        headers=stranger,
    )
    assert named.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "not-an-address", "organisation": "MFA"}, "email"),
        ({"name": "  ", "email": "a@example.org", "organisation": "MFA"}, "name"),
        ({"name": "A", "email": "a@example.org", "organisation": " "}, "organisation"),
    ],
)
async def test_a_nomination_refused_names_the_field(
    system: System, sink: SmtpSink, body: dict[str, Any], field: str
) -> None:
    training = await by_nomination(system)
    token = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    response = await system.registration.post(f"/focal-points/{token}/nominations", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await states(system, token) == []


async def test_a_nomination_of_the_wrong_shape_is_refused_naming_the_field(
    system: System, sink: SmtpSink
) -> None:
    """The body's shape is checked before any rule (400, as every route of the service)."""
    training = await by_nomination(system)
    token = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    body = {"name": "A", "email": "a@example.org", "organisation": "MFA", "position": "x" * 201}
    response = await system.registration.post(f"/focal-points/{token}/nominations", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "position"


async def test_a_focal_point_refused_names_the_field(system: System) -> None:
    training = await by_nomination(system)
    path = f"/trainings/{training.id}/focal-points"
    for body, field in (
        ({"country": "XX", "name": "A", "email": "a@example.org"}, "country"),
        ({"country": "EE", "name": "A", "email": "nope"}, "email"),
        ({"country": "EE", "name": " ", "email": "a@example.org"}, "name"),
    ):
        response = await system.registration.post(path, json=body, headers=system.token())
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    public = await open_training(system.nats.url, system.registration)
    not_nominated = await system.registration.post(
        f"/trainings/{public.id}/focal-points",
        json={"country": "EE", "name": "A", "email": "a@example.org"},
        headers=system.token(),
    )
    assert not_nominated.status_code == 409
    assert not_nominated.json()["errors"][0]["field"] == "training"


async def test_naming_a_focal_point_is_audited_by_id_and_country_only(
    system: System, sink: SmtpSink
) -> None:
    training = await by_nomination(system)
    named = await system.registration.post(
        f"/trainings/{training.id}/focal-points",
        json={"country": "LT", "name": "Rūta Kazlauskienė", "email": "ruta@urm.lt"},
        headers=system.token("organiser", ["EE"]),
    )
    assert named.status_code == 201, named.text
    log = await system.registration.get(
        "/audit", params={"action": "focal_point.named"}, headers=system.token()
    )
    assert log.status_code == 200, log.text
    (entry,) = log.json()["items"]
    assert entry["object_id"] == named.json()["id"]
    assert entry["training_id"] == training.id and entry["detail"] == {"country": "LT"}
    assert "ruta" not in log.text.lower() and "Kazlauskien" not in log.text


async def test_release_passes_side_by_side_offer_each_place_once(
    system: System, sink: SmtpSink
) -> None:
    """Instances of the service each run the release job: passes at the same moment (and
    the app's own) still give each unused place to one nominee, with one event each."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    training = await by_nomination(system, nominations_close_at=now + timedelta(hours=1))
    await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"EE": 1, "LV": 2}, headers=system.token()
    )
    ee = await focal_point(system, sink, training.id, "EE", "fp.ee@mfa.ee")
    for number in (1, 2, 3, 4):
        await nominate(system, ee, number)
    clock.set(now + timedelta(hours=2))
    runtime = system.runtime("registration")

    async def passes() -> list[int]:
        return list(await asyncio.gather(*(offer_waiting(runtime) for _ in range(3))))

    await system.on_service_loop("registration", passes)

    async def released() -> list[str]:
        found = [s for _, s in await states(system, ee)]
        assert found == ["offered", "offered", "offered", "waiting"], found
        return found

    await eventually(released, timeout=15)
    offers = [
        event.data["id"]
        for event in await registration_events(system.nats.url)
        if event.subject == "registration.nomination.offered"
    ]
    assert len(offers) == len(set(offers)) == 3
    for number in (2, 3):
        link = await link_in_mail(sink, f"participant{number}@example.org", NOMINEE_LINK, nth=1)
        taken = await system.registration.post(
            f"/nominees/{link}/registration", json={"consent": True}
        )
        # The places moved with LV's quota: registration confirms them.
        assert taken.status_code == 201 and taken.json()["status"] == "confirmed", taken.text


# --- pages -----------------------------------------------------------------------------


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
    assert await link_in_mail(sink, "mikko@um.fi", NOMINATE_LINK)


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
    token = await link_in_mail(sink, "kadri@mfa.ee", NOMINATE_LINK)
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

    nominee = await link_in_mail(sink, "jaan@mfa.ee", NOMINEE_LINK)
    offer = await system.registration.get(f"/nominee/{nominee}")
    assert offer.status_code == 200 and 'value="Jaan Kask"' in offer.text
    answers = {"_csrf_token": csrf_of(offer.text), "name": "Jaan Kask", "organisation": " "}
    refused = await system.registration.post(f"/nominee/{nominee}", data=answers)
    assert refused.status_code == 422 and 'id="organisation-error"' in refused.text

    for unknown in ("/nominate/not-a-real-link-at-all", "/nominee/not-a-real-link-at-all"):
        gone = await system.registration.get(unknown)
        assert gone.status_code == 404 and "This link does not work" in gone.text

"""Every participant page in every language: `<html lang>`, `Vary`, the switcher and its
cookie, the registration's own language behind a manage or invitation link, and the API's
`language`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from services.registration import certificates, nomination_mails
from services.registration.settings import own
from shared.clock import clock
from tests.browser import csrf_of
from tests.evaluation_support import Training, attendee, completed_training, deliver, mails
from tests.registration_support import (
    completed,
    events_about,
    open_training,
    person,
    register,
    two_day_training,
)
from tests.scheduling_support import published_training
from tests.support import System, eventually, plain_text, staff_headers
from tests.test_certificates import check_in, record_of
from tests.test_languages import LANGUAGES, TRANSLATED, english_left

SWITCHER = re.compile(r'<nav class="languages" aria-label="[^"]+"><ul>(.*?)</ul></nav>', re.S)


def visible(html: str) -> str:
    """The page's words: no tags, styles, or attribute values."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_in_language(response: Any, language: str) -> None:
    assert f'<html lang="{language}">' in response.text, response.text[:200]
    assert response.headers["vary"] == "Accept-Language, Cookie"
    assert response.headers["content-language"] == language
    switcher = SWITCHER.search(response.text)
    assert switcher, "no language switcher"
    assert len(re.findall(r"<li>", switcher.group(1))) == len(LANGUAGES)
    current = re.findall(r'lang="(\w+)"[^>]*aria-current="true"', switcher.group(1))
    assert current == [language]
    if language != "en":
        assert english_left(visible(response.text)) == [], language


@pytest.mark.services("registration")
async def registered_speaking(system: System, language: str) -> tuple[Any, dict[str, Any]]:
    """A training, and person 1's registration for it asking for `language`."""
    training = await open_training(system.nats.url, system.registration)
    body = {**person(1), "language": language}
    return training, await register(system.registration, training.id, body)


async def manage_page_speaking(system: System, language: str) -> str:
    """The path of the manage page of a registration asking for `language`."""
    _, registration = await registered_speaking(system, language)
    return f"/manage/{registration['manage_token']}"


async def test_every_registration_page_comes_in_every_language(system: System) -> None:
    client = system.registration
    training = await open_training(system.nats.url, client, capacity=1)
    taken = await register(client, training.id, person(9))
    for n, language in enumerate(LANGUAGES):
        asked = {"lang": language}
        pages = [
            await client.get("/", params=asked),
            await client.get(f"/register/{training.id}", params=asked),
            await client.get("/resend-link", params=asked),
            await client.get(f"/manage/{taken['manage_token']}", params=asked),
            await client.get("/manage/not-a-token", params=asked),
            await client.get("/register/no-such-training", params=asked),
        ]
        form = pages[1]
        token = csrf_of(form.text)
        # The form's errors, then a registration (waitlisted: the one seat is taken).
        pages.append(await client.post(f"/register/{training.id}", data={"_csrf_token": token}))
        body = {**person(n), "consent": "yes", "country": "LV", "_csrf_token": token}
        registered = await client.post(f"/register/{training.id}", data=body)
        pages.append(registered)
        pages.append(await client.post("/resend-link", data={"_csrf_token": token, "email": "x"}))
        # The manage page's own pages and forms refused: details, then the visa letter.
        manage = f"/manage/{taken['manage_token']}"
        pages.append(await client.get(f"{manage}/cancel"))
        pages.append(await client.get(f"{manage}/registered"))
        refused = {"_csrf_token": token, "name": "", "organisation": "", "language": "xx"}
        pages.append(await client.post(f"{manage}/details", data=refused))
        letter = {"_csrf_token": token, "nationality": "ZZ", "date_of_birth": "2999-01-01"}
        pages.append(await client.post(f"{manage}/letter", data=letter))
        assert [page.status_code for page in pages[-2:]] == [422, 422]
        for page in pages:
            assert_in_language(page, language)
        assert f'id="position">{n + 1}<' in registered.text


@pytest.mark.services("registration")
async def test_the_switcher_is_remembered_and_accept_language_comes_after_it(
    system: System,
) -> None:
    client = system.registration
    # Nothing said: English; a region falls back to its language.
    assert '<html lang="en">' in (await client.get("/")).text
    austrian = await client.get("/", headers={"Accept-Language": "de-AT,de;q=0.9"})
    assert '<html lang="de">' in austrian.text and "Schulungen" in austrian.text
    # The switcher's choice is kept in a cookie and wins over Accept-Language.
    switched = await client.get("/", params={"lang": "pl"}, headers={"Accept-Language": "ru"})
    assert "capitals_lang=pl" in switched.headers["set-cookie"]
    assert "Path=/" in switched.headers["set-cookie"]
    later = await client.get("/resend-link", headers={"Accept-Language": "ru"})
    assert '<html lang="pl">' in later.text and "set-cookie" not in later.headers
    # A language not offered changes nothing.
    unknown = await client.get("/", params={"lang": "fr"})
    assert '<html lang="pl">' in unknown.text


@pytest.mark.services("registration")
async def test_a_manage_page_speaks_the_registrations_language_unless_the_person_chose(
    system: System,
) -> None:
    client = system.registration
    page = await manage_page_speaking(system, "pl")
    russian_browser = {"Accept-Language": "ru"}
    assert '<html lang="pl">' in (await client.get(page, headers=russian_browser)).text
    chosen = await client.get(page, params={"lang": "de"}, headers=russian_browser)
    assert '<html lang="de">' in chosen.text
    # The cookie is the person's choice too.
    assert '<html lang="de">' in (await client.get(page, headers=russian_browser)).text
    client.cookies.clear()
    assert '<html lang="pl">' in (await client.get(page, headers=russian_browser)).text


@pytest.mark.services("registration")
async def test_the_api_keeps_the_language_asked_for_or_the_browsers_and_refuses_others(
    system: System,
) -> None:
    client = system.registration
    training, asked = await registered_speaking(system, "ru")
    assert asked["language"] == "ru"
    browser = await register(
        client, training.id, person(2), headers={"Accept-Language": "de-CH, en;q=0.5"}
    )
    assert browser["language"] == "de"
    assert (await register(client, training.id, person(3)))["language"] == "en"
    refused = await client.post(
        f"/trainings/{training.id}/registrations", json={**person(4), "language": "fr"}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "language" in refused.text
    held = await client.get(
        f"/registrations/{asked['id']}", headers={"X-Manage-Token": asked["manage_token"]}
    )
    assert held.json()["language"] == "ru"
    # The API's own messages stay English, whatever the browser says.
    missing = await client.post(
        f"/trainings/{training.id}/registrations",
        json={**person(5), "consent": False},
        headers={"Accept-Language": "de"},
    )
    assert missing.status_code == 422 and "consent" in missing.text


@pytest.mark.services("scheduling")
async def test_every_public_scheduling_page_comes_in_every_language(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training, _ = await published_training(
        system, ee, sessions=2, series="language-series", title="Tallinn training"
    )
    for language in LANGUAGES:
        asked = {"lang": language}
        for path in ("/", "/series/language-series/page", f"/trainings/{training['id']}/page"):
            assert_in_language(await system.scheduling.get(path, params=asked), language)
    german = await system.scheduling.get(f"/trainings/{training['id']}/page", params={"lang": "de"})
    assert "Estland" in german.text and "Zeitplan" in german.text


HTML = {"Accept": "text/html"}


async def test_every_evaluation_page_comes_in_every_language(evaluation: System) -> None:
    system = evaluation
    _, tokens = await completed_training(system, ["Mari Tamm"])
    link = f"/evaluations/{tokens['Mari Tamm']}"
    for language in LANGUAGES:
        asked = {"lang": language}
        form = await system.evaluation.get(link, params=asked, headers=HTML)
        assert_in_language(form, language)
        errors = await system.evaluation.post(
            f"{link}/form", data={"_csrf_token": csrf_of(form.text), "action": "submit"}
        )
        assert errors.status_code == 422
        assert_in_language(errors, language)
        assert f'href="{link}?lang=de"' in errors.text  # the switcher stays on the form
        assert_in_language(await system.evaluation.get(f"{link}/thanks", params=asked), language)
        missing = await system.evaluation.get("/evaluations/nothing", params=asked, headers=HTML)
        assert_in_language(missing, language)


async def test_an_attendee_is_invited_and_asked_in_their_own_language(
    evaluation: System,
) -> None:
    system = evaluation
    training = Training()
    polish = msgspec.structs.replace(attendee(training, "Anna Nowak"), language="pl")
    _, tokens = await completed_training(system, ["Jan Kask"], training)
    await deliver(system, polish)
    invited = [m for m in mails(system) if m["To"] == polish.email]
    assert invited, "no invitation"
    text = plain_text(invited[0])
    assert text.startswith("Dzień dobry, Anna Nowak,") and english_left(text) == []
    token = re.search(r"/evaluations/([\w-]+)", text)
    assert token
    page = await system.evaluation.get(f"/evaluations/{token.group(1)}", headers=HTML)
    assert '<html lang="pl">' in page.text
    # The other attendee's page and mail stay English.
    other = await system.evaluation.get(f"/evaluations/{tokens['Jan Kask']}", headers=HTML)
    assert '<html lang="en">' in other.text


@pytest.mark.services("registration")
@pytest.mark.parametrize("language", TRANSLATED)
async def test_staff_pages_stay_english(system: System, language: str) -> None:
    page = await system.registration.get("/login", params={"lang": language})
    assert '<html lang="en">' in page.text and 'class="languages"' not in page.text


@pytest.mark.services("registration")
async def test_a_check_in_tells_evaluation_the_attendees_own_language(system: System) -> None:
    training = await open_training(system.nats.url, system.registration)
    russian = await register(system.registration, training.id, {**person(1), "language": "ru"})
    day = training.starts_on
    clock.set(datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))
    checked = await system.registration.post(
        f"/registrations/{russian['id']}/check-in", headers=staff_headers("organiser", ["EE"])
    )
    assert checked.status_code == 200, checked.text

    async def emitted() -> Any:
        (event,) = [
            e
            for e in await events_about(system.nats.url, {russian["id"]})
            if "checked_in" in e.subject
        ]
        return event

    event = await eventually(emitted)
    assert event.data["language"] == "ru"


async def certificate_numbers(system: System) -> dict[str, str]:
    """A valid certificate's number, a revoked one's and an unknown one."""
    client = system.registration
    training = await two_day_training(system.nats.url, client)
    kept, revoked = [await register(client, training.id, person(n)) for n in (1, 2)]
    for registration in (kept, revoked):
        await check_in(system, registration, training.starts_on, training.ends_on)
    await completed(system.nats.url, system.registration, training.id)
    numbers = {"valid": (await record_of(system, kept))["number"]}
    numbers["revoked"] = (await record_of(system, revoked))["number"]
    revoking = await client.post(
        f"/registrations/{revoked['id']}/certificate/revoke",
        json={"reason": "attendance_not_met"},
        headers=system.token(),
    )
    assert revoking.status_code == 200, revoking.text
    clock.reset()  # back from the training's days
    return {**numbers, "unknown": "0000-0000-0000-0000"}


@pytest.mark.services("registration")
async def test_every_certificate_verdict_comes_in_every_language(system: System) -> None:
    client = system.registration
    numbers = await certificate_numbers(system)

    async def every_verdict() -> None:
        for language in LANGUAGES:
            for verdict, number in numbers.items():
                page = await client.get(f"/certificates/{number}", params={"lang": language})
                assert 'id="verdict"' in page.text, (verdict, page.text[:300])
                assert_in_language(page, language)

    await every_verdict()
    # Past the retention counted from the training's days (a month from now).
    clock.advance(own(system.settings).certificate_retention + timedelta(days=60))
    runtime = system.runtime("registration")
    await system.on_service_loop(
        "registration", certificates.erase_expired, runtime.db, system.settings
    )
    numbers = {"erased": numbers["valid"]}
    assert (await client.get(f"/certificates/{numbers['erased']}")).status_code == 410
    await every_verdict()


async def nomination_tokens(system: System) -> tuple[str, str]:
    """A focal point's token for a training by nomination, and their nominee's (offered)."""
    client = system.registration
    training = await open_training(system.nats.url, client, by_nomination=True)
    named = await client.post(
        f"/trainings/{training.id}/focal-points",
        json={"country": "PL", "name": "Focal point PL", "email": "fp@msz.example"},
        headers=system.token(),
    )
    assert named.status_code == 201, named.text
    focal = nomination_mails.focal_point_token(system.settings, named.json()["id"])
    nominee = {k: person(3)[k] for k in ("name", "email", "organisation", "position")}
    nominated = await client.post(f"/focal-points/{focal}/nominations", json=nominee)
    assert nominated.status_code == 201, nominated.text
    return focal, nomination_mails.nominee_token(system.settings, nominated.json()["id"])


@pytest.mark.services("registration")
async def test_the_nomination_pages_come_in_every_language(system: System) -> None:
    client = system.registration
    focal, offered = await nomination_tokens(system)
    nominee = {k: person(3)[k] for k in ("name", "email", "organisation")}
    for language in LANGUAGES:
        asked = {"lang": language}
        nominate = await client.get(f"/nominate/{focal}", params=asked)
        confirm = await client.get(f"/nominee/{offered}", params=asked)
        token = csrf_of(nominate.text)
        pages = [
            nominate,
            confirm,
            await client.post(f"/nominate/{focal}", data={"_csrf_token": token}),
            # The same person again: the rules refuse, and the page says so in its language.
            await client.post(f"/nominate/{focal}", data={"_csrf_token": token, **nominee}),
            await client.post(f"/nominee/{offered}", data={"_csrf_token": token}),
            await client.get("/nominate/not-a-token", params=asked),
            await client.get("/nominee/not-a-token", params=asked),
        ]
        assert [page.status_code for page in pages[2:5]] == [422, 409, 422]
        assert 'id="email-error"' in pages[3].text
        assert 'id="nominations"' in nominate.text and 'id="consent"' in confirm.text
        for page in pages:
            assert_in_language(page, language)


@pytest.mark.services("scheduling")
async def test_an_error_page_on_a_participant_route_comes_in_every_language(
    system: System,
) -> None:
    # (A path no route answers skips the routes' middleware, and with it the languages.)
    for language in LANGUAGES:
        for path in ("/trainings/no-such-training/page", "/series/no-such-series/page"):
            missing = await system.scheduling.get(path, params={"lang": language}, headers=HTML)
            assert missing.status_code == 404 and 'id="error-sentence"' in missing.text
            assert_in_language(missing, language)

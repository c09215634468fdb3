"""The staff session cookie: a stale one locks no one out, and it acts only from our own pages."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from capitals.embedded import free_port
from shared.auth import COOKIE_NAME, issue_token
from shared.clock import clock
from tests.browser import browser_page, sign_in_with_token
from tests.registration_support import open_training, person, register
from tests.servers import serve_app
from tests.support import System, running_system

FOREIGN = "http://127.0.0.1:9999"
FORM = "application/x-www-form-urlencoded"
TRAINING = {
    "series": "session-cookie",
    "title": "Cookies",
    "host_country": "EE",
    "venue": "Tallinn",
    "starts_on": "2031-04-28",
    "ends_on": "2031-04-28",
    "capacity": 10,
}


def cookies(**values: str) -> dict[str, str]:
    """A Cookie header of our own (the client's jar would hold a Secure cookie back on http)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in values.items())}


def session(token: str, **more: str) -> dict[str, str]:
    return cookies(**{COOKIE_NAME: token, **more})


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def expired_token(system: System) -> str:
    token = issue_token(system.settings.secret, role="secretariat", lifetime=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    return token


def clears_the_session(response: Any) -> bool:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE_NAME}="):
            attributes = header.lower()
            # A __Host- cookie is removed only by a Set-Cookie that is Secure with Path=/.
            return "max-age=0" in attributes and "secure" in attributes and "path=/" in attributes
    return False


async def test_an_expired_cookie_is_ignored_on_public_pages_and_routes(system: System) -> None:
    training = await open_training(system.nats.url, system.registration)
    registered = await register(system.registration, training.id, person(1))
    stale = session(expired_token(system))

    for client, path in [
        (system.registration, "/"),
        (system.registration, f"/manage/{registered['manage_token']}"),
        (system.registration, f"/register/{training.id}"),
        (system.registration, "/trainings"),
        (system.scheduling, "/"),
        (system.scheduling, "/trainings"),
    ]:
        response = await client.get(path, headers=stale)
        assert response.status_code == 200, (path, response.text)
        assert clears_the_session(response), path
    questionnaire = await system.evaluation.get(
        "/evaluations/no-such-invitation", headers={**stale, "Accept": "text/html"}
    )
    assert questionnaire.status_code == 404  # the page for an unknown link, not a 401

    # A public write with the stale cookie is an anonymous one.
    again = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(2), headers=stale
    )
    assert again.status_code == 201, again.text
    forged = await system.registration.get("/", headers=session("not-a-token"))
    assert forged.status_code == 200 and clears_the_session(forged)


async def test_with_an_expired_cookie_login_and_logout_work(system: System) -> None:
    client = system.evaluation
    stale = expired_token(system)
    page = await client.get("/login", headers=session(stale))
    assert page.status_code == 200, page.text
    csrf_cookie = page.cookies["capitals_csrf"]
    fresh = issue_token(system.settings.secret, role="secretariat", lifetime=timedelta(hours=3))
    signed_in = await client.post(
        "/login",
        data={"token": fresh, "_csrf_token": csrf_of(page.text), "next": "/reports"},
        headers=session(stale, capitals_csrf=csrf_cookie),
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    # The fresh cookie is the only one set: the stale one is not cleared after it.
    (set_session,) = [
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith(f"{COOKIE_NAME}=")
    ]
    assert set_session.startswith(f"{COOKIE_NAME}={fresh}")

    logout = await client.post(
        "/logout",
        data={"_csrf_token": csrf_of(page.text)},
        headers=session(stale, capitals_csrf=csrf_cookie),
        follow_redirects=False,
    )
    assert logout.status_code == 303, logout.text
    assert clears_the_session(logout)


async def test_a_staff_page_with_an_expired_cookie_asks_to_sign_in_again(system: System) -> None:
    response = await system.evaluation.get(
        "/reports?x=1", headers=session(expired_token(system)), follow_redirects=False
    )
    assert response.status_code == 303
    sign_in = f"{system.settings.public_url('scheduling')}/staff/sign-in"
    assert response.headers["location"] == f"{sign_in}?expired=1"
    assert clears_the_session(response)
    page = await system.scheduling.get(response.headers["location"])
    assert "expired" in page.text

    # A staff JSON route answers as to anyone without a token; a bad bearer stays a 401.
    report = await system.evaluation.get("/questions", headers=session("not-a-token"))
    assert report.status_code == 401
    bearer = await system.evaluation.get("/questions", headers={"Authorization": "Bearer x"})
    assert bearer.status_code == 401


async def test_the_session_cookie_lives_no_longer_than_its_token(system: System) -> None:
    client = system.registration
    page = await client.get("/login")
    token = issue_token(system.settings.secret, role="secretariat", lifetime=timedelta(hours=1))
    signed_in = await client.post(
        "/login",
        data={"token": token, "_csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.headers["set-cookie"]
    max_age = int(re.search(r"max-age=(\d+)", cookie, re.I).group(1))  # type: ignore[union-attr]
    assert 3500 <= max_age <= 3600


async def test_the_session_cookie_acts_on_json_routes_only_from_the_service_own_origin(
    system: System,
) -> None:
    created = await system.scheduling.post("/trainings", json=TRAINING, headers=system.token())
    training_id = created.json()["id"]
    signed_in = session(issue_token(system.settings.secret, role="secretariat"))
    cancel = f"/trainings/{training_id}/cancel"
    own = system.settings.public_url("scheduling")

    for headers in (
        {"Origin": FOREIGN, "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": FORM},
        {"Referer": f"{FOREIGN}/page", "Content-Type": "text/plain"},
        {"Content-Type": "text/plain"},
    ):
        refused = await system.scheduling.post(cancel, headers={**signed_in, **headers})
        assert refused.status_code == 403, (headers, refused.text)
    unchanged = await system.scheduling.get(f"/trainings/{training_id}", headers=system.token())
    assert unchanged.json()["status"] == "draft"

    # Reading with the cookie is fine from anywhere the browser allows.
    read = await system.scheduling.get(f"/trainings/{training_id}", headers=signed_in)
    assert read.status_code == 200
    # A bearer token is no browser's ambient credential: its calls stay as they are.
    by_token = await system.scheduling.post(
        cancel, headers={**system.token(), "Origin": FOREIGN}, content=b""
    )
    assert by_token.status_code == 200, by_token.text

    other = await system.scheduling.post("/trainings", json=TRAINING, headers=system.token())
    same_origin = await system.scheduling.post(
        f"/trainings/{other.json()['id']}/cancel", headers={**signed_in, "Origin": own}
    )
    assert same_origin.status_code == 200, same_origin.text


async def test_a_cross_origin_form_with_the_cookie_cannot_approve_a_registration(
    system: System,
) -> None:
    training = await open_training(system.nats.url, system.registration, moderated=True)
    pending = await register(system.registration, training.id, person(1))
    signed_in = session(issue_token(system.settings.secret, role="secretariat"))
    response = await system.registration.post(
        f"/registrations/{pending['id']}/approve",
        headers={**signed_in, "Origin": FOREIGN, "Content-Type": FORM},
        content=b"x=1",
    )
    assert response.status_code == 403, response.text
    still = await system.registration.get(f"/registrations/{pending['id']}", headers=system.token())
    assert still.json()["status"] == "pending"


@pytest.mark.browser
async def test_a_browser_whose_session_expired_signs_in_again_and_out(tmp_path: Path) -> None:
    port, scheduling_port = free_port(), free_port()
    public = f"http://127.0.0.1:{port}"
    scheduling = f"http://127.0.0.1:{scheduling_port}"
    async with (
        running_system(
            tmp_path,
            services=("evaluation", "scheduling"),
            EVALUATION_PUBLIC_URL=public,
            SCHEDULING_PUBLIC_URL=scheduling,
        ) as system,
        serve_app(system.apps["evaluation"], port, lifespan="off"),
        serve_app(system.apps["scheduling"], scheduling_port, lifespan="off"),
        browser_page() as tab,
    ):

        async def session_cookies() -> list[Any]:
            return [c for c in await tab.context.cookies() if c["name"] == COOKIE_NAME]

        async def sign_in(token: str) -> None:
            await sign_in_with_token(tab, public, "/reports", token)

        hour = timedelta(hours=1)
        await sign_in(issue_token(system.settings.secret, role="secretariat", lifetime=hour))
        (cookie,) = await session_cookies()
        # It ends when the token does, not 12 hours later.
        assert cookie["expires"] <= time.time() + 3600 + 60
        clock.advance(2 * hour)

        await tab.goto(f"{public}/reports")
        # Sent to scheduling's sign-in page, which says why; the stale cookie is cleared.
        await tab.wait_for_url(f"{scheduling}/staff/sign-in?expired=1")
        assert "expired" in await tab.locator("#session-notice").inner_text()
        assert await session_cookies() == []

        await sign_in(issue_token(system.settings.secret, role="secretariat"))
        assert len(await session_cookies()) == 1

        await tab.get_by_role("button", name="Sign out").click()
        await tab.wait_for_url(re.compile(r"/login$"))
        assert await session_cookies() == []

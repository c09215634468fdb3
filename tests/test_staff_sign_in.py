"""Staff sign-in links, the staff directory, and revocation reaching all three services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.scheduling import sign_in as accounts
from shared.auth import COOKIE_NAME, issue_token
from shared.clock import clock
from shared.commands import execute
from tests.browser import csrf_of
from tests.support import System, eventually


async def enrol(system: System, email: str, role: str, countries: list[str] | None = None) -> str:
    """A sign-in link, as `capitals sign-in-link` makes one."""
    runtime = system.runtime("scheduling")
    wanted = accounts.Enrolment(email=email, role=role, countries=countries or [])
    link: str = await system.on_service_loop(
        "scheduling", execute, runtime.db, accounts.enrol, system.settings, None, wanted
    )
    return link


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


async def press_sign_in(system: System, link: str) -> Any:
    page = await system.scheduling.get(path_of(link))
    assert page.status_code == 200, page.text
    return await system.scheduling.post(
        path_of(link), data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )


def session_of(response: Any) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE_NAME}="):
            return str(header.split(";", 1)[0].split("=", 1)[1])
    raise AssertionError("no session cookie set")


async def test_opening_a_link_does_not_use_it_and_pressing_sign_in_uses_it_once(
    system: System,
) -> None:
    link = await enrol(system, "Ana@Example.org", "organiser", ["ee"])
    for _ in range(2):  # a mail scanner, then the person
        page = await system.scheduling.get(path_of(link))
        assert page.status_code == 200 and "Sign in" in page.text
    signed_in = await press_sign_in(system, link)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/staff/"
    staff = session_of(signed_in)
    home = await system.scheduling.get(
        "/staff/", headers={"Cookie": f"{COOKIE_NAME}={staff}"}, follow_redirects=False
    )
    assert home.status_code == 200 and "ana@example.org" in home.text
    again = await system.scheduling.get(path_of(link))
    assert again.status_code == 410 and "/staff/sign-in" in again.text
    reused = await system.scheduling.post(
        path_of(link), data={"_csrf_token": csrf_of(again.text)}, follow_redirects=False
    )
    assert reused.status_code == 410


async def test_an_expired_link_answers_410(system: System) -> None:
    link = await enrol(system, "late@example.org", "secretariat")
    page = await system.scheduling.get(path_of(link))
    clock.advance(timedelta(minutes=16))
    assert (await system.scheduling.get(path_of(link))).status_code == 410
    late = await system.scheduling.post(
        path_of(link), data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert late.status_code == 410


async def test_staff_home_without_a_session_leads_to_asking_for_a_link(system: System) -> None:
    home = await system.scheduling.get("/staff/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/staff/sign-in"
    form = await system.scheduling.get("/staff/sign-in")
    for email in ("nobody@example.org", "late@example.org"):
        asked = await system.scheduling.post(
            "/staff/sign-in", data={"email": email, "_csrf_token": csrf_of(form.text)}
        )
        assert asked.status_code == 200 and "sign-in link is on its way" in asked.text


async def test_revocation_ends_tokens_and_sessions_on_all_three_services(system: System) -> None:
    await enrol(system, "boss@example.org", "secretariat")
    link = await enrol(system, "org@example.org", "organiser", ["EE"])
    session = session_of(await press_sign_in(system, link))
    bearer = {"Authorization": f"Bearer {session}"}
    machine = issue_token(system.settings.secret, role="secretariat")
    integration = {"Authorization": f"Bearer {machine}"}
    services = (system.scheduling, system.registration, system.evaluation)
    for client in services:
        # An organiser may not read dead mail (403), but is known (not 401).
        assert (await client.get("/mail/dead", headers=bearer)).status_code == 403
    runtime = system.runtime("scheduling")
    await system.on_service_loop(
        "scheduling",
        execute,
        runtime.db,
        accounts.revoke,
        system.settings,
        None,
        "org@example.org",
    )

    async def refused_everywhere() -> bool:
        for client in services:
            answer = await client.get("/mail/dead", headers=bearer)
            assert answer.status_code == 401, (str(client.base_url), answer.status_code)
        return True

    await eventually(refused_everywhere, timeout=60, interval=0.2)
    home = await system.scheduling.get(
        "/staff/", headers={"Cookie": f"{COOKIE_NAME}={session}"}, follow_redirects=False
    )
    assert home.status_code == 303
    for client in services:  # an integration's token, not in the directory, still works
        assert (await client.get("/mail/dead", headers=integration)).status_code == 200

"""Staff sign-in links, the staff directory, and revocation reaching all three services."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from services.scheduling import sign_in as accounts
from services.scheduling.tables import StaffMemberRow
from shared.auth import COOKIE_NAME, issue_token
from shared.clock import clock
from shared.commands import execute
from shared.db import Database
from shared.settings import load_settings
from tests.browser import accessibility_violations, browser_page, csrf_of
from tests.servers import serve_all
from tests.support import (
    SECRET,
    SmtpSink,
    System,
    eventually,
)
from tests.test_foundation import ROOT, clean_env


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


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "capitals.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


async def test_sign_in_link_command_prints_the_link_last_and_refuses_a_revoked_member(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path, CAPITALS_SECRET=SECRET)
    args = ("sign-in-link", "--email", "Eve@Example.org", "--role", "organiser", "--country", "lv")
    made = await asyncio.to_thread(run_cli, *args, env=env)
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith("http") and "/sign-in/" in link
    assert len(link.rsplit("/", 1)[1]) >= 22  # at least 128 bits, base64
    settings = load_settings(env)
    db = Database(settings.database_url("scheduling"))
    try:
        await execute(db, accounts.revoke, settings, None, "eve@example.org")
        async with db.session() as session:
            waiting = await session.exec(select(col(StaffMemberRow.revision)))
            assert list(waiting) == [2]
    finally:
        await db.dispose()
    refused = await asyncio.to_thread(run_cli, *args, env=env)
    assert refused.returncode == 2 and "revoked" in refused.stderr


def test_sign_in_link_command_without_a_secret_names_the_data_dir(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    args = ("sign-in-link", "--email", "eve@example.org", "--role", "secretariat")
    result = run_cli(*args, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "data") in lines[0]
    assert not (tmp_path / "data" / "secret").exists()


SIGN_IN_LINK = re.compile(r"(https?://\S+/sign-in/[A-Za-z0-9_-]+)")


async def test_secretariat_invites_an_organiser_who_signs_in_and_is_then_revoked_everywhere(
    tmp_path: Path,
) -> None:
    with SmtpSink() as sink:
        async with AsyncExitStack() as stack:
            settings, apps, urls = await serve_all(stack, tmp_path, SMTP_URL=sink.url)
            scheduling = apps["scheduling"].state.runtime.db
            tab = await stack.enter_async_context(browser_page())
            found: dict[str, list[Any]] = {}

            async def accessible(name: str) -> None:
                found[name] = await accessibility_violations(tab)

            # The secretariat opens a link `capitals sign-in-link` printed.
            boss = accounts.Enrolment(email="boss@example.org", role="secretariat")
            await tab.goto(await execute(scheduling, accounts.enrol, settings, None, boss))
            await accessible("sign-in link")
            await tab.get_by_role("button", name="Sign in").click()
            await tab.wait_for_url(f"{urls['scheduling']}/staff/")
            await accessible("staff home")
            await tab.goto(f"{urls['scheduling']}/staff/people")
            await accessible("staff people")
            invite = tab.locator("#invite")
            await invite.get_by_label("Name").fill("Olga Organiser")
            await invite.get_by_label("E-mail").fill("olga@example.org")
            await invite.get_by_label("Role").select_option("organiser")
            await invite.get_by_label("Host countries").fill("ee lv")
            await invite.get_by_role("button", name="Invite and mail a sign-in link").click()
            await tab.wait_for_url(f"{urls['scheduling']}/staff/people")
            assert await tab.get_by_text("olga@example.org").count() >= 1

            async def mailed() -> str:
                for _, text in sink.to("olga@example.org"):
                    if (link := SIGN_IN_LINK.search(text)) is not None:
                        return link.group(1)
                raise AssertionError("no sign-in mail to olga yet")

            link = await eventually(mailed, timeout=30)

            # The organiser, in a browser of her own, opens the mailed link.
            olga_context = await tab.context.browser.new_context()
            olga = await olga_context.new_page()
            await olga.goto(link)
            await olga.get_by_role("button", name="Sign in").click()
            await olga.wait_for_url(f"{urls['scheduling']}/staff/")
            assert await olga.locator("#signed-in-as").inner_text() == "olga@example.org"
            for url in urls.values():  # known on all three (403: not the secretariat)
                assert (await olga.request.get(f"{url}/mail/dead")).status == 403

            # A used link answers 410 with a way to ask for a new one.
            await tab.goto(link)
            await accessible("used link")
            await tab.goto(f"{urls['scheduling']}/staff/people")
            row = tab.locator("tr", has_text="olga@example.org")
            await row.get_by_text("Revoke…").click()
            await row.get_by_role("button", name="Yes, revoke olga@example.org").click()
            await tab.wait_for_url(f"{urls['scheduling']}/staff/people")
            assert (
                await tab.locator("tr", has_text="olga@example.org").get_by_text("Revoked").count()
                == 1
            )

            async def refused_everywhere() -> bool:
                for url in urls.values():
                    status = (await olga.request.get(f"{url}/mail/dead")).status
                    assert status == 401, (url, status)
                return True

            await eventually(refused_everywhere, timeout=60, interval=0.25)
            await olga.goto(f"{urls['scheduling']}/staff/")
            await olga.wait_for_url(f"{urls['scheduling']}/staff/sign-in")
            tab = olga
            await accessible("ask for a link")
            await olga_context.close()
    assert found == {name: [] for name in found}, found


async def test_a_change_of_countries_on_the_page_reaches_every_service(system: System) -> None:
    boss = session_of(
        await press_sign_in(system, await enrol(system, "b@example.org", "secretariat"))
    )
    await enrol(system, "ola@example.org", "organiser", ["EE", "LV"])
    cookie = {"Cookie": f"{COOKIE_NAME}={boss}"}
    page = await system.scheduling.get("/staff/people", headers=cookie)
    # Our own Cookie header stands in for the jar's, so it carries the CSRF cookie too.
    csrf_cookie = system.scheduling.cookies.get("capitals_csrf")
    changed = await system.scheduling.post(
        "/staff/people/ola@example.org/change",
        data={"role": "organiser", "countries": "ee", "_csrf_token": csrf_of(page.text)},
        headers={"Cookie": f"{COOKIE_NAME}={boss}; capitals_csrf={csrf_cookie}"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text

    async def narrowed_everywhere() -> bool:
        for service in ("scheduling", "registration", "evaluation"):
            listing = system.runtime(service).directory.get("ola@example.org")
            assert listing is not None and listing.countries == {"EE"}, (service, listing)
        return True

    await eventually(narrowed_everywhere, timeout=60, interval=0.2)

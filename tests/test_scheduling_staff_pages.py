"""The organisers' pages of scheduling (issue 10): access on the server, CSRF, forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.auth import COOKIE_NAME
from tests.browser import csrf_of
from tests.scheduling_support import (
    add_session,
    create_training,
    fresh_day,
    one_scheduling_system_per_module,
    published_training,
)
from tests.support import System

system = one_scheduling_system_per_module("staff-pages")


def signed_in(system: System, role: str = "organiser", countries: list[str] | None = None) -> str:
    header = system.token(role, countries if countries is not None else ["EE"])
    return header["Authorization"].removeprefix("Bearer ")


class Browser:
    """A signed-in browser's cookies over the test client (its jar keeps Secure ones back)."""

    def __init__(self, system: System, token: str) -> None:
        self.client = system.scheduling
        self.cookies = {COOKIE_NAME: token}

    def headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    async def get(self, path: str) -> Any:
        response = await self.client.get(path, headers=self.headers())
        if "capitals_csrf" in response.cookies:
            self.cookies["capitals_csrf"] = response.cookies["capitals_csrf"]
        return response

    async def post(self, path: str, form_page: str, **data: str) -> Any:
        page = await self.get(form_page)
        body = {"_csrf_token": csrf_of(page.text), **data}
        return await self.client.post(
            path, data=body, headers=self.headers(), follow_redirects=False
        )


async def test_the_staff_home_asks_the_public_to_sign_in(system: System) -> None:
    response = await system.scheduling.get("/staff/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/sign-in"


async def test_the_home_lists_the_organisers_trainings_by_state_with_links(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    draft = await create_training(system, ee, title="Draft in Tallinn")
    published, _ = await published_training(system, ee, title="Published in Tallinn")
    lv = system.token("organiser", ["LV"])
    foreign = await create_training(system, lv, host_country="LV", title="Draft in Riga")
    page = await Browser(system, signed_in(system)).get("/staff/")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Draft in Tallinn" in html and "Published in Tallinn" in html
    assert "Draft in Riga" not in html and foreign["id"] not in html
    assert html.index("Draft in Tallinn") < html.index("Published in Tallinn")
    registration = system.settings.public_url("registration")
    assert f"{registration}/staff/trainings/{published['id']}" in html
    evaluation = system.settings.public_url("evaluation")
    assert f"{evaluation}/reports/{draft['id']}" in html
    secretariat = await Browser(system, signed_in(system, "secretariat", [])).get("/staff/")
    assert "Draft in Riga" in secretariat.text


async def test_another_countrys_training_is_403_and_its_draft_404(system: System) -> None:
    lv = system.token("organiser", ["LV"])
    draft = await create_training(system, lv, host_country="LV")
    published, _ = await published_training(system, lv, host_country="LV")
    browser = Browser(system, signed_in(system))
    assert (await browser.get(f"/staff/trainings/{draft['id']}")).status_code == 404
    assert (await browser.get(f"/staff/trainings/{published['id']}")).status_code == 403
    assert (await browser.get(f"/staff/trainings/{published['id']}/cancel")).status_code == 403
    refused = await browser.post(
        f"/staff/trainings/{published['id']}/cancel", "/staff/", confirm="on"
    )
    assert refused.status_code == 403
    after = await system.scheduling.get(f"/trainings/{published['id']}", headers=lv)
    assert after.json()["status"] == "published"


async def test_a_form_without_its_csrf_token_is_refused(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    browser = Browser(system, signed_in(system))
    await browser.get("/staff/")
    response = await system.scheduling.post(
        f"/staff/trainings/{training['id']}/cancel",
        data={"confirm": "on"},
        headers=browser.headers(),
    )
    assert response.status_code == 403
    after = await system.scheduling.get(f"/trainings/{training['id']}", headers=ee)
    assert after.json()["status"] == "draft"


async def test_forms_name_the_field_they_refuse_and_steps_need_confirmation(
    system: System,
) -> None:
    browser = Browser(system, signed_in(system))
    day = fresh_day()
    form = {
        "series": "cbss-thb",
        "title": "Made on a page",
        "host_country": "EE",
        "venue": "Ministry",
        "starts_on": day.isoformat(),
        "ends_on": day.isoformat(),
        "capacity": "many",
    }
    bad = await browser.post("/staff/trainings/new", "/staff/trainings/new", **form)
    assert bad.status_code == 422 and 'id="capacity-error"' in bad.text
    made = await browser.post(
        "/staff/trainings/new", "/staff/trainings/new", **{**form, "capacity": "20"}
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    page = await browser.get(url)
    assert "Tallinn" in page.text and "Europe/Tallinn" in page.text  # defaults of EE
    outside = await browser.post(
        f"{url}/sessions", url, title="Eve", kind="networking",
        day=(day - timedelta(days=1)).isoformat(), start="19:00", end="20:00",
    )  # fmt: skip
    assert outside.status_code == 422
    assert "new-starts_at-error" in outside.text
    unconfirmed = await browser.post(f"{url}/cancel", f"{url}/cancel", reason="Storm")
    assert unconfirmed.status_code == 422 and "confirm-error" in unconfirmed.text
    cancelled = await browser.post(f"{url}/cancel", f"{url}/cancel", reason="Storm", confirm="on")
    assert cancelled.status_code == 303


async def test_a_session_added_on_the_page_shows_its_room_clash_beside_it(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    first = await add_session(system, ee, training, room="Hall A", start="10:00", end="11:00")
    browser = Browser(system, signed_in(system))
    url = f"/staff/trainings/{training['id']}"
    added = await browser.post(
        f"{url}/sessions", url, title="Clash", kind="lecture", day=training["starts_on"],
        start="10:30", end="11:30", room="hall a",
    )  # fmt: skip
    assert added.status_code == 303, added.text
    # The page comes back at the session just added, not at the form below.
    path, anchor = added.headers["location"].split("#")
    assert path == url and anchor.startswith("session-") and anchor != f"session-{first['id']}"
    page = await browser.get(url)
    beside = page.text.split(f'id="{anchor}"', 1)[1].split("</article>", 1)[0]
    assert "Conflict: room &#39;Hall A&#39; is booked twice" in beside, beside
    assert f'<a href="#session-{first["id"]}">Go to ' in beside
    # The other session names this one back.
    other = page.text.split(f'id="session-{first["id"]}"', 1)[1].split("</article>", 1)[0]
    assert f'<a href="#{anchor}">Go to Clash, ' in other


async def test_new_dates_on_the_details_form_move_the_sessions_only_when_asked(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    await add_session(system, ee, training, start="10:00", end="11:00")
    browser = Browser(system, signed_in(system))
    url = f"/staff/trainings/{training['id']}"
    later = (fresh_day() + timedelta(days=30)).isoformat()
    form = {"title": "Moved", "venue": "Ministry", "starts_on": later, "ends_on": later}
    refused = await browser.post(url, url, capacity="30", **form)
    assert refused.status_code == 409 and "would fall outside" in refused.text
    moved = await browser.post(url, url, capacity="30", shift_sessions="on", **form)
    assert moved.status_code == 303, moved.text
    after = (await system.scheduling.get(f"/trainings/{training['id']}", headers=ee)).json()
    assert after["sessions"][0]["starts_at"].startswith(f"{later}T10:00:00")

"""The three services on one origin under path prefixes, as compose.yaml's reverse proxy puts
them: every route, link, form, redirect and mail stays under its service's prefix, and one
staff sign-in is valid on all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from shared.auth import COOKIE_NAME
from tests.registration_support import in_catalogue, person, register
from tests.scheduling_support import published_training
from tests.support import SERVICES, System, running_system, settings_for

ORIGIN = "https://capitals.test"
PREFIXES = {service: f"/{service}" for service in SERVICES}


class OneOrigin(httpx.AsyncBaseTransport):
    """The reverse proxy in miniature: a path under /registration, /scheduling or
    /evaluation goes, unchanged, to that service; any other path is not found."""

    def __init__(self, system: System) -> None:
        self.clients = system.clients

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        first = request.url.path.split("/")[1]
        client = self.clients.get(first)
        if client is None:
            return httpx.Response(404)
        answer = await client.send(request, follow_redirects=False, stream=True)
        # As it came (still compressed): the outer client decodes it.
        body = b"".join([chunk async for chunk in answer.aiter_raw()])
        await answer.aclose()
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)


@asynccontextmanager
async def one_origin(tmp_path: Path) -> AsyncIterator[tuple[System, httpx.AsyncClient]]:
    urls = {f"{s.upper()}_PUBLIC_URL": f"{ORIGIN}{PREFIXES[s]}" for s in SERVICES}
    async with (
        running_system(tmp_path, **urls) as system,
        httpx.AsyncClient(transport=OneOrigin(system), base_url=ORIGIN, timeout=30) as browser,
    ):
        yield system, browser


class Links(HTMLParser):
    """The addresses a page links, loads or posts to: (tag, address, form method)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src", "action", "formaction"):
            value = values.get(name)
            if value is not None:
                self.found.append((tag, value, (values.get("method") or "get").lower()))


def links_of(html: str) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.found


def service_of(url: str) -> str:
    return urlsplit(url).path.split("/")[1]


def on_origin(url: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == ORIGIN


async def sign_in(browser: httpx.AsyncClient, system: System, service: str) -> httpx.Response:
    """The /login page of `service`, with a secretariat token pasted in."""
    page = await browser.get(f"/{service}/login")
    assert page.status_code == 200, page.text
    csrf = browser.cookies.get("capitals_csrf", domain="capitals.test", path=f"/{service}")
    assert csrf, browser.cookies
    token = system.token()["Authorization"].removeprefix("Bearer ")
    return await browser.post(
        f"/{service}/login",
        data={"token": token, "next": "/staff/", "_csrf_token": csrf},
    )


async def test_every_route_is_served_under_the_prefix_and_nowhere_else(tmp_path: Path) -> None:
    async with one_origin(tmp_path) as (system, browser):
        for service, prefix in PREFIXES.items():
            for path in ("/health", "/ready", "/metrics", "/schema/openapi.json"):
                answer = await browser.get(f"{prefix}{path}")
                assert answer.status_code == 200, (service, path, answer.text)
                # The service itself answers nothing outside its prefix.
                direct = await system.clients[service].get(f"{ORIGIN}{path}")
                assert direct.status_code == 404, (service, path)
            reference = await browser.get(f"{prefix}/schema")
            assert reference.status_code == 200
            assets = [value for _, value, _ in links_of(reference.text) if value != "data:,"]
            assert assets and all(value.startswith(f"{prefix}/schema/") for value in assets)
            for asset in assets:
                assert (await browser.get(asset)).status_code == 200, asset
            assert f'"{prefix}/health"' in (await browser.get(f"{prefix}/schema/openapi.json")).text


async def test_one_sign_in_is_valid_on_all_three_services(tmp_path: Path) -> None:
    async with one_origin(tmp_path) as (system, browser):
        signed_in = await sign_in(browser, system, "registration")
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/registration/staff/"
        session = [
            header
            for header in signed_in.headers.get_list("set-cookie")
            if header.startswith(f"{COOKIE_NAME}=")
        ]
        # A __Host- cookie must have Path=/: it is the origin's, so all three services see it.
        assert session and "path=/;" in session[0].lower() + ";", session
        for service in ("scheduling", "registration"):
            page = await browser.get(f"/{service}/staff/")
            assert page.status_code == 200, (service, page.headers.get("location"))
            assert "Sign out" in page.text
        reports = await browser.get("/evaluation/staff/")
        assert reports.headers["location"] == "/evaluation/reports"
        assert (await browser.get("/evaluation/reports")).status_code == 200
        # Signing out on another service ends it everywhere on the origin.
        page = await browser.get("/scheduling/staff/")
        csrf = browser.cookies.get("capitals_csrf", domain="capitals.test", path="/scheduling")
        out = await browser.post("/scheduling/logout", data={"_csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/scheduling/login"
        gone = await browser.get("/registration/staff/")
        assert gone.status_code == 303
        assert gone.headers["location"] == f"{ORIGIN}/scheduling/staff/sign-in"


async def test_no_link_form_or_redirect_leaves_its_prefix(tmp_path: Path) -> None:
    async with one_origin(tmp_path) as (system, browser):
        training, _ = await published_training(system, system.token())
        await in_catalogue(system.registration, training["id"])
        registered = await register(system.registration, training["id"], person(1))
        manage = registered["manage_url"]
        # The link a mail carries is the public one, under the prefix.
        assert manage.startswith(f"{ORIGIN}/registration/manage/")
        assert (await sign_in(browser, system, "scheduling")).status_code == 303
        start = [
            "/scheduling/",
            f"/scheduling/trainings/{training['id']}/page",
            "/registration/",
            f"/registration/register/{training['id']}",
            "/registration/resend-link",
            manage,
            "/scheduling/staff/",
            f"/scheduling/staff/trainings/{training['id']}",
            "/scheduling/staff/people",
            "/registration/staff/",
            f"/registration/staff/trainings/{training['id']}",
            f"/registration/staff/trainings/{training['id']}/check-in",
            "/registration/staff/statistics",
            "/registration/staff/audit",
            "/evaluation/reports",
            f"/evaluation/reports/{training['id']}",
            "/evaluation/staff/questions",
        ]
        queue = [urljoin(ORIGIN, path) for path in start]
        seen: set[str] = set()
        forms = 0
        while queue and len(seen) < 150:
            url = queue.pop(0).split("#")[0]
            if url in seen:
                continue
            seen.add(url)
            answer = await browser.get(url)
            assert answer.status_code < 400, (url, answer.status_code)
            if answer.is_redirect:
                target = urljoin(url, answer.headers["location"])
                assert on_origin(target) and service_of(target) in PREFIXES, (url, target)
                queue.append(target)
                continue
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue
            here = service_of(url)
            for tag, value, method in links_of(answer.text):
                if value.startswith(("#", "data:", "mailto:", "webcal:")):
                    continue
                target = urljoin(url, value)
                if not on_origin(target):
                    continue
                assert service_of(target) in PREFIXES, (url, tag, value)
                if tag == "form":
                    # A form posts to its own service (the CSRF cookie is the service's).
                    assert service_of(target) == here, (url, value)
                    forms += 1
                elif method == "get":
                    queue.append(target)
        assert len(seen) > len(start) and forms > 5, (len(seen), forms)
        # A redirect after a form carries the prefix too.
        token = manage.rsplit("/", 1)[1]
        page = await browser.get(f"/registration/manage/{token}")
        csrf = browser.cookies.get("capitals_csrf", domain="capitals.test", path="/registration")
        cancelled = await browser.post(
            f"/registration/manage/{token}/cancel", data={"_csrf_token": csrf, "confirm": "yes"}
        )
        assert cancelled.status_code == 303, (page.status_code, cancelled.text)
        assert cancelled.headers["location"] == f"/registration/manage/{token}?done=cancelled"


def test_the_prefix_is_the_path_of_the_public_url(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "nats://127.0.0.1:4222", {})
    assert {settings.prefix(service) for service in SERVICES} == {""}
    prefixed = settings_for(
        tmp_path, "nats://127.0.0.1:4222", {}, SCHEDULING_PUBLIC_URL=f"{ORIGIN}/scheduling/"
    )
    assert prefixed.prefix("scheduling") == "/scheduling"

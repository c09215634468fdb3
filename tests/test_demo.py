"""`capitals demo` fills a running embedded system with the seed series through its routes."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from capitals.demo import Demo
from shared.settings import load_settings
from tests.test_foundation import _start_up, _stop, run_capitals, up_env

HOST_COUNTRIES = ("Belgium", "Germany", "Estonia", "Finland", "Iceland", "Lithuania", "Latvia")
HOST_COUNTRIES += ("Norway", "Poland", "Sweden")
LINK_LINE = re.compile(r"^  (Secretariat|Organiser, [^(]+) \((\S+)\): (http\S+/sign-in/\S+)$", re.M)
SESSION = re.compile(r"__Host-capitals_staff=([^;]+)")


def sign_in_links(output: str) -> dict[str, str]:
    """Who → link, as the demo printed them."""
    return {who: link for who, _email, link in LINK_LINE.findall(output)}


def signed_in(link: str) -> dict[str, str]:
    """Open a printed sign-in link and press its button: the session cookie, as a header."""
    with httpx.Client() as browser:
        page = browser.get(link)
        assert page.status_code == 200 and "Sign in" in page.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        pressed = browser.post(link, data={"_csrf_token": token.group(1)})
    assert pressed.status_code == 303 and pressed.headers["location"] == "/staff/"
    session = SESSION.search(pressed.headers["set-cookie"])
    assert session is not None
    return {"Cookie": f"__Host-capitals_staff={session.group(1)}"}


def test_demo_loads_the_seed_series_into_a_running_system(tmp_path: Path) -> None:
    ports, env = up_env(tmp_path)
    process, lines = _start_up(env)
    try:
        staff = {"Authorization": f"Bearer {lines[-2]}"}
        result = run_capitals("demo", env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Reykjavik" in result.stdout

        scheduling = f"http://127.0.0.1:{ports['scheduling']}"
        trainings = httpx.get(f"{scheduling}/trainings", params={"series": "cbss-thb"}).json()
        by_status: dict[str, int] = {}
        for training in trainings["items"]:
            by_status[training["status"]] = by_status.get(training["status"], 0) + 1
        assert by_status == {"completed": 6, "published": 5}

        feed = httpx.get(f"{scheduling}/series/cbss-thb/calendar.ics")
        assert feed.status_code == 200 and feed.text.count("BEGIN:VEVENT") > 60
        assert "STATUS:CANCELLED" in feed.text

        catalogue = httpx.get(f"http://127.0.0.1:{ports['registration']}/trainings").json()
        assert sum(1 for entry in catalogue["items"] if entry["registration_open"]) == 1
        # One upcoming edition is by nomination, with focal points for three countries.
        (riga,) = [t for t in trainings["items"] if t["by_nomination"]]
        assert riga["host_country"] == "LV" and riga["status"] == "published"
        points = httpx.get(
            f"http://127.0.0.1:{ports['registration']}/trainings/{riga['id']}/focal-points",
            headers=staff,
        ).json()
        assert sorted(p["country"] for p in points["items"]) == ["EE", "FI", "LT"]

        # Every completed edition has the answers the demo said it loaded (the public rate
        # limit once refused most of them while the demo reported success).
        for training in trainings["items"]:
            if training["status"] != "completed":
                continue
            report = httpx.get(
                f"http://127.0.0.1:{ports['evaluation']}/trainings/{training['id']}/report",
                headers=staff,
            ).json()
            assert report["invited"] == 12 and 0 < report["answered"] <= 12, training["title"]
        loaded = [int(n) for n in re.findall(r"(\d+) evaluations answered", result.stdout)]
        assert len(loaded) == 6 and all(n > 0 for n in loaded)

        # A sign-in link for the secretariat and for one organiser per host country, made
        # by inviting them on scheduling's staff page.
        links = sign_in_links(result.stdout)
        assert set(links) == {"Secretariat", *(f"Organiser, {c}" for c in HOST_COUNTRIES)}
        registration = f"http://127.0.0.1:{ports['registration']}"
        estonia = signed_in(links["Organiser, Estonia"])
        home = httpx.get(f"{registration}/staff/", headers=estonia)
        assert home.status_code == 200 and "Tallinn" in home.text and "Vilnius" not in home.text
        assert httpx.get(f"{registration}/staff/statistics", headers=estonia).status_code == 403
        secretariat = signed_in(links["Secretariat"])
        statistics = httpx.get(f"{registration}/staff/statistics", headers=secretariat)
        assert statistics.status_code == 200
        attended = sum(int(n) for n in re.findall(r"registered, (\d+) attended", result.stdout))
        assert attended > 0 and f'id="total-trained">{attended}<' in statistics.text

        again = run_capitals("demo", env=env, timeout=60)
        assert again.returncode == 0 and "already loaded" in again.stdout
        # Fresh links; the used one is spent.
        renewed = sign_in_links(again.stdout)
        assert set(renewed) == set(links) and not set(renewed.values()) & set(links.values())
        assert httpx.get(links["Organiser, Estonia"]).status_code == 410
        assert httpx.get(renewed["Organiser, Estonia"]).status_code == 200
    finally:
        assert _stop(process) == 0


def test_demo_stops_non_zero_naming_what_a_service_refused(tmp_path: Path) -> None:
    settings = load_settings({"CAPITALS_DATA_DIR": str(tmp_path), "CAPITALS_SECRET": "s" * 32})
    invitation = EmailMessage()
    invitation["To"] = "eve@example.org"
    invitation["Subject"] = "Your evaluation of the training"
    invitation.set_content("Answer here: http://127.0.0.1:8003/evaluations/abcdefghijkl")
    settings.mail_dir.mkdir(parents=True, exist_ok=True)
    (settings.mail_dir / "1.eml").write_bytes(invitation.as_bytes())

    def evaluation(request: httpx.Request) -> httpx.Response:
        # Past the public rate limit with the staff token, like the demo's other writes.
        assert request.headers["authorization"].startswith("Bearer ")
        if request.method == "GET":
            return httpx.Response(200, json={"questions": [{"id": "q1", "kind": "likert"}]})
        return httpx.Response(429, json={"detail": "too many requests"})

    demo = Demo(settings)
    demo.http = httpx.Client(transport=httpx.MockTransport(evaluation))
    demo.random.random = lambda: 1.0  # type: ignore[method-assign]  # everyone answers
    with pytest.raises(SystemExit) as stopped:
        demo.answer_evaluations({"id": "t1"}, {"eve@example.org"})
    assert "/evaluations/abcdefghijkl answered 429" in str(stopped.value.code)

"""`capitals demo`: fills a running system with the seed series, through the services' routes."""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx

from capitals import demo_nominations, demo_staff
from capitals.demo_staff import mail_text
from capitals.polling import poll
from shared.auth import issue_token
from shared.settings import Settings

SERIES = "cbss-thb"
SERIES_TITLE = "CBSS trainings on trafficking in human beings for diplomatic and consular staff"


@dataclass(frozen=True)
class Edition:
    country: str
    title: str
    starts_on: date
    days: int
    venue: str
    state: str  # completed, open or upcoming
    exhibition: bool = False
    # National focal points name the participants; no public form.
    by_nomination: bool = False


def editions(today: date) -> list[Edition]:
    """The 2009 round as it happened; the 2010 capitals moved into the coming months."""
    soon = today + timedelta(days=30)
    upcoming = [
        ("DE", "Berlin"),
        ("PL", "Warsaw"),
        ("SE", "Stockholm"),
        ("NO", "Oslo"),
        ("LV", "Riga"),
    ]
    planned = [
        Edition(
            country=code,
            title=f"Training for diplomatic and consular staff, {city}",
            starts_on=soon + timedelta(days=45 * n),
            days=1,
            venue=f"Ministry of Foreign Affairs, {city}",
            state="open" if n == 0 else "upcoming",
            by_nomination=code == "LV",
        )
        for n, (code, city) in enumerate(upcoming)
    ]
    return [
        Edition(
            "EE",
            "Training for diplomatic and consular staff, Tallinn",
            date(2009, 4, 28),
            1,
            "Ministry of Foreign Affairs, Islandi väljak 1, Tallinn",
            "completed",
        ),
        Edition(
            "IS",
            "Training for diplomatic and consular staff, Reykjavik",
            date(2009, 5, 25),
            2,
            "Ministry for Foreign Affairs, Rauðarárstígur 25, Reykjavik",
            "completed",
            exhibition=True,
        ),
        Edition(
            "LT",
            "Training for diplomatic and consular staff, Vilnius",
            date(2009, 9, 2),
            1,
            "Ministry of Foreign Affairs, J. Tumo-Vaižganto g. 2, Vilnius",
            "completed",
        ),
        Edition(
            "FI",
            "Training for diplomatic and consular staff, Helsinki",
            date(2009, 11, 11),
            1,
            "Ministry for Foreign Affairs, Merikasarmi, Helsinki",
            "completed",
        ),
        Edition(
            "BE",
            "Training during the Swedish EU Presidency, Brussels",
            date(2009, 11, 25),
            1,
            "Permanent Representation of Sweden to the EU, Brussels",
            "completed",
        ),
        Edition(
            "SE",
            "Regional conference on trafficking in human beings, Stockholm",
            date(2009, 12, 7),
            2,
            "Rosenbad conference centre, Stockholm",
            "completed",
        ),
        *planned,
    ]


PROGRAMME = [
    ("09:00", "09:30", "Opening and welcome", "lecture", "Plenary hall"),
    (
        "09:30",
        "10:45",
        "Trafficking in human beings: trends in the Baltic Sea region",
        "lecture",
        "Plenary hall",
    ),
    ("10:45", "11:00", "Coffee", "break", None),
    ("11:00", "12:30", "Identifying victims at the consular counter", "workshop", "Room 2"),
    ("12:30", "13:30", "Lunch", "break", None),
    ("13:30", "15:00", "Case study: referral of a victim across borders", "case_study", "Room 2"),
    (
        "15:00",
        "16:00",
        "Panel: embassies, police and NGOs working together",
        "panel",
        "Plenary hall",
    ),
]

SPEAKERS = [
    {"name": "Kristiina Kangaspunta", "organisation": "UNODC"},
    {"name": "Gunilla Ekberg", "organisation": "CBSS Task Force against Trafficking"},
    {"name": "Lars Nord", "organisation": "Swedish Police"},
]

OBJECTIVES = (
    "Recognise the signs of trafficking at the consular counter",
    "Refer a presumed victim to the right national authority",
    "Cooperate with police and NGOs across borders",
)

PEOPLE = [
    ("EE", "Mari Tamm"),
    ("EE", "Jaan Kask"),
    ("LV", "Ilze Bērziņa"),
    ("LT", "Jonas Petrauskas"),
    ("FI", "Anna Virtanen"),
    ("SE", "Erik Lindqvist"),
    ("NO", "Ingrid Hansen"),
    ("DK", "Mette Jensen"),
    ("DE", "Katrin Schulz"),
    ("PL", "Tomasz Nowak"),
    ("IS", "Sigrún Jónsdóttir"),
    ("FR", "Claire Dubois"),
    ("IT", "Giulia Rossi"),
    ("NL", "Sanne de Vries"),
    ("UA", "Olena Kovalenko"),
    ("US", "Emily Carter"),
    ("GB", "James Whitfield"),
    ("MD", "Ion Rusu"),
    ("TH", "Somchai Srisuk"),
    ("NG", "Ngozi Okafor"),
    ("RO", "Andrei Popescu"),
    ("ES", "Lucía García"),
]


class Demo:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        token = issue_token(settings.secret, role="secretariat", subject="capitals-demo")
        self.staff = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(timeout=30)
        self.random = random.Random(2009)

    def url(self, service: str, path: str) -> str:
        return self.settings.public_url(service) + path

    def organiser(self, country: str) -> dict[str, str]:
        token = issue_token(
            self.settings.secret, role="organiser", countries=[country], subject=f"demo-{country}"
        )
        return {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, service: str, path: str, as_: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        headers = as_ or self.staff
        response = self.http.request(method, self.url(service, path), headers=headers, **kwargs)
        if response.status_code >= 400:
            # Loudly, and the command exits non-zero: the demo never reports what it did not load.
            raise SystemExit(
                f"capitals demo: {method} {path} answered {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None

    def wait_for(self, what: str, check: Any, timeout: float = 30) -> Any:
        result = poll(check, timeout, interval=0.1)
        if not result:
            raise SystemExit(f"capitals demo: gave up waiting for {what}")
        return result

    def create(self, edition: Edition) -> dict[str, Any]:
        ends_on = edition.starts_on + timedelta(days=edition.days - 1)
        body: dict[str, Any] = {
            "series": SERIES,
            "title": edition.title,
            "host_country": edition.country,
            "venue": edition.venue,
            "starts_on": edition.starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "capacity": 8 if edition.state == "open" else 24,
            "description": "Identifying and referring victims of trafficking: a one-day training.",
        }
        if edition.by_nomination:
            body["by_nomination"] = True
        if edition.state == "upcoming":
            body["registration_opens_at"] = f"{edition.starts_on - timedelta(days=40)}T09:00:00"
        host = self.organiser(edition.country)
        training = self.call("POST", "scheduling", "/trainings", as_=host, json=body)
        for day in range(edition.days):
            on = edition.starts_on + timedelta(days=day)
            for n, (start, end, title, kind, room) in enumerate(PROGRAMME):
                session: dict[str, Any] = {
                    "title": title,
                    "kind": kind,
                    "starts_at": f"{on}T{start}:00",
                    "ends_at": f"{on}T{end}:00",
                }
                if room:
                    session["room"] = room
                if kind in ("lecture", "panel", "workshop"):
                    session["speakers"] = [SPEAKERS[n % len(SPEAKERS)]]
                path = f"/trainings/{training['id']}/sessions"
                self.call("POST", "scheduling", path, as_=host, json=session)
            if edition.exhibition and day == 0:
                self.call(
                    "POST",
                    "scheduling",
                    f"/trainings/{training['id']}/sessions",
                    as_=host,
                    json={
                        "title": "Opening of the photographic exhibition",
                        "kind": "exhibition",
                        "starts_at": f"{on}T17:00:00",
                        "ends_at": f"{on}T19:00:00",
                        "room": "Foyer",
                    },
                )
        self.call("POST", "scheduling", f"/trainings/{training['id']}/publish", as_=host)
        self.wait_for(
            f"registration to list {edition.title}",
            lambda: (
                self.http.get(self.url("registration", f"/trainings/{training['id']}")).status_code
                == 200
            ),
        )
        return training

    def set_objectives(self, training: dict[str, Any]) -> None:
        """What attendees assess themselves on, before and after (evaluation learns the
        training from scheduling's event, so wait until it has)."""
        path = f"/trainings/{training['id']}/objectives"
        body = {"objectives": list(OBJECTIVES)}
        host = self.organiser(training["host_country"])

        def accepted() -> bool:
            response = self.http.put(self.url("evaluation", path), json=body, headers=host)
            return response.status_code == 200

        self.wait_for("evaluation to learn of the training", accepted)

    def reschedule(self, training: dict[str, Any]) -> None:
        """Change a published programme, so feeds and the change log have something to show."""
        host = self.organiser(training["host_country"])
        detail = self.call("GET", "scheduling", f"/trainings/{training['id']}", as_=host)
        sessions = {s["title"]: s for s in detail["sessions"]}
        panel = sessions["Panel: embassies, police and NGOs working together"]
        day = panel["starts_at"][:10]
        self.call(
            "PATCH",
            "scheduling",
            f"/trainings/{training['id']}/sessions/{panel['id']}",
            as_=host,
            json={"starts_at": f"{day}T15:15:00", "ends_at": f"{day}T16:15:00"},
        )
        case = sessions["Case study: referral of a victim across borders"]
        self.call(
            "POST",
            "scheduling",
            f"/trainings/{training['id']}/sessions/{case['id']}/cancel",
            as_=host,
        )

    def register(self, training: dict[str, Any], count: int) -> list[dict[str, Any]]:
        people = self.random.sample(PEOPLE, count)
        registrations = []
        for country, name in people:
            local = re.sub(r"[^a-z.]", "", name.lower().replace(" ", "."))
            body = {
                "name": name,
                "email": f"{local}.{training['host_country'].lower()}@example.org",
                "organisation": f"Ministry of Foreign Affairs ({country})",
                "country": country,
                "consent": True,
            }
            registrations.append(
                self.call(
                    "POST", "registration", f"/trainings/{training['id']}/registrations", json=body
                )
            )
        return registrations

    def check_in(self, edition: Edition, attended: list[dict[str, Any]]) -> None:
        """Attendance per day: on a training of several days the last two attendees came
        on the first day only, so they get no certificate of attendance."""
        for number, registration in enumerate(attended):
            days = edition.days if number < len(attended) - 2 else 1
            for day in range(days):
                on = edition.starts_on + timedelta(days=day)
                path = f"/registrations/{registration['id']}/check-in"
                self.call("POST", "registration", path, json={"day": on.isoformat()})

    def answer_evaluations(self, training: dict[str, Any], emails: set[str]) -> int:
        folder = self.settings.mail_dir
        links: dict[str, str] = {}

        def invitations() -> bool:
            for path in folder.glob("*.eml") if folder.exists() else []:
                message = message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] in emails and "evaluation" in str(message["Subject"]).lower():
                    found = re.search(r"/evaluations/([A-Za-z0-9_-]+)", mail_text(message))
                    if found:
                        links[message["To"]] = found.group(1)
            return len(links) == len(emails)

        self.wait_for("evaluation invitations in the mail outbox", invitations)
        answered = 0
        for _address, token in sorted(links.items()):
            if self.random.random() < 0.25:
                continue  # some never answer
            # With the demo's staff token, like its registrations: the public write routes'
            # rate limit (CAPITALS_RATE_LIMIT a minute) would refuse most of the answers.
            form = self.call("GET", "evaluation", f"/evaluations/{token}")
            answers = {q["id"]: self.answer(q) for q in form["questions"]}
            body = {"answers": {k: v for k, v in answers.items() if v is not None}}
            self.call("POST", "evaluation", f"/evaluations/{token}", json=body)
            answered += 1
        return answered

    def answer(self, question: dict[str, Any]) -> Any:
        kind = question["kind"]
        if kind == "likert":
            return self.random.choice([3, 4, 4, 5, 5])
        if kind == "nps":
            return self.random.choice([6, 7, 8, 9, 9, 10, 10])
        if kind == "text":
            return self.random.choice(
                [None, "More case studies, please.", "Very useful for consular work.", None]
            )
        options = question.get("options") or []
        if kind == "single" and options:
            return self._option(self.random.choice(options))
        if kind == "multiple" and options:
            return [self._option(option) for option in options[: self.random.randint(1, 2)]]
        if kind == "self_assessment":
            before = self.random.choice([1, 2, 2, 3])
            return {"before": before, "now": min(5, before + self.random.choice([1, 1, 2]))}
        return None

    @staticmethod
    def _option(option: Any) -> Any:
        return option["id"] if isinstance(option, dict) else option

    def run(self) -> int:
        for service in ("registration", "scheduling", "evaluation"):
            try:
                self.http.get(self.url(service, "/ready")).raise_for_status()
            except httpx.HTTPError:
                print(
                    f"capitals demo: {service} is not ready at {self.url(service, '')}; "
                    "start the system with `capitals up` first",
                    file=sys.stderr,
                )
                return 1
        existing = self.http.get(
            self.url("scheduling", "/trainings"), params={"series": SERIES}
        ).json()
        if existing["items"]:
            print("capitals demo: the seed series is already loaded")
        else:
            self.load_series()
        self.sign_in_links()
        return 0

    def load_series(self) -> None:
        self.call("PUT", "scheduling", f"/series/{SERIES}", json={"title": SERIES_TITLE})
        mail_to_files = self.settings.smtp_url is None
        for edition in editions(date.today()):
            training = self.create(edition)
            if edition.state == "completed":
                self.set_objectives(training)
                registrations = self.register(training, 14)
                attended = [r for r in registrations if r["status"] == "confirmed"][:12]
                self.check_in(edition, attended)
                self.call("POST", "scheduling", f"/trainings/{training['id']}/complete")
                answered = (
                    self.answer_evaluations(training, {r["email"] for r in attended})
                    if mail_to_files
                    else 0
                )
                certified = len(attended) - (2 if edition.days > 1 else 0)
                print(
                    f"  {edition.title}: {len(registrations)} registered, "
                    f"{len(attended)} attended, {answered} evaluations answered, "
                    f"{certified} certificates of attendance"
                )
            elif edition.state == "open":
                self.call(
                    "PUT", "registration", f"/trainings/{training['id']}/quotas", json={"DE": 2}
                )
                registrations = self.register(training, 12)
                waiting = [r for r in registrations if r["status"] == "waitlisted"]
                confirmed = [r for r in registrations if r["status"] == "confirmed"]
                # A participant cancels with the link from their mail; the first waiting
                # participant within quota is promoted.
                leaving = confirmed[0]
                self.call(
                    "POST",
                    "registration",
                    f"/registrations/{leaving['id']}/cancel",
                    as_={"X-Manage-Token": leaving["manage_token"]},
                )
                print(
                    f"  {edition.title}: open for registration, {len(confirmed)} confirmed, "
                    f"{len(waiting)} waitlisted, one cancellation; manage link of one "
                    f"participant: {confirmed[-1]['manage_url']}"
                )
            else:
                if edition.country == "PL":
                    self.reschedule(training)
                if edition.by_nomination:
                    demo_nominations.name_focal_points(self, training)
                    print(f"  {edition.title}: upcoming, by nomination (focal points named)")
                else:
                    print(f"  {edition.title}: upcoming")
        if not mail_to_files:
            print(
                "  (SMTP_URL is set: the evaluation invitations went out by mail, "
                "so no answers were loaded)"
            )
        scheduling = self.settings.public_url("scheduling")
        print(f"Series page:     {scheduling}/series/{SERIES}/page")
        print(f"Series calendar: {scheduling}/series/{SERIES}/calendar.ics")
        webcal = "webcal://" + scheduling.split("://", 1)[1]
        print(f"                 {webcal}/series/{SERIES}/calendar.ics")
        print(f"Catalogue:       {self.settings.public_url('registration')}/")

    def sign_in_links(self) -> None:
        """Invite the secretariat and an organiser per host country; print their links."""
        staff = demo_staff.members(edition.country for edition in editions(date.today()))
        links = demo_staff.invite(self.http, self.settings, self.staff, staff, self.wait_for)
        if links is None:
            print("Staff sign-in links went out by mail (SMTP_URL is set) to:")
            for member in staff:
                print(f"  {member.label}: {member.email}")
            return
        print("Staff sign-in links (each works once, for 15 minutes; run again for new ones):")
        for member in staff:
            print(f"  {member.label} ({member.email}): {links[member.email]}")


def load(settings: Settings) -> int:
    print("Loading the seed series…")
    return Demo(settings).run()

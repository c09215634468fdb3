"""The demo's staff: the secretariat and one organiser per host country of the seed series.

They are invited on scheduling's staff page (`POST /staff/people`, with its CSRF token) as
the secretariat would invite them, which enrols each one exactly as `capitals sign-in-link`
does and mails them a single-use sign-in link; the demo reads the links back from the mail
outbox. Nothing is written into a service's database. Running the demo again invites the
same people again, which gives each a fresh link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx

from shared.countries import country
from shared.settings import Settings

DOMAIN = "demo.capitals.example"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
SIGN_IN_LINK = re.compile(r"https?://\S+/sign-in/[A-Za-z0-9_-]+")
LINK_SUBJECT = "Your Capitals sign-in link"


@dataclass(frozen=True)
class Member:
    email: str
    name: str
    role: str
    countries: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.role == "secretariat":
            return "Secretariat"
        return f"Organiser, {country(self.countries[0]).name}"


def members(host_countries: Iterable[str]) -> list[Member]:
    """The secretariat first, then an organiser for each host country, by code."""
    return [
        Member(f"secretariat@{DOMAIN}", "Series secretariat", "secretariat"),
        *(
            Member(
                f"organiser.{code.lower()}@{DOMAIN}",
                f"Organiser for {country(code).name}",
                "organiser",
                (code,),
            )
            for code in sorted(set(host_countries))
        ),
    ]


def invite(
    http: httpx.Client,
    settings: Settings,
    secretariat: dict[str, str],
    staff: list[Member],
    wait_for: Callable[[str, Callable[[], bool]], Any],
) -> dict[str, str] | None:
    """Invite `staff` (the secretariat's headers) and return each one's sign-in link by
    e-mail address; None when mail leaves by SMTP, so the links are in the mailboxes."""
    people = f"{settings.public_url('scheduling')}/staff/people"
    folder = settings.mail_dir
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    page = http.get(people, headers=secretariat)
    found = CSRF.search(page.text)
    if page.status_code != 200 or found is None:
        raise SystemExit(f"capitals demo: GET {people} answered {page.status_code}")
    for member in staff:
        form = {
            "_csrf_token": found.group(1),
            "email": member.email,
            "name": member.name,
            "role": member.role,
            "countries": " ".join(member.countries),
        }
        invited = http.post(people, headers=secretariat, data=form)
        if invited.status_code != 303:
            raise SystemExit(
                f"capitals demo: inviting {member.email} answered {invited.status_code}"
            )
    if settings.smtp_url is not None:
        return None
    wanted = {member.email for member in staff}
    links: dict[str, str] = {}

    def mailed() -> bool:
        for path in set(folder.glob("*.eml")) - before:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] in wanted and message["Subject"] == LINK_SUBJECT:
                link = SIGN_IN_LINK.search(mail_text(message))
                if link:
                    links[str(message["To"])] = link.group(0)
        return len(links) == len(wanted)

    wait_for("sign-in links in the mail outbox", mailed)
    return links


def mail_text(message: EmailMessage) -> str:
    """The plain text of a mail in the outbox (parsed with `email.policy.default`), whether
    the mail is that text alone or has an HTML part and attachments besides."""
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""

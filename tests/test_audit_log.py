"""The audit log of staff actions on each service: written with the action, read by the
secretariat with filters (GET /audit and /staff/audit), emptied of a participant's personal
data when they are erased while the entry stays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.registration.privacy import erase_expired
from services.registration.settings import own
from shared.auth import COOKIE_NAME, issue_token
from shared.clock import clock
from tests.browser import (
    accessibility_violations,
    browser_page,
    csrf_of,
    sideways_scroll,
    sign_in_with_token,
)
from tests.registration_support import (
    completed,
    decide_on_page,
    open_training,
    person,
    register,
)
from tests.scheduling_support import add_session, create_training
from tests.servers import served_alone
from tests.support import System, eventually, running_system
from tests.test_erasure import files_holding, rows_holding
from tests.test_staff_sign_in import enrol, press_sign_in

BOSS = "boss@example.org"
ORGANISER = "mari@example.ee"


def as_(
    system: System, subject: str, role: str, countries: list[str] | None = None
) -> dict[str, str]:
    token = issue_token(system.settings.secret, role=role, countries=countries, subject=subject)
    return {"Authorization": f"Bearer {token}"}


async def audit(client: Any, headers: dict[str, str], **filters: str) -> list[dict[str, Any]]:
    answer = await client.get("/audit", params=filters, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def actions(items: list[dict[str, Any]]) -> list[str]:
    return [item["action"] for item in items]


async def decided(
    system: System, name: str, email: str, decision: str, message: str
) -> tuple[Any, dict[str, Any]]:
    """A moderated training and the registration of `name`, which the organiser
    approves or declines (`decision`) on the staff page with `message`."""
    organiser = as_(system, ORGANISER, "organiser", ["EE"])
    training = await open_training(system.nats.url, system.registration, moderated=True)
    held = await register(system.registration, training.id, person(1, name=name, email=email))
    await decide_on_page(system.registration, organiser, training.id, held["id"], decision, message)
    return training, held


async def log_out(client: Any, page: Any, cookie: str) -> Any:
    """Press "Sign out" on `page` with the cookies `cookie`; insists on the redirect."""
    signed_out = await client.post(
        "/logout",
        data={"_csrf_token": csrf_of(page.text)},
        headers={"Cookie": cookie},
        follow_redirects=False,
    )
    assert signed_out.status_code == 303
    return signed_out


@pytest.mark.services("scheduling")
async def test_scheduling_logs_trainings_staff_changes_and_sign_ins(system: System) -> None:
    boss = as_(system, BOSS, "secretariat")
    organiser = as_(system, ORGANISER, "organiser", ["EE"])
    training = await create_training(system, organiser)
    session = await add_session(system, organiser, training)
    published = await system.scheduling.post(
        f"/trainings/{training['id']}/publish", headers=organiser
    )
    assert published.status_code == 200, published.text
    refused = await system.scheduling.post(
        f"/trainings/{training['id']}/publish", headers=organiser
    )
    assert refused.status_code == 409, "a second publication is refused, and not logged"

    link = await enrol(system, "org@example.org", "organiser", ["LV"])
    await press_sign_in(system, link)
    people = await system.scheduling.get("/staff/people", headers=boss)
    revoked = await system.scheduling.post(
        "/staff/people/org@example.org/revoke",
        data={"_csrf_token": csrf_of(people.text)},
        headers=boss,
        follow_redirects=False,
    )
    assert revoked.status_code == 303, revoked.text

    log = await audit(system.scheduling, boss)
    assert [(e["action"], e["actor"], e["role"]) for e in log] == [
        ("staff.revoked", BOSS, "secretariat"),
        ("staff.signed_in", "org@example.org", "organiser"),
        ("staff.enrolled", "command line", "operator"),
        ("training.published", ORGANISER, "organiser"),
        ("session.added", ORGANISER, "organiser"),
        ("training.created", ORGANISER, "organiser"),
    ], "newest first, the refused publication left out, each with who did it"
    newest, _, enrolled, publication = log[:4]
    assert (newest["object_kind"], newest["object_id"]) == ("staff", "org@example.org")
    assert enrolled["detail"] == {"role": "organiser", "countries": ["LV"]}
    assert publication["object_id"] == publication["training_id"] == training["id"]
    assert publication["host_country"] == "EE" and publication["detail"]["status"] == "published"
    assert log[4]["object_id"] == session["id"] and log[4]["training_id"] == training["id"]
    at = datetime.fromisoformat(publication["at"])
    assert at.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - at) < timedelta(minutes=5)

    assert actions(await audit(system.scheduling, boss, action="staff.")) == [
        "staff.revoked",
        "staff.signed_in",
        "staff.enrolled",
    ]
    assert len(await audit(system.scheduling, boss, who="mari@")) == 3
    assert len(await audit(system.scheduling, boss, object=training["id"])) == 3
    assert len(await audit(system.scheduling, boss, training=training["id"], country="EE")) == 3
    assert await audit(system.scheduling, boss, country="LV") == []
    today = datetime.now(UTC).date()
    assert len(await audit(system.scheduling, boss, **{"from": str(today)})) == 6
    tomorrow = str(today + timedelta(days=1))
    assert await audit(system.scheduling, boss, **{"from": tomorrow}) == []
    yesterday = str(today - timedelta(days=1))
    assert await audit(system.scheduling, boss, to=yesterday) == []
    paged = await system.scheduling.get("/audit?limit=2&offset=1", headers=boss)
    assert paged.json()["total"] == 6 and actions(paged.json()["items"]) == actions(log[1:3])


async def test_the_audit_log_belongs_to_the_secretariat_on_every_service(system: System) -> None:
    organiser = system.token("organiser", ["EE"])
    secretariat = system.token()
    for client in (system.scheduling, system.registration, system.evaluation):
        assert (await client.get("/audit")).status_code == 401
        assert (await client.get("/audit", headers=organiser)).status_code == 403
        assert (await client.get("/audit", headers=secretariat)).status_code == 200
        bad = await client.get("/audit?from=yesterday", headers=secretariat)
        assert bad.status_code == 400 and bad.headers["content-type"].startswith(
            "application/problem+json"
        )
        page = await client.get("/staff/audit", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == f"{system.scheduling.base_url}/staff/sign-in"
        refused = await client.get("/staff/audit", headers=organiser)
        assert refused.status_code == 403 and "Only the secretariat" in refused.text
        assert 'href="/staff/audit"' not in refused.text, "no link to it for organisers"
        shown = await client.get("/staff/audit", headers=secretariat)
        assert shown.status_code == 200 and 'href="/staff/audit" aria-current="page"' in shown.text
        login = await client.get("/login")
        signed_in = await client.post(
            "/login",
            data={
                "token": as_(system, BOSS, "secretariat")["Authorization"][7:],
                "_csrf_token": csrf_of(login.text),
            },
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        entry = (await audit(client, secretariat, action="staff.signed_in"))[0]
        assert (entry["actor"], entry["detail"]) == (BOSS, {"with": "token"})
        schema = (await client.get("/schema/openapi.json")).json()
        assert schema["paths"]["/audit"]["get"]["operationId"] == "listAuditLog"
        assert {"403", "401", "400"} <= set(schema["paths"]["/audit"]["get"]["responses"])


@pytest.mark.services("registration")
async def test_registration_logs_decisions_check_ins_quotas_and_walk_ins(system: System) -> None:
    # The day before the training, then its first morning, wherever its zone puts today.
    morning = datetime.combine(date.today(), time(9), UTC)
    clock.set(morning - timedelta(days=1))
    organiser = as_(system, ORGANISER, "organiser", ["EE"])
    training = await open_training(
        system.nats.url, system.registration, moderated=True, starts_on=date.today()
    )
    held = await register(system.registration, training.id, person(1))
    approved = await system.registration.post(
        f"/registrations/{held['id']}/approve", headers=organiser
    )
    assert approved.status_code == 200, approved.text
    clock.set(morning)
    boss = as_(system, BOSS, "secretariat")
    organiser = as_(system, ORGANISER, "organiser", ["EE"])
    checked = await system.registration.post(
        f"/registrations/{held['id']}/check-in", headers=organiser
    )
    assert checked.status_code == 200, checked.text
    quotas = await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"EE": 5}, headers=boss
    )
    assert quotas.status_code == 200, quotas.text
    walk_in = await register(system.registration, training.id, person(2), headers=organiser)

    log = await audit(system.registration, boss)
    assert [(e["action"], e["object_id"], e["actor"]) for e in log] == [
        ("registration.registered", walk_in["id"], ORGANISER),
        ("quotas.set", training.id, BOSS),
        ("registration.checked_in", held["id"], ORGANISER),
        ("registration.approved", held["id"], ORGANISER),
    ], "the participant's own registration is not a staff action"
    assert log[1]["detail"] == {"quotas": {"EE": 5}}
    assert log[2]["detail"] == {"status": "confirmed", "checked_in": True}
    assert log[3]["object_kind"] == "registration" and log[3]["object_id"] == held["id"]
    assert log[3]["training_id"] == training.id and log[3]["host_country"] == "EE"
    text = str(log)
    for personal in ("Participant 1", "Participant 2", "participant1@", "participant2@"):
        assert personal not in text, "ids, not names"
    by_object = await audit(system.registration, boss, object=held["id"])
    assert actions(by_object) == ["registration.checked_in", "registration.approved"]
    assert len(await audit(system.registration, boss, object=training.id)) == 4

    exported = await system.registration.post(
        "/privacy/export", json={"email": "participant1@example.org"}, headers=boss
    )
    assert exported.status_code == 200, exported.text
    export = (await audit(system.registration, boss, action="participant."))[0]
    assert (
        export["action"] == "participant.exported" and export["object_id"] == held["participant_id"]
    )
    assert export["detail"] == {"registrations": 1, "mails": 2}

    page = await system.registration.get(f"/staff/audit?object={held['id']}", headers=boss)
    assert page.status_code == 200
    assert "registration.checked_in" in page.text and "quotas.set" not in page.text
    assert "UTC" in page.text and f'value="{held["id"]}"' in page.text


@pytest.mark.services("evaluation")
async def test_evaluation_logs_a_question_bank_change(system: System) -> None:
    boss = as_(system, BOSS, "secretariat")
    current = (await system.evaluation.get("/questions", headers=boss)).json()
    questions = [
        {k: v for k, v in q.items() if k not in ("min", "max", "session_id", "objective_id")}
        for q in current["questions"]
    ]
    questions[0]["text"] = "All in all, how satisfied are you with the training?"
    follow_up = [
        {k: v for k, v in q.items() if k not in ("min", "max")} for q in current["follow_up"]
    ]
    body = {"questions": questions, "follow_up": follow_up}
    put = await system.evaluation.put("/questions", json=body, headers=boss)
    assert put.status_code == 200, put.text
    log = await audit(system.evaluation, boss, action="questions.")
    assert [(e["action"], e["object_kind"], e["object_id"]) for e in log] == [
        ("questions.changed", "question_bank", "2")
    ]
    assert log[0]["detail"]["new_version"] is True and log[0]["actor"] == BOSS


async def test_erasure_empties_the_audit_log_of_the_person_and_keeps_the_actions(
    tmp_path: Path, db_kind: str
) -> None:
    name, email = "Qzaudit Kaskmaa", "qzaudit.kaskmaa@example.org"
    walk_in_name, walk_in_email = "Qzwalk Saarepuu", "qzwalk.saarepuu@example.org"
    async with running_system(tmp_path, db_kind, services=("registration",)) as system:
        boss = as_(system, BOSS, "secretariat")
        organiser = as_(system, ORGANISER, "organiser", ["EE"])
        training, held = await decided(
            system, name, email, "approve", f"Welcome, {name} ({email})!"
        )
        walk_in = await register(
            system.registration,
            training.id,
            person(2, name=walk_in_name, email=walk_in_email),
            headers=organiser,
        )
        url = system.settings.database_url("registration")
        before = await audit(system.registration, boss)
        assert before[1]["personal"] == {"message": f"Welcome, {name} ({email})!"}
        assert await rows_holding(url, name), "the message is in the log until erasure"

        for address in (email, walk_in_email):
            erased = await system.registration.post(
                "/privacy/erase", json={"email": address}, headers=boss
            )
            assert erased.status_code == 200, erased.text

        log = await audit(system.registration, boss)
        assert actions(log[:2]) == ["participant.erased", "participant.erased"]
        kept = {entry["action"]: entry for entry in log[2:]}
        assert {action: (e["object_id"], e["personal"]) for action, e in kept.items()} == {
            "registration.registered": (walk_in["id"], None),
            "registration.approved": (held["id"], None),
        }
        assert kept["registration.approved"]["actor"] == ORGANISER
        assert all(email not in str(entry) for entry in log)
        needles = (*name.split(), *walk_in_name.split(), "qzaudit", "qzwalk")

        async def gone() -> bool:
            assert await rows_holding(url, *needles) == []
            # Nor in any file: the SQLite database and its WAL, the mail, the broker's store.
            assert files_holding(tmp_path, *needles) == []
            return True

        await eventually(gone)


async def test_retention_empties_the_audit_log_of_the_person_and_keeps_the_actions(
    tmp_path: Path, db_kind: str
) -> None:
    name, email = "Qzkept Tammsaare", "qzkept.tammsaare@example.org"
    async with running_system(tmp_path, db_kind, services=("registration",)) as system:
        training, held = await decided(system, name, email, "decline", f"Sorry, {name}.")
        url = system.settings.database_url("registration")
        assert await rows_holding(url, "Qzkept"), "the message is in the log until erasure"

        await completed(system.nats.url, system.registration, training.id)
        clock.advance(own(system.settings).retention + timedelta(days=1))
        runtime = system.runtime("registration")
        erased = await system.on_service_loop(
            "registration", erase_expired, runtime.db, system.settings
        )
        assert erased == 1

        log = await audit(system.registration, as_(system, BOSS, "secretariat"))
        assert [(e["action"], e["object_id"], e["actor"], e["personal"]) for e in log] == [
            ("registration.declined", held["id"], ORGANISER, None)
        ]
        assert await rows_holding(url, "Qzkept", "Tammsaare") == []


@pytest.mark.browser
async def test_the_audit_page_reads_well_on_a_phone_and_a_desktop(tmp_path: Path) -> None:
    async with served_alone(tmp_path, "registration") as (system, url):
        organiser = as_(
            system, "a.very.long.organiser.address@ministry.example.ee", "organiser", ["EE"]
        )
        training = await open_training(system.nats.url, system.registration, moderated=True)
        for number in range(1, 4):
            held = await register(system.registration, training.id, person(number))
            answer = await system.registration.post(
                f"/registrations/{held['id']}/approve", headers=organiser
            )
            assert answer.status_code == 200
        token = issue_token(system.settings.secret, role="secretariat", subject=BOSS)
        for width in (390, 1280):
            async with browser_page(viewport={"width": width, "height": 900}) as tab:
                await sign_in_with_token(tab, url, "/staff/audit", token)
                await tab.get_by_label("Action (starts with)").fill("registration.")
                await tab.get_by_role("button", name="Filter").click()
                await tab.wait_for_url("**action=registration.*")
                assert await tab.locator("table.audit tbody tr").count() == 3
                await tab.wait_for_load_state("load")
                scroll = await sideways_scroll(tab)
                assert scroll <= 0, f"the audit page scrolls sideways by {scroll}px at {width}"
                found = await accessibility_violations(tab)
                assert found == [], found


async def test_signing_out_writes_an_audit_entry_on_every_service(system: System) -> None:
    secretariat = system.token()
    session = as_(system, BOSS, "secretariat")["Authorization"][7:]
    for client in (system.scheduling, system.registration, system.evaluation):
        page = await client.get("/staff/audit", headers={"Cookie": f"{COOKIE_NAME}={session}"})
        assert page.status_code == 200
        csrf = client.cookies.get("capitals_csrf")
        signed_out = await log_out(client, page, f"{COOKIE_NAME}={session}; capitals_csrf={csrf}")
        assert f"{COOKIE_NAME}=;" in signed_out.headers["set-cookie"].replace('""', "")
        (entry,) = await audit(client, secretariat, action="staff.signed_out")
        assert (entry["actor"], entry["role"], entry["object_id"]) == (
            BOSS,
            "secretariat",
            BOSS,
        )
        # Without a session there is nobody to log: the cookie is cleared all the same.
        await log_out(client, page, f"capitals_csrf={csrf}")
        assert len(await audit(client, secretariat, action="staff.signed_out")) == 1


async def test_an_unreadable_date_on_the_audit_page_is_named_beside_its_field(
    system: System,
) -> None:
    secretariat = system.token()
    for client in (system.scheduling, system.registration, system.evaluation):
        shown = await client.get("/staff/audit", params={"to": "2026-12-01"}, headers=secretariat)
        assert shown.status_code == 200 and 'aria-invalid="true"' not in shown.text
        for field, typed in (("from", "yesterday"), ("to", "31.12.2026"), ("from", "2026-02-30")):
            page = await client.get(
                "/staff/audit", params={field: typed, "who": "boss"}, headers=secretariat
            )
            assert page.status_code == 422, (field, typed, page.status_code)
            beside = (
                f'id="{field}" name="{field}" type="date" value="{typed}" aria-invalid="true" '
                f'aria-describedby="{field}-error"><p class="error" id="{field}-error">not a day'
            )
            assert beside in page.text, page.text
            assert 'value="boss"' in page.text, "the other filters are kept"
            assert "<table" not in page.text

"""Domain errors as problem details, and the shared ways to authorise and reach settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Request, get
from litestar.params import FromPath
from litestar.testing import TestClient
from sqlalchemy import create_engine

from shared.auth import COOKIE_NAME, check_host, host_country_guard, issue_token, staff_or_none
from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable
from shared.params import AppSettings, StaffMember
from shared.problems import status_of
from shared.service import ServiceSpec, create_app
from shared.settings import load_settings
from shared.staff import Staff
from shared.tables import infrastructure
from tests.support import SECRET, NatsServer

HOSTS = {"t-ee": "EE", "t-lv": "LV"}


async def host_of(_session: Any, training_id: str, _staff: Staff) -> str | None:
    return HOSTS.get(training_id)


@get("/refuse/{kind:str}", sync_to_thread=False)
def refuse(kind: FromPath[str]) -> None:
    errors: dict[str, DomainError] = {
        "invalid": Invalid("capacity must be positive", field="capacity"),
        "conflict": Conflict("sessions overlap", field="sessions", conflicts=["s1", "s2"]),
        "missing": NotFound("no training t-xx"),
        "forbidden": Forbidden("not your country", field="host_country"),
        "later": Unavailable("the intake is busy"),
    }
    raise errors[kind]


@get(
    "/trainings/{training_id:str}",
    guards=[host_country_guard("training_id", host_of, "training")],
    sync_to_thread=False,
)
def managed(training_id: FromPath[str]) -> str:
    return training_id


@get("/me", sync_to_thread=False)
def me(who: StaffMember, settings: AppSettings) -> dict[str, Any]:
    return {"sub": who.sub, "rate_limit": settings.rate_limit}


@get("/whoami", sync_to_thread=False)
def whoami(request: Request[Any, Any, Any]) -> str:
    staff = staff_or_none(request)
    return staff.sub if staff else "public"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient[Any]]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    settings = load_settings(
        {
            "CAPITALS_DATA_DIR": str(tmp_path),
            "NATS_URL": server.url,
            "CAPITALS_SECRET": SECRET,
            "CAPITALS_RATE_LIMIT": "0",
        }
    )
    engine = create_engine(settings.database_url("registration").replace("+aiosqlite", ""))
    infrastructure.create_all(engine)
    engine.dispose()
    spec = ServiceSpec(
        name="registration", title="Test", route_handlers=[refuse, managed, me, whoami]
    )
    try:
        with TestClient(create_app(spec, settings)) as client:
            yield client
    finally:
        server.stop()


def bearer(role: str, countries: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role=role, countries=countries)}"}


def test_each_domain_error_is_problem_details_naming_the_field(
    app_client: TestClient[Any],
) -> None:
    answer = app_client.get("/refuse/invalid")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["detail"] == "capacity must be positive"
    assert body["errors"] == [{"field": "capacity", "message": "capacity must be positive"}]
    conflict = app_client.get("/refuse/conflict").json()
    assert (conflict["status"], conflict["conflicts"]) == (409, ["s1", "s2"])
    missing = app_client.get("/refuse/missing")
    assert missing.status_code == 404 and "errors" not in missing.json()
    assert app_client.get("/refuse/forbidden").status_code == 403
    assert app_client.get("/refuse/later").status_code == 503


def test_a_service_subclass_keeps_its_parent_status() -> None:
    class InvalidAnswer(Invalid):
        pass

    assert status_of(InvalidAnswer("out of range", field="answers.q1")) == 422


def test_the_host_country_guard_answers_401_404_403_and_lets_the_host_in(
    app_client: TestClient[Any],
) -> None:
    assert app_client.get("/trainings/t-ee").status_code == 401
    organiser = bearer("organiser", ["EE"])
    assert app_client.get("/trainings/t-xx", headers=organiser).status_code == 404
    assert app_client.get("/trainings/t-lv", headers=organiser).status_code == 403
    assert app_client.get("/trainings/t-ee", headers=organiser).text == "t-ee"
    assert app_client.get("/trainings/t-lv", headers=bearer("secretariat")).status_code == 200


def test_staff_member_and_settings_come_by_injection(app_client: TestClient[Any]) -> None:
    assert app_client.get("/me").status_code == 401
    answer = app_client.get("/me", headers=bearer("organiser", ["EE"]))
    assert answer.status_code == 200 and answer.json()["rate_limit"] == 0


def test_check_host_is_the_pages_version_of_the_guard() -> None:
    organiser = Staff(sub="o", role="organiser", countries=frozenset({"EE"}))
    check_host(organiser, "ee")
    with pytest.raises(Forbidden, match="host country LV"):
        check_host(organiser, "LV")
    check_host(Staff(sub="s", role="secretariat", countries=frozenset()), "LV")


def test_staff_or_none_is_none_for_the_public_and_for_a_stale_cookie(
    app_client: TestClient[Any],
) -> None:
    assert app_client.get("/whoami").text == "public"
    app_client.cookies.set(COOKIE_NAME, "not-a-token")
    assert app_client.get("/whoami").text == "public"
    app_client.cookies.clear()
    assert app_client.get("/whoami", headers=bearer("secretariat")).text.startswith("secretariat")

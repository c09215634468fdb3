"""The staff directory's rules, pure: what a token still grants, and who may be staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduling import people
from shared.errors import Conflict, Invalid
from shared.staff import Listing, Staff, as_listed

TOKEN = Staff(
    sub="ana@example.org", role="organiser", countries=frozenset({"EE", "LV"}), issued=100
)


def listing(**changes: object) -> Listing:
    values: dict[str, object] = {
        "email": "ana@example.org",
        "role": "organiser",
        "countries": frozenset({"EE", "LV"}),
    }
    values.update(changes)
    return Listing(**values)  # type: ignore[arg-type]


def test_a_subject_outside_the_directory_keeps_what_its_token_says() -> None:
    assert as_listed(TOKEN, None) == TOKEN


def test_a_revoked_member_keeps_nothing() -> None:
    assert as_listed(TOKEN, listing(revoked=True)) is None


def test_signing_out_everywhere_ends_tokens_issued_until_then() -> None:
    assert as_listed(TOKEN, listing(signed_out_at=100)) is None
    assert as_listed(TOKEN, listing(signed_out_at=99)) == TOKEN


def test_fewer_countries_narrow_an_earlier_session() -> None:
    narrowed = as_listed(TOKEN, listing(countries=frozenset({"EE"})))
    assert narrowed is not None and narrowed.countries == {"EE"}
    assert as_listed(TOKEN, listing(countries=frozenset({"PL"}))) is None


def test_a_secretariat_session_of_someone_now_an_organiser_becomes_an_organiser_one() -> None:
    token = Staff(sub="ana@example.org", role="secretariat", countries=frozenset())
    narrowed = as_listed(token, listing(countries=frozenset({"PL"})))
    assert narrowed is not None and not narrowed.is_secretariat
    assert narrowed.countries == {"PL"}


def test_an_organiser_needs_a_country_and_the_secretariat_has_none() -> None:
    with pytest.raises(Invalid) as refused:
        people.checked("a@example.org", "", "organiser", [])
    assert refused.value.field == "countries"
    member = people.checked(" A@Example.org ", "Ana", "secretariat", ["EE"])
    assert member.email == "a@example.org" and member.countries == ()


def test_a_revoked_member_cannot_be_enrolled_again() -> None:
    member = people.revoked(
        people.enrolled(None, people.checked("a@example.org", "", "organiser", ["ee"]))
    )
    with pytest.raises(Conflict):
        people.enrolled(member, member)


def test_a_link_lasts_fifteen_minutes_and_works_once() -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    expires = now + people.LINK_LIFETIME
    assert people.link_usable(expires, None, now + timedelta(minutes=14))
    assert not people.link_usable(expires, None, now + timedelta(minutes=15))
    assert not people.link_usable(expires, now, now)

"""Every consumer ends in the same state whatever order its events arrive in, and however often.

Events go onto the real broker as their producers would put them; each is
published twice (a redelivery: same event id, new message id), once in the order
it was made and once reversed, and the consumer runner of the real service
applies them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import nats
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.broker import ensure_streams
from shared.events import Envelope, Payload, decode_envelope, encode, envelope_for
from shared.events import contracts as ev
from shared.migrations import upgrade
from tests.evaluation_support import Training, attendee
from tests.registration_support import person, training_event
from tests.scheduling_support import published_training
from tests.support import System, eventually, running_system

ORDERS = ("in order", "reversed")


# A case: a fresh history of events, and what reads the state they leave.
Case = tuple[Sequence[Payload], Callable[[], Awaitable[Any]]]


async def same_in_any_order(
    tmp_path: Path, kind: str, service: str, case: Callable[[System], Case]
) -> Any:
    """To `service` alone, deliver a fresh history from `case` in order, another reversed;
    the state each leaves must be the same. That state."""
    states = {}
    async with consumer_system(tmp_path, kind, service) as system:
        for order in ORDERS:
            history, state = case(system)
            await deliver(system, service, envelopes(*history), reverse=order == "reversed")
            states[order] = await state()
    assert states["reversed"] == states["in order"]
    return states["in order"]


@asynccontextmanager
async def consumer_system(tmp_path: Path, kind: str, service: str) -> AsyncIterator[System]:
    """One service over a real broker and database, its consumers running."""
    async with running_system(tmp_path, kind, services=(service,)) as system:
        try:
            yield system
        finally:
            _quick_drain(system)


def _quick_drain(system: System) -> None:
    # A pull subscription whose fetch was cancelled makes drain() wait its whole timeout.
    for service in system.apps:
        nc = system.runtime(service).broker.nc
        if nc is not None:
            nc.options["drain_timeout"] = 1


def envelopes(*payloads: Payload) -> list[Envelope]:
    return [envelope_for(payload, str(uuid.uuid4())) for payload in payloads]


async def deliver(
    system: System, service: str, events: Sequence[Envelope], *, reverse: bool = False
) -> None:
    """Publish every event twice, in order or reversed, and wait until `service` handled all."""
    ordered = list(reversed(events)) if reverse else list(events)
    connection = await nats.connect(system.nats.url)
    try:
        js = connection.jetstream(timeout=5)
        await ensure_streams(js, None)
        for envelope in ordered:
            for copy in ("first", "again"):
                await js.publish(
                    envelope.subject,
                    encode(envelope),
                    headers={"Nats-Msg-Id": f"{envelope.event_id}-{copy}"},
                )
        for producer in sorted({envelope.producer for envelope in ordered}):
            await eventually(partial(_caught_up, js, service, producer), timeout=30)
    finally:
        await connection.close()


async def _caught_up(js: JetStreamContext, service: str, producer: str) -> bool:
    stream = producer.upper()
    try:
        info = await js.consumer_info(stream, f"{service}-from-{producer}")
    except NotFoundError:
        return False
    last = (await js.stream_info(stream)).state.last_seq
    return info.delivered.stream_seq >= last and not info.num_pending and not info.num_ack_pending


async def rows(system: System, service: str, statement: str, **params: Any) -> list[Any]:
    """Read a service's database directly, on an engine of the test's own."""
    engine = create_async_engine(system.settings.database_url(service), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(text(statement).bindparams(**params)))
    finally:
        await engine.dispose()


# --- registration, from scheduling -------------------------------------------------------


def _scheduling_history(
    cancelled_id: str, completed_id: str
) -> list[ev.TrainingData | ev.TrainingCancelled | ev.TrainingCompleted]:
    """Two trainings as scheduling tells them: one moved then cancelled, one completed."""
    return [
        training_event(training_id=cancelled_id, revision=2, capacity=20),
        training_event(
            training_id=cancelled_id,
            revision=3,
            capacity=25,
            title="Trafficking in human beings: moved to Riga",
            city="Riga",
            subject=ev.TrainingUpdated,
        ),
        ev.TrainingCancelled(id=cancelled_id, revision=4, reason="The venue closed"),
        training_event(
            training_id=completed_id, revision=2, starts_on=date.today() - timedelta(days=1)
        ),
        ev.TrainingCompleted(id=completed_id, revision=3),
    ]


async def _catalogue_state(system: System, training_id: str) -> dict[str, Any]:
    entry = (await system.registration.get(f"/trainings/{training_id}")).json()
    entry.pop("id")
    ((revision, cancelled_at, completed_at),) = await rows(
        system,
        "registration",
        "SELECT revision, cancelled_at, completed_at FROM training WHERE id = :id",
        id=training_id,
    )
    entry["revision"] = revision
    entry["cancelled"] = cancelled_at is not None
    entry["completed"] = completed_at is not None
    return entry


async def test_registration_catalogue_ends_the_same_whatever_order_scheduling_events_arrive(
    tmp_path: Path, db_kind: str
) -> None:
    def case(system: System) -> Case:
        ids = (str(uuid.uuid4()), str(uuid.uuid4()))

        async def state() -> tuple[list[dict[str, Any]], list[str]]:
            entries = [await _catalogue_state(system, training_id) for training_id in ids]
            catalogue = (await system.registration.get("/trainings")).json()["items"]
            return entries, [item["id"] for item in catalogue if item["id"] in ids]

        return _scheduling_history(*ids), state

    (cancelled, completed), listed = await same_in_any_order(
        tmp_path, db_kind, "registration", case
    )
    assert cancelled["status"] == "cancelled" and cancelled["cancelled"]
    assert cancelled["city"] == "Riga" and cancelled["capacity"] == 25
    assert not cancelled["registration_open"]
    assert completed["status"] == "completed" and completed["completed"]
    assert listed == [], "neither is listed, in either order"


async def test_cancellation_before_publication_keeps_training_closed(
    tmp_path: Path, db_kind: str
) -> None:
    async with consumer_system(tmp_path, db_kind, "registration") as system:
        training_id = str(uuid.uuid4())
        published = training_event(training_id=training_id, revision=2)
        cancelled = ev.TrainingCancelled(id=training_id, revision=3)
        await deliver(system, "registration", envelopes(published, cancelled), reverse=True)

        entry = (await system.registration.get(f"/trainings/{training_id}")).json()
        assert entry["status"] == "cancelled" and not entry["registration_open"]
        catalogue = (await system.registration.get("/trainings")).json()["items"]
        assert training_id not in [item["id"] for item in catalogue]
        response = await system.registration.post(
            f"/trainings/{training_id}/registrations", json=person(1)
        )
        assert response.status_code == 409, response.text


async def test_a_cancellation_overtaking_its_publication_never_opens_registration(
    tmp_path: Path,
) -> None:
    """The issue's case end to end: scheduling's own events, the cancellation handled first."""
    async with AsyncExitStack() as stack:
        system = await stack.enter_async_context(running_system(tmp_path, services=("scheduling",)))
        stack.callback(_quick_drain, system)
        organiser = system.token("organiser", ["EE"])
        training, _ = await published_training(system, organiser)
        response = await system.scheduling.post(
            f"/trainings/{training['id']}/cancel",
            json={"reason": "Venue closed"},
            headers=organiser,
        )
        assert response.status_code == 200, response.text
        # Published, the session cancelled, the training cancelled.
        made = await _stream_envelopes(system, "SCHEDULING", 3)
        types = [envelope.subject for envelope in made]
        assert types.index(ev.TrainingPublished.subject) < types.index(ev.TrainingCancelled.subject)

        # Registration starts late and finds the cancellation ahead of the publication.
        connection = await nats.connect(system.nats.url)
        try:
            await connection.jetstream().purge_stream("SCHEDULING")
        finally:
            await connection.close()
        registration = await _start(system, stack, "registration")
        await deliver(system, "registration", made, reverse=True)

        entry = (await registration.get(f"/trainings/{training['id']}")).json()
        assert entry["status"] == "cancelled" and not entry["registration_open"]
        catalogue = (await registration.get("/trainings")).json()["items"]
        assert training["id"] not in [item["id"] for item in catalogue]
        response = await registration.post(
            f"/trainings/{training['id']}/registrations", json=person(1)
        )
        assert response.status_code == 409, response.text


async def _stream_envelopes(system: System, stream: str, at_least: int) -> list[Envelope]:
    connection = await nats.connect(system.nats.url)
    try:
        js = connection.jetstream(timeout=5)

        async def stored() -> list[Envelope]:
            state = (await js.stream_info(stream)).state
            assert state.messages >= at_least, f"{state.messages} events on {stream}"
            return [
                decode_envelope((await js.get_msg(stream, sequence)).data or b"")
                for sequence in range(state.first_seq, state.last_seq + 1)
            ]

        return await eventually(stored)
    finally:
        await connection.close()


async def _start(system: System, stack: AsyncExitStack, service: str) -> AsyncTestClient[Any]:
    """Start one more service beside a running system, on the database prepared for it."""
    url = system.settings.database_url(service)
    await asyncio.to_thread(upgrade, service, url)
    module = __import__(f"services.{service}.app", fromlist=["app"])
    app = module.app(system.settings)
    system.apps[service] = app
    client: AsyncTestClient[Any] = await stack.enter_async_context(
        AsyncTestClient(app=app, base_url=system.settings.public_url(service), timeout=30)
    )
    system.clients[service] = client
    return client


# --- evaluation, from scheduling and registration -----------------------------------------


def _evaluation_history(training: Training) -> tuple[list[Payload], dict[str, str]]:
    """A training's life as evaluation hears it, and the role of each session id."""
    opening = training.session("Opening lecture", hour=9)
    workshop = training.session("Workshop on identification", kind="workshop", hour=11)
    published = training.published()
    added = ev.SessionScheduled(
        **{
            **msgspec.structs.asdict(training.session("Case studies", hour=14)),
            "revision": 1,
        }
    )
    renamed = ev.SessionUpdated(
        **{
            **msgspec.structs.asdict(opening),
            "revision": 2,
            "title": "Opening lecture: routes",
        }
    )
    dropped = ev.SessionCancelled(
        **{**msgspec.structs.asdict(workshop), "revision": 2, "status": "cancelled"}
    )
    training.sessions = [
        ev.SessionData(**msgspec.structs.asdict(session)) for session in (renamed, dropped, added)
    ]
    training.title = "Trafficking in human beings: consular training, second edition"
    moved = ev.TrainingUpdated(**msgspec.structs.asdict(training.published()))
    completed = training.completed()
    alice = attendee(training, "Alice Example")
    bob = attendee(training, "Bob Example")
    bob_undone = ev.RegistrationCheckInUndone(
        id=bob.id, revision=4, training_id=training.id, participant_id=bob.participant_id
    )
    history: list[Payload] = [published, added, renamed, dropped, moved, completed]
    history += [alice, bob, bob_undone]
    roles = {opening.id: "opening", workshop.id: "workshop", added.id: "case studies"}
    return history, roles


async def _evaluation_state(
    system: System, training: Training, roles: dict[str, str]
) -> dict[str, Any]:
    def named(value: str) -> str:
        for session_id, role in roles.items():
            value = value.replace(session_id, role)
        return value.replace(training.id, "training")

    state: dict[str, Any] = {}
    state["training"] = [
        tuple(row)
        for row in await rows(
            system,
            "evaluation",
            "SELECT title, status, revision FROM training WHERE id = :id",
            id=training.id,
        )
    ]
    state["sessions"] = sorted(
        (roles[row[0]], row[1], row[2], row[3])
        for row in await rows(
            system,
            "evaluation",
            "SELECT id, title, status, revision FROM session WHERE training_id = :id",
            id=training.id,
        )
    )
    campaigns = await rows(
        system,
        "evaluation",
        "SELECT id, stage, status, questions FROM campaign WHERE training_id = :id",
        id=training.id,
    )
    state["campaigns"] = [
        (stage, status, named(questions if isinstance(questions, str) else json.dumps(questions)))
        for _, stage, status, questions in campaigns
    ]
    state["invited"] = sorted(
        tuple(row)
        for row in await rows(
            system,
            "evaluation",
            "SELECT i.name, i.email, i.answered FROM invitation i"
            " JOIN campaign c ON c.id = i.campaign_id WHERE c.training_id = :id",
            id=training.id,
        )
    )
    state["attendees"] = sorted(
        tuple(row)
        for row in await rows(
            system,
            "evaluation",
            "SELECT name, email, checked_in, revision FROM attendee WHERE training_id = :id",
            id=training.id,
        )
    )
    return state


async def test_evaluation_ends_the_same_whatever_order_its_events_arrive(
    tmp_path: Path, db_kind: str
) -> None:
    def case(system: System) -> Case:
        training = Training(day=date.today() - timedelta(days=1))
        history, roles = _evaluation_history(training)
        return history, partial(_evaluation_state, system, training, roles)

    state = await same_in_any_order(tmp_path, db_kind, "evaluation", case)
    assert state["training"][0][1] == "completed"
    assert [(stage, status) for stage, status, _ in state["campaigns"]] == [("evaluation", "open")]
    assert state["invited"] == [("Alice Example", "alice.example@mfa.example", False)]
    assert ("workshop", "Workshop on identification", "cancelled", 2) in state["sessions"]


async def test_completion_before_publication_opens_the_campaign_once_the_training_is_known(
    tmp_path: Path, db_kind: str
) -> None:
    async with consumer_system(tmp_path, db_kind, "evaluation") as system:
        training = Training(day=date.today() - timedelta(days=1))
        training.session("Opening lecture")
        published = training.published()
        completed = training.completed()
        alice = attendee(training, "Alice Example")
        # The check-in and the completion both arrive before the training itself.
        await deliver(system, "evaluation", envelopes(alice))
        await deliver(system, "evaluation", envelopes(completed))
        assert not await rows(
            system, "evaluation", "SELECT id FROM campaign WHERE training_id = :id", id=training.id
        )
        await deliver(system, "evaluation", envelopes(published))

        campaigns = await rows(
            system,
            "evaluation",
            "SELECT c.status, i.email FROM campaign c JOIN invitation i ON i.campaign_id = c.id"
            " WHERE c.training_id = :id",
            id=training.id,
        )
        assert [tuple(row) for row in campaigns] == [("open", "alice.example@mfa.example")]


async def test_an_erasure_overtaking_a_check_in_keeps_the_person_out(
    tmp_path: Path, db_kind: str
) -> None:
    async with consumer_system(tmp_path, db_kind, "evaluation") as system:
        held: dict[str, list[Any]] = {}
        for order in ORDERS:
            training = Training(day=date.today() - timedelta(days=1))
            await deliver(
                system, "evaluation", envelopes(training.published(), training.completed())
            )
            carol = attendee(training, f"Carol Canary {order}")
            undone = ev.RegistrationCheckInUndone(
                id=carol.id,
                revision=carol.revision + 1,
                training_id=training.id,
                participant_id=carol.participant_id,
            )
            again = ev.RegistrationCheckedIn(
                **{**msgspec.structs.asdict(carol), "revision": carol.revision + 2}
            )
            erased = ev.ParticipantErased(id=carol.participant_id, revision=2)
            history = envelopes(carol, undone, again, erased)
            await deliver(system, "evaluation", history, reverse=order == "reversed")
            held[order] = [
                tuple(row)
                for table in ("attendee", "invitation")
                for row in await rows(
                    system,
                    "evaluation",
                    f"SELECT name, email FROM {table} WHERE participant_id = :id"
                    " OR name = :name OR email = :email",
                    id=carol.participant_id,
                    name=carol.name,
                    email=carol.email,
                )
            ]

        assert held == {"in order": [], "reversed": []}


# --- scheduling, from registration ---------------------------------------------------------


def _registration_history(
    kept: str, erased: str, first: str, second: str, tokens: dict[str, str]
) -> list[Payload]:
    """Two participants: one confirmed for `first` (cancelled for `second`), one erased."""
    r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))

    def status(
        registration: str, participant: str, training: str, revision: int, status: str
    ) -> ev.RegistrationData:
        return ev.REGISTRATION_STATUS_EVENTS[status](
            id=registration,
            revision=revision,
            training_id=training,
            participant_id=participant,
            status=status,
        )

    return [
        ev.ParticipantFeedTokenSet(id=kept, revision=1, feed_token_sha256=tokens["a"]),
        status(r1, kept, first, 1, "pending"),
        status(r1, kept, first, 2, "confirmed"),
        status(r2, kept, second, 1, "confirmed"),
        ev.ParticipantFeedTokenSet(id=kept, revision=2, feed_token_sha256=tokens["b"]),
        status(r2, kept, second, 2, "cancelled"),
        ev.RegistrationCheckedIn(
            id=r1,
            revision=3,
            training_id=first,
            participant_id=kept,
            status="confirmed",
            name="Kept Person",
            email="kept@example.org",
        ),
        ev.ParticipantFeedTokenSet(id=erased, revision=1, feed_token_sha256=tokens["c"]),
        status(r3, erased, first, 1, "confirmed"),
        ev.ParticipantErased(id=erased, revision=2),
    ]


async def _feed_state(
    system: System, participants: dict[str, str], trainings: dict[str, str], tokens: dict[str, str]
) -> dict[str, Any]:
    role = {
        value: name for names in (participants, trainings, tokens) for name, value in names.items()
    }
    ids = list(participants.values())
    where = "participant_id IN (:a, :b)"
    params = {"a": ids[0], "b": ids[1]}
    hashes = await rows(
        system,
        "scheduling",
        f"SELECT participant_id, token_sha256 FROM feed_token WHERE {where}",
        **params,
    )
    enrolments = await rows(
        system,
        "scheduling",
        f"SELECT participant_id, training_id, status, revision FROM enrolment WHERE {where}",
        **params,
    )
    listed = await rows(
        system,
        "scheduling",
        f"SELECT participant_id, training_id FROM calendar_entry WHERE listed AND {where}",
        **params,
    )
    erased = await rows(
        system,
        "scheduling",
        f"SELECT participant_id FROM erased_participant WHERE {where}",
        **params,
    )
    return {
        "tokens": sorted((role[p], role[token]) for p, token in hashes),
        "enrolments": sorted((role[p], role[t], s, r) for p, t, s, r in enrolments),
        "listed": sorted((role[p], role[t]) for p, t in listed),
        "erased": sorted(role[p] for (p,) in erased),
    }


async def test_personal_feeds_end_the_same_whatever_order_registration_events_arrive(
    tmp_path: Path, db_kind: str
) -> None:
    def case(system: System) -> Case:
        participants = {"kept": str(uuid.uuid4()), "erased": str(uuid.uuid4())}
        trainings = {"first": str(uuid.uuid4()), "second": str(uuid.uuid4())}
        tokens = {name: secrets.token_hex(32) for name in "abc"}
        history = _registration_history(*participants.values(), *trainings.values(), tokens=tokens)
        return history, partial(_feed_state, system, participants, trainings, tokens)

    assert await same_in_any_order(tmp_path, db_kind, "scheduling", case) == {
        "tokens": [("kept", "b")],
        "enrolments": [("kept", "first", "confirmed", 3), ("kept", "second", "cancelled", 2)],
        "listed": [("kept", "first")],
        "erased": ["erased"],
    }

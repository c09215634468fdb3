"""Faults on deploy/loopback.py's topology: registrations spread over the registration
instances, and the checks that nothing was lost or applied twice. Used by
tests/test_fault_cluster.py and bench/convergence.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import nats

from deploy.loopback import Instance, Loopback
from services.evaluation.handlers import HANDLERS as EVALUATION_HANDLERS
from services.registration.handlers import HANDLERS as REGISTRATION_HANDLERS
from services.scheduling.handlers import HANDLERS as SCHEDULING_HANDLERS
from shared.auth import issue_token
from shared.events import decode_envelope
from tests.bus_support import stored_messages
from tests.registration_support import person
from tests.scheduling_support import session_body, training_body

# The consumers that read each stream, and the handlers behind them.
READERS = {
    "REGISTRATION": {"scheduling": SCHEDULING_HANDLERS, "evaluation": EVALUATION_HANDLERS},
    "SCHEDULING": {"registration": REGISTRATION_HANDLERS, "evaluation": EVALUATION_HANDLERS},
}


def organiser(topology: Loopback) -> dict[str, str]:
    token = issue_token(topology.secret, role="organiser", countries=["EE"])
    return {"Authorization": f"Bearer {token}"}


async def open_training(topology: Loopback, capacity: int) -> str:
    """A published training with one session, listed by every registration instance."""
    headers = organiser(topology)
    scheduling = topology.by_service["scheduling"][0].url
    async with httpx.AsyncClient(base_url=scheduling, headers=headers, timeout=10) as client:
        made = await client.post("/trainings", json=training_body(capacity=capacity))
        assert made.status_code == 201, made.text
        training = made.json()
        session = session_body(training["starts_on"], start="09:00", end="09:45")
        added = await client.post(f"/trainings/{training['id']}/sessions", json=session)
        assert added.status_code == 201, added.text
        published = await client.post(f"/trainings/{training['id']}/publish")
        assert published.status_code == 200, published.text
    for instance in topology.by_service["registration"]:
        async with httpx.AsyncClient(base_url=instance.url, timeout=5) as client:
            deadline = time.monotonic() + 20
            while (await client.get(f"/trainings/{training['id']}")).status_code != 200:
                assert time.monotonic() < deadline, f"{instance.name} never listed the training"
                await asyncio.sleep(0.1)
    return str(training["id"])


@dataclass
class Load:
    """Registrations of `people` distinct people for one training, `concurrency` at a time,
    person n first to registration instance n % 2; a request that gets no answer (its
    instance died) or a 503 goes to the next instance, until one answers."""

    topology: Loopback
    training_id: str
    people: range
    concurrency: int = 12
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    unanswered: int = 0  # requests that got no answer and were sent again
    unavailable: int = 0  # 503 answers (sent again)
    answered: int = 0
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    # When each answer came (time.monotonic), in order.
    answer_times: list[float] = field(default_factory=list)

    async def then(self, answered: int, fault: Callable[[], Awaitable[None]]) -> None:
        """Run `fault` once `answered` people have an answer."""
        async with self.progress:
            await self.progress.wait_for(lambda: self.answered >= answered)
        await fault()

    async def run(self) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in self.people:
            queue.put_nowait(n)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, connect=2)) as client:
            await asyncio.gather(*(self._worker(client, queue) for _ in range(self.concurrency)))

    async def _worker(self, client: httpx.AsyncClient, queue: asyncio.Queue[int]) -> None:
        instances = self.topology.by_service["registration"]
        while not queue.empty():
            n = queue.get_nowait()
            body = person(n, email=f"fault{n}@{self.training_id[:8]}.example.org")
            path = f"/trainings/{self.training_id}/registrations"
            for attempt in range(200):
                instance = instances[(n + attempt) % len(instances)]
                try:
                    answer = await client.post(instance.url + path, json=body)
                except httpx.TransportError:
                    self.unanswered += 1
                    await asyncio.sleep(0.05)
                    continue
                if answer.status_code == 503:
                    self.unavailable += 1
                    await asyncio.sleep(0.2)
                    continue
                # 409: an earlier attempt that got no answer did register this person.
                assert answer.status_code in (201, 409), answer.text
                if answer.status_code == 201:
                    self.acknowledged[answer.json()["id"]] = answer.json()
                break
            else:
                raise AssertionError(f"person {n} never got an answer")
            async with self.progress:
                self.answered += 1
                self.answer_times.append(time.monotonic())
                self.progress.notify_all()


async def quiet(exc: Exception) -> None:
    """Nodes that are down while a fault lasts are expected: no traceback for each."""


def dsn(topology: Loopback, service: str) -> str:
    return topology.database_url(service).replace("postgresql+asyncpg://", "postgresql://")


async def fetch(topology: Loopback, service: str, query: str, *args: Any) -> list[Any]:
    connection = await asyncpg.connect(dsn(topology, service))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def stream_leader(url: str, stream: str, timeout: float = 5) -> str | None:
    """The node leading the stream, or None while it has none (an election under way)."""
    connection = await nats.connect(url.split(","), connect_timeout=2, error_cb=quiet)
    try:
        info = await connection.jetstream(timeout=timeout).stream_info(stream)
        return info.cluster.leader if info.cluster is not None else None
    except (nats.errors.Error, TimeoutError):
        return None
    finally:
        await connection.close()


async def new_leader(url: str, stream: str, old: str, settled: float = 10.0) -> float:
    """Wait until a node other than `old` leads the stream; when (time.monotonic).
    nats-server's Raft followers wait 4-9 s for a lost leader before they campaign
    (minElectionTimeoutDefault..maxElectionTimeoutDefault in server/raft.go). The killed
    node is started again a second later and may win that election itself: any leader
    seen once `settled` seconds have passed (longer than the longest wait) was elected
    after the kill."""
    waiting_since = time.monotonic()
    while True:
        leader = await stream_leader(url, stream, timeout=0.5)
        if leader not in (None, old) or (
            leader is not None and time.monotonic() - waiting_since > settled
        ):
            return time.monotonic()
        await asyncio.sleep(0.05)


async def consumers_behind(url: str) -> list[str]:
    """The durable consumers that have messages pending or unacknowledged."""
    connection = await nats.connect(url.split(","), connect_timeout=2, error_cb=quiet)
    try:
        js = connection.jetstream(timeout=3)
        behind = []
        for stream in READERS:
            for consumer in await js.consumers_info(stream):
                if consumer.num_pending or consumer.num_ack_pending:
                    behind.append(
                        f"{consumer.name} ({consumer.num_pending} pending, "
                        f"{consumer.num_ack_pending} unacked)"
                    )
        return behind
    finally:
        await connection.close()


async def not_converged(topology: Loopback, training_id: str, load: Load) -> str | None:
    """Why the services do not agree yet, or None once every person has an answer, every
    instance is ready, every event is published, every consumer caught up and scheduling's
    enrolments are what registration holds."""
    if load.answered < len(load.people):
        return "registering"
    async with httpx.AsyncClient(timeout=2) as client:
        for instance in topology.all():
            if instance.process is None:
                return f"{instance.name} down"
            try:
                ready = (await client.get(f"{instance.url}/ready")).status_code == 200
            except httpx.TransportError:
                ready = False
            if not ready:
                return f"{instance.name} not ready"
    for service in ("registration", "scheduling"):
        rows = await fetch(
            topology, service, "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        if rows[0][0]:
            return f"{service}: {rows[0][0]} events unpublished"
    behind = await consumers_behind(topology.cluster.url)
    if behind:
        return "behind: " + ", ".join(sorted(behind))
    held = await fetch(
        topology,
        "registration",
        "SELECT id, status FROM registration WHERE training_id = $1",
        training_id,
    )
    known = await fetch(
        topology,
        "scheduling",
        "SELECT registration_id, status FROM enrolment WHERE training_id = $1",
        training_id,
    )
    differ = {tuple(row) for row in held} ^ {tuple(row) for row in known}
    return f"scheduling: {len(differ)} enrolments differ" if differ else None


@dataclass
class Convergence:
    """Seconds from the fault until the services agreed, and what was last in the way
    (seconds since the fault, reason) each time the reason changed."""

    seconds: float
    timeline: list[tuple[float, str]]

    def __str__(self) -> str:
        steps = "; ".join(f"{at:.1f} s {why}" for at, why in self.timeline)
        return f"{self.seconds:.1f} s ({steps})"


async def time_to_converge(
    topology: Loopback, training_id: str, load: Load, since: float, timeout: float = 60
) -> Convergence:
    """Poll `not_converged` from now until it has no reason left; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    timeline: list[tuple[float, str]] = []
    while True:
        try:
            why = await not_converged(topology, training_id, load)
        except (OSError, nats.errors.Error, TimeoutError) as exc:
            why = f"no answer: {exc!r}"  # a node still electing leaders answers nothing
        now = time.monotonic() - since
        if why is None:
            return Convergence(now, timeline)
        if not timeline or timeline[-1][1] != why:
            timeline.append((now, why))
        assert time.monotonic() < deadline, f"the services did not converge: {timeline}"
        await asyncio.sleep(0.1)


async def check_nothing_lost(topology: Loopback, training_id: str, load: Load) -> None:
    """Every acknowledged registration is held; every event of the registration and scheduling
    outboxes is in its stream once and in the inbox of every service that handles it once."""
    held = {
        row["id"]: row
        for row in await fetch(
            topology,
            "registration",
            "SELECT id, status FROM registration WHERE training_id = $1",
            training_id,
        )
    }
    missing = set(load.acknowledged) - set(held)
    assert not missing, f"{len(missing)} acknowledged registrations are gone"
    # Each person registered exactly once, answered or not.
    assert len(held) == len(load.people)
    for stream, readers in READERS.items():
        producer = stream.lower()
        written = {
            row["event_id"]: row["subject"]
            for row in await fetch(topology, producer, "SELECT event_id, subject FROM outbox")
        }
        url = topology.cluster.url
        messages = await stored_messages(url, stream, connect_timeout=2, error_cb=quiet)
        stored = [decode_envelope(message.data or b"").event_id for message in messages]
        assert sorted(stored) == sorted(written), f"{stream}: stream and outbox differ"
        for reader, handlers in readers.items():
            inbox = await fetch(
                topology,
                reader,
                "SELECT event_id FROM inbox WHERE subject LIKE $1",
                f"{producer}.%",
            )
            applied = [row["event_id"] for row in inbox]
            expected = sorted(e for e, subject in written.items() if subject in handlers)
            assert sorted(applied) == expected, f"{reader} did not apply {stream} exactly once"
        for reader in readers:
            dead = await fetch(topology, reader, "SELECT count(*) FROM dead_letter")
            assert dead[0][0] == 0, f"{reader} has dead letters"


async def check_seats(topology: Loopback, training_id: str, capacity: int) -> None:
    """Exactly `capacity` confirmed; the waitlist 1..n without gaps or repeats, as the staff
    list shows it."""
    instance = topology.by_service["registration"][0]
    async with httpx.AsyncClient(base_url=instance.url, headers=organiser(topology)) as client:
        listed = await client.get(f"/trainings/{training_id}/registrations", timeout=20)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    confirmed = [r for r in items if r["status"] == "confirmed"]
    waitlisted = [r for r in items if r["status"] == "waitlisted"]
    assert len(confirmed) == capacity
    assert len(confirmed) + len(waitlisted) == len(items)
    positions = sorted(r["waitlist_position"] for r in waitlisted)
    assert positions == list(range(1, len(waitlisted) + 1))


async def restart(topology: Loopback, instance: Instance) -> None:
    topology.start_instance(instance)
    await topology.wait_ready(instance)


@dataclass
class Kill:
    """A NATS node and a registration instance killed during a run of registrations: when
    (time.monotonic), when the stream they hit had a leader again, when all agreed again."""

    started: float = 0.0
    at: float = 0.0
    elected: float = 0.0
    converged: Convergence | None = None

    @property
    def election(self) -> float:
        return self.elected - self.at


async def kill_mid_run(topology: Loopback, load: Load, after: int) -> Kill:
    """Run `load`; once `after` people have an answer, SIGKILL the NATS node leading the
    registration stream and the second registration instance, and start both again a
    second later. Measures from the kill until the services agree again."""
    kill = Kill(started=time.monotonic())
    killed = asyncio.Event()
    url = topology.cluster.url

    async def fault() -> None:
        leader = await stream_leader(url, "REGISTRATION")
        assert leader is not None
        node = topology.cluster.names.index(leader)
        instance = topology.by_service["registration"][1]
        topology.cluster.kill(node)
        topology.kill(instance)
        kill.at = time.monotonic()
        killed.set()
        elected = asyncio.create_task(new_leader(url, "REGISTRATION", leader))
        await asyncio.sleep(1)
        topology.cluster.start_node(node)
        await restart(topology, instance)
        kill.elected = await elected

    async def converge() -> None:
        await killed.wait()
        kill.converged = await time_to_converge(topology, load.training_id, load, since=kill.at)

    await asyncio.gather(load.then(after, fault), load.run(), converge())
    return kill


async def run_through_a_kill(
    topology: Loopback, people: int, after: int, capacity: int, timeout: float | None = None
) -> tuple[Kill, Load]:
    """`people` register for a training of `capacity` seats through `kill_mid_run` (within
    `timeout` seconds); then the seats hold and nothing acknowledged is lost."""
    training_id = await open_training(topology, capacity)
    load = Load(topology, training_id, range(people))
    async with asyncio.timeout(timeout):
        kill = await kill_mid_run(topology, load, after=after)
    assert kill.converged is not None
    await check_seats(topology, training_id, capacity)
    await check_nothing_lost(topology, training_id, load)
    return kill, load


async def whole_cluster_out(topology: Loopback, seconds: float, *, paused: bool = False) -> None:
    """Every NATS node out for `seconds`, killed (or paused: alive but silent), then back."""
    cluster = topology.cluster
    out, back = (cluster.pause, cluster.resume) if paused else (cluster.kill, cluster.start_node)
    for node in range(len(cluster.names)):
        out(node)
    await asyncio.sleep(seconds)
    for node in range(len(cluster.names)):
        back(node)


async def ride_out(
    topology: Loopback, fault: Callable[[], Awaitable[None]], within: float | None = None
) -> Convergence:
    """Sixty people register for ten seats, `fault` striking after ten answers: how long,
    once it is over, until the services agree (within `within` s); nothing lost, no seat twice."""
    training_id = await open_training(topology, capacity=10)
    load = Load(topology, training_id, range(60), concurrency=4)
    async with asyncio.timeout(within):
        await asyncio.gather(load.then(10, fault), load.run())
        converged = await time_to_converge(topology, training_id, load, since=time.monotonic())
    await check_seats(topology, training_id, 10)
    await check_nothing_lost(topology, training_id, load)
    return converged

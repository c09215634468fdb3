"""Times the training report and series trend over 50,000 stored responses, SQLite and PostgreSQL.

Both are the service's own functions (the ones the routes call), aggregating in
the database with GROUP BY; beside each is a plain SELECT of the same answer
rows, fetched whole, which is what aggregating in Python would have to start with.

Run with `.venv/bin/python bench/evaluation.py [--responses N] [--trainings N] [--runs N]
[--postgres DSN | --no-postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlmodel import select

from services.evaluation import domain, queries, reports
from services.evaluation.domain import EVALUATION, Objective, Question, Session
from services.evaluation.questions import BANK_V1
from services.evaluation.tables import (
    AnswerRow,
    CampaignRow,
    ResponseRow,
    TrainingRow,
    metadata,
)
from shared.db import Database
from shared.migrations import upgrade

SERIES = "cbss-thb"
CAPITALS = (
    ("DK", "Copenhagen"),
    ("EE", "Tallinn"),
    ("IS", "Reykjavik"),
    ("LT", "Vilnius"),
    ("FI", "Helsinki"),
    ("BE", "Brussels"),
    ("SE", "Stockholm"),
    ("DE", "Berlin"),
    ("PL", "Warsaw"),
    ("NO", "Oslo"),
    ("LV", "Riga"),
)


@dataclass
class Timing:
    database: str
    query: str
    aggregated_ms: float
    plain_ms: float
    rows_read: int
    rows_returned: int


def training_questions(training_id: str, day: date) -> tuple[Question, ...]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    sessions = [
        Session(str(uuid.uuid4()), "Identifying victims at the consulate", "lecture", start, "x"),
        Session(str(uuid.uuid4()), "Coffee", "break", start + timedelta(hours=1), "x"),
        Session(
            str(uuid.uuid4()), "Referral in practice", "workshop", start + timedelta(hours=2), "x"
        ),
        Session(str(uuid.uuid4()), "Case studies", "case_study", start + timedelta(hours=4), "x"),
    ]
    objectives = [
        Objective("o1", "Recognise indicators of trafficking"),
        Objective("o2", "Refer a presumed victim"),
    ]
    return domain.evaluation_questionnaire(BANK_V1, sessions, objectives, [])


def answers_for(questions: tuple[Question, ...], rng: random.Random) -> dict[str, Any]:
    """A plausible, complete-ish response: every closed question, a comment now and then."""
    answers: dict[str, Any] = {}
    for question in questions:
        if question.kind == "likert":
            answers[question.id] = rng.choices([1, 2, 3, 4, 5], [1, 2, 5, 9, 7])[0]
        elif question.kind == "nps":
            answers[question.id] = rng.choices(range(11), [1, 1, 1, 1, 1, 2, 3, 6, 9, 9, 7])[0]
        elif question.kind == "self_assessment":
            before = rng.randint(1, 3)
            answers[question.id] = {"before": before, "now": min(5, before + rng.randint(0, 3))}
        elif question.kind == "single":
            answers[question.id] = rng.choice(question.options).id
        elif question.kind == "multiple":
            answers[question.id] = [o.id for o in rng.sample(question.options, rng.randint(1, 2))]
        elif rng.random() < 0.2:
            answers[question.id] = f"Comment {rng.randint(1, 10_000)}: more case studies, please."
    return answers


async def seed(db: Database, trainings: int, responses: int, seed_value: int = 2009) -> list[str]:
    """A series of `trainings` completed editions sharing `responses` stored responses."""
    rng = random.Random(seed_value)
    per_training = responses // trainings
    now = datetime(2031, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(trainings):
        country, city = CAPITALS[n % len(CAPITALS)]
        day = date(2009, 1, 1) + timedelta(days=45 * n)
        training_id = str(uuid.uuid4())
        ids.append(training_id)
        questions = training_questions(training_id, day)
        campaign_id = str(uuid.uuid4())
        async with db.unit() as uow:
            uow.session.add(
                TrainingRow(
                    id=training_id,
                    revision=3,
                    series=SERIES,
                    title=f"Trafficking in human beings: consular training in {city}",
                    host_country=country,
                    city=city,
                    starts_on=day,
                    ends_on=day,
                    timezone="Europe/Tallinn",
                    status="completed",
                )
            )
            uow.session.add(
                CampaignRow(
                    id=campaign_id,
                    training_id=training_id,
                    stage=EVALUATION,
                    bank_version=1,
                    questions=domain.encode_questions(questions),
                    opened_at=now,
                    closes_at=now + timedelta(days=30),
                    status="closed",
                )
            )
            await uow.session.flush()
            # A few more invited than answered, as in life.
            invited = per_training + per_training // 10
            await uow.execute(
                insert(metadata.tables["invitation"]),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "campaign_id": campaign_id,
                        "registration_id": str(uuid.uuid4()),
                        "participant_id": str(uuid.uuid4()),
                        "name": f"Participant {i}",
                        "email": f"participant.{n}.{i}@mfa.example",
                        "token_sha256": uuid.uuid4().hex + uuid.uuid4().hex,
                        "responded": i < per_training,
                        "answered": i < per_training,
                        "reminders_sent": 0,
                        "invited_at": now,
                        "last_mailed_at": now,
                        "erased": False,
                    }
                    for i in range(invited)
                ],
            )
            response_rows, answer_rows = [], []
            for _ in range(per_training):
                response_id = str(uuid.uuid4())
                response_rows.append(
                    {"id": response_id, "campaign_id": campaign_id, "bank_version": 1}
                )
                clean = domain.clean_answers(questions, answers_for(questions, rng), complete=True)
                answer_rows += [
                    {
                        "response_id": response_id,
                        "campaign_id": campaign_id,
                        "question_id": p.question_id,
                        "part": p.part,
                        "value": p.value,
                        "text": p.text,
                    }
                    for p in domain.answer_parts(questions, clean)
                ]
            await uow.execute(insert(metadata.tables["response"]), response_rows)
            for start in range(0, len(answer_rows), 10_000):
                await uow.execute(insert(reports.ANSWER), answer_rows[start : start + 10_000])
    return ids


async def median_ms(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    await work()  # warm caches and statement compilation
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def measure(db: Database, name: str, training_ids: list[str], runs: int) -> list[Timing]:
    async with db.session() as session:
        answers = (await session.exec(select(func.count()).select_from(AnswerRow))).one()
        stored = (await session.exec(select(func.count()).select_from(ResponseRow))).one()
        print(f"{name}: {stored:,} responses, {answers:,} answer rows")
        training = await session.get(TrainingRow, training_ids[len(training_ids) // 2])
        assert training is not None
        campaigns = await queries.campaigns_of(session, training.id)
        (campaign,) = campaigns
        questions = domain.decode_questions(campaign.questions)

        async def report() -> reports.TrainingReport:
            return await reports.training_report(session, training, campaigns)

        report_ms, made = await median_ms(runs, report)
        assert made.answered == stored // len(training_ids)

        a = reports.ANSWER.c
        same_rows = sa_select(a.question_id, a.part, a.value, a.text).where(
            a.campaign_id == campaign.id
        )

        async def plain_report() -> list[Any]:
            return list(await SQLAlchemyAsyncSession.execute(session, same_rows))

        plain_report_ms, rows = await median_ms(runs, plain_report)
        returned = sum(len(q.distribution or {}) + 1 for q in made.questions)

        async def trend() -> reports.SeriesTrend | None:
            return await reports.series_trend(db, SERIES, BANK_V1)

        trend_ms, series = await median_ms(runs, trend)
        assert series is not None and len(series.editions) == len(training_ids)
        core = [q.id for q in questions if q.is_core and q.kind != "text"]
        assessed = [q.id for q in questions if q.kind == "self_assessment"]
        all_campaigns = [
            c.id
            for c in (
                await session.exec(select(CampaignRow).where(CampaignRow.stage == EVALUATION))
            )
        ]
        trend_rows = sa_select(a.campaign_id, a.question_id, a.part, a.value).where(
            a.campaign_id.in_(all_campaigns)
        )
        # Every edition's self-assessment too: the trend reports each one's learning gain.
        trend_rows = trend_rows.where(a.question_id.in_(core + assessed))

        async def plain_trend() -> list[Any]:
            return list(await SQLAlchemyAsyncSession.execute(session, trend_rows))

        plain_trend_ms, trend_read = await median_ms(runs, plain_trend)
        trend_returned = sum(
            len(p.distribution or {}) + 1 for q in series.questions for p in q.editions
        )
    return [
        Timing(name, "training report", report_ms, plain_report_ms, len(rows), returned),
        Timing(name, "series trend", trend_ms, plain_trend_ms, len(trend_read), trend_returned),
    ]


async def run_on(name: str, url: str, args: argparse.Namespace) -> list[Timing]:
    await asyncio.to_thread(upgrade, "evaluation", url)
    db = Database(url)
    try:
        started = time.perf_counter()
        ids = await seed(db, args.trainings, args.responses)
        print(f"{name}: seeded in {time.perf_counter() - started:.1f} s")
        async with db.engine.connect() as connection:
            if db.is_sqlite:
                await connection.exec_driver_sql("ANALYZE")
            else:
                # What autovacuum does soon after a bulk load: statistics, and the
                # visibility map that lets PostgreSQL answer from the index alone.
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("VACUUM ANALYZE")
        return await measure(db, name, ids, args.runs)
    finally:
        await db.dispose()


async def main(args: argparse.Namespace) -> None:
    timings: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="capitals-bench-evaluation-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'evaluation.sqlite3'}"
        timings += await run_on("SQLite", url, args)
    if args.postgres:
        name = f"capitals_bench_evaluation_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.postgres)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            timings += await run_on("PostgreSQL", f"{base}/{name}", args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()

    print()
    print(
        f"{args.responses:,} responses across {args.trainings} trainings; "
        f"median of {args.runs} runs; target under 300 ms"
    )
    print()
    print(
        "| database | query | aggregated by the database | plain SELECT of the same rows "
        "| answer rows read | figures returned |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for t in timings:
        print(
            f"| {t.database} | {t.query} | {t.aggregated_ms:.1f} ms | {t.plain_ms:.1f} ms "
            f"| {t.rows_read:,} | {t.rows_returned:,} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--trainings", type=int, default=40)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="an administrative DSN; the benchmark creates and drops a database of its own",
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    asyncio.run(main(parser.parse_args()))

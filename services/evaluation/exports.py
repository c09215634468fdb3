"""The CSV of a training's report: the JSON report's figures, one row per question and stage."""

from __future__ import annotations

from collections.abc import Iterator

import anyio

from services.evaluation.domain import EVALUATION, FOLLOW_UP
from services.evaluation.schemas import CommentGroup, QuestionResult, TrainingReport
from shared.spreadsheets import csv_text

CSV_COLUMNS = (
    "stage",
    "question_id",
    "kind",
    "level",
    "text",
    "n",
    "withheld",
    "mean",
    "median",
    "score",
    "before",
    "now",
    "gain",
    "distribution",
)


def report_rows(report: TrainingReport) -> Iterator[tuple[object, ...]]:
    """One row per question and stage, then the comments; figures as in the JSON report."""
    blank = len(CSV_COLUMNS)
    stages: list[tuple[str, int, int, float, list[QuestionResult], list[CommentGroup]]] = [
        (
            EVALUATION,
            report.invited,
            report.answered,
            report.response_rate,
            report.questions,
            report.comments,
        )
    ]
    if report.follow_up is not None:
        f = report.follow_up
        stages.append((FOLLOW_UP, f.invited, f.answered, f.response_rate, f.questions, f.comments))
    for stage, invited, answered, rate, questions, _ in stages:
        for name, value in (("invited", invited), ("answered", answered), ("response_rate", rate)):
            row: tuple[object, ...] = (stage, name, "count", "", "", value)
            yield (*row, *[""] * (blank - len(row)))
        for q in questions:
            distribution = (
                " ".join(f"{k}={v}" for k, v in q.distribution.items()) if q.distribution else ""
            )
            yield (
                stage,
                q.id,
                q.kind,
                q.level,
                q.text,
                q.n,
                "yes" if q.withheld else "no",
                q.mean,
                q.median,
                q.score,
                q.before,
                q.now,
                q.gain,
                distribution,
            )
    for stage, *_, comments in stages:
        for group in comments:
            for comment in group.comments:
                row = (stage, group.question_id, "comment", "", comment)
                yield (*row, *[""] * (blank - len(row)))


def report_csv(report: TrainingReport) -> str:
    return csv_text(CSV_COLUMNS, report_rows(report))


async def report_csv_off_loop(report: TrainingReport) -> str:
    """The CSV, built in a worker thread so a large report does not hold up the event loop."""
    return await anyio.to_thread.run_sync(report_csv, report)

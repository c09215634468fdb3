"""Bar charts for the report pages: geometry here, drawn as inline SVG by templates/charts.html."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.evaluation.schemas import (
    LearningOut,
    QuestionResult,
    RecommendationOut,
    SessionResult,
    TrendQuestion,
)

# Bars end by 234, leaving room for the widest value ("100% (40/40)") within 320.
LEFT, WIDTH = 4.0, 230.0
# A label wraps onto lines of this many characters (10-unit type in a 320-unit wide chart),
# never cut; each line takes LINE units, and the bar with its value BAR more.
LABEL_CHARS, LINE, BAR = 50, 12, 22


@dataclass(frozen=True)
class Bar:
    label: str
    display: str
    x: float | None = None
    width: float = 0.0
    tone: str = ""
    # Where the bar's row starts, and its label's lines: set by the chart.
    top: int = 0
    lines: tuple[str, ...] = field(default=())

    @property
    def bar_top(self) -> int:
        return self.top + LINE * len(self.lines) + 3


@dataclass(frozen=True)
class Chart:
    """A bar chart; its rows are also its data table, for screen readers and for exact numbers."""

    title: str
    bars: list[Bar]
    height: int = 0


def laid_out(title: str, bars: Sequence[Bar]) -> Chart:
    """The bars one under another, each label wrapped onto as many lines as it needs."""
    placed, top = [], 0
    for bar in bars:
        lines = tuple(textwrap.wrap(bar.label, LABEL_CHARS)) or ("",)
        placed.append(Bar(bar.label, bar.display, bar.x, bar.width, bar.tone, top=top, lines=lines))
        top += LINE * len(lines) + BAR
    return Chart(title, placed, top + 6)


def withheld(n: int) -> str:
    return "no answers" if n == 0 else f"withheld (n={n})"


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float | None, str, str]],
    low: float,
    high: float,
) -> Chart:
    """Horizontal bars from zero (or `low`, if zero is off the scale) to each value.

    `rows` are (label, value or None, what to print, tone); a None value prints
    its text without a bar, e.g. "withheld".
    """
    span = (high - low) or 1.0
    base = min(max(0.0, low), high)

    def x_of(value: float) -> float:
        return LEFT + (min(max(value, low), high) - low) / span * WIDTH

    zero = x_of(base)
    bars = []
    for label, value, display, tone in rows:
        if value is None:
            bars.append(Bar(label, display, tone=tone))
            continue
        x = x_of(value)
        bars.append(
            Bar(label, display, round(min(x, zero), 2), round(max(abs(x - zero), 1.0), 2), tone)
        )
    return laid_out(title, bars)


def distribution(question: QuestionResult, options: dict[str, str] | None = None) -> Chart | None:
    """How many chose each point of the scale, or each option."""
    if question.distribution is None:
        return None
    counts = question.distribution
    high = max(counts.values(), default=0) or 1
    labels = options or {}
    # Every option, chosen or not, in the question's order.
    every = {**dict.fromkeys(labels, 0), **counts}
    rows = [(labels.get(k, k), float(v), str(v), "") for k, v in every.items()]
    return bar_chart(question.text, rows, 0, high)


def recommendation(score: RecommendationOut) -> Chart:
    rows = [
        ("Detractors (0 to 6)", score.detractors, "detractor"),
        ("Passives (7 and 8)", score.passives, "passive"),
        ("Promoters (9 and 10)", score.promoters, "promoter"),
    ]
    return bar_chart(
        f"Recommendation score {score.score:+g}",
        [
            (label, 100 * n / score.n, f"{100 * n / score.n:.0f}% ({n})", tone)
            for label, n, tone in rows
        ],
        0,
        100,
    )


def sessions(
    results: Sequence[SessionResult], labels: Mapping[str, str] | None = None
) -> Chart | None:
    """Each session's mean, labelled with its day and time when `labels` has them."""
    if not results:
        return None
    labels = labels or {}
    rows = [
        (
            labels.get(s.session_id, s.title),
            None if s.withheld else s.mean,
            withheld(s.n) if s.withheld else f"{s.mean:.2f} (n={s.n})",
            "",
        )
        for s in results
    ]
    return bar_chart("Mean rating per session (1 to 5)", rows, 0, 5)


def learning(result: LearningOut) -> Chart | None:
    rows: list[tuple[str, float | None, str, str]] = []
    for objective in result.objectives:
        if objective.withheld:
            rows.append((objective.text, None, withheld(objective.n), ""))
            continue
        rows.append(
            (f"{objective.text} · before", objective.before, f"{objective.before:.2f}", "before")
        )
        rows.append((f"{objective.text} · now", objective.now, f"{objective.now:.2f}", "now"))
    if not rows:
        return None
    return bar_chart("Self-assessment before the training and now (1 to 5)", rows, 0, 5)


def trend(question: TrendQuestion, editions: dict[str, str]) -> Chart:
    """One core question across the editions: mean (or recommendation score) per edition."""
    nps = question.kind == "nps"
    choice = question.kind in ("single", "multiple")
    rows: list[tuple[str, float | None, str, str]] = []
    for point in question.editions:
        label = editions.get(point.training_id, point.training_id)
        if point.withheld:
            rows.append((label, None, withheld(point.n), ""))
        elif choice:
            # Every option, those nobody chose at 0 too: a missing bar would read as "not asked".
            chosen = {**dict.fromkeys(question.options, 0), **(point.distribution or {})}
            for option, count in chosen.items():
                share = 100 * count / point.n if point.n else 0.0
                text = question.options.get(option, option)
                rows.append((f"{label}: {text}", share, f"{share:.0f}% ({count}/{point.n})", ""))
        elif nps and point.score is not None:
            rows.append((label, point.score, f"{point.score:+g} (n={point.n})", ""))
        elif point.mean is not None:
            rows.append((label, point.mean, f"{point.mean:.2f} (n={point.n})", ""))
        else:
            rows.append((label, None, f"n={point.n}", ""))
    if nps:
        return bar_chart(f"{question.text} — recommendation score", rows, -100, 100)
    if choice:
        return bar_chart(f"{question.text} — share choosing each option", rows, 0, 100)
    return bar_chart(f"{question.text} — mean", rows, 0, 10 if question.kind == "nps" else 5)


def response_rates(rows: Sequence[tuple[str, int, int]]) -> Chart:
    """(label, invited, answered) per edition."""
    return bar_chart(
        "Response rate",
        [
            (label, 100 * a / i if i else 0.0, f"{100 * a / i if i else 0:.0f}% ({a}/{i})", "")
            for label, i, a in rows
        ],
        0,
        100,
    )


def pooled(question: TrendQuestion) -> Chart | None:
    """The whole series' distribution of one question (reported editions only)."""
    if not question.series.distribution:
        return None
    counts = {**dict.fromkeys(question.options, 0), **question.series.distribution}
    high = max(counts.values(), default=0) or 1
    return bar_chart(
        f"{question.text} — whole series",
        [(question.options.get(k, k), float(v), str(v), "") for k, v in counts.items()],
        0,
        high,
    )

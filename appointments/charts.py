"""Charts of the activity report as server-drawn SVG: the geometry is computed here, the
template writes only elements and attributes (no script, no inline style: the CSP stays
strict), and each chart is shown beside the table of the numbers it draws."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _

from .models import Side, Status
from .reports import ActivityReport

WIDTH = 640
# Columns (months): the plot area inside the margins (the month names are HTML below it,
# so the bottom margin is small; cloison.css indents them by LEFT / WIDTH).
COLUMN_HEIGHT = 200
LEFT, BOTTOM, TOP = 40, 4, 8
# Bars (one row per label).
ROW_HEIGHT, ROW_GAP, LABEL_WIDTH, VALUE_WIDTH = 22, 8, 210, 48

# The statuses stacked in a month's column, bottom to top, with their CSS class.
STACK = (Status.DONE, Status.NOT_DONE, Status.CANCELLED, Status.PLANNED)


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def css(self) -> str:
        return f"chart-{self.key.replace('_', '-')}"


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    label_x: float
    segments: tuple[Segment, ...]

    @property
    def total(self) -> int:
        return sum(s.value for s in self.segments)


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    baseline: float
    columns: tuple[Column, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (css class, label)
    top: int
    step: int

    def total(self, key: str) -> int:
        return sum(s.value for c in self.columns for s in c.segments if s.key == key)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    text_y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_x: int
    value_x: float
    bars: tuple[Bar, ...]
    span: int

    @property
    def values(self) -> list[tuple[str, int]]:
        return [(b.label, b.value) for b in self.bars]


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above VALUE (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def month_chart(months: Sequence[tuple[datetime.date, dict[str, int]]]) -> ColumnChart:
    """Appointments by month, stacked by status."""
    highest = max((sum(c.values()) for _m, c in months), default=0)
    # Gridlines at a round step (1, 2, 5, 10...), four or five of them.
    step = nice_ceiling(math.ceil(highest / 4))
    top = max(step * math.ceil(highest / step), step)
    plot = COLUMN_HEIGHT - TOP - BOTTOM
    baseline = COLUMN_HEIGHT - BOTTOM
    slot = (WIDTH - LEFT) / max(len(months), 1)
    width = min(48.0, slot * 0.7)
    columns = []
    for n, (month, counts) in enumerate(months):
        x = LEFT + n * slot + (slot - width) / 2
        y = float(baseline)
        segments = []
        for status in STACK:
            value = counts.get(status, 0)
            height = plot * value / top
            y -= height
            segments.append(
                Segment(
                    key=status,
                    label=str(Status(status).label),
                    value=value,
                    x=round(x, 1),
                    y=round(y, 1),
                    width=round(width, 1),
                    height=round(height, 1),
                )
            )
        columns.append(
            Column(
                label=formats.date_format(month, "N Y"),
                x=round(x, 1),
                label_x=round(x + width / 2, 1),
                segments=tuple(segments),
            )
        )
    ticks = tuple(
        Tick(value=v, y=round(baseline - plot * v / top, 1)) for v in range(0, top + 1, step)
    )
    return ColumnChart(
        width=WIDTH,
        height=COLUMN_HEIGHT,
        baseline=baseline,
        columns=tuple(columns),
        ticks=ticks,
        legend=tuple((f"chart-{s.replace('_', '-')}", str(Status(s).label)) for s in STACK),
        top=top,
        step=step,
    )


def bar_chart(rows: Sequence[tuple[str, int]]) -> BarChart:
    """One horizontal bar per (label, value)."""
    top = max((v for _l, v in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for n, (label, value) in enumerate(rows):
        y = n * (ROW_HEIGHT + ROW_GAP)
        bars.append(
            Bar(
                label=label,
                value=value,
                y=y,
                text_y=y + ROW_HEIGHT * 0.7,
                width=round(span * value / top, 1),
            )
        )
    height = max(len(rows), 1) * (ROW_HEIGHT + ROW_GAP)
    return BarChart(
        width=WIDTH,
        height=height,
        bar_x=LABEL_WIDTH,
        value_x=LABEL_WIDTH + 6,
        bars=tuple(bars),
        span=span,
    )


@dataclass(frozen=True)
class ReportCharts:
    months: ColumnChart
    lost: BarChart
    delays: BarChart
    movements: BarChart


def report_charts(report: ActivityReport) -> ReportCharts:
    """The four charts of the report, from the report's own numbers."""
    lost = [
        (str(Side(side).label) if side in Side.values else _("Not attributed"), count)
        for side, count in sorted(report.lost_by_side.items())
    ]
    return ReportCharts(
        months=month_chart(report.by_month),
        lost=bar_chart(lost),
        delays=bar_chart(report.consultation_delay_buckets),
        movements=bar_chart(report.movement_outcomes),
    )

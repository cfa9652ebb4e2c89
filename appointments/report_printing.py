"""The activity report as a PDF through the shared pipeline (usmp.pdf): the same numbers as
the page, each table with its bars."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from .charts import report_charts
from .models import Status
from .reports import ActivityReport

TEMPLATE = "appointments/pdf/report.typ"


def _table(
    title: str, headers: list[str], rows: list[list[Any]], bar_column: int | None = None
) -> dict[str, Any]:
    """A table for the template; BAR_COLUMN's numbers also drawn as bars (ratio of the max)."""
    top = max((int(r[bar_column]) for r in rows), default=0) if bar_column is not None else 0
    return {
        "title": title,
        "headers": headers,
        "rows": [[str(v) for v in r] for r in rows],
        "bars": [int(r[bar_column]) / top if top else 0 for r in rows]
        if bar_column is not None
        else [],
    }


def _day(value: datetime.date) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))


def report_data(report: ActivityReport) -> dict[str, Any]:
    charts = report_charts(report)
    statuses = [
        str(Status(s).label)
        for s in (Status.DONE, Status.NOT_DONE, Status.CANCELLED, Status.PLANNED)
    ]
    tables = [
        _table(
            _("Appointments by month and status"),
            [_("Month"), *statuses, _("Total")],
            [[c.label, *(s.value for s in c.segments), c.total] for c in charts.months.columns],
            bar_column=5,
        ),
        _table(
            _("Appointments by specialty"),
            [_("Specialty"), *statuses, _("Total")],
            [
                [r.name, r.done, r.not_done, r.cancelled, r.planned, r.total]
                for r in report.specialties
            ],
            bar_column=5,
        ),
        _table(
            _("Care lost, by whom it is attributed to"),
            [_("Attributed to"), _("Appointments")],
            [list(v) for v in charts.lost.values],
            bar_column=1,
        ),
        _table(
            _("Appointments not held, and why"),
            [_("Attributed to"), _("Reason"), _("Appointments")],
            [[r.side_label, r.reason_label, r.count] for r in report.not_held],
        ),
        _table(
            _("Movements reported by the prison administration"),
            [_("Outcome"), _("Movements")],
            [list(v) for v in report.movement_outcomes],
            bar_column=1,
        ),
        _table(
            _("Days from receipt to consultation"),
            [_("Delay"), _("Requests")],
            [list(v) for v in charts.delays.values],
            bar_column=1,
        ),
    ]
    return {
        "title": _("Activity report"),
        "subtitle": _("From %(first)s to %(last)s. Counts only: no patient is named.")
        % {"first": _day(report.first_day), "last": _day(report.last_day)},
        "tables": tables,
        "facts_title": _("Care requests"),
        "facts": [
            [_("Care requests received"), str(report.requests_received)],
            [_("Still waiting"), str(report.requests_waiting)],
        ],
        "empty": _("None."),
    }


def report_pdf(report: ActivityReport) -> bytes:
    from usmp.pdf import render_pdf

    data = report_data(report)
    return render_pdf(TEMPLATE, data)

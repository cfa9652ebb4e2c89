"""The agenda grid's cells as HTML, built in Python.

A day holds hundreds of appointment lines in a table of hours by practitioners; rendered by
the template language, its loops cost several times the rest of the page, and so would
``format_html`` for each line. Each value is escaped here with the standard library's
``html.escape`` (quotes included), the line assembled, and the whole row marked safe once.
The data comes from the access functions (frozen views), never from models."""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

from .access.data import AppointmentView, Grid


def appointment_line(a: AppointmentView, *, show: str) -> str:
    """One appointment in a cell (escaped HTML): time, patient, detail, badges."""
    meta = a.meta_with_place if show == "room" else a.meta_with_practitioner
    badges = "".join(
        f' <span class="badge{escape(css)}">{escape(label)}</span>' for css, label in a.badges
    )
    return (
        f'<a class="appt appt-{escape(a.status)}" href="{escape(a.url)}">'
        f'<span class="appt-time">{escape(a.time_range)}</span> {escape(a.patient.display_name)}'
        f'<span class="appt-meta">{escape(meta)}</span>{badges}</a>'
    )


def grid_rows(grid: Grid, *, show: str) -> list[tuple[int, SafeString]]:
    """(hour, the row's cells as HTML) for every hour row of GRID."""
    return [
        (
            hour,
            # Every value in the line was escaped by appointment_line.
            mark_safe(  # noqa: S308
                "".join(
                    "<td>" + "".join(appointment_line(a, show=show) for a in cell) + "</td>"
                    for cell in cells
                )
            ),
        )
        for hour, cells in grid.rows
    ]

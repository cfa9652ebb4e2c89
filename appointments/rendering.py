"""The agenda grid's cells as HTML, built in Python.

A day holds hundreds of appointment lines in a table of hours by practitioners; rendered by
the template language, its loops cost several times the rest of the page. Each line is built
here with ``format_html`` (every value escaped), and the template prints one row at a time.
The data comes from the access functions (frozen views), never from models."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .access.data import AppointmentView, Grid


def appointment_line(a: AppointmentView, *, show: str) -> SafeString:
    """One appointment in a cell: time, patient, detail (place or practitioner), badges."""
    meta = a.meta_with_place if show == "room" else a.meta_with_practitioner
    return format_html(
        '<a class="appt appt-{}" href="{}"><span class="appt-time">{}</span> {}'
        '<span class="appt-meta">{}</span>{}</a>',
        a.status,
        a.url,
        a.time_range,
        a.patient.display_name,
        meta,
        format_html_join("", ' <span class="badge{}">{}</span>', a.badges),
    )


def grid_rows(grid: Grid, *, show: str) -> list[tuple[int, SafeString]]:
    """(hour, the row's cells as HTML) for every hour row of GRID."""
    return [
        (
            hour,
            format_html_join(
                "",
                "<td>{}</td>",
                (
                    (format_html_join("", "{}", ((appointment_line(a, show=show),) for a in cell)),)
                    for cell in cells
                ),
            ),
        )
        for hour, cells in grid.rows
    ]

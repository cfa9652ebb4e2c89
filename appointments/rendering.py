"""The agenda grid's cells as HTML, built in Python.

A day holds hundreds of appointment lines in a table of hours by practitioners; rendered by
the template language, its loops cost several times the rest of the page, and so would
``format_html`` for each line. Each value is escaped here with the standard library's
``html.escape`` (quotes included), the line assembled, and the whole row marked safe once.
The data comes from the access functions (frozen views), never from models."""

from __future__ import annotations

import functools
import uuid
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from .access.data import AppointmentView, Grid


def appointment_line(a: AppointmentView, *, show: str) -> str:
    """One appointment in a cell (escaped HTML): time, patient, detail, badges."""
    meta = a.meta_with_place if show == "room" else a.meta_with_practitioner
    badges = "".join(
        f' <span class="badge{escape(css)}">{escape(label)}</span>' for css, label in a.badges
    )
    line = (
        f'<a class="appt appt-{escape(a.status)}" href="{escape(a.url)}">'
        f'<span class="appt-time">{escape(a.time_range)}</span> {escape(a.patient.display_name)}'
        f'<span class="appt-meta">{escape(meta)}</span>{badges}</a>'
    )
    if a.opens_dossier:
        # The dossier of the line's compartment, one click away, for those the wall lets in.
        url = _dossier_url(a.compartment).replace(str(_SENTINEL), str(a.patient.pk))
        line += (
            f'<a class="appt-dossier" href="{escape(url)}">{escape(str(a.dossier_title))}'
            f'<span class="visually-hidden"> — {escape(a.patient.display_name)}</span></a>'
        )
    return line


_SENTINEL = uuid.UUID(int=0)


@functools.cache
def _dossier_url(compartment: str) -> str:
    """The dossier's address with a placeholder patient id (reversed once per compartment)."""
    return reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": _SENTINEL, "compartment": compartment}
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

"""Reads of the agenda's grids and lists: the day (by practitioner or room), a
practitioner's week, the printable day list, a patient's appointments and the appointments to
reschedule. Each runs a fixed number of queries, whatever the number of appointments (guarded
by tests)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from dossiers.models import Patient

from .. import clock
from ..models import (
    ACTIVE_STATUSES,
    MAX_DURATION,
    Absence,
    Appointment,
    MovementPoint,
    OpeningHours,
    Room,
    RoomClosure,
    Specialty,
    Status,
    Unavailability,
)
from .reference import hours_note, practitioner_name, windows_on

if TYPE_CHECKING:
    from usmp.accounts.models import User

DAY_FIRST_HOUR = 7
DAY_LAST_HOUR = 19


def prison_unavailable() -> Exists:
    """True when the prison side has said the patient cannot be brought during the
    appointment (pushed after it was booked): the unit must move it."""
    return Exists(
        Unavailability.objects.filter(
            patient=OuterRef("patient"),
            withdrawn_at__isnull=True,
            start__lt=OuterRef("end"),
            end__gt=OuterRef("start"),
        )
    )


def _appointments() -> QuerySet[Appointment]:
    return Appointment.objects.select_related(
        "patient__identity_key",
        "specialty",
        "practitioner",
        "room",
        "movement_point",
        "data_key",
        "movement_outcome",
    ).annotate(prison_unavailable=prison_unavailable())


# Columns the agenda grids never show: not even fetched (motives stay in the database).
_GRID_DEFERRED = (
    "motive",
    "outcome_comment",
    "patient__birth_date",
    "patient__sex",
    "patient__ins",
)


def appointments_between(
    start: datetime.datetime, end: datetime.datetime, **filters: Any
) -> list[Appointment]:
    """Appointments overlapping [START, END) for the agenda grids and lists, with their
    patient (identity) and, from small lookups shared by all rows, their specialty,
    practitioner, room and movement point: a constant number of queries and few model
    instances, whatever the number of appointments. Motives and comments are not loaded."""
    rows: list[Appointment] = list(
        Appointment.objects.select_related("patient__identity_key")
        .defer(*_GRID_DEFERRED)
        .annotate(prison_unavailable=prison_unavailable())
        .filter(start__lt=end, start__gt=start - MAX_DURATION, end__gt=start, **filters)
        .order_by("start", "end")
    )
    if not rows:
        return rows
    specialties = Specialty.objects.in_bulk({a.specialty_id for a in rows})
    rooms = Room.objects.in_bulk({a.room_id for a in rows if a.room_id})
    points = MovementPoint.objects.in_bulk({a.movement_point_id for a in rows})
    people = get_user_model().objects.in_bulk(
        {a.practitioner_id for a in rows if a.practitioner_id}
    )
    tz = clock.unit_tz()
    # One instance per patient, so that a patient seen several times is decrypted once.
    patients: dict[Any, Patient] = {}
    for a in rows:
        cache = a._state.fields_cache
        cache["patient"] = patients.setdefault(a.patient_id, a.patient)
        cache["specialty"] = specialties[a.specialty_id]
        cache["room"] = rooms.get(a.room_id) if a.room_id else None
        cache["movement_point"] = points[a.movement_point_id]
        cache["practitioner"] = people.get(a.practitioner_id) if a.practitioner_id else None
        a.local_start = a.start.astimezone(tz)  # type: ignore[attr-defined]
        a.local_end = a.end.astimezone(tz)  # type: ignore[attr-defined]
    return rows


# -- Day and week views ----------------------------------------------------------------------


@dataclass
class Column:
    key: Any
    label: str
    note: str = ""
    absent: bool = False
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class Grid:
    """Appointments in columns (practitioners, rooms or days) and rows (hours)."""

    columns: list[Column]
    hours: list[int]
    rows: list[tuple[int, list[list[Appointment]]]]
    count: int


def _grid(columns: list[Column]) -> Grid:
    hours_seen = {clock.local(a.start).hour for column in columns for a in column.appointments}
    first = min([DAY_FIRST_HOUR, *hours_seen])
    last = max([DAY_LAST_HOUR, *hours_seen])
    hours = list(range(first, last + 1))
    rows = []
    for hour in hours:
        rows.append(
            (
                hour,
                [
                    [a for a in column.appointments if clock.local(a.start).hour == hour]
                    for column in columns
                ],
            )
        )
    count = sum(len(c.appointments) for c in columns)
    return Grid(columns=columns, hours=hours, rows=rows, count=count)


def day_agenda(*, day: datetime.date, by: str = "practitioner") -> Grid:
    """The unit's day: one column per practitioner (or room) consulting that day or holding
    an appointment, in hour rows. Five queries whatever the number of appointments."""
    start, end = clock.day_bounds(day)
    appointments = appointments_between(start, end)
    windows = [w for w in windows_on([day], weekday=day.weekday()) if w.applies_on(day)]
    absent = set(
        Absence.objects.filter(start__lt=end, end__gt=start).values_list(
            "practitioner_id", flat=True
        )
    )
    columns: dict[Any, Column] = {}
    outside = Column(key=None, label="")
    if by == "room":
        closed = set(
            RoomClosure.objects.filter(start__lt=end, end__gt=start).values_list(
                "room_id", flat=True
            )
        )
        by_room: dict[int, list[OpeningHours]] = defaultdict(list)
        for w in windows:
            by_room[w.room_id].append(w)
        for room in Room.objects.filter(active=True).order_by("name"):
            columns[room.pk] = Column(
                key=room.pk,
                label=room.name,
                note=hours_note(by_room.get(room.pk, [])),
                absent=room.pk in closed,
            )
        for a in appointments:
            if a.room is None:
                outside.appointments.append(a)
                continue
            columns.setdefault(a.room_id, Column(key=a.room_id, label=a.room.name))
            columns[a.room_id].appointments.append(a)
    else:
        by_practitioner: dict[int, list[OpeningHours]] = defaultdict(list)
        for w in windows:
            by_practitioner[w.practitioner_id].append(w)
        people: dict[int, Any] = {w.practitioner_id: w.practitioner for w in windows}
        for a in appointments:
            if a.practitioner_id is not None:
                people[a.practitioner_id] = a.practitioner
        for pk, person in sorted(
            people.items(), key=lambda item: practitioner_name(item[1]).casefold()
        ):
            columns[pk] = Column(
                key=pk,
                label=practitioner_name(person),
                note=hours_note(by_practitioner.get(pk, [])),
                absent=pk in absent,
            )
        for a in appointments:
            if a.practitioner_id is None:
                outside.appointments.append(a)
            else:
                columns[a.practitioner_id].appointments.append(a)
    ordered = list(columns.values())
    if outside.appointments:
        ordered.append(outside)
    return _grid(ordered)


def week_agenda(*, practitioner: User, monday: datetime.date) -> Grid:
    """One practitioner's week: a column per day with its opening hours and absences."""
    days = [monday + datetime.timedelta(days=i) for i in range(7)]
    start, end = clock.day_bounds(days[0])[0], clock.day_bounds(days[-1])[1]
    appointments = appointments_between(start, end, practitioner=practitioner)
    windows = windows_on(days, practitioner=practitioner)
    absences = list(Absence.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start))
    columns = []
    for day in days:
        day_start, day_end = clock.day_bounds(day)
        columns.append(
            Column(
                key=day,
                label=day.isoformat(),
                note=hours_note(w for w in windows if w.applies_on(day)),
                absent=any(a.start < day_end and a.end > day_start for a in absences),
                appointments=[a for a in appointments if clock.local(a.start).date() == day],
            )
        )
    return _grid(columns)


def day_list(*, day: datetime.date) -> list[Appointment]:
    """The printable list of the day: active appointments in time order."""
    start, end = clock.day_bounds(day)
    return appointments_between(start, end, status__in=ACTIVE_STATUSES)


@dataclass(frozen=True)
class PatientAppointments:
    upcoming: list[Appointment]
    past: list[Appointment]


RESCHEDULE_DAYS = 14


def appointments_to_reschedule(*, limit: int = 50) -> list[Appointment]:
    """Planned appointments of the next RESCHEDULE_DAYS days that cannot take place as
    booked: the prison said the patient cannot be brought then (a window pushed after the
    booking), or the patient has left the establishment (released or transferred today: the
    later ones were cancelled by the custody event, today's are left to the unit)."""
    now = timezone.now()
    return list(
        Appointment.objects.filter(
            status=Status.PLANNED,
            start__gte=now,
            start__lt=now + datetime.timedelta(days=RESCHEDULE_DAYS),
        )
        .annotate(prison_unavailable=prison_unavailable())
        .filter(
            Q(prison_unavailable=True) | ~Q(patient__custody_status=Patient.CustodyStatus.PRESENT)
        )
        .select_related(
            "patient__identity_key", "specialty", "practitioner", "room", "movement_point"
        )
        .defer(*_GRID_DEFERRED)
        .order_by("start")[:limit]
    )


def patient_unavailabilities(*, patient: Patient, limit: int = 20) -> list[Unavailability]:
    """Windows, not withdrawn and not over, in which the prison cannot bring the patient."""
    return list(
        Unavailability.objects.filter(
            patient=patient, withdrawn_at__isnull=True, end__gt=timezone.now()
        ).order_by("start")[:limit]
    )


def patient_appointments(*, patient: Patient, past_limit: int = 50) -> PatientAppointments:
    now = timezone.now()
    qs = _appointments().filter(patient=patient)
    return PatientAppointments(
        upcoming=list(qs.filter(start__gte=now).order_by("start")),
        past=list(qs.filter(start__lt=now).order_by("-start")[:past_limit]),
    )

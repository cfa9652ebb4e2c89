"""Reads of the agenda's grids and lists: the day (by practitioner or room), a
practitioner's week, the printable day list, a patient's appointments and the appointments to
reschedule. Each runs a fixed number of queries, whatever the number of appointments (guarded
by tests)."""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

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


class AppointmentRow(NamedTuple):
    """An appointment as the grids and lists place it: plain columns, no model instance,
    no motive (the agenda's grids show none)."""

    id: uuid.UUID
    patient_id: uuid.UUID
    specialty_id: int
    practitioner_id: int | None
    room_id: int | None
    movement_point_id: int
    kind: str
    start: datetime.datetime
    end: datetime.datetime
    status: str
    reason: str
    side: str
    prison_unavailable: bool


def appointment_rows(
    start: datetime.datetime, end: datetime.datetime, **filters: Any
) -> list[AppointmentRow]:
    """Appointments overlapping [START, END), in time order, as rows. One query."""
    rows = (
        Appointment.objects.annotate(prison_unavailable=prison_unavailable())
        .filter(start__lt=end, start__gt=start - MAX_DURATION, end__gt=start, **filters)
        .order_by("start", "end")
        .values_list(*AppointmentRow._fields)
    )
    return [AppointmentRow(*row) for row in rows]


@dataclass(frozen=True)
class References:
    """The small reference rows a page of appointments names, fetched once for all rows."""

    specialties: dict[int, Specialty]
    rooms: dict[int, Room]
    points: dict[int, MovementPoint]
    people: dict[int, User]


def references(rows: Sequence[AppointmentRow]) -> References:
    """Specialties, rooms, movement points and practitioners of ROWS: four queries at most,
    whatever their number."""

    def bulk(model: Any, ids: set[Any]) -> dict[Any, Any]:
        ids.discard(None)
        return model.objects.in_bulk(ids) if ids else {}

    return References(
        specialties=bulk(Specialty, {r.specialty_id for r in rows}),
        rooms=bulk(Room, {r.room_id for r in rows}),
        points=bulk(MovementPoint, {r.movement_point_id for r in rows}),
        people=bulk(get_user_model(), {r.practitioner_id for r in rows}),
    )


# -- Day and week views ----------------------------------------------------------------------


@dataclass
class Column:
    key: Any
    label: str
    note: str = ""
    absent: bool = False
    appointments: list[AppointmentRow] = field(default_factory=list)


@dataclass
class Grid:
    """Appointments in columns (practitioners, rooms or days) and rows (hours), with the
    reference rows they name."""

    columns: list[Column]
    hours: list[int]
    rows: list[tuple[int, list[list[AppointmentRow]]]]
    count: int
    references: References


def _grid(columns: list[Column], refs: References) -> Grid:
    tz = clock.unit_tz()
    hour_of = {a.id: a.start.astimezone(tz).hour for c in columns for a in c.appointments}
    first = min([DAY_FIRST_HOUR, *hour_of.values()])
    last = max([DAY_LAST_HOUR, *hour_of.values()])
    hours = list(range(first, last + 1))
    rows = [
        (hour, [[a for a in column.appointments if hour_of[a.id] == hour] for column in columns])
        for hour in hours
    ]
    count = sum(len(c.appointments) for c in columns)
    return Grid(columns=columns, hours=hours, rows=rows, count=count, references=refs)


def day_agenda(*, day: datetime.date, by: str = "practitioner") -> Grid:
    """The unit's day: one column per practitioner (or room) consulting that day or holding
    an appointment, in hour rows. Seven queries whatever the number of appointments."""
    start, end = clock.day_bounds(day)
    appointments = appointment_rows(start, end)
    refs = references(appointments)
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
            if a.room_id is None:
                outside.appointments.append(a)
                continue
            columns.setdefault(a.room_id, Column(key=a.room_id, label=refs.rooms[a.room_id].name))
            columns[a.room_id].appointments.append(a)
    else:
        by_practitioner: dict[int, list[OpeningHours]] = defaultdict(list)
        for w in windows:
            by_practitioner[w.practitioner_id].append(w)
        people: dict[int, Any] = {w.practitioner_id: w.practitioner for w in windows}
        for a in appointments:
            if a.practitioner_id is not None:
                people[a.practitioner_id] = refs.people[a.practitioner_id]
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
    return _grid(ordered, refs)


def week_agenda(*, practitioner: User, monday: datetime.date) -> Grid:
    """One practitioner's week: a column per day with its opening hours and absences."""
    days = [monday + datetime.timedelta(days=i) for i in range(7)]
    start, end = clock.day_bounds(days[0])[0], clock.day_bounds(days[-1])[1]
    appointments = appointment_rows(start, end, practitioner=practitioner)
    windows = windows_on(days, practitioner=practitioner)
    absences = list(Absence.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start))
    tz = clock.unit_tz()
    columns = []
    for day in days:
        day_start, day_end = clock.day_bounds(day)
        columns.append(
            Column(
                key=day,
                label=day.isoformat(),
                note=hours_note(w for w in windows if w.applies_on(day)),
                absent=any(a.start < day_end and a.end > day_start for a in absences),
                appointments=[a for a in appointments if a.start.astimezone(tz).date() == day],
            )
        )
    return _grid(columns, references(appointments))


def day_list(*, day: datetime.date) -> tuple[list[AppointmentRow], References]:
    """The printable list of the day: active appointments in time order."""
    start, end = clock.day_bounds(day)
    rows = appointment_rows(start, end, status__in=ACTIVE_STATUSES)
    return rows, references(rows)


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
        .defer("motive", "outcome_comment", "patient__birth_date", "patient__sex", "patient__ins")
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


def patient_next_appointments(*, patient_id: uuid.UUID, limit: int) -> list[Appointment]:
    """The patient's active appointments not over yet, in time order: at most LIMIT."""
    return list(
        _appointments()
        .defer("motive", "outcome_comment")
        .filter(patient_id=patient_id, end__gt=timezone.now(), status__in=ACTIVE_STATUSES)
        .order_by("start")[:limit]
    )


class Attendance(NamedTuple):
    """Consultations a patient attended in one compartment: a count and its bounds, never
    which specialty."""

    consultations: int
    first: datetime.date | None
    last: datetime.date | None


def attendance(
    *, patient_id: uuid.UUID, compartment: str, first_day: datetime.date, last_day: datetime.date
) -> Attendance:
    """The patient's done consultations in COMPARTMENT between the two days (inclusive)."""
    from django.db.models import Count, Max, Min

    found = Appointment.objects.filter(
        patient_id=patient_id,
        specialty__compartment=compartment,
        status=Status.DONE,
        start__gte=clock.day_bounds(first_day)[0],
        start__lt=clock.day_bounds(last_day)[1],
    ).aggregate(count=Count("id"), first=Min("start"), last=Max("start"))
    return Attendance(
        consultations=found["count"],
        first=clock.local(found["first"]).date() if found["first"] else None,
        last=clock.local(found["last"]).date() if found["last"] else None,
    )


TREATING_WINDOW = datetime.timedelta(days=365)


def treating_practitioner_id(*, patient_id: uuid.UUID, at: datetime.datetime) -> int | None:
    """The practitioner who saw the patient most (done consultations) in the twelve months
    before AT: the patient's treating doctor. Ties go to the most recent consultation."""
    from django.db.models import Count, Max

    row = (
        Appointment.objects.filter(
            patient_id=patient_id,
            status=Status.DONE,
            start__gte=at - TREATING_WINDOW,
            start__lt=at,
        )
        .values("practitioner_id")
        .annotate(seen=Count("id"), latest=Max("start"))
        .order_by("-seen", "-latest")
        .first()
    )
    return row["practitioner_id"] if row else None

"""Reads of the agenda. Each view's selector runs a fixed number of queries, whatever the
number of appointments (guarded by tests)."""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from dossiers.models import Patient
from usmp.accounts.roles import CLINICAL_ROLES

from . import clock
from .models import (
    ACTIVE_STATUSES,
    MAX_DURATION,
    PRIORITY_ORDER,
    Absence,
    Appointment,
    CareRequest,
    MovementPoint,
    OpeningHours,
    Room,
    RoomClosure,
    Specialty,
    Status,
    Unavailability,
    VisitTask,
)

DAY_FIRST_HOUR = 7
DAY_LAST_HOUR = 19
SLOT_STEP = datetime.timedelta(minutes=5)
SLOT_SEARCH_DAYS = 56
SLOT_LIMIT = 12


def practitioners() -> QuerySet[Any]:
    """Active members of a clinical role: the people who hold consultations."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=CLINICAL_ROLES)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


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


def _windows_on(days: Sequence[datetime.date], **filters: Any) -> list[OpeningHours]:
    """Opening hours valid on any of DAYS (one query), with their practitioner and room."""
    first, last = min(days), max(days)
    rows = (
        OpeningHours.objects.filter(valid_from__lte=last, **filters)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
        .select_related("practitioner", "room", "specialty")
        .order_by("start_time")
    )
    return list(rows)


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


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def _hours_note(windows: Iterable[OpeningHours]) -> str:
    return ", ".join(f"{w.start_time:%H:%M}\u2013{w.end_time:%H:%M}" for w in windows)


def day_agenda(*, day: datetime.date, by: str = "practitioner") -> Grid:
    """The unit's day: one column per practitioner (or room) consulting that day or holding
    an appointment, in hour rows. Five queries whatever the number of appointments."""
    start, end = clock.day_bounds(day)
    appointments = appointments_between(start, end)
    windows = [w for w in _windows_on([day], weekday=day.weekday()) if w.applies_on(day)]
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
                note=_hours_note(by_room.get(room.pk, [])),
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
        for pk, person in sorted(people.items(), key=lambda item: _name(item[1]).casefold()):
            columns[pk] = Column(
                key=pk,
                label=_name(person),
                note=_hours_note(by_practitioner.get(pk, [])),
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


def week_agenda(*, practitioner: Any, monday: datetime.date) -> Grid:
    """One practitioner's week: a column per day with its opening hours and absences."""
    days = [monday + datetime.timedelta(days=i) for i in range(7)]
    start, end = clock.day_bounds(days[0])[0], clock.day_bounds(days[-1])[1]
    appointments = appointments_between(start, end, practitioner=practitioner)
    windows = _windows_on(days, practitioner=practitioner)
    absences = list(Absence.objects.filter(practitioner=practitioner, start__lt=end, end__gt=start))
    columns = []
    for day in days:
        day_start, day_end = clock.day_bounds(day)
        columns.append(
            Column(
                key=day,
                label=day.isoformat(),
                note=_hours_note(w for w in windows if w.applies_on(day)),
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


# -- Free slots --------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime.datetime
    end: datetime.datetime
    practitioner_id: int
    room_id: int
    specialty_id: int
    practitioner_name: str = field(compare=False)
    room_name: str = field(compare=False)
    specialty_name: str = field(compare=False)


def _intervals(
    rows: Iterable[tuple[Any, datetime.datetime, datetime.datetime]],
) -> dict[Any, list[tuple[datetime.datetime, datetime.datetime]]]:
    by_key: dict[Any, list[tuple[datetime.datetime, datetime.datetime]]] = defaultdict(list)
    for key, start, end in rows:
        by_key[key].append((start, end))
    return by_key


def _round_up(value: datetime.datetime, origin: datetime.datetime) -> datetime.datetime:
    steps = -((origin - value) // SLOT_STEP)
    return origin + max(steps, 0) * SLOT_STEP


def free_slots(
    *,
    duration: datetime.timedelta,
    after: datetime.datetime,
    specialty: Specialty | None = None,
    practitioner: Any = None,
    patient: Patient | None = None,
    limit: int = SLOT_LIMIT,
    horizon_days: int = SLOT_SEARCH_DAYS,
) -> list[Slot]:
    """The next free slots of DURATION after AFTER, for a specialty or a practitioner: inside
    opening hours, outside absences and room closures, clear of the practitioner's, the room's
    and (if given) the patient's appointments and of the windows in which the prison cannot
    bring the patient. A handful of queries per week searched."""
    if specialty is None and practitioner is None:
        return []
    after = after.astimezone(clock.UTC)
    first_day = clock.local(after).date()
    last_day = first_day + datetime.timedelta(days=horizon_days)
    filters: dict[str, Any] = {
        "practitioner__is_active": True,
        "room__active": True,
        "specialty__active": True,
    }
    if specialty is not None:
        filters["specialty"] = specialty
    if practitioner is not None:
        filters["practitioner"] = practitioner
    windows = _windows_on([first_day, last_day], **filters)
    if not windows:
        return []
    by_weekday: dict[int, list[OpeningHours]] = defaultdict(list)
    for w in windows:
        by_weekday[w.weekday].append(w)
    people = {w.practitioner_id for w in windows}
    rooms = {w.room_id for w in windows}
    found: list[Slot] = []
    day = first_day
    while day < last_day and len(found) < limit:
        chunk_end = min(day + datetime.timedelta(days=7), last_day)
        range_start, range_end = clock.day_bounds(day)[0], clock.day_bounds(chunk_end)[0]
        active = Appointment.objects.filter(
            status__in=ACTIVE_STATUSES,
            start__lt=range_end,
            start__gt=range_start - MAX_DURATION,
            end__gt=range_start,
        )
        busy_people = _intervals(
            active.filter(practitioner_id__in=people).values_list("practitioner_id", "start", "end")
        )
        for key, spans in _intervals(
            Absence.objects.filter(
                practitioner_id__in=people, start__lt=range_end, end__gt=range_start
            ).values_list("practitioner_id", "start", "end")
        ).items():
            busy_people[key].extend(spans)
        busy_rooms = _intervals(
            active.filter(room_id__in=rooms).values_list("room_id", "start", "end")
        )
        for key, spans in _intervals(
            RoomClosure.objects.filter(
                room_id__in=rooms, start__lt=range_end, end__gt=range_start
            ).values_list("room_id", "start", "end")
        ).items():
            busy_rooms[key].extend(spans)
        busy_patient: list[tuple[datetime.datetime, datetime.datetime]] = []
        if patient is not None:
            busy_patient = list(active.filter(patient=patient).values_list("start", "end"))
            busy_patient += Unavailability.objects.filter(
                patient=patient, withdrawn_at__isnull=True, start__lt=range_end, end__gt=range_start
            ).values_list("start", "end")
        while day < chunk_end:
            for w in by_weekday.get(day.weekday(), []):
                if not w.applies_on(day):
                    continue
                found.extend(
                    _window_slots(
                        w,
                        day,
                        duration,
                        after,
                        busy_people.get(w.practitioner_id, []),
                        busy_rooms.get(w.room_id, []),
                        busy_patient,
                    )
                )
            day += datetime.timedelta(days=1)
        found.sort()
    return found[:limit]


def _window_slots(
    window: OpeningHours,
    day: datetime.date,
    duration: datetime.timedelta,
    after: datetime.datetime,
    *busy: list[tuple[datetime.datetime, datetime.datetime]],
) -> list[Slot]:
    opens = clock.safe_wall_clock(day, window.start_time)
    closes = clock.safe_wall_clock(day, window.end_time)
    if opens is None or closes is None:
        return []  # a window across the daylight-saving jump: nobody consults at 02:30
    spans = [span for spans in busy for span in spans if span[0] < closes and span[1] > opens]
    slots = []
    t = _round_up(max(opens, after), opens)
    while t + duration <= closes:
        end = t + duration
        blockers = [s_end for s_start, s_end in spans if s_start < end and s_end > t]
        if blockers:
            t = _round_up(max(blockers), opens)
            continue
        slots.append(
            Slot(
                start=t,
                end=end,
                practitioner_id=window.practitioner_id,
                room_id=window.room_id,
                specialty_id=window.specialty_id,
                practitioner_name=_name(window.practitioner),
                room_name=window.room.name,
                specialty_name=window.specialty.name,
            )
        )
        t = end
    return slots


# -- Care requests and mandatory visits ----------------------------------------------------------


@dataclass(frozen=True)
class QueueStats:
    waiting: int
    median_days_to_booking: float | None
    median_days_to_consultation: float | None


def care_request_queue() -> list[CareRequest]:
    """Waiting requests, most urgent first, then oldest first."""
    priority = Case(
        *[When(priority=p, then=Value(rank)) for p, rank in PRIORITY_ORDER.items()],
        output_field=IntegerField(),
    )
    return list(
        CareRequest.objects.filter(status=CareRequest.Status.WAITING)
        .select_related("patient__identity_key", "specialty", "data_key", "recorded_by")
        .annotate(rank=priority)
        .order_by("rank", "received_on", "recorded_at")
    )


def care_request_stats(*, since: datetime.date) -> QueueStats:
    """Median delays from receipt to booking and to consultation (activity reports)."""
    waiting = CareRequest.objects.filter(status=CareRequest.Status.WAITING).count()
    rows = list(
        CareRequest.objects.filter(
            received_on__gte=since, first_booked_at__isnull=False
        ).values_list("received_on", "first_booked_at", "consulted_at")
    )
    booked = [(clock.local(b).date() - r).days for r, b, _c in rows if b is not None]
    consulted = [(clock.local(c).date() - r).days for r, _b, c in rows if c is not None]
    return QueueStats(
        waiting=waiting,
        median_days_to_booking=statistics.median(booked) if booked else None,
        median_days_to_consultation=statistics.median(consulted) if consulted else None,
    )


def patient_care_requests(*, patient: Patient) -> list[CareRequest]:
    return list(
        CareRequest.objects.filter(patient=patient)
        .select_related("specialty", "data_key")
        .order_by("-received_on")[:50]
    )


@dataclass(frozen=True)
class TaskRow:
    task: VisitTask
    overdue: bool


def visit_tasks_pending(*, horizon_days: int = 7) -> list[TaskRow]:
    """Mandatory visits to book or hold: those due within HORIZON_DAYS, overdue first."""
    today = clock.today()
    tasks = (
        VisitTask.objects.filter(
            status__in=[VisitTask.Status.OPEN, VisitTask.Status.BOOKED],
            due_from__lte=today + datetime.timedelta(days=horizon_days),
            patient__custody_status=Patient.CustodyStatus.PRESENT,
        )
        .select_related("patient__identity_key", "appointment")
        .order_by("due_by")
    )
    rows = [
        TaskRow(
            task=t,
            overdue=t.due_by < today
            or (
                t.status == VisitTask.Status.BOOKED
                and t.appointment is not None
                and clock.local(t.appointment.start).date() > t.due_by
            ),
        )
        for t in tasks
    ]
    rows.sort(key=lambda r: (not r.overdue, r.task.due_by))
    return rows


def active_specialties() -> QuerySet[Specialty]:
    return Specialty.objects.filter(active=True).order_by("name")

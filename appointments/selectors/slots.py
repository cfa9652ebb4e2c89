"""The next free slots of a specialty or a practitioner, for booking and moving."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dossiers.models import Patient

from .. import clock
from ..models import (
    ACTIVE_STATUSES,
    MAX_DURATION,
    Absence,
    Appointment,
    OpeningHours,
    RoomClosure,
    Specialty,
    Unavailability,
)
from .reference import practitioner_name, windows_on

if TYPE_CHECKING:
    from usmp.accounts.models import User

SLOT_STEP = datetime.timedelta(minutes=5)
SLOT_SEARCH_DAYS = 56
SLOT_LIMIT = 12


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
    practitioner: User | None = None,
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
    windows = windows_on([first_day, last_day], **filters)
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
                practitioner_name=practitioner_name(window.practitioner),
                room_name=window.room.name,
                specialty_name=window.specialty.name,
            )
        )
        t = end
    return slots

"""Agenda fixtures: reference data, practitioners with opening hours, appointments booked
through the services. All names are invented."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from appointments import clock
from appointments.defaults import ensure_specialties
from appointments.models import (
    Appointment,
    Kind,
    MovementPoint,
    OpeningHours,
    Room,
    Specialty,
)
from appointments.services.booking import appointment_book
from appointments.services.care_requests import care_request_create
from tests.factories import make_patient, make_user

PARIS = clock.unit_tz()


def point(code: str = "usmp-attente", label: str = "Salle d'attente USMP") -> MovementPoint:
    return MovementPoint.objects.get_or_create(code=code, defaults={"label": label})[0]


def hospital_point() -> MovementPoint:
    return point("extraction-hopital", "Extraction hôpital")


def room(name: str = "Cabinet 1", movement_point: MovementPoint | None = None) -> Room:
    return Room.objects.get_or_create(
        name=name, defaults={"movement_point": movement_point or point()}
    )[0]


def specialty(code: str = "general-medicine") -> Specialty:
    # Transactional tests flush the table that migration 0002 filled: re-create if needed.
    ensure_specialties()
    return Specialty.objects.get(code=code)


def practitioner(
    persona: str = "physician",
    *,
    specialty_code: str = "general-medicine",
    room_name: str = "Cabinet 1",
    start: datetime.time = datetime.time(8, 0),
    end: datetime.time = datetime.time(18, 0),
    weekdays: range | list[int] = range(7),
    every_n_weeks: int = 1,
    valid_from: datetime.date = datetime.date(2020, 1, 6),
) -> Any:
    """A user of PERSONA who consults in SPECIALTY, in ROOM, on WEEKDAYS."""
    user = make_user(persona)
    for weekday in weekdays:
        OpeningHours.objects.create(
            practitioner=user,
            specialty=specialty(specialty_code),
            room=room(room_name),
            weekday=weekday,
            start_time=start,
            end_time=end,
            every_n_weeks=every_n_weeks,
            valid_from=valid_from,
        )
    return user


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return clock.wall_clock(day, datetime.time(hour, minute))


def next_weekday(weekday: int = 1, *, weeks_ahead: int = 1) -> datetime.date:
    """A day WEEKDAY (0 = Monday) at least a week from today, so the slot is in the future."""
    today = timezone.localdate()
    days = (weekday - today.weekday()) % 7 + 7 * weeks_ahead
    return today + datetime.timedelta(days=days)


def book(
    *,
    patient: Any = None,
    practitioner_user: Any = None,
    start: datetime.datetime | None = None,
    minutes: int = 30,
    room_obj: Room | None = None,
    specialty_obj: Specialty | None = None,
    motive: str | None = None,
    acting_user: Any = None,
    kind: str = Kind.ON_SITE,
    **extra: Any,
) -> Appointment:
    """Book through the service (audit, checks, constraints), with sensible defaults."""
    practitioner_user = practitioner_user or practitioner()
    start = start or at(next_weekday(), 10)
    return appointment_book(
        acting_user=acting_user or practitioner_user,
        patient=patient or make_patient(),
        specialty=specialty_obj or specialty(),
        kind=kind,
        start=start,
        end=start + datetime.timedelta(minutes=minutes),
        practitioner=practitioner_user,
        room=room_obj or room(),
        motive=motive,
        **extra,
    )


# -- Rows of tests/test_authorization_matrix.py -------------------------------------------------


def matrix_appointment(world: Any) -> dict[str, Any]:
    """An appointment of the matrix's sentinel patient, next week."""
    return {"appointment_id": book(patient=world.patient, motive="SENTINELLE-MOTIF").pk}


def matrix_care_request(world: Any) -> dict[str, Any]:
    request = care_request_create(
        acting_user=make_user("nurse"),
        patient=world.patient,
        specialty=specialty("psychiatry"),
        received_on=timezone.localdate(),
        priority="soon",
        text="SENTINELLE-DEMANDE",
    )
    return {"care_request_id": request.pk}


def matrix_movement_point(world: Any) -> dict[str, Any]:
    return {"kind": "movement-points", "pk": point().pk}

"""Agendas written straight into the appointments table, for the bridge's tests.

The bridge must see the same movements whatever lies behind them, so these helpers write
rows the way the services would (data key of the right dossier, motive encrypted) but
without the booking checks: Hypothesis draws hundreds of agendas and opening hours are not
what is under test here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from appointments.models import Appointment, Kind, MovementPoint, Room, Status
from dossiers.keys import compartment_key
from tests.appointments import factories as agenda
from tests.factories import make_user

PARIS = agenda.PARIS


@dataclass(frozen=True)
class Consultation:
    patient: Any
    point: MovementPoint
    start: datetime.datetime
    end: datetime.datetime
    active: bool = True
    specialty_code: str = "general-medicine"
    practitioner: Any = None
    room: Room | None = None
    motive: str | None = None
    reason: str = "refused"
    # The exact status, when the test chooses it: PLANNED or DONE for an active one,
    # CANCELLED or NOT_DONE for another (default: PLANNED or CANCELLED).
    status: str | None = None


def write(consultation: Consultation, *, created_by: Any) -> Appointment:
    specialty = agenda.specialty(consultation.specialty_code)
    appointment = Appointment(
        patient=consultation.patient,
        specialty=specialty,
        practitioner=consultation.practitioner,
        room=consultation.room,
        movement_point=consultation.point,
        kind=Kind.ON_SITE if consultation.room else Kind.EXTRACTION,
        start=consultation.start,
        end=consultation.end,
        status=consultation.status or (Status.PLANNED if consultation.active else Status.CANCELLED),
        reason="" if consultation.active else consultation.reason,
        data_key=compartment_key(consultation.patient, specialty.compartment),
        created_by=created_by,
    )
    appointment.motive = consultation.motive
    appointment.save(force_insert=True)
    return appointment


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def staff() -> Any:
    return make_user("secretary")

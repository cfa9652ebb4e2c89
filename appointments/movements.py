"""The one door from the agenda to the bridge: movement facts, and nothing else.

A movement fact says that a detainee (prison number) must be at a movement point between two
times, and whether that still holds. The query selects exactly those columns (and the
patient's identity key, to decrypt the prison number), so no specialty, practitioner, room or
motive can be reached from the return value: there is no model instance to follow, only
strings, datetimes and a boolean.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import transaction

from dossiers.models import Patient
from dossiers.selectors import patient_by_prison_number
from dossiers.services import patient_update
from usmp.crypto.fields import Ciphertext, EncryptedField
from usmp.crypto.models import DataKey

from . import clock
from .models import ACTIVE_STATUSES, MAX_DURATION, Appointment, CustodyEvent, Reason, Side, Status
from .services import appointment_cancel


@dataclass(frozen=True, slots=True)
class MovementFact:
    prison_number: str
    start: datetime.datetime
    end: datetime.datetime
    movement_point: str
    active: bool


def movement_facts(start: datetime.datetime, end: datetime.datetime) -> tuple[MovementFact, ...]:
    """Movement facts of the appointments overlapping [START, END), sorted by start. Planned
    and done appointments are active; cancelled and not-done ones are not. Two queries."""
    if end <= start:
        return ()
    rows = list(
        Appointment.objects.filter(start__lt=end, start__gt=start - MAX_DURATION, end__gt=start)
        .order_by("start", "end", "pk")
        .values_list(
            "patient_id",
            "patient__identity_key_id",
            "patient__prison_number",
            "start",
            "end",
            "movement_point__code",
            "status",
        )
    )
    keys = DataKey.objects.in_bulk({row[1] for row in rows})
    numbers: dict[object, str] = {}
    facts = []
    for patient_id, key_id, ciphertext, row_start, row_end, point, status in rows:
        if patient_id not in numbers:
            numbers[patient_id] = _decrypt_prison_number(
                patient_id, keys[key_id], bytes(ciphertext)
            )
        facts.append(
            MovementFact(
                prison_number=numbers[patient_id],
                start=row_start,
                end=row_end,
                movement_point=point,
                active=status in ACTIVE_STATUSES,
            )
        )
    return tuple(facts)


def _decrypt_prison_number(patient_id: object, key: DataKey, ciphertext: bytes) -> str:
    # The field decrypts for a bare holder of the row id and identity key: nothing else of
    # the patient is loaded.
    field = Patient._meta.get_field("prison_number")
    assert isinstance(field, EncryptedField)  # noqa: S101 - a schema invariant
    holder = SimpleNamespace(pk=patient_id, identity_key=key)
    return str(field.decrypt_for(holder, Ciphertext(bytes(ciphertext))))


# -- Custody events pushed by the prison side ---------------------------------------------------

CUSTODY_KINDS = tuple(CustodyEvent.Kind.values)
CUSTODY_MAX_DAYS = 366


class UnknownPrisonNumber(ValueError):
    pass


class CustodyInconsistent(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CustodyResult:
    created: bool
    cancelled: int
    flagged: int


_NOTHING = CustodyResult(created=False, cancelled=0, flagged=0)


@transaction.atomic
def custody_event_record(
    *,
    prison_number: str,
    kind: str,
    date: datetime.date,
    client_ref: str,
    acting_client_label: str,
) -> CustodyResult:
    """Apply an arrival, release or transfer pushed by the prison side, once per CLIENT_REF.

    An arrival brings the patient back into custody (the entry visit follows); a release or
    transfer dated today or earlier ends custody, cancels the planned appointments after that
    day (reason "released or transferred", attributed to the prison) and counts those of that
    day as flagged; one dated later sets the expected release date (the pre-release visit
    follows). Writes are attributed to no user: the access event names the client."""
    if kind not in CUSTODY_KINDS:
        raise CustodyInconsistent("kind")
    if CustodyEvent.objects.filter(client_ref=client_ref).exists():
        return _NOTHING
    patient = patient_by_prison_number(prison_number)
    if patient is None:
        raise UnknownPrisonNumber("prison number")
    patient = Patient.objects.select_for_update().select_related("identity_key").get(pk=patient.pk)
    # The same event pushed twice at once: the second waited for the lock, and sees the first.
    if CustodyEvent.objects.filter(client_ref=client_ref).exists():
        return _NOTHING
    today = clock.today()
    if abs((date - today).days) > CUSTODY_MAX_DAYS:
        raise CustodyInconsistent("date")
    cancelled = flagged = 0
    if kind == CustodyEvent.Kind.ARRIVAL:
        present = Patient.CustodyStatus.PRESENT
        if patient.custody_status != present or patient.arrival_date != date:
            patient_update(
                acting_user=None, patient=patient, custody_status=present, arrival_date=date
            )
    else:
        if date < patient.arrival_date:
            raise CustodyInconsistent("date")
        if date > today:
            patient_update(acting_user=None, patient=patient, expected_release_date=date)
        else:
            status = (
                Patient.CustodyStatus.RELEASED
                if kind == CustodyEvent.Kind.RELEASE
                else Patient.CustodyStatus.TRANSFERRED
            )
            patient_update(acting_user=None, patient=patient, custody_status=status)
            day_start, day_end = clock.day_bounds(date)
            planned = Appointment.objects.filter(patient=patient, status=Status.PLANNED)
            for appointment in planned.filter(start__gte=day_end).order_by("start"):
                appointment_cancel(
                    acting_user=None,
                    appointment=appointment,
                    reason=Reason.RELEASED,
                    side=Side.PENITENTIARY,
                )
                cancelled += 1
            flagged = planned.filter(start__gte=day_start, start__lt=day_end).count()
    CustodyEvent.objects.create(
        client_ref=client_ref,
        patient=patient,
        kind=kind,
        date=date,
        created_by=acting_client_label[:160],
    )
    return CustodyResult(created=True, cancelled=cancelled, flagged=flagged)

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

from dossiers.models import Patient
from usmp.crypto.fields import Ciphertext, EncryptedField
from usmp.crypto.models import DataKey

from .models import ACTIVE_STATUSES, MAX_DURATION, Appointment


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

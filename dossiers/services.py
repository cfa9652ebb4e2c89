"""Writes of patients. Each runs in one transaction with its audit row (django-auditlog),
attributed to ``acting_user``."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.crypto.models import DataKey

from .models import Compartment, Dossier, Patient
from .selectors import prison_number_taken


def _duplicate_error() -> ValidationError:
    return ValidationError(
        {"prison_number": _("A patient with this prison number is already registered.")},
        code="duplicate_prison_number",
    )


@transaction.atomic
def patient_create(
    *,
    acting_user: Any,
    prison_number: str,
    last_name: str,
    first_name: str,
    birth_date: datetime.date,
    sex: str,
    arrival_date: datetime.date,
    ins: str | None = None,
) -> Patient:
    """Register a patient. Values are expected cleaned by PatientForm; the prison number's
    uniqueness is re-checked here and enforced by the database."""
    if prison_number_taken(prison_number):
        raise _duplicate_error()
    patient = Patient(
        prison_number=prison_number,
        last_name=last_name,
        first_name=first_name,
        birth_date=birth_date,
        sex=sex,
        ins=ins or None,
        arrival_date=arrival_date,
    )
    try:
        with transaction.atomic(), acting_as(acting_user):
            patient.save(force_insert=True)
            # Both compartments from the start, each with its own data key: that a patient
            # has a psychiatric dossier then tells nobody anything.
            for compartment in Compartment:
                Dossier.objects.create(
                    patient=patient,
                    compartment=compartment,
                    data_key=DataKey.objects.generate(purpose=compartment.value),
                )
    except IntegrityError:
        # A concurrent registration of the same prison number (or INS) won the race.
        raise _duplicate_error() from None
    return patient


PATIENT_EDITABLE_FIELDS = (
    "prison_number",
    "last_name",
    "first_name",
    "birth_date",
    "sex",
    "ins",
    "arrival_date",
    "custody_status",
)


@transaction.atomic
def patient_update(*, acting_user: Any, patient: Patient, **changes: Any) -> Patient:
    """Change a patient's identity or custody status; only changed fields are written."""
    unknown = set(changes) - set(PATIENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"patient_update() got unexpected fields: {sorted(unknown)}")
    if changes.get("ins") == "":
        changes["ins"] = None
    changed = [name for name, value in changes.items() if getattr(patient, name) != value]
    if not changed:
        return patient
    if "prison_number" in changed and prison_number_taken(
        changes["prison_number"], exclude=patient
    ):
        raise _duplicate_error()
    for name in changed:
        setattr(patient, name, changes[name])
    try:
        with transaction.atomic(), acting_as(acting_user):
            patient.save(update_fields=[*changed, "updated_at"])
    except IntegrityError:
        raise _duplicate_error() from None
    return patient

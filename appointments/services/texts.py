"""The agenda's free texts (motive, outcome comment, care-request text): trimmed, bounded,
and stored encrypted with the data key of the patient's dossier in the specialty's
compartment."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from dossiers.models import Dossier, Patient

from ..models import Specialty
from . import messages

TEXT_MAX_LENGTH = 5_000


def clean_text(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise ValidationError({field: messages.too_long(TEXT_MAX_LENGTH)}, code="too_long")
    return value or None


def dossier_key(patient: Patient, specialty: Specialty) -> Any:
    """The data key of the patient's dossier in the specialty's compartment."""
    return (
        Dossier.objects.select_related("data_key")
        .get(patient=patient, compartment=specialty.compartment)
        .data_key
    )

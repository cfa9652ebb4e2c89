"""Who may reach which patient. Views never fetch a Patient any other way."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from .models import Patient


def can_view_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.view_patient"))


def can_add_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.add_patient"))


def can_change_patients(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("dossiers.change_patient"))


def access_patient(user: Any, patient_id: uuid.UUID, *, for_change: bool = False) -> Patient:
    """The patient, or Http404 whether it does not exist or the user may not see it: a
    patient's presence in the unit is itself confidential."""
    allowed = can_change_patients(user) if for_change else can_view_patients(user)
    if not allowed:
        raise Http404
    try:
        return Patient.objects.select_related("identity_key").get(pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404 from None

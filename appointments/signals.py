"""Mandatory visits follow the patient's custody facts, whoever changes them (the patient
form today, the bridge's custody events later)."""

from __future__ import annotations

from typing import Any

from dossiers.models import Patient


def patient_saved(sender: Any, instance: Patient, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata
        return
    from .services.visit_tasks import visit_tasks_sync

    # A partial save that sets the arrival date or brings the patient back into custody is an
    # arrival too (a readmission, or the bridge's custody event).
    update_fields = kwargs.get("update_fields") or ()
    arrived = bool({"arrival_date", "custody_status"} & set(update_fields))
    visit_tasks_sync(
        acting_user=None, patient=instance, created=bool(kwargs.get("created")), arrived=arrived
    )

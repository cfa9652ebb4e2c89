"""Who may use which part of the agenda. Pages answer 403 to a role without access; objects
(appointments, care requests, patients) answer 404, whether they do not exist or the user may
not see them. Views never fetch these objects any other way."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from dossiers.models import Patient
from dossiers.permissions import access_patient

from .models import Appointment, CareRequest, VisitTask


def _has(user: Any, *perms: str) -> bool:
    return bool(user.is_authenticated and all(user.has_perm(p) for p in perms))


def can_view_agenda(user: Any) -> bool:
    # The agenda shows identities: it needs the patient desk permission too.
    return _has(user, "appointments.view_appointment", "dossiers.view_patient")


def can_book(user: Any) -> bool:
    return can_view_agenda(user) and _has(user, "appointments.add_appointment")


def can_change_appointments(user: Any) -> bool:
    return can_view_agenda(user) and _has(user, "appointments.change_appointment")


def can_view_motive(user: Any) -> bool:
    """Motives, not-done comments and care-request texts: clinicians, never secretaries."""
    return can_view_agenda(user) and _has(user, "appointments.view_motive")


def can_view_care_requests(user: Any) -> bool:
    return _has(user, "appointments.view_carerequest", "dossiers.view_patient")


def can_add_care_requests(user: Any) -> bool:
    return can_view_care_requests(user) and _has(user, "appointments.add_carerequest")


def can_change_care_requests(user: Any) -> bool:
    return can_view_care_requests(user) and _has(user, "appointments.change_carerequest")


def can_view_visit_tasks(user: Any) -> bool:
    return _has(user, "appointments.view_visittask", "dossiers.view_patient")


def can_view_activity_report(user: Any) -> bool:
    return _has(user, "appointments.view_activity_report")


def can_edit_reference_data(user: Any) -> bool:
    return _has(user, "appointments.change_specialty", "appointments.change_openinghours")


def access_appointment(
    user: Any, appointment_id: uuid.UUID, *, for_change: bool = False
) -> Appointment:
    """The appointment, or Http404 whether it does not exist or the user may not see it."""
    allowed = can_change_appointments(user) if for_change else can_view_agenda(user)
    if not allowed:
        raise Http404
    try:
        return Appointment.objects.select_related(
            "patient__identity_key",
            "specialty",
            "practitioner",
            "room",
            "movement_point",
            "data_key",
            "series",
            "care_request",
            "movement_outcome",
        ).get(pk=appointment_id)
    except Appointment.DoesNotExist:
        raise Http404 from None


def access_care_request(
    user: Any, care_request_id: uuid.UUID, *, for_change: bool = False
) -> CareRequest:
    allowed = can_change_care_requests(user) if for_change else can_view_care_requests(user)
    if not allowed:
        raise Http404
    try:
        return CareRequest.objects.select_related(
            "patient__identity_key", "specialty", "data_key"
        ).get(pk=care_request_id)
    except CareRequest.DoesNotExist:
        raise Http404 from None


def access_visit_task(user: Any, task_id: uuid.UUID) -> VisitTask:
    if not (can_view_visit_tasks(user) and can_book(user)):
        raise Http404
    try:
        return VisitTask.objects.select_related("patient__identity_key").get(pk=task_id)
    except VisitTask.DoesNotExist:
        raise Http404 from None


def access_agenda_patient(user: Any, patient_id: uuid.UUID) -> Patient:
    """A patient for the agenda pages: 404 for users without agenda or patient access."""
    if not can_view_agenda(user):
        raise Http404
    return access_patient(user, patient_id)

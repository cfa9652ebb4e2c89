"""Who may use which part of the agenda: predicates that read permissions and never write.
The page rules (``rules``) and the access functions (``access``) use them."""

from __future__ import annotations

from typing import Any


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

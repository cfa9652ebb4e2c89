"""Page rules of the agenda (usmp.access.rules)."""

from dossiers.permissions import is_clinician
from usmp.access.kinds import Action
from usmp.access.rules import register

from .permissions import (
    can_add_care_requests,
    can_book,
    can_change_appointments,
    can_change_care_requests,
    can_edit_reference_data,
    can_view_activity_report,
    can_view_agenda,
    can_view_care_requests,
    can_view_motive,
    can_view_visit_tasks,
)

register("agenda_view", can_view_agenda, action=Action.LIST_VIEW)
register("agenda_book", can_book)
register(
    "agenda_check",
    lambda u: can_book(u) or can_change_appointments(u) or can_add_care_requests(u),
)
# Pages about one appointment or one patient answer 404 to those refused.
register("agenda_open", can_view_agenda, hidden=True, action=Action.APPOINTMENT_VIEW)
register("agenda_patient", can_view_agenda, hidden=True, action=Action.AGENDA_VIEW)
register("agenda_change", can_change_appointments, hidden=True, action=Action.APPOINTMENT_VIEW)
# Opening a working detainee's prevention visit (L.412-47): those who book.
register("agenda_prevention", can_book, hidden=True, action=Action.PATIENT_VIEW)
register("care_requests_view", can_view_care_requests, action=Action.LIST_VIEW)
register("care_requests_add", can_add_care_requests)
register(
    "care_request_change",
    can_change_care_requests,
    hidden=True,
    action=Action.CARE_REQUEST_VIEW,
)
register("visit_tasks_view", can_view_visit_tasks, action=Action.LIST_VIEW)
register("activity_report", can_view_activity_report)
register("reference_edit", can_edit_reference_data)
# Motive, comment and care-request columns; each text still shows only through the wall.
register("agenda_motive", can_view_motive)
# The release handover checklist of a pre-release visit: clinicians (a page about one patient).
register(
    "visit_handover",
    lambda u: can_view_visit_tasks(u) and is_clinician(u),
    hidden=True,
    action=Action.VISIT_TASK_VIEW,
)
